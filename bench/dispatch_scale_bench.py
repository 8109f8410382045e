"""Dispatch at scale: 1,000 workspaces x 100 reps = 100,000 nudges due at the same minute, sent by 1, 2
and 4 dispatch processes on one PostgreSQL database, against a local Web API fake (bench/scale_fake.py,
its own process) that answers every call after 50 ms and allows each workspace 5 posts a second
(bursts of 10; over it: 429 with Retry-After 1).

    .venv/bin/python bench/dispatch_scale_bench.py [--teams 1000] [--reps 100] [--processes 1,2,4]
                                                   [--threads 64] [--batch 500]

Each run starts from the same seeded database (a copy of a template) with nothing planned yet. The
processes start at the nudges' due time; each runs one `Dispatcher.run_pass` (plan, then claim and send
until nothing is due), as every `coachbot run` instance does each minute. Reported side by side:
time from the due time until the last nudge was accepted by the fake, duplicates (must be 0), the
dispatch processes' own CPU per nudge (user + system, start-up excluded), SQL statements per nudge,
peak RSS of the largest dispatch process, and 429s. PostgreSQL is a throwaway server from the local
binaries (tests/pg_server.py: fsync off, like the tests), on the same two cores.

Goal (issue 14): the last nudge within 5 minutes with 2 processes, near-linear gain from 1 to 2.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NOW = datetime(2026, 11, 16, 9, 0, 30, tzinfo=UTC)  # tests/fleet.py: every nudge is due at 09:00 UTC


def dispatch_process(database_url: str, api_url: str, threads: int, batch: int, out: multiprocessing.Queue) -> None:
    """One dispatcher, as one `coachbot run` instance's pass: its own engine, its own Web API client."""
    from sqlalchemy import event

    from bot.context import AppContext
    from bot.outbox.dispatcher import Dispatcher
    from bot.playbook.models import load_playbook
    from bot.settings import Settings
    from bot.slack.client import make_dispatch_client
    from storage.db import make_engine

    settings = Settings(bot_token="xoxb-bench", database_url=database_url, slack_api_url=api_url)
    engine = make_engine(database_url)
    statements = [0]

    @event.listens_for(engine, "before_cursor_execute")
    def _count(*_: Any) -> None:
        statements[0] += 1

    ctx = AppContext(settings=settings, engine=engine, playbook=load_playbook())
    dispatcher = Dispatcher(ctx, make_dispatch_client(settings), threads=threads, batch_size=batch)
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.monotonic()
    report = dispatcher.run_pass(NOW)
    after = resource.getrusage(resource.RUSAGE_SELF)
    out.put(
        {
            "sent": report.sent,
            "throttled": report.throttled,
            "errors": len(report.errors),
            "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
            "sql": statements[0],
            "rss_mb": after.ru_maxrss / 1024,
            "pass_s": time.monotonic() - started,
        }
    )


def _get(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(urllib.request.Request(url, method="POST", data=b""), timeout=30) as resp:
        return dict(json.loads(resp.read()))


def _seed_template(admin_url: str, teams: int, reps: int) -> str:
    import psycopg
    from sqlalchemy.engine import make_url

    from storage.db import make_engine
    from storage.migrate import upgrade
    from tests.fleet import seed_fleet

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute('CREATE DATABASE "scale_template"')
    url = make_url(admin_url).set(database="scale_template").render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    seed_fleet(engine, teams, reps)
    engine.dispose()
    return url


def _fresh_copy(admin_url: str, name: str) -> str:
    import psycopg
    from sqlalchemy.engine import make_url

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "scale_template"')
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def _cpu_of(pids: list[int]) -> float:
    """User + system CPU seconds used so far by these processes (from /proc; gone ones count 0)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / tick


def _postgres_cpu(data_dir: str) -> float:
    """Every PostgreSQL process's CPU so far: the live ones, plus the backends that exited (the
    postmaster reaped them: its children's time)."""
    postmaster = int(Path(data_dir, "postmaster.pid").read_text().split()[0])
    fields = Path(f"/proc/{postmaster}/stat").read_text().rsplit(")", 1)[1].split()
    reaped = (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")
    return reaped + _cpu_of(_postgres_pids())


def _postgres_pids() -> list[int]:
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if "(postgres)" in stat.read_text():
                pids.append(int(stat.parent.name))
        except OSError:
            continue
    return pids


def _outcome(url: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT status, count(*) FROM scheduled_message WHERE kind = 'nudge' GROUP BY status")
        return {status: int(n) for status, n in rows}


def run_once(
    admin_url: str, api_base: str, processes: int, args: argparse.Namespace, fake_pid: int, pg_data: str
) -> dict[str, Any]:
    url = _fresh_copy(admin_url, f"scale_run_{processes}")
    _get(api_base + "/reset")
    fake_cpu, pg_cpu = _cpu_of([fake_pid]), _postgres_cpu(pg_data)
    ctx = multiprocessing.get_context("spawn")
    out: multiprocessing.Queue = ctx.Queue()
    due = time.time()  # the processes start at the nudges' due time
    procs = [
        ctx.Process(target=dispatch_process, args=(url, api_base + "/api/", args.threads, args.batch, out))
        for _ in range(processes)
    ]
    for p in procs:
        p.start()
    results = [out.get(timeout=3600) for _ in procs]
    for p in procs:
        p.join()
    stats = _get(api_base + "/stats")
    nudges = args.teams * args.reps
    fake_cpu, pg_cpu = _cpu_of([fake_pid]) - fake_cpu, _postgres_cpu(pg_data) - pg_cpu
    return {
        "processes": processes,
        "last_s": stats["last_post"] - due,
        "first_s": stats["first_post"] - due,
        "sent": sum(r["sent"] for r in results),
        "accepted": stats["distinct"],
        "duplicates": stats["duplicates"],
        "throttled": stats["throttled"],
        "cpu_ms": 1000 * sum(r["cpu"] for r in results) / nudges,
        "sql": sum(r["sql"] for r in results) / nudges,
        "fake_ms": 1000 * fake_cpu / nudges,
        "pg_ms": 1000 * pg_cpu / nudges,
        "rss_mb": max(r["rss_mb"] for r in results),
        "outbox": _outcome(url),
    }


def table(rows: list[dict[str, Any]], nudges: int) -> str:
    lines = [
        ("dispatch processes", lambda r: str(r["processes"])),
        ("last nudge after its due time", lambda r: f"{r['last_s']:.1f} s"),
        ("first nudge after its due time", lambda r: f"{r['first_s']:.1f} s"),
        ("nudges accepted by the fake", lambda r: f"{r['accepted']:,} of {nudges:,}"),
        ("duplicates", lambda r: str(r["duplicates"])),
        ("429s answered (and waited out)", lambda r: str(r["throttled"])),
        ("own CPU per nudge", lambda r: f"{r['cpu_ms']:.2f} ms"),
        ("SQL statements per nudge", lambda r: f"{r['sql']:.2f}"),
        ("PostgreSQL CPU per nudge (all backends)", lambda r: f"{r['pg_ms']:.2f} ms"),
        ("Web API fake CPU per nudge", lambda r: f"{r['fake_ms']:.2f} ms"),
        ("peak RSS (largest process)", lambda r: f"{r['rss_mb']:.0f} MB"),
        ("outbox afterwards", lambda r: ", ".join(f"{k} {v:,}" for k, v in sorted(r["outbox"].items()))),
    ]
    width = max(len(name) for name, _ in lines)
    out = [f"cores: {os.cpu_count()}"]
    for name, cell in lines:
        out.append(f"{name:<{width}} | " + " | ".join(f"{cell(r):>22}" for r in rows))
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--teams", type=int, default=1000)
    parser.add_argument("--reps", type=int, default=100)
    parser.add_argument("--processes", default="1,2,4")
    parser.add_argument("--threads", type=int, default=64, help="Web API calls in flight per process")
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--rate", type=float, default=5.0, help="posts a second per workspace at the fake")
    parser.add_argument("--burst", type=int, default=10)
    args = parser.parse_args()

    from bench import scale_fake
    from tests.pg_server import PgServer, find_bin_dir

    bin_dir = find_bin_dir()
    if bin_dir is None:
        print("needs the PostgreSQL binaries (apt-get install postgresql)")
        return 2
    server = PgServer(bin_dir)
    admin_url = server.start()
    ctx = multiprocessing.get_context("spawn")
    ports: multiprocessing.Queue = ctx.Queue()
    fake = ctx.Process(target=scale_fake.run, args=(ports, args.latency, args.rate, args.burst), daemon=True)
    fake.start()
    api_base = f"http://127.0.0.1:{ports.get(timeout=30)}"
    try:
        started = time.monotonic()
        _seed_template(admin_url, args.teams, args.reps)
        print(f"seeded {args.teams} workspaces x {args.reps} reps in {time.monotonic() - started:.0f} s", flush=True)
        rows = []
        for n in [int(x) for x in args.processes.split(",")]:
            rows.append(run_once(admin_url, api_base, n, args, fake.pid or 0, server.data))
            print(f"{n} process(es): last nudge {rows[-1]['last_s']:.1f} s after due", flush=True)
        print(
            f"\n{args.teams:,} workspaces x {args.reps} reps, fake latency {args.latency * 1000:.0f} ms, "
            f"{args.rate:g} posts/s per workspace (burst {args.burst}), {args.threads} threads per process"
        )
        print(table(rows, args.teams * args.reps))
    finally:
        fake.terminate()
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
