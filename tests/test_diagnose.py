"""`/diagnose` and prescribing, end to end through the real app, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from sqlmodel import Session, select

from storage import queries
from storage.models import CheckIn, Commitment, Diagnosis, Person, WiringProfile
from tests.conftest import ADMIN, MANAGER, OTHER_MANAGER, REP, REP2, STANDARD_ROWS, STRANGER
from tests.harness import day, multi, num, opened_view, sel, txt
from tests.rows import present

TODAY = datetime(2026, 11, 12, 15, 0, tzinfo=UTC)
EVIDENCE = "Pitched before minute five on 4 of 5 recorded discovery calls this week."


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


def diagnose(
    h,
    rep: str = REP,
    cause: str = "coaching_gap",
    gap: str | None = "discovery",
    drag: str | None = None,
    caller: str = MANAGER,
    view_id: str | None = None,
):
    h.command(caller, f"<@{rep}|x> noticed early pitching", command="/diagnose")
    view = opened_view(h.fake)
    return h.submit(
        caller,
        view,
        {"cause": sel(cause, "radio_buttons"), "gap": sel(gap), "drag": sel(drag), "evidence": txt(EVIDENCE)},
        view_id=view_id,
    )


def prescribe_values(
    behavior: str = "Discovery calls with no pitch before minute 12",
    target: str = "3",
    window: str = "7",
    fmt: str = "call_review",
    evidence: str = "Recordings shared with Morgan",
):
    return {
        "behavior": txt(behavior),
        "target": num(target),
        "window": num(window),
        "format": sel(fmt),
        "evidence": txt(evidence),
    }


def open_prescribe(h, caller: str = MANAGER) -> dict:
    brief = _dms_to(h.fake, caller)[-1]
    button = next(
        e for b in brief.blocks if b["type"] == "actions" for e in b["elements"] if e["action_id"] == "prescribe_open"
    )
    h.action(caller, "prescribe_open", button["value"])
    return opened_view(h.fake)


# --- /diagnose ---------------------------------------------------------------------------------


def test_diagnose_opens_modal_with_wiring_and_history(h):
    r = h.command(MANAGER, f"<@{REP}|riley> pitching too early", command="/diagnose")
    assert r.status == 200 and r.body == ""
    call = h.fake.calls_to("views.open")[-1]
    assert call.args["trigger_id"].startswith("trigger-")
    view = opened_view(h.fake)
    dump = json.dumps(view)
    assert view["callback_id"] == "diagnose" and json.loads(view["private_metadata"]) == {"rep": REP}
    assert "*Root* in a seat that needs *Engine*" in dump and "seat-fit risk" in dump
    assert "Coachability 72" in dump and "Coaching resistance" in dump
    assert "day 12 of 90 (absorption and observation)" in dump
    assert "No diagnoses or commitments yet." in dump
    assert "pitching too early" in dump  # the note pre-fills the evidence
    assert "Discovery depth (flagged)" in dump
    # wiring never goes to the channel the command was typed in
    assert h.fake.calls_to("chat.postMessage") == [] and h.fake.responses() == []


def test_slack_is_asked_about_each_person_once_per_request(h):
    h.fake.reset_calls()
    h.command(MANAGER, f"<@{REP}> noticed a rushed discovery call", command="/diagnose")
    asked = [c.args.get("user") for c in h.fake.calls_to("users.info")]
    assert sorted(asked) == sorted({MANAGER, REP})  # own-team check, role check and mention share one read
    assert h.fake.calls_to("views.open")


@pytest.mark.postgres_once("caller")
@pytest.mark.parametrize(
    ("caller", "team", "expected"),
    [
        (REP, None, "Only a rep's manager or a Coachbot admin"),
        (OTHER_MANAGER, None, "Only a rep's manager or a Coachbot admin"),
        (STRANGER, None, "Only a rep's manager or a Coachbot admin"),
        (MANAGER, "T0OTHER", "for members of this workspace only"),
    ],
)
def test_diagnose_permission_refusals(h, caller, team, expected):
    h.command(caller, f"<@{REP}>", command="/diagnose", team_id=team)
    assert expected in h.fake.last_response_text()
    assert h.fake.calls_to("views.open") == []


def test_admin_may_diagnose_any_rep(h):
    h.command(ADMIN, f"<@{REP2}>", command="/diagnose")
    assert opened_view(h.fake)["callback_id"] == "diagnose"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "Usage: `/diagnose @rep"),
        ("@riley", "couldn't tell who"),
        ("<@UBOTUSER>", "is a bot"),
        ("<@UGONE>", "deactivated"),
        ("<!channel>", "group mention"),
        (f"<@{REP}> " + "x" * 1200, "under 1000"),
    ],
)
@pytest.mark.sqlite_only
def test_diagnose_bad_input(h, text, expected):
    h.command(MANAGER, text, command="/diagnose")
    assert expected in h.fake.last_response_text()
    assert h.fake.calls_to("views.open") == []


@pytest.mark.sqlite_only
def test_expired_trigger_gives_a_clear_message(h):
    h.fake.fail_next("views.open", error="expired_trigger_id")
    h.command(MANAGER, f"<@{REP}>", command="/diagnose")
    assert "couldn't open the form (expired_trigger_id)" in h.fake.last_response_text()


# --- the brief ---------------------------------------------------------------------------------


def test_skill_pick_against_the_data_gets_pushback_and_data_first_opening(h, engine):
    r = diagnose(h)
    assert r.status == 200 and r.body == ""  # the modal closes
    (d,) = _rows(engine, Diagnosis)
    assert (d.cause, d.gap, d.manager_user_id, d.profile_version, d.escalate) == (
        "coaching_gap",
        "discovery",
        MANAGER,
        1,
        False,
    )
    assert len(d.pushback) == 2
    (brief,) = _dms_to(h.fake, MANAGER)
    text = brief.text_dump()
    assert "Coaching brief: Coaching / skill gap" in text
    assert "wired as a Root, but the seat needs an Engine" in text
    assert "the assessment flags Coaching resistance" in text
    assert "Open with the data" in text and "What do you see in it?" in text
    # the data points at the seat: the seat conversation leads, no drill is offered as the fix,
    # and prescribing stays available only as a secondary choice
    assert "Recommended move: a seat conversation" in text and "conversation about fit" in text
    assert "Drill to practise" not in text
    buttons = [e for b in brief.blocks if b["type"] == "actions" for e in b["elements"]]
    assert (buttons[0]["action_id"], buttons[0].get("style")) == ("brief_log_session", "primary")
    assert [b.get("style") for b in buttons if b["action_id"] == "prescribe_open"] == [None]
    assert "Pitched before minute five" in text  # the evidence as submitted, not the pre-filled note
    assert not any(c.args.get("channel") == "C0PUBLIC" for c in h.fake.calls)


def test_skill_pick_that_fits_the_data_gets_no_pushback(h, engine):
    diagnose(h, rep=REP2, gap="closing")
    (d,) = _rows(engine, Diagnosis)
    assert d.pushback == []
    text = _dms_to(h.fake, MANAGER)[-1].text_dump()
    assert "Check the pick" not in text and "Open with the data" not in text and "prescribe_open" in text
    assert "Drill to practise" in text


def test_seat_fit_leads_to_a_seat_conversation_not_coaching(h):
    diagnose(h, cause="seat_fit", gap=None)
    text = _dms_to(h.fake, MANAGER)[-1].text_dump()
    assert "This is not a coaching problem" in text and "Do not open a PIP" in text
    assert "prescribe_open" not in text and "conversation about fit" in text
    assert "Open with the data" in text  # a performance conversation with a coaching-resistant rep
    buttons = [e for b in _dms_to(h.fake, MANAGER)[-1].blocks if b["type"] == "actions" for e in b["elements"]]
    assert (buttons[0]["action_id"], buttons[0].get("style")) == ("brief_log_session", "primary")


def test_environmental_drag_names_whom_to_escalate_to_and_is_marked(h, engine):
    diagnose(h, cause="environmental_drag", gap=None, drag="lead_flow")
    (d,) = _rows(engine, Diagnosis)
    assert d.escalate is True and d.drag == "lead_flow"
    text = _dms_to(h.fake, MANAGER)[-1].text_dump()
    assert "Escalate to" in text and "lead routing" in text and "marked for your weekly summary" in text


def test_motivation_offers_a_pause_that_works(h, engine):
    diagnose(h, cause="motivation", gap=None)
    brief = _dms_to(h.fake, MANAGER)[-1]
    assert "patience" in brief.text_dump()
    # coaching resistance is flagged, but a life event opens with the person, not the data
    assert "Open with the data" not in brief.text_dump() and "How are you doing" in brief.text_dump()
    h.action(MANAGER, "pause_open", REP)
    view = opened_view(h.fake)
    assert view["callback_id"] == "pause"
    bad = h.submit(MANAGER, view, {"until": day("2026-11-01")})
    assert json.loads(bad.body)["errors"]["until"] == "Pick a date after today."
    h.submit(MANAGER, view, {"until": day("2026-12-01")})
    with Session(engine) as s:
        assert present(queries.get_person(s, "T0TEAM", REP)).nudges_paused_until == date(2026, 12, 1)
    assert "paused until 2026-12-01" in _dms_to(h.fake, MANAGER)[-1].text_dump()


@pytest.mark.sqlite_only
def test_validation_errors_are_field_level_and_store_nothing(h, engine):
    h.command(MANAGER, f"<@{REP}>", command="/diagnose")
    view = opened_view(h.fake)
    r = h.submit(
        MANAGER,
        view,
        {"cause": sel(None, "radio_buttons"), "gap": sel(None), "drag": sel(None), "evidence": txt("meh")},
    )
    body = json.loads(r.body)
    assert body["response_action"] == "errors"
    assert set(body["errors"]) == {"cause", "evidence"}
    assert _rows(engine, Diagnosis) == []


def test_double_submit_stores_one_diagnosis_and_sends_one_brief(h, engine):
    h.command(MANAGER, f"<@{REP}>", command="/diagnose")
    view = opened_view(h.fake)
    values = {
        "cause": sel("coaching_gap", "radio_buttons"),
        "gap": sel("discovery"),
        "drag": sel(None),
        "evidence": txt(EVIDENCE),
    }
    h.submit(MANAGER, view, values, view_id="VSAME")
    h.submit(MANAGER, view, values, view_id="VSAME")
    assert len(_rows(engine, Diagnosis)) == 1
    assert len(_dms_to(h.fake, MANAGER)) == 1


def test_forged_submission_for_someone_elses_rep_is_refused(h, engine):
    h.command(MANAGER, f"<@{REP}>", command="/diagnose")
    view = opened_view(h.fake)
    h.submit(
        OTHER_MANAGER,
        view,
        {"cause": sel("coaching_gap", "radio_buttons"), "gap": sel(None), "drag": sel(None), "evidence": txt(EVIDENCE)},
    )
    assert _rows(engine, Diagnosis) == []
    assert "Only a rep's manager" in _dms_to(h.fake, OTHER_MANAGER)[-1].text_dump()


def test_rep_without_profile_gets_generic_brief_and_can_get_one(h, engine):
    h.command(ADMIN, f"assign <@{STRANGER}> <@{MANAGER}>")
    diagnose(h, rep=STRANGER)
    text = _dms_to(h.fake, MANAGER)[-1].text_dump()
    assert "brief is generic" in text and "profile_open" in text and "Check the pick" not in text
    h.action(MANAGER, "profile_open", STRANGER)
    view = opened_view(h.fake)
    assert view["callback_id"] == "profile_add"
    bad = h.submit(
        MANAGER,
        view,
        {
            "archetype": sel("wizard"),
            "coachability": num("140"),
            "drive": num("50"),
            "resilience": num("x"),
            "deal_killers": multi(),
            "gaps": multi(),
        },
    )
    assert set(json.loads(bad.body)["errors"]) == {"archetype", "coachability", "resilience"}
    h.submit(
        MANAGER,
        view,
        {
            "archetype": sel("grandmaster"),
            "coachability": num("61"),
            "drive": num("70"),
            "resilience": num("55"),
            "deal_killers": multi(),
            "gaps": multi("closing"),
        },
    )
    (profile,) = [p for p in _rows(engine, WiringProfile) if p.coachability == 61]
    assert (profile.archetype, profile.version, profile.gaps) == ("grandmaster", 1, ["closing"])


# --- prescribe ---------------------------------------------------------------------------------


def test_prescribe_creates_commitment_dms_rep_and_confirms_to_manager(h, engine):
    diagnose(h)
    view = open_prescribe(h)
    assert view["callback_id"] == "prescribe" and "confirm" not in json.dumps(view["blocks"])
    r = h.submit(MANAGER, view, prescribe_values())
    assert r.body == ""
    (c,) = _rows(engine, Commitment)
    (d,) = _rows(engine, Diagnosis)
    assert (c.status, c.gap, c.target_count, c.window_days, c.diagnosis_id) == ("active", "discovery", 3, 7, d.id)
    assert (c.starts_on, c.ends_on) == (date(2026, 11, 12), date(2026, 11, 18))
    (rep_dm,) = _dms_to(h.fake, REP)
    text = rep_dm.text_dump()
    assert "Discovery calls with no pitch before minute 12" in text and "*3 times*" in text
    assert "First step" in text and "rehearse the new behavior with your manager" in text  # Root's first step
    assert c.dm_channel == f"D{REP}" and c.dm_ts
    buttons = [e for b in rep_dm.blocks if b["type"] == "actions" for e in b["elements"]]
    assert buttons[0]["action_id"] == "checkin_log" and buttons[0]["value"] == str(c.id)
    confirmation = _dms_to(h.fake, MANAGER)[-1].text_dump()
    assert f"Sent to <@{REP}>: 3" in confirmation and "fake.slack.com/archives" in confirmation


@pytest.mark.parametrize(
    ("values", "field", "reason"),
    [
        ({"behavior": txt("Work harder on discovery calls")}, "behavior", "'work harder' can't be counted"),
        ({"behavior": txt("Be more consultative with buyers")}, "behavior", "'be more' can't be counted"),
        ({"behavior": txt("calls")}, "behavior", "specific behavior"),
        ({"behavior": txt("x" * 301)}, "behavior", "300 characters"),
        ({"target": num("")}, "target", "whole number"),
        ({"target": num("0")}, "target", "between 1 and 50"),
        ({"window": num("31")}, "window", "1 to 30 days"),
        ({"format": sel("yoga")}, "format", "practise"),
        ({"evidence": txt("")}, "evidence", "evidenced"),
    ],
)
@pytest.mark.sqlite_only
def test_unmeasurable_commitments_are_rejected(h, engine, values, field, reason):
    diagnose(h)
    view = open_prescribe(h)
    r = h.submit(MANAGER, view, {**prescribe_values(), **values})
    errors = json.loads(r.body)["errors"]
    assert list(errors) == [field] and reason in errors[field]
    assert _rows(engine, Commitment) == [] and _dms_to(h.fake, REP) == []


def test_replacing_an_active_commitment_needs_confirmation(h, engine):
    diagnose(h)
    h.submit(MANAGER, open_prescribe(h), prescribe_values())
    diagnose(h)
    view = open_prescribe(h)
    assert "already has an active commitment" in json.dumps(view["blocks"])
    r = h.submit(
        MANAGER,
        view,
        {
            **prescribe_values(behavior="Ask two budget questions on every first call"),
            "confirm": multi(kind="checkboxes"),
        },
    )
    assert "confirm" in json.loads(r.body)["errors"]
    assert len(_rows(engine, Commitment)) == 1
    h.submit(
        MANAGER,
        view,
        {
            **prescribe_values(behavior="Ask two budget questions on every first call"),
            "confirm": multi("replace", kind="checkboxes"),
        },
    )
    rows = sorted(_rows(engine, Commitment), key=lambda c: c.id)
    assert [c.status for c in rows] == ["replaced", "active"]
    assert "replaces the previous commitment" in _dms_to(h.fake, MANAGER)[-1].text_dump()


def test_double_submitted_prescription_sends_one_dm(h, engine):
    diagnose(h)
    view = open_prescribe(h)
    h.submit(MANAGER, view, prescribe_values(), view_id="VTWICE")
    h.submit(MANAGER, view, prescribe_values(), view_id="VTWICE")
    assert len(_rows(engine, Commitment)) == 1 and len(_dms_to(h.fake, REP)) == 1


def test_rep_who_cannot_receive_dms_leaves_no_commitment(h, engine):
    diagnose(h)
    view = open_prescribe(h)
    h.fake.fail_next("chat.postMessage", error="messages_tab_disabled")
    h.submit(MANAGER, view, prescribe_values())
    assert _rows(engine, Commitment) == []
    assert "couldn't send" in _dms_to(h.fake, MANAGER)[-1].text_dump()
    assert "messages_tab_disabled" in _dms_to(h.fake, MANAGER)[-1].text_dump()


def test_rep_who_left_the_workspace_gets_nothing(h, engine):
    diagnose(h)
    view = open_prescribe(h)
    h.fake.users[REP]["deleted"] = True
    h.submit(MANAGER, view, prescribe_values())
    assert _rows(engine, Commitment) == [] and _dms_to(h.fake, REP) == []
    assert "has been deactivated" in _dms_to(h.fake, MANAGER)[-1].text_dump()


@pytest.mark.sqlite_only
def test_failed_prescribe_form_tells_the_manager(h):
    diagnose(h)
    h.fake.fail_next("views.open", error="expired_trigger_id")
    brief = _dms_to(h.fake, MANAGER)[-1]
    value = next(
        e["value"]
        for b in brief.blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "prescribe_open"
    )
    h.action(MANAGER, "prescribe_open", value)
    assert "couldn't open the form (expired_trigger_id)" in h.fake.last_response_text()


def test_other_manager_cannot_open_prescribe(h):
    diagnose(h)
    opened = len(h.fake.calls_to("views.open"))
    brief = _dms_to(h.fake, MANAGER)[-1]
    value = next(
        e["value"]
        for b in brief.blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "prescribe_open"
    )
    h.action(OTHER_MANAGER, "prescribe_open", value)
    assert "Only a rep's manager" in h.fake.last_response_text()
    h.action(MANAGER, "prescribe_open", value, team_id="T0OTHER")
    assert "for members of this workspace only" in h.fake.last_response_text()
    assert len(h.fake.calls_to("views.open")) == opened


# --- check-in buttons --------------------------------------------------------------------------


def test_check_in_button_records_a_row_and_updates_progress(h, engine):
    diagnose(h)
    h.submit(MANAGER, open_prescribe(h), prescribe_values())
    (c,) = _rows(engine, Commitment)
    h.action(REP, "checkin_log", str(c.id), message_ts=c.dm_ts)
    (row,) = _rows(engine, CheckIn)
    assert (row.commitment_id, row.count, row.source) == (c.id, 1, "button")
    updated = [r for r in h.fake.responses() if r.args.get("replace_original") is True][-1]
    assert "Logged 1 of 3" in updated.text_dump()
    assert "1 of 3 so far" in h.fake.last_response_text()
    h.action(STRANGER, "checkin_log", str(c.id))
    assert "isn't yours" in h.fake.last_response_text()
    h.ctx.clock = lambda: datetime(2026, 11, 19, 9, 0, tzinfo=UTC)
    h.action(REP, "checkin_log", str(c.id))
    assert "window closed on 2026-11-18" in h.fake.last_response_text()
    assert len(_rows(engine, CheckIn)) == 1
    with Session(engine) as s:
        assert s.exec(select(Person).where(Person.slack_user_id == REP)).one().id == c.person_id


def test_brief_logs_a_coaching_session_for_the_rep(h, engine):
    from storage.models import CoachingSession, SessionAttendee

    diagnose(h)
    brief = _dms_to(h.fake, MANAGER)[-1]
    button = next(
        e
        for b in brief.blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "brief_log_session"
    )
    h.action(MANAGER, "brief_log_session", button["value"])
    view = opened_view(h.fake)
    assert view["callback_id"] == "log_session" and f'"initial_users": ["{REP}"]' in json.dumps(view)
    h.submit(
        MANAGER,
        view,
        {
            "kind": sel("role_play"),
            "minutes": num("25"),
            "reps": {"type": "multi_users_select", "selected_users": [REP]},
            "day": day("2026-11-12"),
            "note": txt(""),
        },
    )
    (session,) = _rows(engine, CoachingSession)
    (attendee,) = _rows(engine, SessionAttendee)
    assert (session.kind, session.minutes, session.occurred_on) == ("role_play", 25, date(2026, 11, 12))
    with Session(engine) as s:
        assert present(s.get(Person, attendee.person_id)).slack_user_id == REP
    assert "Logged a 25-minute role-play" in _dms_to(h.fake, MANAGER)[-1].text_dump()
