"""Counted milestones ("5× Lead a discovery call...") reuse the commitment machinery end to end: the
plan opens a commitment for the current phase and parks later ones, the dispatcher wakes them when
their phase begins and nudges them, check-ins count them, and a closeout met checks the step off
(a missed one goes back to being a step the rep or manager checks off by hand)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlmodel import Session, select

from bot.onboarding.rules import behavior_window, counted, parse_milestones
from bot.pip.rules import Cycle, History, check
from bot.playbook.models import PlaybookError, parse_playbook
from storage.models import Commitment, Milestone
from tests.conftest import MANAGER, REP, STANDARD_ROWS
from tests.harness import opened_view, txt

TODAY = datetime(2026, 11, 12, 15, 0, tzinfo=UTC)  # REP (Chicago) started 2026-11-01: day 12
PLAN = {
    "phase_1": txt("2x Shadow a live call by an experienced rep\nRead the ideal customer brief"),
    "phase_2": txt("3 × Lead a discovery call with your manager listening"),
    "phase_3": txt("Keep a dated next step on every open deal"),
}


@pytest.fixture
def h(harness, import_csv):
    import_csv(*STANDARD_ROWS)
    harness.ctx.clock = lambda: TODAY
    return harness


def _rows(engine, model) -> list[Any]:
    with Session(engine) as s:
        return list(s.exec(select(model).order_by(model.id)).all())


def _dms_to(fake, user: str) -> list:
    return [c for c in fake.calls_to("chat.postMessage") if c.args.get("channel") == f"D{user}"]


def _visible(call) -> str:
    """What a message shows, with "×" as itself (text_dump escapes it)."""
    return json.dumps({"text": call.args.get("text"), "blocks": call.blocks}, ensure_ascii=False)


def _start_plan(h) -> tuple[list[Milestone], list[Commitment]]:
    h.command(MANAGER, f"plan <@{REP}>")
    h.submit(MANAGER, opened_view(h.fake), PLAN, view_id="VPLAN")
    return _rows(h.ctx.engine, Milestone), _rows(h.ctx.engine, Commitment)


def _dispatch(cli, iso: str) -> str:
    code, out, err = cli("dispatch", "--now", iso)
    assert code == 0, err
    return out


def _home_of(h, user: str, event_id: str) -> str:
    h.event({"type": "app_home_opened", "user": user, "tab": "home"}, event_id=event_id)
    published = [c for c in h.fake.calls_to("views.publish") if c.args.get("user_id") == user]
    view = published[-1].args["view"]
    return json.dumps(json.loads(view) if isinstance(view, str) else view, ensure_ascii=False)


def test_the_plan_opens_the_current_phases_behavior_and_parks_the_next(h):
    steps, commitments = _start_plan(h)
    assert [s.title for s in steps] == [
        "2× Shadow a live call by an experienced rep",  # "2x" is stored in one spelling
        "Read the ideal customer brief",
        "3× Lead a discovery call with your manager listening",
        "Keep a dated next step on every open deal",
    ]
    shadow, _, lead, _ = steps
    now, later = commitments
    assert (now.submission_key, now.gap, now.status) == (f"milestone:{shadow.id}", f"onboarding:{shadow.id}", "active")
    assert (now.behavior, now.target_count, now.practice_format) == (
        "Shadow a live call by an experienced rep",
        2,
        "call_review",
    )
    assert (now.starts_on, now.ends_on, now.window_days) == (date(2026, 11, 12), date(2026, 11, 15), 4)  # day 15
    assert (later.submission_key, later.status, later.target_count) == (f"milestone:{lead.id}", "waiting", 3)
    assert (later.starts_on, later.ends_on) == (date(2026, 12, 1), date(2026, 12, 30))  # days 31 to 60
    (dm,) = _dms_to(h.fake, REP)
    text = _visible(dm)
    assert "Shadow a live call by an experienced rep _(0 of 2 by day 15)_" in text
    assert "3× from day 31 to day 60" in text
    done_buttons = [b["accessory"]["value"] for b in dm.blocks if b.get("accessory", {}).get("action_id")]
    assert sorted(done_buttons) == sorted(str(s.id) for s in steps if s.id not in (shadow.id, lead.id))
    (answer,) = [c.text_dump() for c in _dms_to(h.fake, MANAGER) if "Started" in c.text_dump()]
    assert "4 milestones" in answer and "2 of them are counted by check-ins" in answer


def test_a_counted_step_is_not_checked_off_by_hand_while_it_counts(h):
    steps, (now, _) = _start_plan(h)
    h.action(REP, "milestone_done", str(steps[0].id))
    assert "counted by check-ins" in h.fake.responses()[-1].text_dump()
    assert [s.done_at for s in _rows(h.ctx.engine, Milestone)] == [None] * 4
    home = _home_of(h, REP, "EvHomeCounted")
    assert "2× by day 15, counted by check-ins" in home
    assert f'"action_id": "milestone_done", "value": "{steps[0].id}"' not in home
    assert f'"action_id": "checkin_log", "value": "{now.id}"' in home  # the commitment itself takes check-ins


def test_check_ins_reach_the_count_and_the_closeout_checks_the_step_off(h, cli):
    steps, (now, _) = _start_plan(h)
    h.action(REP, "checkin_log", str(now.id))
    h.action(REP, "checkin_log", str(now.id))
    # Closeout: the morning after the window's last day (Nov 15), at 9:00 in Chicago.
    _dispatch(cli, "2026-11-16T15:00:00+00:00")
    (closed, _) = _rows(h.ctx.engine, Commitment)
    assert (closed.status, closed.cycle_number) == ("met", 1)
    shadow = _rows(h.ctx.engine, Milestone)[0]
    assert shadow.done_at is not None and shadow.done_by == "check-ins"
    assert any("Met" in c.text_dump() and "Shadow a live call" in c.text_dump() for c in _dms_to(h.fake, REP))
    _dispatch(cli, "2026-11-16T15:30:00+00:00")  # a second pass changes nothing
    assert [s.done_by for s in _rows(h.ctx.engine, Milestone)] == ["check-ins", None, None, None]


def test_the_next_phase_wakes_is_nudged_and_a_miss_returns_it_to_a_hand_checked_step(h, cli):
    steps, (_, later) = _start_plan(h)
    _dispatch(cli, "2026-11-30T08:00:00+00:00")  # the day before phase 2, everywhere on Earth: still parked
    assert _rows(h.ctx.engine, Commitment)[1].status == "waiting"
    _dispatch(cli, "2026-12-01T15:00:00+00:00")  # day 31
    assert _rows(h.ctx.engine, Commitment)[1].status == "active"
    _dispatch(cli, "2026-12-07T15:00:00+00:00")  # Monday 9:00 in Chicago: the weekly nudge
    nudges = [c.text_dump() for c in _dms_to(h.fake, REP) if c.args.get("text", "").startswith("This week's practice")]
    assert len(nudges) == 1 and "Onboarding, day 37 of 90" in nudges[0] and "0 of 3" in nudges[0]
    h.ctx.clock = lambda: datetime(2026, 12, 10, 15, 0, tzinfo=UTC)
    h.action(REP, "checkin_log", str(later.id))
    _dispatch(cli, "2026-12-31T15:00:00+00:00")  # closeout of days 31-60 with 1 of 3
    assert _rows(h.ctx.engine, Commitment)[1].status == "missed"
    lead = _rows(h.ctx.engine, Milestone)[2]
    assert lead.done_at is None
    h.ctx.clock = lambda: datetime(2026, 12, 31, 15, 0, tzinfo=UTC)
    home = _home_of(h, REP, "EvHomeMissed")
    assert f'"action_id": "milestone_done", "value": "{lead.id}"' in home
    h.action(MANAGER, "milestone_done", str(lead.id))  # settled by hand after a conversation
    assert _rows(h.ctx.engine, Milestone)[2].done_by == MANAGER


def test_a_plan_started_after_a_counted_steps_due_day_leaves_it_a_plain_step(h):
    h.ctx.clock = lambda: datetime(2026, 11, 20, 15, 0, tzinfo=UTC)  # day 20: the day-15 step has passed
    steps, commitments = _start_plan(h)
    assert [c.submission_key for c in commitments] == [f"milestone:{steps[2].id}"]
    assert all(not c.submission_key.endswith(f":{steps[0].id}") for c in commitments)


def test_a_count_out_of_range_in_the_form_is_a_field_error(h):
    h.command(MANAGER, f"plan <@{REP}>")
    view = opened_view(h.fake)
    bad = {**PLAN, "phase_2": txt("60× Lead a discovery call")}
    response = h.submit(MANAGER, view, bad, view_id="VBAD")
    body = json.loads(response.body)
    assert body["response_action"] == "errors"
    assert "asks for 60 times; pick 1 to 50" in body["errors"]["phase_2"]
    assert _rows(h.ctx.engine, Commitment) == [] and _rows(h.ctx.engine, Milestone) == []


# --- rules ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("5× Lead a discovery call", (5, "Lead a discovery call")),
        ("5x Lead a discovery call", (5, "Lead a discovery call")),
        ("12 × Log a call", (12, "Log a call")),  # one space before the sign is allowed
        ("Lead five discovery calls", (None, "Lead five discovery calls")),
        ("5×", (None, "5×")),
        ("x5 Lead", (None, "x5 Lead")),
    ],
)
def test_counted_titles(title: str, expected: tuple[int | None, str]) -> None:
    assert counted(title) == expected


def test_parse_normalises_counts_and_refuses_zero() -> None:
    drafts, problem = parse_milestones("- 4x Role-play a pricing call\nRead the brief", 1)
    assert problem is None and [d.title for d in drafts] == ["4× Role-play a pricing call", "Read the brief"]
    assert parse_milestones("0× Shadow a call", 2) == ([], "Phase 2, milestone 1 asks for 0 times; pick 1 to 50.")


def test_behavior_windows_at_the_phase_edges() -> None:
    start = date(2026, 11, 1)
    assert behavior_window(start, 1, 10, date(2026, 11, 1)) == (date(2026, 11, 1), date(2026, 11, 10))
    assert behavior_window(start, 2, 60, date(2026, 11, 5)) == (date(2026, 12, 1), date(2026, 12, 30))
    assert behavior_window(start, 2, 45, date(2026, 12, 10)) == (date(2026, 12, 10), date(2026, 12, 15))
    assert behavior_window(start, 1, 10, date(2026, 11, 10)) == (date(2026, 11, 10), date(2026, 11, 10))
    assert behavior_window(start, 1, 10, date(2026, 11, 11)) is None  # past its due day


def test_missed_plan_behaviors_never_make_a_pip_gap(playbook) -> None:
    cycles = [
        Cycle("onboarding:7", date(2026, 11, 1), date(2026, 11, 10), False),
        Cycle("onboarding:7", date(2026, 11, 11), date(2026, 11, 20), False),
    ]
    result = check(History(cycles=cycles), playbook)
    assert not result.ready and not result.rules[0].holds


def test_playbook_counts_and_practice_format_are_checked() -> None:
    from tests.test_onboarding_rules import _default_data

    data = _default_data()
    data["onboarding"]["phases"][0]["milestones"][0] = "51× Shadow a call"
    data["onboarding"]["practice_format"] = "juggling"
    with pytest.raises(PlaybookError) as err:
        parse_playbook(data, "bad.yml")
    assert err.value.problems == [
        "onboarding.phases.0.milestones.0: a counted milestone asks for 1 to 50 times (found 51)",
        "onboarding.practice_format: 'juggling' is not a practice format in this playbook",
    ]
    good = _default_data()
    good["onboarding"].pop("practice_format")
    assert parse_playbook(good, "ok.yml").onboarding.practice_format == next(iter(good["practice_formats"]))
