"""PIP readiness: every outcome of the four rules (pure), then `/coach pip` end to end with its
privacy: only the rep's manager and admins see it, and only the person who asked."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session, select

from bot.pip.rules import Cycle, History, NextMove, Read, check
from bot.pip.rules import Session as Coached
from bot.playbook.models import Playbook
from bot.team import service as team_service
from storage.db import session_scope
from storage.models import Commitment, Person
from tests.conftest import ADMIN, MANAGER, OTHER_MANAGER, REP, REP2, STANDARD_ROWS, STRANGER
from tests.rows import present
from tests.seed import commitment, slack_user

START = date(2026, 9, 7)


def _cycles(gap: str = "closing", met: tuple[bool, ...] = (False, False)) -> list[Cycle]:
    return [
        Cycle(gap, START + timedelta(days=7 * i), START + timedelta(days=7 * i + 6), outcome)
        for i, outcome in enumerate(met)
    ]


def _coached(cycles: list[Cycle], minutes: int = 60) -> list[Coached]:
    return [Coached(c.starts_on + timedelta(days=2), minutes) for c in cycles]


def _history(**changes: object) -> History:
    cycles = _cycles()
    history = History(
        cycles=cycles,
        diagnoses=[Read(START, "coaching_gap", "closing")],
        sessions=_coached(cycles),
        archetype="engine",
        seat_archetype="engine",
    )
    for name, value in changes.items():
        setattr(history, name, value)
    return history


@pytest.mark.parametrize(
    ("changes", "move", "failing"),
    [
        ({}, NextMove.PIP, []),
        ({"cycles": [], "sessions": []}, NextMove.PRESCRIBE, [0, 1, 3]),
        ({"cycles": _cycles(met=(False,))}, NextMove.KEEP_COACHING, [0]),
        ({"cycles": _cycles(met=(False, True))}, NextMove.KEEP_COACHING, [0]),
        ({"sessions": []}, NextMove.COACH_MORE, [3]),
        ({"sessions": _coached(_cycles(), minutes=30)}, NextMove.COACH_MORE, [3]),
        ({"sessions": [Coached(START + timedelta(days=1), 200)]}, NextMove.COACH_MORE, [3]),
        ({"diagnoses": [Read(START, "seat_fit", "closing")]}, NextMove.SEAT_CONVERSATION, [1]),
        ({"seat_archetype": "root"}, NextMove.SEAT_CONVERSATION, [1]),
        ({"deal_killers": ["coaching_resistance"]}, NextMove.SEAT_CONVERSATION, [2]),
        ({"diagnoses": [Read(START, "environmental_drag", "closing")]}, NextMove.ESCALATE, [1]),
        ({"diagnoses": [Read(START, "motivation", "closing")]}, NextMove.CONVERSATION, [1]),
        ({"diagnoses": []}, NextMove.DIAGNOSE, [1]),
        (
            {"cycles": _cycles(gap="general"), "diagnoses": [Read(START, "coaching_gap", "general")]},
            NextMove.PRESCRIBE,
            [0, 1, 3],
        ),
    ],
)
def test_each_readiness_outcome_names_its_reason(playbook: Playbook, changes, move, failing):
    result = check(_history(**changes), playbook)
    assert result.move is move
    assert [i for i, rule in enumerate(result.rules) if not rule.holds] == failing
    assert result.ready is (move is NextMove.PIP)
    assert all(rule.reason for rule in result.rules)


def test_under_coached_says_how_many_minutes_are_owed(playbook: Playbook):
    # Two 7-day cycles: 2 weeks x 60 minutes x 75% = 90 minutes expected; 2 x 30 were logged.
    result = check(_history(sessions=_coached(_cycles(), minutes=30)), playbook)
    assert result.minutes_owed == 30
    assert "60 of 90 minutes" in result.rules[3].reason


def test_the_coached_share_comes_from_the_playbook(playbook: Playbook):
    history = _history(sessions=_coached(_cycles(), minutes=50))  # 100 minutes over two weeks
    assert check(history, playbook).ready  # 75%: 90 expected
    strict = check(history, playbook.model_copy(update={"pip_coached_share": 100}))  # 120 expected
    assert strict.move is NextMove.COACH_MORE and strict.minutes_owed == 20
    assert "100 of 120 minutes" in strict.rules[3].reason


def test_a_session_outside_every_cycle_does_not_count(playbook: Playbook):
    far = [Coached(START - timedelta(days=30), 500)]
    result = check(_history(sessions=far), playbook)
    assert result.move is NextMove.COACH_MORE
    assert "2 cycles with no session logged" in result.rules[3].reason


# --- end to end ------------------------------------------------------------------------------------


def _close(engine, commitment_id: int, status: str = "missed") -> None:
    with session_scope(engine) as session:
        row = present(session.get(Commitment, commitment_id))
        row.status, row.closed_at = status, datetime.combine(row.ends_on, datetime.min.time(), tzinfo=UTC)
        session.add(row)


def _stalled_cycles(engine, playbook: Playbook, rep_id: str, coached_minutes: int) -> None:
    """Two closed, missed cycles on `closing`, with `coached_minutes` logged in each."""
    for i in range(2):
        starts = START + timedelta(days=7 * i)
        cid = commitment(engine, playbook, slack_user(rep_id), MANAGER, starts, gap="closing", key=f"{rep_id}-{i}")
        _close(engine, cid)
        if coached_minutes:
            with session_scope(engine) as session:
                person = present(session.exec(select(Person).where(Person.slack_user_id == rep_id)).first())
                team_service.log_session(
                    session,
                    person.team_id,
                    MANAGER,
                    "one_on_one",
                    coached_minutes,
                    [person],
                    starts + timedelta(days=1),
                )


def _reply(harness) -> str:
    responses = harness.fake.responses()
    assert responses, "no reply reached the user"
    assert responses[-1].args.get("response_type") == "ephemeral"
    return responses[-1].text_dump()


def test_manager_sees_ready_rule_by_rule(harness, import_csv, engine, playbook):
    import_csv(*STANDARD_ROWS)
    _stalled_cycles(engine, playbook, REP2, coached_minutes=60)
    harness.command(MANAGER, f"pip <@{REP2}>")
    text = _reply(harness)
    assert "PIP readiness: ready" in text and "not ready" not in text
    assert text.count(":white_check_mark:") == 4
    assert "2 closed cycles, 0 met" in text and "120 of 90 minutes" in text


def test_under_coached_rep_is_not_ready_and_the_debt_is_shown(harness, import_csv, engine, playbook):
    import_csv(*STANDARD_ROWS)
    _stalled_cycles(engine, playbook, REP2, coached_minutes=0)
    harness.command(MANAGER, f"pip <@{REP2}> closing")
    text = _reply(harness)
    assert "PIP readiness: not ready" in text
    assert "under-coached" in text and "About 90 minutes are owed" in text
    assert "2 cycles with no session logged" in text


def test_deal_killer_and_wiring_lead_to_a_seat_conversation(harness, import_csv, engine, playbook):
    import_csv(*STANDARD_ROWS)  # REP: Root wiring in an Engine seat, coaching resistance flagged
    _stalled_cycles(engine, playbook, REP, coached_minutes=60)
    harness.command(MANAGER, f"pip <@{REP}>")
    text = _reply(harness)
    assert "not ready" in text and "seat conversation" in text
    assert "Coaching resistance" in text and "does not match the seat" in text


@pytest.mark.parametrize("caller", [OTHER_MANAGER, REP2])
def test_only_the_manager_and_admins_may_check(harness, import_csv, engine, playbook, caller):
    import_csv(*STANDARD_ROWS)
    _stalled_cycles(engine, playbook, REP2, coached_minutes=60)
    harness.command(caller, f"pip <@{REP2}>")
    text = _reply(harness)
    assert "Only a rep's manager or a Coachbot admin" in text
    assert "closed cycles" not in text and "minutes" not in text


def test_admin_may_check_and_a_stranger_may_not(harness, import_csv, engine, playbook):
    import_csv(*STANDARD_ROWS)
    _stalled_cycles(engine, playbook, REP2, coached_minutes=60)
    harness.command(ADMIN, f"pip <@{REP2}>")
    assert "PIP readiness: ready" in _reply(harness)
    harness.command(STRANGER, f"pip <@{REP2}>")
    text = _reply(harness)
    assert "PIP readiness:" not in text and "closed cycles" not in text


@pytest.mark.sqlite_only
def test_usage_and_unknown_gap(harness, import_csv):
    import_csv(*STANDARD_ROWS)
    harness.command(MANAGER, "pip")
    assert "Usage: `/coach pip @rep [gap]`" in _reply(harness)
    harness.command(MANAGER, f"pip <@{REP2}> juggling")
    assert "isn't a gap in the playbook" in _reply(harness)


def test_the_check_writes_nothing(harness, import_csv, engine, playbook):
    import_csv(*STANDARD_ROWS)
    _stalled_cycles(engine, playbook, REP2, coached_minutes=60)
    with Session(engine) as session:
        before = [(c.id, c.status) for c in session.exec(select(Commitment))]
    harness.command(MANAGER, f"pip <@{REP2}>")
    _reply(harness)
    with Session(engine) as session:
        assert [(c.id, c.status) for c in session.exec(select(Commitment))] == before
