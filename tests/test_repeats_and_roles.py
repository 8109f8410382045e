"""Every user action is stored and answered once, whatever Slack delivers twice; every role check
compares the user's own team; summaries go only where wiring data may go."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session, func, select

from storage import queries
from storage.models import CheckIn, CoachingSession, Commitment, ManagerSetting, WiringProfile
from tests import seed
from tests.conftest import MANAGER, REP, REP2, STANDARD_ROWS
from tests.harness import day, multi, num, opened_view, sel, txt
from tests.rows import present

NOW = datetime(2026, 11, 17, 15, 0, tzinfo=UTC)  # a Tuesday, inside a window that started Monday
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def h(harness, import_csv, engine, playbook):
    import_csv(*STANDARD_ROWS)
    harness.ctx.clock = lambda: NOW
    harness.cid = seed.commitment(engine, playbook, seed.slack_user(REP), MANAGER, date(2026, 11, 16))
    return harness


def _count(engine, model) -> int:
    with Session(engine) as s:
        return int(s.exec(select(func.count()).select_from(model)).one())


def _texts(fake) -> list[str]:
    return [r.text_dump() for r in fake.responses()]


def _twice(h, body: bytes, retry: bool) -> None:
    assert h.post(body, FORM).status == 200
    headers = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"} if retry else None
    assert h.post(body, FORM, headers=headers).status == 200


@pytest.mark.parametrize("retry", [False, True], ids=["replayed", "slack retry"])
def test_a_repeated_check_in_click_is_stored_and_answered_once(h, engine, retry):
    _twice(h, h.action_body(REP, "checkin_log", str(h.cid)), retry)
    assert _count(engine, CheckIn) == 1
    texts = _texts(h.fake)
    assert sum("Logged 1" in t for t in texts) == 1
    assert sum("handled it once" in t for t in texts) == 1


def test_a_repeated_slash_command_is_stored_once(h, engine):
    _twice(h, h.command_body(REP, "2 two calls with no early pitch", "/checkin"), retry=False)
    _twice(h, h.command_body(MANAGER, f"log 30 1:1 <@{REP}>"), retry=True)
    with Session(engine) as s:
        assert [c.count for c in s.exec(select(CheckIn)).all()] == [2]
    assert _count(engine, CoachingSession) == 1
    texts = _texts(h.fake)
    assert sum("Logged 2" in t for t in texts) == 1 and sum("Logged a 30-minute" in t for t in texts) == 1


def _form_twice(h, user: str, values: dict, view_id: str) -> None:
    body = h.submit_body(user, opened_view(h.fake), values, view_id=view_id)
    _twice(h, body, retry=False)


def test_repeated_forms_are_stored_once(h, engine):
    fake = h.fake
    h.action(REP, "checkin_note_open", str(h.cid))
    _form_twice(h, REP, {"count": num("2"), "note": txt("Two calls, no pitch before minute 12")}, "VNOTE")
    h.action(REP, "blocked_open", str(h.cid))
    _form_twice(h, REP, {"note": txt("No calls booked this week")}, "VBLOCK")
    h.action(MANAGER, "home_log_session", REP)
    session_values = {
        "kind": sel("one_on_one"),
        "minutes": num("30"),
        "reps": {"type": "multi_users_select", "selected_users": [REP]},
        "day": day("2026-11-16"),
    }
    _form_twice(h, MANAGER, session_values, "VLOG")
    versions = _count(engine, WiringProfile)
    h.action(MANAGER, "profile_open", REP)
    profile_values = {
        "archetype": sel("engine"),
        "coachability": num("70"),
        "drive": num("60"),
        "resilience": num("50"),
        "deal_killers": multi(),
        "gaps": multi("discovery"),
    }
    _form_twice(h, MANAGER, profile_values, "VPROFILE")
    with Session(engine) as s:
        assert sorted((c.count, c.source) for c in s.exec(select(CheckIn)).all()) == [(0, "blocked"), (2, "note")]
    assert _count(engine, CoachingSession) == 1
    assert _count(engine, WiringProfile) == versions + 1
    to_manager = [c for c in fake.calls_to("chat.postMessage") if c.args.get("channel") == f"D{MANAGER}"]
    assert sum("is blocked on" in c.text_dump() for c in to_manager) == 1


def test_manager_of_another_workspace_cannot_coach_here(h, engine):
    """The roster says MANAGER coaches REP; once MANAGER's own team is another org, that counts for nothing."""
    h.fake.users[MANAGER]["team_id"] = "T0OTHER"
    h.command(MANAGER, f"<@{REP}> noticed early pitching", command="/diagnose")
    assert "for members of this workspace only" in h.fake.last_response_text()
    assert h.fake.calls_to("views.open") == []
    h.command(MANAGER, f"profile <@{REP}>")
    assert "Wiring card" not in h.fake.last_response_text()
    h.command(MANAGER, f"log 30 1:1 <@{REP}>")
    assert _count(engine, CoachingSession) == 0


def test_a_rep_of_another_workspace_cannot_check_in_here(h, engine):
    h.fake.users[REP]["team_id"] = "T0OTHER"
    h.command(REP, "1", command="/checkin")
    h.action(REP, "checkin_log", str(h.cid), extra={"user": {"id": REP, "team_id": "T0OTHER"}})
    assert _count(engine, CheckIn) == 0


def test_summary_never_goes_to_a_direct_message(h, engine):
    fake = h.fake
    fake.channels[f"D{REP}"] = {"id": f"D{REP}", "is_im": True, "is_private": True, "is_member": True}
    h.command(MANAGER, f"settings channel <#D{REP}>")
    assert "never to a direct message" in fake.last_response_text() or "Name the channel" in fake.last_response_text()
    h.action(MANAGER, "home_summary_channel")
    r = h.submit(
        MANAGER, opened_view(fake), {"channel": {"type": "conversations_select", "selected_conversation": f"D{REP}"}}
    )
    assert "errors" in r.body
    with Session(engine) as s:
        assert s.exec(select(ManagerSetting)).all() == []
        # A DM id stored by an older version is never used: the summary goes to the manager's own DM.
        s.add(ManagerSetting(team_id="T0TEAM", manager_user_id=MANAGER, summary_channel=f"D{REP}"))
        s.commit()
    fake.reset_calls()
    h.command(MANAGER, "summary")
    posted = fake.calls_to("chat.postMessage")
    assert posted and {c.args["channel"] for c in posted} == {f"D{MANAGER}"}


def test_on_demand_summary_falls_back_to_a_dm_and_says_why(h, engine):
    fake = h.fake
    fake.add_channel("G0COACH", "coaching", private=True, member=True)
    h.command(MANAGER, "settings channel <#G0COACH|coaching>")
    fake.channels["G0COACH"]["is_member"] = False  # the bot was removed since
    fake.reset_calls()
    h.command(MANAGER, "summary")
    posts = [c for c in fake.calls_to("chat.postMessage") if c.args.get("thread_ts") is None]
    (dm,) = [c for c in posts if c.args["channel"] == f"D{MANAGER}"]
    assert (
        "couldn't post your summary to <#G0COACH>" in dm.text_dump() and "not in that private channel" in dm.text_dump()
    )
    assert "so I sent your summary by DM" in fake.last_response_text()
    assert not [c for c in posts if c.args["channel"] == "G0COACH"]  # checked before posting, not after


def test_resume_gives_back_the_days_not_used(h, engine):
    with Session(engine) as s:
        before = present(s.get(Commitment, h.cid))
    h.command(REP, "pause 2027-01-27")
    h.ctx.clock = lambda: NOW + timedelta(days=14)  # resumed two weeks later
    h.command(REP, "resume")
    with Session(engine) as s:
        after = present(s.get(Commitment, h.cid))
        person = present(queries.get_person(s, "T0TEAM", REP))
    assert person.nudges_paused_until is None
    assert (after.ends_on - before.ends_on).days == 14 and after.window_days == before.window_days + 14
    assert "back on" in h.fake.last_response_text()


def test_pausing_someone_elses_rep_is_refused_in_words_about_pausing(h):
    h.command(REP2, f"pause <@{REP}> 2026-12-01")
    text = h.fake.last_response_text()
    assert "pause" in text and "diagnose" not in text
