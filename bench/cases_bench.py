"""Similar-cases benchmark: what /diagnose adds from the case index (similar cases and the second
opinion) for a workspace with 5,000 and one with 50,000 closed commitments, side by side, for a
manager (their own reps) and an admin (every rep), with time and SQL statement counts.

    .venv/bin/python bench/cases_bench.py [--database-url URL] [--runs N]

Target (issue 13): under 300 ms server time at a constant number of statements, inside Slack's
3 s trigger window. Seeded, so every run builds the same data.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, insert  # noqa: E402
from sqlalchemy import select as sa_select  # noqa: E402
from sqlmodel import Session, col, select  # noqa: E402

from bench import analyze  # noqa: E402
from bot.cases import rules  # noqa: E402
from bot.cases import service as cases  # noqa: E402
from bot.playbook.models import load_playbook  # noqa: E402
from bot.roster.service import load_wiring_card  # noqa: E402
from storage.db import make_engine  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import CaseDoc, CaseTerm, CaseTermDf, CheckIn, Commitment, Diagnosis, Person, WiringProfile  # noqa: E402

TODAY = date(2026, 11, 13)
ARCHETYPES = ("engine", "root", "grandmaster")
GAPS = ("discovery", "closing", "time_pressure", "prospecting")
REPS_PER_MANAGER = 7
WORDS = [f"w{n}" for n in range(600)] + ["pitch", "early", "discovery", "question", "budget", "champion", "demo"]


def _evidence(rng: random.Random) -> str:
    """Ten to twenty words, a few common and many rare (roughly Zipf), like short manager notes."""
    picks = [WORDS[min(int(rng.paretovariate(1.1)) - 1, len(WORDS) - 1)] for _ in range(rng.randint(10, 20))]
    return " ".join(picks)


def _insert(s: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), 2000):
        s.execute(insert(model), rows[start : start + 2000])


def seed(engine, team: str, closed: int, rng: random.Random) -> None:
    """`closed` closed commitments, two per diagnosis, over reps of seven per manager; indexed in
    bulk exactly as index_case would index each diagnosis."""
    diagnoses_n = closed // 2
    reps_n = max(REPS_PER_MANAGER, diagnoses_n // 20)
    now = datetime(2026, 11, 13, tzinfo=UTC)
    with Session(engine) as s:
        _insert(s, Person, [
            {"team_id": team, "slack_user_id": f"U{team}{i}", "manager_user_id": f"M{team}{i // REPS_PER_MANAGER}",
             "display_name": f"rep {i}", "role": "rep", "email": "", "tz": "", "active": True,
             "created_at": now, "updated_at": now, "paused_days": 0} for i in range(reps_n)
        ])  # fmt: skip
        ids = [pid for pid in s.exec(select(Person.id).where(Person.team_id == team).order_by(col(Person.id))) if pid]
        arch = {pid: ARCHETYPES[i % 3] for i, pid in enumerate(ids)}
        _insert(s, WiringProfile, [
            {"team_id": team, "person_id": pid, "version": 1, "archetype": arch[pid], "coachability": 60, "drive": 60,
             "resilience": 60, "deal_killers": [] if i % 5 else ["coaching_resistance"], "gaps": [GAPS[i % 4]],
             "created_at": now} for i, pid in enumerate(ids)
        ])  # fmt: skip
        texts = [_evidence(rng) for _ in range(diagnoses_n)]
        _insert(s, Diagnosis, [
            {"team_id": team, "person_id": ids[i % len(ids)], "manager_user_id": "M", "cause": "coaching_gap",
             "gap": GAPS[i % 4], "evidence": texts[i], "pushback": [], "escalate": False, "profile_version": 1,
             "submission_key": f"{team}-d{i}", "created_at": now - timedelta(days=1 + i % 700)}
            for i in range(diagnoses_n)
        ])  # fmt: skip
        columns = (col(Diagnosis.id), col(Diagnosis.person_id), col(Diagnosis.gap), col(Diagnosis.created_at))
        diag = list(s.execute(sa_select(*columns, col(Diagnosis.evidence)).where(col(Diagnosis.team_id) == team)
                              .order_by(col(Diagnosis.id))))  # fmt: skip
        _insert(s, Commitment, [
            {"team_id": team, "person_id": pid, "manager_user_id": "M", "diagnosis_id": did, "gap": gap,
             "behavior": f"behavior {did}-{k}", "target_count": 3, "window_days": 7, "practice_format": "call_review",
             "evidence": "recordings", "status": "met" if (did + k) % 3 else "missed", "starts_on": at.date(),
             "ends_on": at.date() + timedelta(days=7 * (k + 1)), "submission_key": f"{team}-c{did}-{k}",
             "created_at": at, "closed_at": at + timedelta(days=7 * (k + 1)), "paused_days": 0}
            for did, pid, gap, at, _ in diag for k in range(2)
        ])  # fmt: skip
        commitments = [cid for cid in s.exec(select(Commitment.id).where(Commitment.team_id == team)) if cid]
        _insert(s, CheckIn, [{"team_id": team, "commitment_id": cid, "count": 1 + cid % 3, "note": "",
                              "source": "button", "created_at": now} for cid in commitments])  # fmt: skip
        _index(s, team, diag, arch)
        s.commit()


def _index(s: Session, team: str, diag: list[Any], arch: dict[int, str]) -> None:
    docs, counts = [], []
    for did, pid, gap, at, evidence in diag:
        terms = rules.term_counts(evidence)
        counts.append(terms)
        docs.append({"team_id": team, "diagnosis_id": did, "person_id": pid, "archetype": arch[pid],
                     "seat_risk": arch[pid] != "engine", "profiled": True, "deal_killers": "", "flagged_gaps": "",
                     "killer_count": 0, "flagged_count": 0, "cause": "coaching_gap", "gap": gap,
                     "length": sum(terms.values()), "created_at": at})  # fmt: skip
    _insert(s, CaseDoc, docs)
    case_ids = dict(s.exec(select(CaseDoc.diagnosis_id, CaseDoc.id).where(CaseDoc.team_id == team)).all())
    postings, df, uses = [], Counter[str](), Counter[str]()
    for (did, *_), terms in zip(diag, counts, strict=True):
        length = sum(terms.values())
        for t, n in terms.items():
            postings.append({"team_id": team, "term": t, "case_id": case_ids[did], "tf": n, "doc_len": length})
            df[t] += 1
            uses[t] += n
    _insert(s, CaseTerm, postings)
    rows = [{"team_id": team, "term": t, "docs": n, "uses": uses[t]} for t, n in df.items()]
    rows.append(
        {"team_id": team, "term": "", "docs": len(diag), "uses": sum(len(c) and sum(c.values()) for c in counts)}
    )
    _insert(s, CaseTermDf, rows)


def measure(engine, playbook, team: str, viewer: str | None, runs: int) -> tuple[float, float, int, int]:
    """Median and worst milliseconds, statements per lookup, cases shown: the whole diagnose-form
    addition (similar cases and the second opinion) for rep 0."""
    rep = f"U{team}0"
    seen: list[str] = []

    def spy(conn, cursor, statement, *args):
        if not statement.strip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            seen.append(statement)

    times, shown = [], 0
    for n in range(runs + 1):
        with Session(engine) as s:
            card = load_wiring_card(s, team, rep)
            person = s.exec(select(Person).where(Person.team_id == team, Person.slack_user_id == rep)).one()
            assert card is not None and person.id is not None
            if n == runs:
                event.listen(engine, "before_cursor_execute", spy)
            started = time.perf_counter()
            advice = cases.advice_for(s, playbook, team, person.id, card, "pitch early w3 w17 budget", viewer, TODAY)
            elapsed = time.perf_counter() - started
            if n == runs:
                event.remove(engine, "before_cursor_execute", spy)
            elif n:  # the first run warms caches
                times.append(elapsed)
            shown = len(advice.similar)
    return 1000 * statistics.median(times), 1000 * max(times), len(seen), shown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory()
    url = args.database_url or f"sqlite:///{Path(tmp.name) / 'cases.db'}"
    engine = make_engine(url)
    upgrade(engine)
    playbook = load_playbook()
    rng = random.Random(13)
    sizes = {"T0SMALL": 5_000, "T0LARGE": 50_000}
    started = time.perf_counter()
    for team, closed in sizes.items():
        seed(engine, team, closed, rng)
    analyze(engine)
    print(
        f"database: {engine.dialect.name} · cores: {os.cpu_count()} · seeded in {time.perf_counter() - started:.0f} s"
    )
    print(
        f"{'closed commitments':>18} | {'viewer':>7} | {'median ms':>9} | {'worst ms':>8} | {'statements':>10} | shown"
    )
    for team, closed in sizes.items():
        for label, viewer in (("manager", f"M{team}0"), ("admin", None)):
            median, worst, statements, shown = measure(engine, playbook, team, viewer, args.runs)
            print(f"{closed:>18,} | {label:>7} | {median:>9.1f} | {worst:>8.1f} | {statements:>10} | {shown}")
    print("target: < 300 ms, statements the same at both sizes")
    engine.dispose()
    tmp.cleanup()


if __name__ == "__main__":
    main()
