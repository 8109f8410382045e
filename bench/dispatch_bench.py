"""Dispatch benchmark: N reps with a due weekly nudge, one `Dispatcher.run_pass`, against the local
Web API fake (in its own process). Prints wall time, messages/s, the bot's own cost per nudge
(wall time minus time spent waiting on Slack), SQL statements per message and peak RSS.

    .venv/bin/python bench/dispatch_bench.py [--reps 10000] [--database-url URL]

Targets (issue 4): own cost < 2 ms per nudge, <= 3 SQL statements per nudge, peak RSS < 150 MB.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TEAM = "T0BENCH"
START = date(2026, 11, 12)
NOW = datetime(2026, 11, 16, 12, 0, tzinfo=UTC)  # Monday; nudges due at 09:00 UTC


def serve_fake(reps: int, port_queue: multiprocessing.Queue) -> None:
    from tests.slack_fake import SlackFakeServer

    server = SlackFakeServer()
    server.fake.team_id = TEAM
    for i in range(reps):
        server.fake.add_user(f"UB{i:06d}", f"Rep{i}", tz="UTC")
    server.fake.add_user("UBMGR", "Manager", tz="UTC")  # the ack bench's manager
    with server:
        port_queue.put(server.api_url)
        while True:
            time.sleep(3600)


def seed(database_url: str, reps: int) -> None:
    from sqlmodel import Session

    from storage.db import make_engine
    from storage.migrate import upgrade
    from storage.models import Commitment, Diagnosis, Person, Workspace
    from tests.rows import id_of

    engine = make_engine(database_url)
    upgrade(engine)
    created = datetime(2026, 11, 12, 12, 0, tzinfo=UTC)
    with Session(engine) as s:
        s.add(Workspace(team_id=TEAM, name="Bench", reminders_enabled=False))
        people = [
            Person(
                team_id=TEAM,
                slack_user_id=f"UB{i:06d}",
                display_name=f"Rep{i}",
                tz="UTC",
                manager_user_id="UBMGR",
                dm_channel=f"DUB{i:06d}",
            )
            for i in range(reps)
        ]
        s.add_all(people)
        s.flush()
        diagnoses = [
            Diagnosis(
                team_id=TEAM,
                person_id=id_of(p),
                manager_user_id="UBMGR",
                cause="coaching_gap",
                gap="discovery",
                evidence="bench",
                submission_key=f"d{p.id}",
            )
            for p in people
        ]
        s.add_all(diagnoses)
        s.flush()
        s.add_all(
            [
                Commitment(
                    team_id=TEAM,
                    person_id=id_of(p),
                    manager_user_id="UBMGR",
                    diagnosis_id=d.id,
                    gap="discovery",
                    behavior="Discovery calls with no pitch before minute 12",
                    target_count=3,
                    window_days=7,
                    practice_format="drill",
                    evidence="recordings",
                    starts_on=START,
                    ends_on=START + timedelta(days=6),
                    submission_key=f"c{p.id}",
                    created_at=created,
                )
                for p, d in zip(people, diagnoses, strict=True)
            ]
        )
        s.commit()
    engine.dispose()


class CheckInTapper:
    """The real app (Bolt in waitress, as `coachbot run --http` serves it, without its scheduler) on the
    bench's database, to measure check-ins clicked while a 10,000-nudge pass runs in another process."""

    SECRET = "bench-signing-secret"

    def __init__(self, database_url: str, api_url: str):
        import threading

        from waitress.server import create_server

        from bot.app import create_app
        from bot.context import AppContext
        from bot.playbook.models import load_playbook
        from bot.settings import Settings
        from bot.slack.http_server import make_wsgi_app
        from storage.db import make_engine

        settings = Settings(
            bot_token="xoxb-bench", signing_secret=self.SECRET, database_url=database_url, slack_api_url=api_url
        )
        self.engine = make_engine(database_url)
        ctx = AppContext(settings=settings, engine=self.engine, playbook=load_playbook(), clock=lambda: NOW)
        self.server = create_server(
            make_wsgi_app(create_app(ctx), self.engine, self.SECRET), host="127.0.0.1", port=0, threads=8
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        self.response_url = api_url.replace("/api/", "/response/bench")

    def tap_while(self, proc: subprocess.Popen[str], taps: int) -> dict[str, Any]:
        import hashlib
        import hmac
        import http.client
        from urllib.parse import urlencode

        from sqlmodel import Session, col, func, select

        from storage.models import CheckIn, Commitment

        with Session(self.engine) as s:
            ids = list(s.exec(select(Commitment.id).order_by(col(Commitment.id)).limit(taps)))
        time.sleep(1.5)  # the pass is under way (planning done, sending)
        latencies, during = [], 0
        for n, cid in enumerate(ids):
            payload = {
                "type": "block_actions",
                "team": {"id": TEAM},
                "user": {"id": f"UB{n:06d}", "team_id": TEAM},
                "trigger_id": f"tap{n}.{time.time_ns()}",
                "response_url": self.response_url,
                "container": {"type": "message", "message_ts": "1.0"},
                "actions": [{"type": "button", "action_id": "checkin_log", "value": str(cid), "action_ts": "1.1"}],
            }
            body = urlencode({"payload": json.dumps(payload)}).encode()
            ts = str(int(time.time()))
            digest = hmac.new(self.SECRET.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": ts,
                "X-Slack-Signature": f"v0={digest}",
            }
            running = proc.poll() is None
            started = time.perf_counter()
            conn = http.client.HTTPConnection("127.0.0.1", self.server.effective_port, timeout=30)
            conn.request("POST", "/slack/events", body=body, headers=headers)
            conn.getresponse().read()
            conn.close()
            while True:  # answered is not enough: wait until the check-in is stored
                with Session(self.engine) as s:
                    stored = s.exec(select(func.count()).select_from(CheckIn).where(CheckIn.commitment_id == cid)).one()
                if stored or time.perf_counter() - started > 30:
                    break
                time.sleep(0.01)
            latencies.append(time.perf_counter() - started)
            during += running and proc.poll() is None
            time.sleep(0.2)
        with Session(self.engine) as s:
            total = int(s.exec(select(func.count()).select_from(CheckIn)).one())
        return {"latencies": latencies, "during": during, "stored": total}

    def close(self) -> None:
        self.server.task_dispatcher.shutdown()


def peak_rss_mb() -> float:
    """Peak RSS of this process's own memory (VmHWM). ru_maxrss would include the parent's peak,
    since Linux carries it across fork and exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(database_url: str, api_url: str) -> None:
    """One dispatch pass in a fresh process, so peak RSS is the dispatcher's own."""
    from slack_sdk import WebClient
    from sqlalchemy import event

    from bot.context import AppContext
    from bot.outbox.dispatcher import Dispatcher
    from bot.playbook.models import load_playbook
    from bot.settings import Settings
    from bot.slack.client import make_web_client
    from storage.db import make_engine

    settings = Settings(bot_token="xoxb-bench", database_url=database_url, slack_api_url=api_url)
    engine = make_engine(database_url)
    counts = {"statements": 0, "transaction": 0}

    @event.listens_for(engine, "before_cursor_execute")
    def _count(conn, cursor, statement, *args):
        key = "transaction" if statement.strip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")) else "statements"
        counts[key] += 1

    waiting = [0.0]
    client: WebClient = make_web_client(settings)
    original = client.api_call

    def timed_api_call(*args, **kwargs):
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            waiting[0] += time.perf_counter() - started

    client.api_call = timed_api_call  # type: ignore[method-assign]  # timing every Slack call is the point
    ctx = AppContext(settings=settings, engine=engine, playbook=load_playbook())
    dispatcher = Dispatcher(ctx, client)
    started = time.perf_counter()
    report = dispatcher.run_pass(NOW)
    wall = time.perf_counter() - started
    print(
        json.dumps(
            {
                "sent": report.sent,
                "planned": report.planned,
                "wall_s": wall,
                "waiting_s": waiting[0],
                "statements": counts["statements"],
                "transaction_statements": counts["transaction"],
                "peak_rss_mb": peak_rss_mb(),
            }
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=10_000)
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    parser.add_argument("--taps", type=int, default=20, help="check-in clicks sent to the app during the pass")
    parser.add_argument("--child", nargs=2, metavar=("DATABASE_URL", "API_URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return 0
    tmp = tempfile.mkdtemp(prefix="coachbot-bench-")
    database_url = args.database_url or f"sqlite:///{tmp}/bench.db"
    queue: multiprocessing.Queue = multiprocessing.Queue()
    fake = multiprocessing.Process(target=serve_fake, args=(args.reps, queue), daemon=True)
    fake.start()
    api_url = queue.get(timeout=120)
    t0 = time.perf_counter()
    seed(database_url, args.reps)
    seeded = time.perf_counter() - t0
    app = CheckInTapper(database_url, api_url) if args.taps else None
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", database_url, api_url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    taps = app.tap_while(proc, args.taps) if app else None
    stdout, stderr = proc.communicate()
    if app:
        app.close()
    fake.terminate()
    if proc.returncode != 0:
        print(stderr, file=sys.stderr)
        return 1
    r = json.loads(stdout.strip().splitlines()[-1])
    sent = max(r["sent"], 1)
    own_ms = (r["wall_s"] - r["waiting_s"]) * 1000 / sent
    per_msg = r["statements"] / sent
    rows = [
        ("cores", f"{os.cpu_count()}", "", ""),
        ("database", database_url.split(":", 1)[0], "", ""),
        ("reps seeded", f"{args.reps} in {seeded:.1f} s", "", ""),
        ("messages sent", f"{r['sent']}", f"{args.reps}", "ok" if r["sent"] == args.reps else "MISSED"),
        ("wall time", f"{r['wall_s']:.2f} s", "", ""),
        ("messages/s", f"{r['sent'] / r['wall_s']:.0f}", "", ""),
        ("time waiting on Slack (fake)", f"{r['waiting_s']:.2f} s", "", ""),
        ("bot's own cost per nudge", f"{own_ms:.3f} ms", "< 2 ms", f"{own_ms / 2:.2f}x of target"),
        ("SQL statements per nudge", f"{per_msg:.3f}", "<= 3", f"{per_msg / 3:.2f}x of target"),
        ("  + BEGIN/COMMIT per nudge", f"{r['transaction_statements'] / sent:.3f}", "", ""),
        ("peak RSS (dispatch process)", f"{r['peak_rss_mb']:.0f} MB", "< 150 MB", f"{r['peak_rss_mb'] / 150:.2f}x"),
    ]
    if taps is not None:
        worst = max(taps["latencies"]) if taps["latencies"] else 0.0
        rows += [
            ("check-ins tapped during the pass", f"{taps['during']} of {args.taps}", f"{args.taps}", ""),
            ("  slowest, answered and stored", f"{worst:.2f} s", "< 3 s", f"{worst / 3:.2f}x of target"),
            ("  stored", f"{taps['stored']}", f"{args.taps}", "ok" if taps["stored"] == args.taps else "LOST"),
        ]
    width = max(len(a) for a, *_ in rows)
    print(f"{'measure'.ljust(width)}  {'value':>22}  {'target':>10}  ratio")
    for name, value, target, ratio in rows:
        print(f"{name.ljust(width)}  {value:>22}  {target:>10}  {ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
