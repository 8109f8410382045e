"""What works for whom, benchmarked: a workspace with 5,000 and one with 50,000 closed commitments
(reps of three archetypes on four gaps, three practice formats, targets 1 to 12 a week, check-ins
logged). Times the prescribe form's suggestions (the best-evidenced shapes for the rep's archetype
and gap, and sizing from the rep's own history), one incremental count at closeout, and a full
rebuild, with the SQL statements each takes, side by side.

    .venv/bin/python bench/learning_bench.py [--database-url URL]

Target (issue 13): the suggestions under 300 ms of server time at 50,000 closed commitments, with
the same number of statements at both sizes.
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

from bench import analyze, measure  # noqa: E402
from bot.coaching import service as coaching  # noqa: E402
from bot.learning import service as learning  # noqa: E402
from bot.playbook.models import load_playbook  # noqa: E402
from storage.db import make_engine  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import CheckIn, Commitment, Diagnosis, Person, WiringProfile  # noqa: E402

ARCHETYPES = ("engine", "root", "grandmaster")
GAPS = ("discovery", "closing", "time_pressure", "objection_handling")
FORMATS = ("role_play", "call_review", "drill")
PER_REP = 100  # closed commitments per rep
TARGET = 0.300  # seconds for the suggestions at 50,000


def seed(engine, team: str, reps: int) -> None:
    """`reps` reps with a profile, one diagnosis per gap and PER_REP closed commitments each."""
    now = datetime.now(UTC)
    with Session(engine) as s:
        people = [Person(team_id=team, slack_user_id=f"{team}R{i:04d}", tz="UTC") for i in range(reps)]
        s.add_all(people)
        s.flush()
        ids = [p.id or 0 for p in people]
        s.add_all(
            WiringProfile(team_id=team, person_id=pid, version=1, archetype=ARCHETYPES[i % 3], coachability=50,
                          drive=50, resilience=50)
            for i, pid in enumerate(ids)
        )  # fmt: skip
        s.flush()
        diagnoses = [
            Diagnosis(team_id=team, person_id=pid, manager_user_id="UM", cause="coaching_gap", gap=gap,
                      evidence="seen", profile_version=1, submission_key=f"{team}-{pid}-{gap}")
            for pid in ids for gap in GAPS
        ]  # fmt: skip
        s.add_all(diagnoses)
        s.commit()
        by_rep_gap = {(d.person_id, d.gap): d.id for d in diagnoses}
    start = date(2024, 1, 1)
    for chunk in range(0, len(ids), 20):
        rows = []
        for pid in ids[chunk : chunk + 20]:
            for k in range(PER_REP):
                gap, target = GAPS[(pid + k) % 4], 1 + (pid * 7 + k * 3) % 12
                begins = start + timedelta(days=7 * k)
                rows.append(
                    {"team_id": team, "person_id": pid, "manager_user_id": "UM",
                     "diagnosis_id": by_rep_gap[(pid, gap)], "gap": gap, "behavior": "b", "target_count": target,
                     "window_days": 7, "practice_format": FORMATS[(pid + k) % 3], "evidence": "e",
                     "status": "met" if (pid + k) % 3 else "missed", "starts_on": begins,
                     "ends_on": begins + timedelta(days=6), "submission_key": f"{team}-{pid}-{k}", "created_at": now,
                     "closed_at": datetime.combine(begins + timedelta(days=7), datetime.min.time(), tzinfo=UTC),
                     "paused_days": 0}
                )  # fmt: skip
        with engine.begin() as conn:
            conn.execute(insert(Commitment), rows)
    with engine.begin() as conn:
        found = conn.execute(
            select(Commitment.id, Commitment.target_count, Commitment.status).where(Commitment.team_id == team)
        ).all()
        logs = [
            {"team_id": team, "commitment_id": cid, "count": target if status == "met" else max(0, target - 2),
             "note": "", "source": "button", "created_at": now}
            for cid, target, status in found
        ]  # fmt: skip
        for part in range(0, len(logs), 5000):
            conn.execute(insert(CheckIn), logs[part : part + 5000])


def cases(engine, team: str) -> dict[str, tuple[Callable[[Session], object], bool]]:
    playbook = load_playbook()
    with Session(engine) as s:
        rep = s.exec(select(Person).where(Person.team_id == team).order_by(col(Person.id))).first()
        assert rep is not None
        one = s.exec(select(Commitment).where(Commitment.team_id == team, Commitment.person_id == rep.id)).first()
    assert one is not None

    def suggestions(s: Session) -> object:  # what prescribe_form adds: the wiring, then the advice
        wiring, _ = coaching.wiring_of(s, team, rep)
        return learning.advice_for(s, playbook, team, rep.id or 0, wiring.archetype, "discovery")

    def closeout(s: Session) -> None:  # one more count, as bot.outbox.delivery._close makes it
        current = s.get(Commitment, one.id)
        assert current is not None
        learning.record_change(s, current, "active")

    return {
        "form suggestions": (suggestions, False),
        "closeout count": (closeout, False),
        "full rebuild": (lambda s: learning.rebuild(s, team), True),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp(prefix='coachbot-learning-')}/bench.db"
    engine = make_engine(url)
    upgrade(engine)
    sizes = (("5,000 closed", "T0SMALL", 50), ("50,000 closed", "T0LARGE", 500))
    started = time.perf_counter()
    for _, team, reps in sizes:
        seed(engine, team, reps)
        with Session(engine) as s:
            learning.rebuild(s, team)
            s.commit()
    analyze(engine)
    print(f"cores {os.cpu_count()}, database {url.split(':', 1)[0]}, seeded in {time.perf_counter() - started:.0f} s")
    print(f"target {TARGET * 1000:.0f} ms for the form's suggestions at 50,000, statements equal at both sizes")
    print(f"{'case':<18} {'workspace':<15} {'time':>10} {'statements':>11}")
    for name in ("form suggestions", "closeout count", "full rebuild"):
        for label, team, _ in sizes:
            fn, commit = cases(engine, team)[name]
            measure(engine, fn, commit)  # warm-up
            elapsed, statements = measure(engine, fn, commit)
            print(f"{name:<18} {label:<15} {elapsed * 1000:>7.1f} ms {statements:>11}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
