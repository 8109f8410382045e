"""Levers benchmark: the admin's org view (composition of every team, retention, the organisation's
trend) and the Fit Risk Diagnostic's pre-filled facts, for 500 reps / 50 managers and for 5,000 reps /
500 managers, each rep with two years of weekly metrics. Prints time and SQL statements side by side.

    .venv/bin/python bench/levers_bench.py [--database-url URL] [--weeks 104]

Target (issue 12): under 1 s for 5,000 reps, with the same number of statements at both sizes.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402
from sqlmodel import Session, col, select  # noqa: E402

from bench import measure  # noqa: E402
from bot.levers.flows import org_report  # noqa: E402
from bot.playbook.models import Playbook, load_playbook  # noqa: E402
from storage.db import make_engine  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import EmploymentEvent, Person, RepMetric, Seat, WiringProfile  # noqa: E402
from tests.seed import bulk_team  # noqa: E402

TODAY = date(2026, 11, 13)
ARCHETYPES = ("engine", "root", "grandmaster")
TARGET = 1.0  # seconds, for 5,000 reps


def seed(engine, team: str, managers: int, reps_each: int, weeks: int) -> None:
    """Teams of reps with varied wiring and seats, a few exits, and `weeks` of weekly figures each."""
    for m in range(managers):
        bulk_team(engine, team, f"UM{m:03d}", reps_each, f"{team}M{m:03d}R", statuses=("missed", "met", "active"))
    monday = TODAY - timedelta(days=TODAY.weekday())
    with Session(engine) as s:
        seats = {}
        for kind in ARCHETYPES:
            seat = Seat(team_id=team, name=f"{kind} seat", archetype=kind)
            s.add(seat)
            s.flush()
            seats[kind] = seat.id
        people = s.exec(select(Person).where(Person.team_id == team).order_by(col(Person.id))).all()
        profiles = {p.person_id: p for p in s.exec(select(WiringProfile).where(WiringProfile.team_id == team))}
        for i, person in enumerate(people):
            person.seat_id = seats[ARCHETYPES[i % 3]]
            profiles[person.id or 0].archetype = ARCHETYPES[(i // 3 + i) % 3]
        s.commit()
        ids = [p.id or 0 for p in people]
    with engine.begin() as conn:
        conn.execute(
            insert(EmploymentEvent),
            [
                {"team_id": team, "person_id": pid, "kind": "exit", "occurred_on": TODAY - timedelta(days=i % 300),
                 "exit_type": "voluntary" if i % 2 else "involuntary", "created_at": datetime.now(UTC)}
                for i, pid in enumerate(ids) if i % 11 == 0
            ],
        )  # fmt: skip
        for start in range(0, len(ids), 200):
            conn.execute(
                insert(RepMetric),
                [
                    {"team_id": team, "person_id": pid, "period": "week",
                     "period_start": monday - timedelta(weeks=w), "quota_attainment": 60.0 + (pid + w) % 50,
                     "pipeline_created": 10000.0, "pipeline_quality": 40.0 + (pid * w) % 40,
                     "updated_at": datetime.now(UTC)}
                    for pid in ids[start : start + 200] for w in range(weeks)
                ],
            )  # fmt: skip


def cases(playbook: Playbook, team: str) -> dict[str, Callable[[Session], object]]:
    found: dict[str, Callable[[Session], object]] = {"org view": lambda s: org_report(s, playbook, team, TODAY)}
    try:
        from bot.levers.facts import facts_of
    except ImportError:  # the diagnostic's facts are not wired in this tree yet
        return found
    found["fit-risk facts (org)"] = lambda s: facts_of(s, team, None, TODAY)
    return found


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url")
    parser.add_argument("--weeks", type=int, default=104, help="weekly figures per rep (default: two years)")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp(prefix='coachbot-levers-')}/bench.db"
    engine = make_engine(url)
    upgrade(engine)
    playbook = load_playbook()
    sizes = (("500 reps, 50 managers", "T0SMALL", 50), ("5,000 reps, 500 managers", "T0LARGE", 500))
    started = time.perf_counter()
    for _, team, managers in sizes:
        seed(engine, team, managers, 10, args.weeks)
    print(f"cores {os.cpu_count()}, database {url.split(':', 1)[0]}, seeded in {time.perf_counter() - started:.0f} s")
    print(f"{args.weeks} weekly figures per rep; target {TARGET:g} s for 5,000 reps, statements equal at both sizes")
    print(f"{'case':<24} {'organisation':<26} {'time':>9} {'ratio':>7} {'statements':>11}")
    for label, team, _ in sizes:
        for name, fn in cases(playbook, team).items():
            measure(engine, fn)  # warm-up
            elapsed, statements = measure(engine, fn)
            print(f"{name:<24} {label:<26} {elapsed:>7.3f} s {elapsed / TARGET:>6.2f}x {statements:>11}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
