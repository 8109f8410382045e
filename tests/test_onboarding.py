"""30/60/90 plans end to end: `/coach plan` drafts from the playbook and the hire's wiring, the form
starts the plan once, the rep gets it by DM, and each step is checked off once by the rep or manager."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlmodel import Session, select

from storage.models import Commitment, Milestone, OnboardingPlan
from tests.conftest import ADMIN, MANAGER, OTHER_MANAGER, REP, REP2, STANDARD_ROWS, STRANGER
from tests.harness import opened_view, txt

TODAY = datetime(2026, 11, 12, 15, 0, tzinfo=UTC)  # REP started 2026-11-01: day 12


@pytest.fixture
def h(harness, import_csv):
    import_csv(*STANDARD_ROWS)
    harness.ctx.clock = lambda: TODAY
    return harness


def _rows(engine, model):
    with Session(engine) as s:
        return s.exec(select(model)).all()


def _dms_to(fake, user: str) -> list:
    return [c for c in fake.calls_to("chat.postMessage") if c.args.get("channel") == f"D{user}"]


def _reply(h) -> str:
    responses = h.fake.responses()
    assert responses, "no reply reached the user"
    return responses[-1].text_dump()


def _phase_values(view: dict) -> dict[str, dict]:
    """The form as drafted, submitted unchanged."""
    values = {}
    for block in view["blocks"]:
        if block["type"] == "input":
            values[block["block_id"]] = txt(block["element"].get("initial_value", ""))
    return values


def open_plan(h, caller: str = MANAGER, rep: str = REP) -> dict:
    h.command(caller, f"plan <@{rep}>")
    return opened_view(h.fake)


def test_plan_is_drafted_from_the_playbook_and_the_hires_gaps(h, playbook):
    view = open_plan(h)
    assert view["callback_id"] == "onboarding_plan"
    inputs = [b for b in view["blocks"] if b["type"] == "input"]
    assert [b["block_id"] for b in inputs] == ["phase_1", "phase_2", "phase_3"]
    assert "Days 1–30" in inputs[0]["label"]["text"] and "Days 61–90" in inputs[2]["label"]["text"]
    drafted = "\n".join(b["element"]["initial_value"] for b in inputs)
    for phase in playbook.onboarding.phases:
        assert phase.milestones[0] in drafted
    # REP's flagged gaps are time_pressure and discovery: their milestones are in the draft.
    for gap in ("time_pressure", "discovery"):
        extras = [m for ms in playbook.onboarding.by_gap.get(gap, {}).values() for m in ms]
        assert extras and all(m in drafted for m in extras)


def test_starting_the_plan_stores_it_once_and_dms_the_rep(h, engine):
    view = open_plan(h)
    values = _phase_values(view)
    h.submit(MANAGER, view, values, view_id="VPLAN1")
    h.submit(MANAGER, view, values, view_id="VPLAN1")  # Slack's retry of the same form
    (plan,) = _rows(engine, OnboardingPlan)
    steps = _rows(engine, Milestone)
    expected = sum(len([line for line in v["value"].splitlines() if line.strip()]) for v in values.values())
    assert len(steps) == expected and plan.manager_user_id == MANAGER
    assert {s.phase for s in steps} == {1, 2, 3} and all(1 <= s.due_day <= 90 for s in steps)
    (dm,) = _dms_to(h.fake, REP)
    assert "Your first 90 days" in dm.text_dump() and "Day 12 of 90" in dm.text_dump()
    buttons = [b["accessory"] for b in dm.blocks if b.get("accessory", {}).get("action_id") == "milestone_done"]
    counted = {c.submission_key for c in _rows(engine, Commitment)}  # counted by check-ins: no button
    assert counted and len(buttons) == len(steps) - len(counted)
    confirmations = [c.text_dump() for c in _dms_to(h.fake, MANAGER) if "Started" in c.text_dump()]
    assert len(confirmations) == 1 and f"{len(steps)} milestones" in confirmations[0]


def test_a_second_plan_for_the_same_rep_is_refused(h, engine):
    view = open_plan(h)
    h.submit(MANAGER, view, _phase_values(view), view_id="VPLAN1")
    h.command(MANAGER, f"plan <@{REP}>")
    assert "already has a plan" in _reply(h)
    assert len(_rows(engine, OnboardingPlan)) == 1


def test_edited_milestones_are_what_is_stored(h, engine):
    view = open_plan(h)
    values = {
        "phase_1": txt("- Shadow five discovery calls\n\n• Read the ICP brief"),
        "phase_2": txt("Run two calls with the manager listening"),
        "phase_3": txt("Own a full pipeline review"),
    }
    h.submit(MANAGER, view, values)
    steps = sorted(_rows(engine, Milestone), key=lambda s: (s.phase, s.position))
    assert [(s.phase, s.title) for s in steps] == [
        (1, "Shadow five discovery calls"),
        (1, "Read the ICP brief"),
        (2, "Run two calls with the manager listening"),
        (3, "Own a full pipeline review"),
    ]


@pytest.mark.sqlite_only
def test_an_empty_phase_is_a_field_error_and_nothing_is_stored(h, engine):
    view = open_plan(h)
    values = {**_phase_values(view), "phase_2": txt("   \n")}
    r = h.submit(MANAGER, view, values)
    assert "phase_2" in json.loads(r.body)["errors"]
    assert _rows(engine, OnboardingPlan) == [] and _dms_to(h.fake, REP) == []


def test_rep_checks_a_step_off_once(h, engine):
    view = open_plan(h)
    h.submit(MANAGER, view, _phase_values(view))
    first = sorted(_rows(engine, Milestone), key=lambda s: s.id)[0]
    h.action(REP, "milestone_done", str(first.id))
    h.action(REP, "milestone_done", str(first.id))  # a second click
    (done,) = [s for s in _rows(engine, Milestone) if s.done_at is not None]
    assert done.id == first.id and done.done_by == REP
    texts = [c.text_dump() for c in h.fake.responses()]
    assert any("Done:" in t for t in texts) and any("already checked off" in t for t in texts)
    redrawn = [c for c in h.fake.responses() if c.args.get("replace_original")]
    assert redrawn and "1 of" in redrawn[-1].text_dump()


def test_manager_and_admin_may_check_off_others_may_not(h, engine):
    view = open_plan(h)
    h.submit(MANAGER, view, _phase_values(view))
    steps = sorted(_rows(engine, Milestone), key=lambda s: s.id)
    h.action(OTHER_MANAGER, "milestone_done", str(steps[0].id))
    h.action(REP2, "milestone_done", str(steps[0].id))
    assert all(s.done_at is None for s in _rows(engine, Milestone))
    assert "Only the rep, their manager" in _reply(h)
    h.action(MANAGER, "milestone_done", str(steps[0].id))
    h.action(ADMIN, "milestone_done", str(steps[1].id))
    assert {s.done_by for s in _rows(engine, Milestone) if s.done_at} == {MANAGER, ADMIN}


@pytest.mark.parametrize(
    ("caller", "rep", "expected"),
    [
        (OTHER_MANAGER, REP, "Only a rep's manager or a Coachbot admin"),
        (REP, REP, "Only a rep's manager or a Coachbot admin"),
        (MANAGER, REP2, "past onboarding"),
    ],
)
def test_who_may_plan_and_when(h, engine, caller, rep, expected):
    h.command(caller, f"plan <@{rep}>")
    assert expected in _reply(h)
    assert h.fake.calls_to("views.open") == [] and _rows(engine, OnboardingPlan) == []


def test_admin_may_plan_and_a_stranger_sees_nothing(h, engine):
    h.command(STRANGER, f"plan <@{REP}>")
    assert h.fake.calls_to("views.open") == []
    view = open_plan(h, caller=ADMIN)
    assert view["callback_id"] == "onboarding_plan"


@pytest.mark.sqlite_only
def test_usage(h):
    h.command(MANAGER, "plan")
    assert "Usage: `/coach plan @rep`" in _reply(h)


def _home_of(h, user: str, event_id: str) -> str:
    h.event({"type": "app_home_opened", "user": user, "tab": "home"}, event_id=event_id)
    published = [c for c in h.fake.calls_to("views.publish") if c.args.get("user_id") == user]
    assert published, "no Home tab published"
    view = published[-1].args["view"]
    return json.dumps(json.loads(view) if isinstance(view, str) else view)


def test_home_shows_the_plan_and_its_next_steps(h, engine):
    view = open_plan(h)
    h.submit(MANAGER, view, _phase_values(view))
    home = _home_of(h, REP, "EvHome1")
    assert "Your 30/60/90 plan" in home and "day 12 of 90" in home
    assert home.count('"milestone_done"') == 3  # the next three open steps
    first = sorted(_rows(engine, Milestone), key=lambda s: (s.due_day, s.id))[0]
    h.action(REP, "milestone_done", str(first.id), extra={"container": {"type": "view", "view_id": "VHOME"}})
    assert [s.id for s in _rows(engine, Milestone) if s.done_at] == [first.id]
    assert f'"action_id": "milestone_done", "value": "{first.id}"' not in _home_of(h, REP, "EvHome2")


def test_summary_flags_a_hire_behind_two_weeks_with_the_likely_reason(h, engine):
    view = open_plan(h)
    h.submit(MANAGER, view, _phase_values(view))
    h.ctx.clock = lambda: datetime(2026, 11, 28, 15, 0, tzinfo=UTC)  # day 28: nothing checked off
    h.command(MANAGER, "summary")
    summary = " ".join(c.text_dump() for c in _dms_to(h.fake, MANAGER))
    assert "day 28/90" in summary and "behind" in summary
    assert "Onboarding behind two weeks running" in summary
    # REP has Root wiring in an Engine seat and a deal-killer on record: a seat question, not more drills.
    flag = summary[summary.index("Onboarding behind two weeks running") :][:400]
    assert "seat" in flag.lower()
    assert "not enough earlier hires" in summary


def test_summary_asks_the_manager_to_start_a_plan_until_there_is_one(h, engine):
    h.command(MANAGER, "summary")
    summary = " ".join(c.text_dump() for c in _dms_to(h.fake, MANAGER))
    assert f"<@{REP}> is on day 12 of 90 with no onboarding plan" in summary
    assert f"<@{REP2}> is on day" not in summary  # started long ago: past onboarding
    view = open_plan(h)
    h.submit(MANAGER, view, _phase_values(view))
    h.fake.reset_calls()
    h.command(MANAGER, "summary")
    summary = " ".join(c.text_dump() for c in _dms_to(h.fake, MANAGER))
    assert "with no onboarding plan" not in summary and "day 12/90" in summary


def test_import_says_which_hires_have_no_plan(cli, tmp_path, slack):
    from datetime import date, timedelta

    from tests.conftest import HEADER

    start = (date.today() - timedelta(days=5)).isoformat()
    path = tmp_path / "hires.csv"
    path.write_text(HEADER + f"{REP},{MANAGER},Root,Hunter,Engine,72,65,40,,discovery,{start}\n")
    code, out, err = cli("import", str(path))
    assert code == 0, err
    assert "1 rep(s) are in their first 90 days with no onboarding plan" in out


def test_weekly_nudge_names_the_hires_onboarding_phase(h, engine, playbook):
    from datetime import date

    from bot.outbox.dispatcher import Dispatcher
    from bot.slack.client import make_dispatch_client
    from tests.seed import commitment, slack_user

    view = open_plan(h)
    h.submit(MANAGER, view, _phase_values(view))
    commitment(engine, playbook, slack_user(REP, tz="America/New_York"), MANAGER, date(2026, 11, 9), key="phase")
    h.fake.reset_calls()
    Dispatcher(h.ctx, make_dispatch_client(h.settings)).run_pass(datetime(2026, 11, 9, 16, 0, tzinfo=UTC))
    (nudge,) = _dms_to(h.fake, REP)
    text = nudge.text_dump()
    assert "This week's practice" in text
    assert f"Onboarding, day 9 of 90 ({playbook.onboarding.phases[0].name})" in text
