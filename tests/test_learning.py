"""What works for whom, end to end on SQLite and PostgreSQL: the ledger counts each commitment as
`coachbot dispatch` closes it (once), a replaced commitment counts nothing, a changed outcome moves
its count, the migration's backfill agrees with the running count, and the prescribe form shows
workspace aggregates only (from five closed commitments, never another workspace's) with a sizing
heads-up in the manager's confirmation that never blocks the prescription."""

from __future__ import annotations

import importlib
import json
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from bot.coaching import service as svc
from bot.coaching.rules import CommitmentDraft
from bot.learning import service as learning
from storage.db import make_engine, session_scope
from storage.migrate import upgrade
from storage.models import CheckIn, Commitment, Diagnosis, OutcomeLedger, Person, WiringProfile
from tests import seed
from tests.conftest import MANAGER, REP, REP2, STANDARD_ROWS
from tests.rows import present
from tests.test_diagnose import diagnose, open_prescribe, prescribe_values

THU = date(2026, 11, 12)
TODAY = datetime(2026, 11, 12, 15, 0, tzinfo=UTC)


@pytest.fixture
def roster(import_csv):
    import_csv(*STANDARD_ROWS)


def dispatch(cli, iso: str) -> None:
    code, _, err = cli("dispatch", "--now", iso)
    assert code == 0, err


def ledger(engine, team: str = "T0TEAM") -> dict[tuple, tuple[int, int]]:
    with Session(engine) as s:
        rows = s.exec(select(OutcomeLedger).where(OutcomeLedger.team_id == team)).all()
    return {(r.archetype, r.gap, r.cause, r.practice_format, r.weekly_pace): (r.met, r.missed) for r in rows}


def rebuilt(engine, team: str = "T0TEAM") -> dict[tuple, tuple[int, int]]:
    """The ledger as a rebuild from scratch sees it (rolled back: the running count stays)."""
    with Session(engine) as s:
        learning.rebuild(s, team)
        s.flush()
        rows = s.exec(select(OutcomeLedger).where(OutcomeLedger.team_id == team)).all()
        found = {(r.archetype, r.gap, r.cause, r.practice_format, r.weekly_pace): (r.met, r.missed) for r in rows}
        s.rollback()
    return found


def status_of(engine, cid: int) -> str:
    with Session(engine) as s:
        return present(s.get(Commitment, cid)).status


def log(engine, cid: int, count: int, user: str = REP) -> None:
    with session_scope(engine) as s:
        result = svc.log_check_in(
            s, "T0TEAM", cid, user, count, "", "button", datetime(2026, 11, 15, tzinfo=UTC), "UTC"
        )
        assert result.ok, result.message


def test_closeout_counts_each_commitment_once(cli, engine, playbook, roster):
    first = seed.commitment(engine, playbook, seed.slack_user(REP), MANAGER, THU, key="a")
    log(engine, first, 3)
    assert ledger(engine) == {}  # active commitments count nothing
    dispatch(cli, "2026-11-19T15:00:00+00:00")
    dispatch(cli, "2026-11-19T15:30:00+00:00")  # a second pass counts nothing more
    assert ledger(engine) == {("root", "discovery", "coaching_gap", "drill", 3): (1, 0)}
    second = seed.commitment(engine, playbook, seed.slack_user(REP), MANAGER, date(2026, 11, 19), key="b")
    other = seed.commitment(engine, playbook, seed.slack_user(REP2, tz="UTC"), MANAGER, date(2026, 11, 19), key="c")
    log(engine, other, 1, REP2)
    dispatch(cli, "2026-11-26T15:00:00+00:00")
    assert status_of(engine, second) == "missed"
    assert ledger(engine) == {
        ("root", "discovery", "coaching_gap", "drill", 3): (1, 1),
        ("engine", "discovery", "coaching_gap", "drill", 3): (0, 1),
    }
    assert rebuilt(engine) == ledger(engine)


def _prescribe(engine, playbook, rep: str, key: str, target: int, starts: date, replace: bool = False) -> int:
    with session_scope(engine) as s:
        user = seed.slack_user(rep)
        diagnosis = svc.record_diagnosis(
            s, playbook, "T0TEAM", user, MANAGER, "coaching_gap", "discovery", None, "Seen on three calls this week.",
            submission_key=f"d-{key}", now=datetime.combine(starts, time(9), tzinfo=UTC),
        ).diagnosis  # fmt: skip
        draft = CommitmentDraft(
            "Discovery calls with no pitch before minute 12", target, 7, "call_review", "Recordings"
        )
        made = svc.prescribe(s, "T0TEAM", diagnosis, MANAGER, draft, starts, replace, submission_key=f"p-{key}")
        cid = present(present(made.commitment).id)
        svc.activate(s, "T0TEAM", cid, None, None, datetime.combine(starts, time(10), tzinfo=UTC))
        return cid


def test_a_replaced_commitment_counts_nothing_and_its_successor_once(cli, engine, playbook, roster):
    old = _prescribe(engine, playbook, REP, "old", 3, THU)
    log(engine, old, 3)  # logged in full, but replaced before it closed
    new = _prescribe(engine, playbook, REP, "new", 2, date(2026, 11, 14), replace=True)
    assert status_of(engine, old) == "replaced"
    dispatch(cli, "2026-11-19T15:00:00+00:00")  # the old one's closeout finds it replaced
    assert ledger(engine) == {}
    dispatch(cli, "2026-11-21T15:00:00+00:00")
    assert status_of(engine, new) == "missed"
    assert ledger(engine) == {("root", "discovery", "coaching_gap", "call_review", 2): (0, 1)}
    assert rebuilt(engine) == ledger(engine)


def test_a_changed_or_reopened_outcome_moves_its_count(cli, engine, playbook, roster):
    cid = seed.commitment(engine, playbook, seed.slack_user(REP), MANAGER, THU)
    log(engine, cid, 3)
    dispatch(cli, "2026-11-19T15:00:00+00:00")
    shape = ("root", "discovery", "coaching_gap", "drill", 3)
    assert ledger(engine) == {shape: (1, 0)}
    for before, after, expected in (("met", "missed", (0, 1)), ("missed", "active", (0, 0)), ("active", "met", (1, 0))):
        with session_scope(engine) as s:
            commitment = present(s.get(Commitment, cid))
            commitment.status = after
            s.add(commitment)
            learning.record_change(s, commitment, before)
        assert ledger(engine) == {shape: expected}
        assert {k: v for k, v in rebuilt(engine).items() if v != (0, 0)} == {
            k: v for k, v in ledger(engine).items() if v != (0, 0)
        }


def _raw_history(conn, team: str, user: str, archetype: str, outcomes: list[tuple[str, str, int]]) -> None:
    """Rows as a 0011 database holds them, written in SQL (the models may be newer than 0011)."""
    conn.execute(
        text(
            "INSERT INTO person (team_id, slack_user_id, email, display_name, role, tz, active, created_at, "
            "updated_at) VALUES (:t, :u, '', '', 'rep', '', true, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
        ),
        {"t": team, "u": user},
    )
    pid = conn.execute(text("SELECT id FROM person WHERE slack_user_id = :u"), {"u": user}).scalar_one()
    conn.execute(
        text(
            "INSERT INTO wiring_profile (team_id, person_id, version, archetype, coachability, drive, resilience, "
            "deal_killers, gaps, created_at) VALUES (:t, :p, 1, :a, 50, 50, 50, '[]', '[]', CURRENT_TIMESTAMP)"
        ),
        {"t": team, "p": pid, "a": archetype},
    )
    for i, (gap, status, target) in enumerate(outcomes):
        did = conn.execute(
            text(
                "INSERT INTO diagnosis (team_id, person_id, manager_user_id, cause, gap, evidence, pushback, escalate, "
                "profile_version, submission_key, created_at) VALUES (:t, :p, 'UM', 'coaching_gap', :g, 'seen', '[]', "
                "false, 1, :k, CURRENT_TIMESTAMP) RETURNING id"
            ),
            {"t": team, "p": pid, "g": gap, "k": f"d-{user}-{i}"},
        ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO commitment (team_id, person_id, manager_user_id, diagnosis_id, gap, behavior, "
                "target_count, window_days, practice_format, evidence, status, starts_on, ends_on, submission_key, "
                "created_at, closed_at, paused_days) VALUES (:t, :p, 'UM', :d, :g, 'b', :n, 7, 'role_play', 'e', :s, "
                "'2026-01-01', '2026-01-07', :k, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 0)"
            ),
            {"t": team, "p": pid, "d": did, "g": gap, "n": target, "s": status, "k": f"c-{user}-{i}"},
        )


def test_the_migration_counts_commitments_closed_before_it(blank_database_url):
    engine = make_engine(blank_database_url)
    upgrade(engine, "0011")
    with engine.begin() as conn:
        outcomes = [
            ("discovery", "met", 3),
            ("discovery", "missed", 3),
            ("discovery", "met", 12),
            ("closing", "met", 1),
        ]
        outcomes += [("general", "met", 3), ("onboarding:7", "met", 3), ("discovery", "active", 3)]
        outcomes += [("discovery", "replaced", 3)]
        _raw_history(conn, "T1", "U1", "engine", outcomes)
        _raw_history(conn, "T2", "U2", "root", [("discovery", "missed", 2)])
    migration = importlib.import_module("storage.migrations.versions.0012_outcome_ledger")
    assert migration.down_revision == "0011"
    upgrade(engine, "0012")
    assert ledger(engine, "T1") == {
        ("engine", "discovery", "coaching_gap", "role_play", 3): (1, 1),
        ("engine", "discovery", "coaching_gap", "role_play", 12): (1, 0),
        ("engine", "closing", "coaching_gap", "role_play", 1): (1, 0),
    }
    assert ledger(engine, "T2") == {("root", "discovery", "coaching_gap", "role_play", 2): (0, 1)}
    upgrade(engine)
    assert rebuilt(engine, "T1") == ledger(engine, "T1")
    engine.dispose()


# --- the prescribe form and the confirmation -----------------------------------------------------


@pytest.fixture
def h(harness, import_csv):
    import_csv(*STANDARD_ROWS)
    harness.ctx.clock = lambda: TODAY
    return harness


_SHAPES = iter(range(1, 10**6))


def _shape_rows(
    engine, team: str, fmt: str, pace: int, met: int, missed: int, archetype: str = "root", reps: int | None = None
) -> None:
    """Closed commitments of one shape (discovery, a 7-day window at `pace`) from `reps` reps of
    `archetype` (one commitment each by default), written as rows; the ledger is then rebuilt."""
    outcomes = ["met"] * met + ["missed"] * missed
    n = max(1, len(outcomes) if reps is None else reps)
    with session_scope(engine) as s:
        people = []
        for _ in range(n):
            k = next(_SHAPES)
            person = Person(team_id=team, slack_user_id=f"USHAPE{k}", manager_user_id="USOMEONE")
            s.add(person)
            s.flush()
            pid = present(person.id)
            s.add(
                WiringProfile(
                    team_id=team,
                    person_id=pid,
                    version=1,
                    archetype=archetype,
                    coachability=50,
                    drive=50,
                    resilience=50,
                )
            )
            d = Diagnosis(
                team_id=team,
                person_id=pid,
                manager_user_id="USOMEONE",
                cause="coaching_gap",
                gap="discovery",
                evidence="Seen on calls",
                profile_version=1,
                submission_key=f"shd-{k}",
            )
            s.add(d)
            s.flush()
            people.append((pid, present(d.id), k))
        for i, status in enumerate(outcomes):
            pid, did, k = people[i % n]
            s.add(
                Commitment(
                    team_id=team,
                    person_id=pid,
                    manager_user_id="USOMEONE",
                    diagnosis_id=did,
                    gap="discovery",
                    behavior="Calls with no pitch before minute 12",
                    target_count=pace,
                    window_days=7,
                    practice_format=fmt,
                    evidence="Recordings",
                    status=status,
                    starts_on=date(2026, 9, 1),
                    ends_on=date(2026, 9, 7),
                    submission_key=f"shc-{k}-{i}",
                    closed_at=datetime(2026, 9, 8, 9, tzinfo=UTC),
                )
            )
        s.flush()
        learning.rebuild(s, team)
    # fmt: skip


def _advice_text(view: dict) -> str:
    return json.dumps(view["blocks"], ensure_ascii=False)


def test_the_form_shows_nothing_below_five_and_never_another_workspace(h, engine):
    _shape_rows(engine, "T0OTHER", "call_review", 3, 40, 2)  # another organisation's history
    _shape_rows(engine, "T0TEAM", "call_review", 3, 3, 1)  # four here: under the floor
    _shape_rows(engine, "T0TEAM", "drill", 3, 1, 3, archetype="engine")  # another archetype
    diagnose(h)
    dump = _advice_text(open_prescribe(h))
    assert "What has worked* for Root reps on Discovery" in dump and "not enough history yet" in dump
    assert "met 3 of 4" not in dump and "of 42" not in dump and "met 40" not in dump


def test_the_form_lists_the_best_evidenced_shapes_with_their_counts(h, engine):
    _shape_rows(engine, "T0TEAM", "call_review", 3, 5, 1)
    _shape_rows(engine, "T0TEAM", "call_review", 8, 2, 1)
    _shape_rows(engine, "T0TEAM", "drill", 2, 1, 4)
    _shape_rows(engine, "T0TEAM", "role_play", 2, 4, 0)  # four: left out
    diagnose(h)
    view = open_prescribe(h)
    dump = _advice_text(view)
    works = dump[dump.index("What has worked") :]
    assert "*Call review*: met 7 of 9 (78%, likely" in works and "at 3–5 a week: met 5 of 6 (83%" in works
    assert "*Drill*: met 1 of 5 (20%, likely" in works and "Role-play" not in works.split("Sizing")[0]
    assert works.index("Call review") < works.index("Drill")
    mentions = {m.split(">")[0] for m in dump.split("<@")[1:]}
    assert mentions == {REP}  # aggregates only: the only person named is the rep being prescribed for
    assert len(view["blocks"]) <= 100


def _closed_history(engine, rep: str, logged: list[int], target: int = 3) -> None:
    """The rep's own closed commitments (on another gap), newest last, written as rows."""
    with session_scope(engine) as s:
        person = present(s.exec(select(Person).where(Person.slack_user_id == rep)).first())
        for i, count in enumerate(logged):
            start = date(2026, 9, 1) + timedelta(weeks=i)
            c = Commitment(
                team_id="T0TEAM", person_id=present(person.id), manager_user_id=MANAGER, gap="closing",
                behavior="Ask for the next step on every call", target_count=target, practice_format="drill",
                evidence="Notes", status="met" if count >= target else "missed", starts_on=start,
                ends_on=start + timedelta(days=6), submission_key=f"hist-{rep}-{i}",
                closed_at=datetime.combine(start + timedelta(days=7), time(9), tzinfo=UTC),
            )  # fmt: skip
            s.add(c)
            s.flush()
            s.add(CheckIn(team_id="T0TEAM", commitment_id=present(c.id), count=count))


def test_a_likely_too_big_target_is_sent_with_a_heads_up(h, engine):
    _closed_history(engine, REP, [1, 1, 2, 1, 1, 1])
    diagnose(h)
    view = open_prescribe(h)
    assert "Sizing for <@UREP1>" in _advice_text(view) and "their last 6 closed commitments" in _advice_text(view)
    r = h.submit(MANAGER, view, prescribe_values(target="8"))
    assert r.body == ""  # never blocked: the manager decides
    with Session(engine) as s:
        sent = s.exec(select(Commitment).where(Commitment.gap == "discovery")).one()
    assert (sent.status, sent.target_count) == ("active", 8)
    confirmation = [c for c in h.fake.calls_to("chat.postMessage") if c.args.get("channel") == f"D{MANAGER}"][-1]
    text_sent = confirmation.text_dump()
    assert "Sent to <@UREP1>: 8" in text_sent and "likely too big" in text_sent
    assert "logged that pace in 0 of their last 6" in text_sent


def test_a_target_within_the_lines_gets_no_heads_up(h, engine):
    _closed_history(engine, REP, [1, 1, 2, 1, 1, 1])
    diagnose(h)
    h.submit(MANAGER, open_prescribe(h), prescribe_values(target="1"))
    confirmation = [c for c in h.fake.calls_to("chat.postMessage") if c.args.get("channel") == f"D{MANAGER}"][-1]
    assert "Sent to <@UREP1>: 1" in confirmation.text_dump() and "Heads-up" not in confirmation.text_dump()
