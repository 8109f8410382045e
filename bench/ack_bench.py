"""Acknowledgement latency, start-up time and memory: Coachbot (`coachbot run --http`, waitress, a real
SQLite database) against a bare Bolt app whose handlers only ack(), on the same server setup, both
talking to the local Web API fake (in its own process).

    .venv/bin/python bench/ack_bench.py [--requests 300]

Targets (issue 10): `/diagnose` and a check-in click acknowledged with p50 at concurrency 1 at most
0.35x the bare app's, and p99 at concurrency 50 no worse than the bare app's; views.open still within
the trigger's 3 s (measured here from the client's send to the call's arrival at the fake). Issue 6:
p99 < 100 ms at concurrency 50; RSS < 150 MB.

Both apps get the same client: a new connection per request (as Slack does), HTTP/1.1, the same
headers and bodies. Before each row the server is left to settle (its CPU use stops) so that one
row's after-ack work does not land in the next row's measurement.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from slack_sdk.signature import SignatureVerifier  # noqa: E402

from bench.dispatch_bench import TEAM as FAKE_TEAM  # noqa: E402

SECRET = "bench-signing-secret"
TOKEN = "xoxb-bench-token"
TEAM = "T0BENCH"
REPS = 50


def serve_timed_fake(reps: int, port_queue: multiprocessing.Queue, report: Any) -> None:
    """The Web API fake (as bench.dispatch_bench serves it), noting when each views.open arrives; the
    trigger ids carry the client's send time, so the delay is the one Slack's 3 s limit applies to."""
    from tests.slack_fake import SlackFake, SlackFakeServer

    opened: list[float] = []

    class TimedFake(SlackFake):
        def handle(self, method: str, args: dict[str, Any]) -> tuple[int, dict[str, str], dict[str, Any]]:
            if method == "views.open":
                sent_ns = str(args.get("trigger_id", "")).rpartition(".")[2]
                if sent_ns.isdigit():
                    opened.append(time.time() - int(sent_ns) / 1e9)
            return super().handle(method, args)

    server = SlackFakeServer(TimedFake())
    server.fake.team_id = FAKE_TEAM
    for i in range(reps):
        server.fake.add_user(f"UB{i:06d}", f"Rep{i}", tz="UTC")
    server.fake.add_user("UBMGR", "Manager", tz="UTC")
    with server:
        port_queue.put(server.api_url)
        while report.recv() == "opened":
            report.send(list(opened))
            opened.clear()


def settle(pid: int, quiet_ms: float = 5.0, window: float = 0.2, limit: float = 15.0) -> float:
    """Wait until the process has used under `quiet_ms` of CPU in `window` seconds (its after-ack work
    is done); returns the seconds waited."""
    tick = os.sysconf("SC_CLK_TCK")

    def cpu() -> float:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick

    started = time.perf_counter()
    before = cpu()
    while time.perf_counter() - started < limit:
        time.sleep(window)
        now = cpu()
        if (now - before) * 1000 < quiet_ms:
            break
        before = now
    return time.perf_counter() - started


def seed(database_url: str) -> list[int]:
    from sqlmodel import Session

    from bot.coaching.rules import CommitmentDraft
    from bot.coaching.service import activate, prescribe, record_diagnosis
    from bot.playbook.models import load_playbook
    from bot.slack.users import SlackUser
    from storage.db import make_engine
    from storage.migrate import upgrade
    from storage.models import Person
    from tests.rows import id_of, present

    engine = make_engine(database_url)
    upgrade(engine)
    playbook = load_playbook()
    ids = []
    with Session(engine) as s:
        for i in range(REPS):
            user = SlackUser(f"UB{i:06d}", TEAM, f"Rep{i}", "UTC", f"r{i}@x.io", False, False, False)
            s.add(
                Person(team_id=TEAM, slack_user_id=user.id, display_name=user.name, tz="UTC", manager_user_id="UBMGR")
            )
            s.flush()
            d = record_diagnosis(
                s, playbook, TEAM, user, "UBMGR", "coaching_gap", "discovery", None, "bench evidence here", f"d{i}"
            ).diagnosis
            c = prescribe(
                s,
                TEAM,
                d,
                "UBMGR",
                CommitmentDraft("Discovery calls with no early pitch", 50, 30, "drill", "recordings"),
                date.today(),
                False,
                f"c{i}",
            )
            commitment_id = id_of(present(c.commitment))
            activate(s, TEAM, commitment_id, None, None, datetime.now(UTC))  # as after the rep's DM went out
            ids.append(commitment_id)
        s.add(Person(team_id=TEAM, slack_user_id="UBMGR", display_name="Manager", tz="UTC", role="manager"))
        s.commit()
    engine.dispose()
    return ids


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def wait_healthy(port: int, path: str, proc: subprocess.Popen, timeout: float = 60) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if proc.poll() is not None:
            raise RuntimeError("server exited")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", path)
            if conn.getresponse().status in (200, 404):
                return time.perf_counter() - started
        except OSError:
            time.sleep(0.02)
    raise RuntimeError("server did not start")


def signed(body: bytes) -> dict[str, str]:
    ts = str(int(time.time()))
    signature = SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=body)
    assert signature is not None  # None only without a timestamp or body
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature,
    }


def body_for(kind: str, i: int, commitment_ids: list[int], response_url: str) -> bytes:
    """A fresh command or click each time: Slack's trigger ids are unique, and a repeated one would
    only measure the once-only claim."""
    rep = f"UB{i % REPS:06d}"
    trigger = f"t{i}.{time.time_ns()}"
    if kind == "diagnose":
        return urlencode(
            {
                "team_id": TEAM,
                "user_id": "UBMGR",
                "command": "/diagnose",
                "text": f"<@{rep}>",
                "response_url": response_url,
                "trigger_id": trigger,
                "api_app_id": "A0",
            }
        ).encode()
    payload = {
        "type": "block_actions",
        "team": {"id": TEAM},
        "user": {"id": rep, "team_id": TEAM},
        "api_app_id": "A0",
        "trigger_id": trigger,
        "response_url": response_url,
        "container": {"type": "message", "message_ts": "1.0"},
        "actions": [
            {
                "type": "button",
                "action_id": "checkin_log",
                "value": str(commitment_ids[i % REPS]),
                "block_id": "b",
                "action_ts": str(time.time()),
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


def load(
    port: int, kind: str, concurrency: int, total: int, commitment_ids: list[int], response_url: str
) -> list[float]:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    counter = iter(range(total))

    def worker() -> None:
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            body = body_for(kind, i, commitment_ids, response_url)
            started = time.perf_counter()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.request("POST", "/slack/events", body=body, headers=signed(body))
                status = conn.getresponse().status
                conn.close()
            except OSError:
                status = 0
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                errors[0] += status != 200

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors[0]:
        print(f"  warning: {errors[0]} non-200 answers ({kind}, concurrency {concurrency})", file=sys.stderr)
    return latencies


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] * 1000


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300, help="requests per (app, kind, concurrency)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="coachbot-ack-"))
    database_url = f"sqlite:///{tmp}/bench.db"
    queue: multiprocessing.Queue = multiprocessing.Queue()
    report, fake_end = multiprocessing.Pipe()
    fake = multiprocessing.Process(target=serve_timed_fake, args=(REPS + 5, queue, fake_end), daemon=True)
    fake.start()
    api_url = queue.get(timeout=60)
    response_url = api_url.replace("/api/", "/response/bench")
    ids = seed(database_url)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": api_url,
        "DATABASE_URL": database_url,
        "COACHBOT_LOG_LEVEL": "WARNING",
    }
    env.pop("COACHBOT_PLAYBOOK", None)
    results: dict[str, dict[tuple[str, int], list[float]]] = {}
    memory: dict[str, tuple[float, float]] = {}
    startup: dict[str, float] = {}
    settled: dict[str, float] = {}
    opened: dict[str, list[float]] = {}
    for name, cmd, health in (
        ("coachbot", [sys.executable, "-m", "bot.cli", "run", "--http", "--host", "127.0.0.1", "--port"], "/healthz"),
        ("bare bolt", [sys.executable, str(ROOT / "bench" / "bare_app.py")], "/healthz"),
    ):
        port = _free_port()
        log_file = (tmp / f"{name.replace(' ', '_')}.log").open("w")
        proc = subprocess.Popen([*cmd, str(port)], env=env, cwd=tmp, stdout=subprocess.DEVNULL, stderr=log_file)
        try:
            startup[name] = wait_healthy(port, health, proc)
            time.sleep(1.0)
            idle = rss_mb(proc.pid)
            results[name] = {}
            for kind in ("diagnose", "checkin"):
                for concurrency in (1, 10, 50):
                    load(port, kind, concurrency, min(50, args.requests), ids, response_url)  # warm-up
                    settle(proc.pid)
                    results[name][(kind, concurrency)] = load(port, kind, concurrency, args.requests, ids, response_url)
                    settled[name] = max(settled.get(name, 0.0), settle(proc.pid))
            memory[name] = (idle, rss_mb(proc.pid))
            report.send("opened")
            opened[name] = report.recv()
        finally:
            proc.terminate()
            proc.wait(timeout=10)
            log_file.close()
    report.send("stop")
    fake.terminate()
    print(f"cores {os.cpu_count()}; {args.requests} requests per row; times are to the HTTP acknowledgement")
    print(
        f"{'request':<10} {'conc':>4} | {'coachbot p50':>12} {'p99':>8} | {'bare p50':>9} {'p99':>8} | "
        f"{'p50 ratio':>9} {'p99 ratio':>9} | target"
    )
    for kind in ("diagnose", "checkin"):
        for concurrency in (1, 10, 50):
            c, b = results["coachbot"][(kind, concurrency)], results["bare bolt"][(kind, concurrency)]
            p50_ratio = pct(c, 0.5) / max(pct(b, 0.5), 0.001)
            p99_ratio = pct(c, 0.99) / max(pct(b, 0.99), 0.001)
            target = {1: "p50 <= 0.35x", 50: "p99 <= 1x, < 100 ms"}.get(concurrency, "")
            print(
                f"{kind:<10} {concurrency:>4} | {pct(c, 0.5):>9.1f} ms {pct(c, 0.99):>5.1f} ms | "
                f"{pct(b, 0.5):>6.1f} ms {pct(b, 0.99):>5.1f} ms | {p50_ratio:>8.2f}x {p99_ratio:>8.2f}x | {target}"
            )
    for name in ("coachbot", "bare bolt"):
        idle, loaded = memory[name]
        print(
            f"{name:<10} start-up {startup[name]:.2f} s · RSS idle {idle:.0f} MB · after load {loaded:.0f} MB "
            f"(target < 150 MB) · longest settle after a row {settled.get(name, 0.0):.2f} s"
        )
    delays = sorted(opened.get("coachbot", []))
    if delays:
        print(
            f"views.open, send to arrival at Slack: {len(delays)} modals, p50 {pct(delays, 0.5):.0f} ms, "
            f"max {delays[-1] * 1000:.0f} ms (target < 3000 ms)"
        )
    every = [x for v in results["coachbot"].values() for x in v]
    print(f"mean ack over all rows: coachbot {statistics.mean(every) * 1000:.1f} ms")
    return 0


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


if __name__ == "__main__":
    sys.exit(main())
