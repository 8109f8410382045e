"""The Fit Risk Diagnostic end to end through the real Bolt app: `/coach fitrisk` opens ten questions
pre-filled from the team's data with their sources, a changed figure needs a reason, the run is kept
once and its result comes by DM with the change since the last run; the org run is for admins."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import Session, col, select

from bot.levers.fitrisk import REASON_BLOCK, block_id
from bot.slack.limits import MESSAGE_BLOCKS, MODAL_BLOCKS, check_blocks
from storage.models import FitRiskRun
from tests.conftest import ADMIN, MANAGER, OTHER_MANAGER, REP, REP2, STANDARD_ROWS, STRANGER
from tests.harness import opened_view, txt

TODAY = datetime(2026, 12, 6, 15, 0, tzinfo=UTC)


@pytest.fixture
def h(harness, import_csv):
    import_csv(*STANDARD_ROWS)  # REP: a Root in an Engine seat; REP2: an Engine in an Engine seat
    harness.ctx.clock = lambda: TODAY
    return harness


def _runs(engine) -> list[FitRiskRun]:
    with Session(engine) as s:
        return list(s.exec(select(FitRiskRun).order_by(col(FitRiskRun.id))).all())


def _open(h, user: str = MANAGER, text: str = "fitrisk") -> dict[str, Any]:
    h.command(user, text)
    return opened_view(h.fake)


def _inputs(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}


def _answers(view: dict[str, Any], **changes: str) -> dict[str, dict[str, Any]]:
    """The form as opened, blanks answered with 50 (minutes 60, span 7), plus `changes` by block id."""
    values = {}
    for block_id_, block in _inputs(view).items():
        if block_id_ == REASON_BLOCK:
            continue
        default = {"q_coaching_minutes": "60", "q_span": "7"}.get(block_id_, "50")
        values[block_id_] = txt(block["element"].get("initial_value") or default)
    for key, value in changes.items():
        values[key] = txt(value)
    return values


def _results(h, user: str = MANAGER) -> list[Any]:
    return [
        c
        for c in h.fake.calls_to("chat.postMessage")
        if c.args.get("channel") == f"D{user}" and "Fit Risk" in str(c.args.get("text"))
    ]


def test_the_form_is_prefilled_from_the_team_with_sources(h):
    view = _open(h)
    assert view["callback_id"] == "fit_risk" and check_blocks(view["blocks"], MODAL_BLOCKS) == []
    inputs = _inputs(view)
    assert len(inputs) == 11  # ten questions and the reason
    seat = inputs[block_id("seat_misfit")]
    assert seat["element"]["initial_value"] == "50" and "from 2 reps' wiring and seats" in seat["hint"]["text"]
    assert inputs[block_id("span")]["element"]["initial_value"] == "2"
    assert "initial_value" not in inputs[block_id("manager_selling")]["element"]  # Coachbot cannot know it
    assert "best estimate" in inputs[block_id("manager_selling")]["hint"]["text"]
    assert json.loads(view["private_metadata"])["scope"] == MANAGER


def test_a_run_is_kept_once_and_its_result_comes_by_dm(h):
    view = _open(h)
    values = _answers(view, q_manager_selling="70")
    h.submit(MANAGER, view, values, view_id="VFIT1")
    h.submit(MANAGER, view, values, view_id="VFIT1")  # Slack's retry of the same form
    (run,) = _runs(h.ctx.engine)
    assert (run.scope, run.run_by, run.overridden) == (MANAGER, MANAGER, [])
    assert run.answers["seat_misfit"] == 50.0 and run.answers["manager_selling"] == 70.0
    (result,) = _results(h)
    assert check_blocks(result.blocks, MESSAGE_BLOCKS) == []
    leak = run.leak
    assert f"the biggest leak is {h.ctx.playbook.fit_risk.lever_name(leak)}" in result.args["text"]
    assert "First run" in result.text_dump()
    # A second run with the span fixed and selling down: the change since last time is in the result.
    view = _open(h)
    h.submit(
        MANAGER, view, _answers(view, q_manager_selling="40", q_span="7", **{REASON_BLOCK: "Two reps start next week."})
    )
    assert len(_runs(h.ctx.engine)) == 2
    assert "First run" not in _results(h)[-1].text_dump()


def test_changing_a_prefilled_figure_needs_a_reason(h):
    view = _open(h)
    response = h.submit(MANAGER, view, _answers(view, q_seat_misfit="0"), view_id="VFIT2")
    body = json.loads(response.body)
    assert body["response_action"] == "errors" and REASON_BLOCK in body["errors"]
    assert _runs(h.ctx.engine) == []
    why = "Riley moves to a Root seat on Monday."
    h.submit(MANAGER, view, _answers(view, q_seat_misfit="0", **{REASON_BLOCK: why}), view_id="VFIT3")
    (run,) = _runs(h.ctx.engine)
    assert run.overridden == ["seat_misfit"] and run.reason == why


def test_bad_answers_are_field_errors(h):
    view = _open(h)
    response = h.submit(MANAGER, view, _answers(view, q_seat_misfit="1e3", q_coaching_minutes="-5"))
    errors = json.loads(response.body)["errors"]
    assert {block_id("seat_misfit"), block_id("coaching_minutes")} <= set(errors)
    assert _runs(h.ctx.engine) == []


def test_who_may_run_it(h):
    for user in (REP, STRANGER, OTHER_MANAGER):
        h.command(user, "fitrisk")
        assert "no reps on the Coachbot roster" in h.fake.last_response_text(), user
    h.command(MANAGER, "fitrisk org")
    assert "Only Coachbot admins" in h.fake.last_response_text()
    h.command(MANAGER, "fitrisk everyone")
    assert "Usage: `/coach fitrisk`" in h.fake.last_response_text()
    assert h.fake.calls_to("views.open") == []
    view = _open(h, ADMIN, "fitrisk org")
    assert json.loads(view["private_metadata"])["scope"] == "org"
    assert _inputs(view)[block_id("span")]["element"]["initial_value"] == "2"


def test_a_form_for_someone_elses_scope_is_refused(h):
    view = _open(h)
    forged = {**view, "private_metadata": json.dumps({"scope": OTHER_MANAGER, "prefilled": {}})}
    h.submit(MANAGER, forged, _answers(view, q_manager_selling="50"), view_id="VFORGED")
    assert _runs(h.ctx.engine) == []
    notes = [c.text_dump() for c in h.fake.calls_to("chat.postMessage") if c.args.get("channel") == f"D{MANAGER}"]
    assert any("own team, or for the whole organisation" in n for n in notes)
    org = {**view, "private_metadata": json.dumps({"scope": "org", "prefilled": {}})}
    h.submit(MANAGER, org, _answers(view, q_manager_selling="50"), view_id="VFORGED2")
    assert _runs(h.ctx.engine) == []


def test_every_prefilled_fact_comes_from_the_teams_record_with_its_source(h, cli, tmp_path):
    from datetime import date, timedelta

    from storage.models import Commitment, Diagnosis, Milestone, OnboardingPlan, Person

    h.command(MANAGER, f"log 60 1:1 <@{REP}>")
    h.command(MANAGER, f"log 30 group <@{REP}> <@{REP2}>")
    path = tmp_path / "events.csv"
    path.write_text(f"rep,event,event_date,exit_type\n{REP2},exit,2025-06-01,voluntary\n")
    assert cli("import-metrics", str(path))[0] == 0
    with Session(h.ctx.engine) as s:
        rep = s.exec(select(Person).where(Person.slack_user_id == REP)).one()
        rep2 = s.exec(select(Person).where(Person.slack_user_id == REP2)).one()
        for i, cause in enumerate(("coaching_gap", "seat_fit")):
            s.add(Diagnosis(team_id="T0TEAM", person_id=rep.id or 0, manager_user_id=MANAGER, cause=cause,
                            evidence="Seen on calls.", submission_key=f"d{i}", created_at=TODAY))  # fmt: skip
        for i, status in enumerate(("met", "met", "missed")):
            closed = TODAY - timedelta(weeks=i + 1)
            s.add(Commitment(team_id="T0TEAM", person_id=rep.id or 0, manager_user_id=MANAGER, gap="discovery",
                             behavior="Ask about cost before any demo", target_count=3, practice_format="role_play",
                             evidence="calls", status=status, starts_on=closed.date() - timedelta(days=6),
                             ends_on=closed.date(), submission_key=f"c{i}", closed_at=closed))  # fmt: skip
        plan = OnboardingPlan(team_id="T0TEAM", person_id=rep2.id or 0, manager_user_id=MANAGER,
                              start_date=date(2026, 7, 1), submission_key="p1")  # fmt: skip
        s.add(plan)
        s.flush()
        late = datetime(2026, 10, 15, tzinfo=UTC)  # after day 90 (2026-09-28)
        s.add(Milestone(team_id="T0TEAM", plan_id=plan.id or 0, phase=3, position=1, title="Own it", due_day=90,
                        done_at=late))  # fmt: skip
        s.commit()
    inputs = _inputs(_open(h))

    def shown(key: str) -> tuple[str | None, str]:
        block = inputs[block_id(key)]
        return block["element"].get("initial_value"), block["hint"]["text"]

    expected = {
        "deal_killer_hires": ("100", "from 1 hire of the last year"),
        "coaching_minutes": ("15", "from 2 sessions logged in the last 4 weeks, over 2 reps"),
        "one_to_one": ("66.7", "from 2 sessions logged in the last 4 weeks"),
        "skill_diagnoses": ("50", "from 2 diagnoses in the last 12 months"),
        "commitments_met": ("66.7", "from 3 commitments closed in the last 12 weeks"),
        "ramp_behind": ("100", "from 1 finished plan of the last 12 months"),
        "first_year_exits": ("100", "from 1 hire who started one to two years ago"),
    }
    for key, (value, source) in expected.items():
        assert shown(key)[0] == value and source in shown(key)[1], (key, shown(key))
