"""Similar cases and the second opinion, end to end through the real app, on SQLite and PostgreSQL:
what the diagnose form shows, to whom, and the weekly summary's flag."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from itertools import count

import pytest
from sqlalchemy import event
from sqlmodel import Session, select

from bot.cases import rules
from bot.cases import service as cases
from bot.playbook.content import shipped_section
from bot.playbook.models import Playbook, parse_playbook
from bot.team.service import build_messages
from storage import queries
from storage.models import CaseDoc, CheckIn, Commitment, Diagnosis, Person, RepMetric
from tests.conftest import ADMIN, MANAGER, OTHER_MANAGER, REP, REP2, STANDARD_ROWS
from tests.harness import opened_view, sel, txt
from tests.rows import present

TODAY = datetime(2026, 11, 12, 15, 0, tzinfo=UTC)
REP3, REP4, OTHER_REP = "UREP3", "UREP4", "UOREP1"
ROWS = (
    *STANDARD_ROWS,
    f"{REP3},{MANAGER},Engine,Hunter,Engine,70,70,70,,discovery,2025-02-01",
    f"{REP4},{MANAGER},Grandmaster,Hunter,Engine,60,60,60,,closing,2025-03-01",
    f"{OTHER_REP},{OTHER_MANAGER},Engine,Hunter,Engine,70,70,70,,discovery,2025-02-01",
)
_views = count(1)


@pytest.fixture
def h(harness, import_csv):
    for user, name in ((REP3, "Quinn"), (REP4, "Jo"), (OTHER_REP, "Dana")):
        harness.fake.add_user(user, name)
    import_csv(*ROWS)
    harness.ctx.clock = lambda: TODAY
    return harness


def _diagnose(h, rep: str, evidence: str, when: datetime, caller: str = MANAGER, gap: str = "discovery") -> int:
    """A diagnosis through the real form (so it is indexed as the app indexes it)."""
    h.ctx.clock = lambda: when
    h.command(caller, f"<@{rep}|x>", command="/diagnose")
    values = {
        "cause": sel("coaching_gap", "radio_buttons"),
        "gap": sel(gap),
        "drag": sel(None),
        "evidence": txt(evidence),
    }
    h.submit(caller, opened_view(h.fake), values, view_id=f"VCASE{next(_views)}")
    h.executor.drain()
    h.ctx.clock = lambda: TODAY
    with Session(h.ctx.engine) as s:
        return present(s.exec(select(Diagnosis.id).order_by(Diagnosis.id.desc())).first())  # type: ignore[union-attr]


def _closed(
    engine, diagnosis_id: int, status: str, logged: int, behavior: str, closed: datetime, target: int = 3
) -> None:
    with Session(engine) as s:
        d = present(s.get(Diagnosis, diagnosis_id))
        c = Commitment(
            team_id=d.team_id, person_id=d.person_id, manager_user_id=d.manager_user_id, diagnosis_id=d.id,
            gap=d.gap or "general", behavior=behavior, target_count=target, practice_format="call_review",
            evidence="recordings", status=status, starts_on=(closed - timedelta(days=7)).date(),
            ends_on=closed.date(), submission_key=f"c-{diagnosis_id}-{closed.isoformat()}", closed_at=closed,
            created_at=closed - timedelta(days=7),
        )  # fmt: skip
        s.add(c)
        s.flush()
        for _ in range(logged):
            s.add(
                CheckIn(team_id=d.team_id, commitment_id=present(c.id), count=1, created_at=closed - timedelta(days=1))
            )
        s.commit()


def _open_form(h, caller: str, rep: str, note: str = "") -> list[dict]:
    h.fake.reset_calls()
    h.command(caller, f"<@{rep}|x> {note}".strip(), command="/diagnose")
    return opened_view(h.fake)["blocks"]


def _texts(blocks: list[dict]) -> str:
    return json.dumps(blocks)


def _case_sections(blocks: list[dict]) -> list[str]:
    return [b["text"]["text"] for b in blocks if b["type"] == "section" and b["text"]["text"].startswith("*")
            and "Tried" in b["text"]["text"]]  # fmt: skip


def _past_cases(h) -> None:
    """Four past cases of the manager's other reps and one of the rep's own, each with an outcome."""
    day = TODAY - timedelta(days=60)
    own = _diagnose(h, REP, "Pitched before minute five on discovery calls", day)
    _closed(h.ctx.engine, own, "missed", 1, "own earlier try", day + timedelta(days=7))
    a = _diagnose(h, REP2, "Pitches early on discovery calls, skips questions", day + timedelta(days=1))
    _closed(h.ctx.engine, a, "missed", 1, "Ten discovery questions before any pitch", day + timedelta(days=8))
    b = _diagnose(h, REP3, "Pitched early in discovery on two calls", day + timedelta(days=2))
    _closed(h.ctx.engine, b, "met", 3, "Three calls with no pitch before minute 12", day + timedelta(days=9))
    c = _diagnose(h, REP4, "Forecast notes missing in the CRM", day + timedelta(days=3), gap="closing")
    _closed(h.ctx.engine, c, "met", 2, "Update the close plan weekly", day + timedelta(days=10), target=2)
    _diagnose(h, REP4, "Pitched early on discovery calls, no outcome yet", day + timedelta(days=4))  # nothing closed


def test_the_form_shows_three_similar_cases_with_what_was_tried_and_how_it_ended(h):
    _past_cases(h)
    blocks = _open_form(h, MANAGER, REP, "pitching early on discovery calls again")
    shown = _case_sections(blocks)
    assert len(shown) == 3
    assert "Ten discovery questions" in shown[0] or "Three calls with no pitch" in shown[0]
    text = "\n".join(shown)
    assert "*missed*, 1/3 logged" in text and "*met*, 3/3 logged" in text and "*met*, 2/2 logged" in text
    assert "0 of 1 commitments met" in text and "words: " in text
    assert "own earlier try" not in text  # the rep's own cases are in the history, not here
    assert "no outcome yet" not in text  # a case without a closed commitment teaches nothing yet
    assert "among your own reps" in _texts(blocks)


def test_another_managers_reps_never_appear_admins_see_all_and_another_workspace_never(h):
    _past_cases(h)
    other = _diagnose(h, OTHER_REP, "Pitched early on discovery calls", TODAY - timedelta(days=20), caller=ADMIN)
    _closed(h.ctx.engine, other, "met", 3, "Other team's secret plan", TODAY - timedelta(days=13))
    _foreign_case(h.ctx.engine)
    manager_view = _texts(_open_form(h, MANAGER, REP, "pitched early on discovery calls"))
    assert "Other team's secret plan" not in manager_view and OTHER_REP not in manager_view
    admin_view = _texts(_open_form(h, ADMIN, REP, "pitched early on discovery calls"))
    assert "Other team's secret plan" in admin_view and "across the workspace" in admin_view
    assert "Foreign workspace plan" not in admin_view
    # and the other manager sees their own rep's case, never Morgan's reps
    other_view = _texts(_open_form(h, OTHER_MANAGER, OTHER_REP, "pitched early on discovery calls"))
    assert all(rep not in other_view for rep in (REP2, REP3, REP4))


def _foreign_case(engine) -> None:
    """The same words in another workspace, indexed the way the app indexes."""
    with Session(engine) as s:
        person = Person(team_id="T0ELSE", slack_user_id=REP2, manager_user_id=ADMIN)
        s.add(person)
        s.flush()
        d = Diagnosis(
            team_id="T0ELSE", person_id=present(person.id), manager_user_id=ADMIN, cause="coaching_gap",
            gap="discovery", evidence="Pitched early on discovery calls", submission_key="foreign-1",
            created_at=TODAY - timedelta(days=3),
        )  # fmt: skip
        s.add(d)
        s.flush()
        cases.index_case(s, d)
        s.commit()
        did = present(d.id)
    _closed(engine, did, "met", 3, "Foreign workspace plan", TODAY - timedelta(days=1))


def test_the_database_ranking_matches_the_pure_bm25(h):
    _past_cases(h)
    query = "pitched early on discovery calls"
    with Session(h.ctx.engine) as s:
        rep = present(
            queries.get_person(s, "T0TEAM" if False else present(s.exec(select(Person.team_id)).first()), REP)
        )
        team = rep.team_id
        docs = s.exec(select(CaseDoc).where(CaseDoc.team_id == team)).all()
        card_wiring = rules.Wiring()
        found = cases.similar_cases(s, team, present(rep.id), card_wiring, query, None)
        evidence = {d.id: s.get(Diagnosis, d.diagnosis_id).evidence for d in docs}  # type: ignore[union-attr]
    closed_ids = {d.id for d in docs if d.person_id != rep.id and "no outcome" not in evidence[d.id]}
    pure_docs = [
        rules.Doc(present(d.id), d.created_at, cases._wiring_of(d), rules.term_counts(evidence[present(d.id)]))
        for d in docs
    ]
    ranked = rules.rank(card_wiring, query, pure_docs, limit=len(pure_docs))
    expected = [doc for doc, _ in ranked if doc.case_id in closed_ids][:3]
    scores = {doc.case_id: score for doc, score in ranked}
    assert [round(c.score, 6) for c in found] == [scores[d.case_id] for d in expected]


@pytest.mark.parametrize("cases_n", [4])
def test_lookup_statements_do_not_grow_with_the_number_of_cases(h, cases_n):
    counts = []
    for batch in range(2):
        for i in range(cases_n * (1 + 5 * batch)):
            d = _diagnose(
                h, REP2, f"Pitched early on discovery call {i} batch {batch}", TODAY - timedelta(days=40 - i % 30)
            )
            _closed(h.ctx.engine, d, "met", 3, f"try {i}", TODAY - timedelta(days=30 - i % 25))
        seen: list[str] = []

        def spy(conn, cursor, statement, *args, seen=seen):
            if not statement.strip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")):
                seen.append(statement)

        with Session(h.ctx.engine) as s:
            rep = present(queries.get_person(s, present(s.exec(select(Person.team_id)).first()), REP))
            event.listen(h.ctx.engine, "before_cursor_execute", spy)
            try:
                found = cases.similar_cases(s, rep.team_id, present(rep.id), rules.Wiring(), "pitched early", None)
            finally:
                event.remove(h.ctx.engine, "before_cursor_execute", spy)
        assert len(found) == 3
        counts.append(len(seen))
    assert counts[0] == counts[1] <= 4, counts


def _streak(h, rep: str, logged: tuple[int, ...], evidence: str = "Skips discovery questions") -> None:
    first = TODAY - timedelta(days=7 * (len(logged) + 1))
    d = _diagnose(h, rep, evidence, first)
    for n, got in enumerate(logged, start=1):
        _closed(h.ctx.engine, d, "missed", got, f"Cycle {n} behavior", first + timedelta(days=7 * n))


def _opinion_top(blocks: list[dict]) -> str | None:
    top = blocks[0]["text"]["text"] if blocks[0]["type"] == "section" else ""
    return top if "Second opinion" in top else None


def test_missed_cycles_with_check_ins_get_a_second_opinion_at_the_top_of_the_form(h):
    _streak(h, REP2, (2, 1))
    top = _opinion_top(_open_form(h, MANAGER, REP2))
    assert top and "effort without movement" in top and "Cycle 1 behavior" in top and "missed, 1/3 logged" in top
    reading = _texts(_open_form(h, MANAGER, REP2))
    assert "seat" in reading and "environment" in reading


def test_missed_cycles_without_check_ins_read_as_not_bought_in(h):
    _streak(h, REP2, (0, 0))
    top = _opinion_top(_open_form(h, MANAGER, REP2))
    assert top and "missed without check-ins" in top
    assert "bought into the change" in _texts(_open_form(h, MANAGER, REP2))


@pytest.mark.parametrize("logged", [(2,), (0, 2)])
def test_no_second_opinion_for_one_miss_or_a_mixed_streak(h, logged):
    _streak(h, REP2, logged)
    assert _opinion_top(_open_form(h, MANAGER, REP2)) is None


def _own_words(h, pattern: str, label: str, reading: str) -> Playbook:
    """The workspace's playbook with its own label and reading for one pattern (the rest as shipped)."""
    data = json.loads(json.dumps(shipped_section()))  # a copy of the default playbook as written
    data["second_opinion"]["patterns"][pattern] = {"label": label, "reading": reading}
    h.ctx.playbook = parse_playbook(data, "ours.yml")
    return h.ctx.playbook


def test_the_playbook_words_the_second_opinion_in_the_form_and_the_summary(h):
    _streak(h, REP2, (2, 1))
    reading = "Ours: ask <@U0> what blocks the calls & check the territory before another drill."
    _own_words(h, "effort_without_movement", "tries & stalls", reading)
    blocks = _open_form(h, MANAGER, REP2)
    top = _opinion_top(blocks)
    assert top and "*Second opinion: tries &amp; stalls*" in top and "effort without movement" not in top
    shown = "Ours: ask &lt;@U0&gt; what blocks the calls &amp; check the territory before another drill."
    assert blocks[1]["elements"][0]["text"] == f"*How to read it:* {shown} Worth diagnosing again below."
    assert "not a motivation problem" not in _texts(blocks)  # the shipped reading is gone
    assert f"*Second opinion* <@{REP2}>: " in (summary := _summary_text(h))
    assert f"{shown} `/diagnose <@{REP2}>` shows the trail." in summary


def _flat_figures(engine, rep: str) -> None:
    with Session(engine) as s:
        person = present(s.exec(select(Person).where(Person.slack_user_id == rep)).first())
        monday = date(2026, 11, 9)
        for week in range(13):
            s.add(
                RepMetric(
                    team_id=person.team_id, person_id=present(person.id), period="week",
                    period_start=monday - timedelta(weeks=week), quota_attainment=80.0, pipeline_quality=60.0,
                )
            )  # fmt: skip
        s.commit()


def test_met_commitments_beside_flat_numbers_get_a_second_opinion(h):
    d = _diagnose(h, REP2, "Skips discovery questions", TODAY - timedelta(days=30))
    _closed(h.ctx.engine, d, "met", 3, "Met one", TODAY - timedelta(days=20))
    _closed(h.ctx.engine, d, "met", 3, "Met two", TODAY - timedelta(days=10))
    assert _opinion_top(_open_form(h, MANAGER, REP2)) is None  # no numbers yet: nothing to contradict
    _flat_figures(h.ctx.engine, REP2)
    top = _opinion_top(_open_form(h, MANAGER, REP2))
    assert top and "behaviors met, numbers flat" in top and "Met two" in top


def _summary_text(h) -> str:
    with Session(h.ctx.engine) as s:
        team = present(s.exec(select(Person.team_id)).first())
        messages = build_messages(s, h.ctx.playbook, team, MANAGER, TODAY.date())
    return json.dumps(messages)


def test_the_weekly_summary_flags_a_second_opinion_per_rep_with_the_same_rule(h):
    _streak(h, REP2, (2, 1))
    _streak(h, REP3, (2,))  # one miss: nothing
    d = _diagnose(h, REP4, "Skips discovery questions", TODAY - timedelta(days=30))
    _closed(h.ctx.engine, d, "met", 3, "Met one", TODAY - timedelta(days=20))
    _closed(h.ctx.engine, d, "met", 3, "Met two", TODAY - timedelta(days=10))
    _flat_figures(h.ctx.engine, REP4)
    text = _summary_text(h)
    assert text.count("*Second opinion*") == 2
    assert f"*Second opinion* <@{REP2}>" in text and f"*Second opinion* <@{REP4}>" in text
    assert f"*Second opinion* <@{REP3}>" not in text
