"""Summary benchmark: build the weekly summary for a 1,000-rep organisation (10 managers x 100 reps,
and one manager with all 1,000), printing time and SQL statement count.

    .venv/bin/python bench/summary_bench.py [--database-url URL]

Target (issue 5): under 0.5 s for the 1,000-rep organisation; statements do not grow with size,
with onboarding plans (issue 11) in it too.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event  # noqa: E402
from sqlmodel import Session, col, select  # noqa: E402

from bot.playbook.models import load_playbook  # noqa: E402
from bot.team.data import load_team  # noqa: E402
from bot.team.summary import build_summary, summary_messages  # noqa: E402
from storage.db import make_engine  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Milestone, OnboardingPlan, Person, Pip  # noqa: E402
from tests.seed import bulk_team  # noqa: E402

TEAM = "T0BENCH"
TODAY = date(2026, 11, 13)


def seed(engine, managers: dict[str, int]) -> None:
    for manager, size in managers.items():
        bulk_team(engine, TEAM, manager, size, f"{manager}R", statuses=("missed", "met", "active"))


def seed_plans(engine, every: int = 4) -> int:
    """A 30/60/90 plan with nine steps (some done) for every `every`-th rep (onboarding lines, flags
    and ramp peers in the summary) and a running PIP for one rep in `5 * every`. Returns how many plans."""
    with Session(engine) as s:
        people = s.exec(select(Person).where(Person.team_id == TEAM).order_by(col(Person.id))).all()
        plans = 0
        for i, person in enumerate(people):
            if i % every or person.id is None:
                continue
            start = TODAY - timedelta(days=10 + i % 70)
            plan = OnboardingPlan(
                team_id=TEAM, person_id=person.id, manager_user_id=person.manager_user_id or "",
                start_date=start, archetype="engine", submission_key=f"bench-plan-{person.id}",
            )  # fmt: skip
            s.add(plan)
            s.flush()
            assert plan.id is not None
            for n in range(9):
                done = datetime.combine(start + timedelta(days=n * 9), datetime.min.time(), tzinfo=UTC)
                s.add(
                    Milestone(
                        team_id=TEAM, plan_id=plan.id, phase=n // 3 + 1, position=n % 3 + 1, title=f"Step {n}",
                        due_day=(n + 1) * 10, done_at=done if n % 2 == 0 and done.date() <= TODAY else None,
                    )
                )  # fmt: skip
            plans += 1
        for i, person in enumerate(people):
            if i % (every * 5) == 1 and person.id is not None:  # a running PIP for one rep in twenty
                s.add(
                    Pip(
                        team_id=TEAM, person_id=person.id, manager_user_id=person.manager_user_id or "",
                        drafted_by=person.manager_user_id or "", gap="discovery", behavior="Bench behavior",
                        weekly_count=3, sessions_per_week=1, weeks=6, starts_on=TODAY - timedelta(days=14),
                        ends_on=TODAY + timedelta(days=28), submission_key=f"bench-pip-{person.id}",
                    )
                )  # fmt: skip
        s.commit()
    return plans


def measure(engine, playbook, managers: list[str]) -> tuple[float, int, int, int]:
    statements = [0]

    def count(conn, cursor, statement, *args):
        if not statement.strip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            statements[0] += 1

    event.listen(engine, "before_cursor_execute", count)
    started = time.perf_counter()
    reps = messages = 0
    for manager in managers:
        with Session(engine) as s:
            summary = build_summary(load_team(s, TEAM, manager, TODAY), playbook)
        reps += len(summary.rep_lines)
        messages += len(summary_messages(summary))
    elapsed = time.perf_counter() - started
    event.remove(engine, "before_cursor_execute", count)
    return elapsed, statements[0], reps, messages


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp(prefix='coachbot-summary-')}/bench.db"
    engine = make_engine(url)
    upgrade(engine)
    ten = {f"UM{i:02d}" for i in range(10)}
    seed(engine, {**dict.fromkeys(ten, 100), "UMALL": 1000, "USMALL": 5})
    plans = seed_plans(engine, every=int(os.environ.get("BENCH_PLAN_EVERY", "4")))
    playbook = load_playbook()
    measure(engine, playbook, ["USMALL"])  # warm-up
    rows = []
    for label, managers in (
        ("5 reps, 1 manager", ["USMALL"]),
        ("1,000 reps, 10 managers", sorted(ten)),
        ("1,000 reps, 1 manager", ["UMALL"]),
    ):
        elapsed, statements, reps, messages = measure(engine, playbook, managers)
        rows.append((label, elapsed, statements, reps, messages))
    print(f"cores {os.cpu_count()}, database {url.split(':', 1)[0]}")
    print(f"onboarding plans {plans} (9 steps each), running PIPs for 1 rep in 20")
    print(
        f"{'organisation':<26} {'time':>9} {'target':>8} {'ratio':>6} {'statements':>11} {'per manager':>12} "
        f"{'messages':>9}"
    )
    for label, elapsed, statements, reps, messages in rows:
        n_managers = 10 if "10 managers" in label else 1
        target = "0.5 s" if reps >= 1000 else ""
        ratio = f"{elapsed / 0.5:.2f}x" if reps >= 1000 else ""
        print(
            f"{label:<26} {elapsed:>7.3f} s {target:>8} {ratio:>6} {statements:>11} {statements / n_managers:>12.0f} "
            f"{messages:>9}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
