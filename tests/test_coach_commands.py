"""`/coach` end to end: signed HTTP -> Bolt -> services -> the Web API fake and the database."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select

from storage import queries
from storage.models import ManagerRequest, Person
from tests.conftest import ADMIN, MANAGER, OTHER_MANAGER, REP, REP2, STANDARD_ROWS, STRANGER
from tests.rows import present


@pytest.fixture
def roster(import_csv):
    import_csv(*STANDARD_ROWS)


def _reply(h) -> str:
    resp = h.fake.responses()
    assert resp, "no reply reached the user"
    assert resp[-1].args.get("response_type") == "ephemeral"
    return resp[-1].text_dump()


@pytest.mark.sqlite_only
def test_help_lists_commands(harness):
    r = harness.command(REP, "help")
    assert r.status == 200
    text = _reply(harness)
    for cmd in ("/coach profile @rep", "/coach team", "/coach request @rep", "/coach assign @rep @manager"):
        assert cmd in text


@pytest.mark.sqlite_only
def test_empty_text_shows_help(harness):
    harness.command(REP, "")
    assert "/coach profile @rep" in _reply(harness)


@pytest.mark.parametrize("mention", [f"<@{REP}|riley>", f"<@{REP}>"])
def test_manager_sees_wiring_card(harness, roster, mention):
    harness.ctx.clock = lambda: __import__("datetime").datetime(2026, 11, 12, 9, 0, tzinfo=__import__("datetime").UTC)
    harness.command(MANAGER, f"profile {mention}")
    call = harness.fake.responses()[-1]
    assert call.args["response_type"] == "ephemeral"
    text = call.text_dump()
    assert "Wiring card: Riley" in text
    assert "*Root*" in text and "Hunter needs *Engine*" in text and "Seat-fit risk" in text
    assert "Coachability" in text and "72" in text and "65" in text and "40" in text
    assert "Coaching resistance" in text
    assert "Time pressure" in text and "Discovery depth" in text
    assert "Day 12 of 90 (absorption and observation)" in text
    assert "Assessment version 1" in text


def test_rep_sees_own_card_and_admin_sees_any(harness, roster, slack):
    harness.command(REP, f"profile <@{REP}>")
    assert "Wiring card: Riley" in _reply(harness)
    harness.command(ADMIN, f"profile <@{REP2}>")  # a Slack workspace admin
    assert "Wiring card: Sam" in _reply(harness)


def test_config_admin_sees_any_card(slack, database_url, engine, playbook, import_csv):
    from tests.harness import Harness

    import_csv(*STANDARD_ROWS)
    h = Harness(slack, database_url, engine, playbook, admins=frozenset({STRANGER}))
    try:
        h.command(STRANGER, f"profile <@{REP}>")
        assert "Wiring card: Riley" in h.fake.responses()[-1].text_dump()
    finally:
        h.close()


def test_admins_of_another_workspace_are_not_admins_here(slack, database_url, engine, playbook, import_csv):
    """Slack Connect and Grid siblings deliver users of other orgs: their admin flags (or a listing in
    COACHBOT_ADMINS) count only when the user's own team is this workspace."""
    from tests.harness import Harness

    import_csv(*STANDARD_ROWS)
    slack.fake.add_user("UOUTSIDEADMIN", "Olga", team_id="T0OTHER", is_admin=True)
    h = Harness(slack, database_url, engine, playbook, admins=frozenset({"UFOREIGN"}))
    try:
        for outsider in ("UOUTSIDEADMIN", "UFOREIGN"):
            h.command(outsider, f"profile <@{REP}>")
            assert "Wiring card" not in h.fake.last_response_text()
            h.command(outsider, "settings reminders off")
            assert "for members of this workspace only" in h.fake.last_response_text()
            h.command(outsider, f"assign <@{REP2}> <@{outsider}>")
            assert "for members of this workspace only" in h.fake.last_response_text()
        with Session(engine) as s:
            assert present(queries.get_workspace(s, "T0TEAM")).reminders_enabled is True
            assert present(queries.get_person(s, "T0TEAM", REP2)).manager_user_id == MANAGER
    finally:
        h.close()


@pytest.mark.parametrize("caller", [STRANGER, OTHER_MANAGER, REP2])
def test_others_get_a_refusal_that_reveals_nothing(harness, roster, caller):
    harness.command(caller, f"profile <@{REP}>")
    text = _reply(harness)
    assert "visible only to the rep, their manager and Coachbot admins" in text
    assert "Root" not in text and "72" not in text and "Riley" not in text


def test_refusal_is_the_same_for_someone_not_on_the_roster(harness, roster):
    harness.command(STRANGER, f"profile <@{OTHER_MANAGER}>")
    text_unknown = _reply(harness)
    harness.command(STRANGER, f"profile <@{REP}>")
    assert _reply(harness) == text_unknown


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("profile", "Usage: `/coach profile @rep`"),
        ("profile @riley", "couldn't tell who `@riley` is"),
        ("profile <@UNOBODY>", "isn't a member of this workspace"),
        ("profile <@UBOTUSER|helperbot>", "is a bot"),
        ("profile <@UGONE>", "has been deactivated"),
        ("profile <@UFOREIGN>", "belongs to another workspace"),
        ("profile <!channel>", "group mention, not a person"),
        ("profile <!here|here>", "group mention, not a person"),
        ("profile <#C123|general>", "a channel, not a person"),
        ("frobnicate <!channel>", "I don't know `frobnicate`"),
        ("<!channel>", "I don't know `&lt;!channel&gt;`"),
        ("x" * 2100, "too long"),
    ],
)
@pytest.mark.sqlite_only
def test_bad_input_gets_a_clear_ephemeral_answer(harness, roster, engine, text, expected):
    with Session(engine) as s:
        before = s.exec(select(Person)).all()
    r = harness.command(MANAGER, text)
    assert r.status == 200
    reply = _reply(harness)
    assert expected in reply
    assert "<!channel>" not in reply and "<!here" not in reply
    assert "Traceback" not in reply
    with Session(engine) as s:
        assert s.exec(select(Person)).all() == before


def test_rep_without_profile(harness, roster):
    harness.command(ADMIN, f"profile <@{STRANGER}>")
    assert "isn't on the Coachbot roster yet" in _reply(harness)


def test_team_lists_only_the_callers_reps(harness, roster):
    harness.command(MANAGER, "team")
    text = _reply(harness)
    assert f"<@{REP}>" in text and f"<@{REP2}>" in text and "Root" in text and "Engine" in text
    harness.command(OTHER_MANAGER, "team")
    assert "don't have any reps" in _reply(harness)


def test_assign_requires_admin(harness, roster, engine):
    harness.command(MANAGER, f"assign <@{REP}> <@{OTHER_MANAGER}>")
    assert "Only Coachbot admins" in _reply(harness)
    with Session(engine) as s:
        assert present(queries.get_person(s, "T0TEAM", REP)).manager_user_id == MANAGER


def test_admin_assigns_manager_and_rep_is_told(harness, roster, engine):
    harness.command(ADMIN, f"assign <@{REP}|riley> <@{OTHER_MANAGER}|oakley>")
    assert f"<@{OTHER_MANAGER}> now coaches <@{REP}> (replacing <@{MANAGER}>)" in _reply(harness)
    with Session(engine) as s:
        assert present(queries.get_person(s, "T0TEAM", REP)).manager_user_id == OTHER_MANAGER
        assert present(queries.get_person(s, "T0TEAM", OTHER_MANAGER)).role == "manager"
    dm = harness.fake.calls_to("chat.postMessage")[-1]
    assert dm.args["channel"] == f"D{REP}" and f"<@{OTHER_MANAGER}> your manager" in dm.text_dump()
    # the new manager now sees the card, the old one no longer does
    harness.command(OTHER_MANAGER, f"profile <@{REP}>")
    assert "Wiring card: Riley" in _reply(harness)
    harness.command(MANAGER, f"profile <@{REP}>")
    assert "visible only to the rep" in _reply(harness)


@pytest.mark.sqlite_only
def test_assign_bad_input(harness, roster):
    harness.command(ADMIN, f"assign <@{REP}>")
    assert "Usage: `/coach assign @rep @manager`" in _reply(harness)
    harness.command(ADMIN, f"assign <@{REP}> <@{REP}>")
    assert "can't be their own manager" in _reply(harness)
    harness.command(ADMIN, f"assign <@{REP}> <@UBOTUSER>")
    assert "The manager is a bot" in _reply(harness)


def test_request_then_rep_accepts(harness, roster, engine):
    harness.command(OTHER_MANAGER, f"request <@{REP}>")
    assert "I've asked" in _reply(harness)
    dm = harness.fake.calls_to("chat.postMessage")[-1]
    assert dm.args["channel"] == f"D{REP}"
    blocks = dm.blocks
    assert f"replace <@{MANAGER}>" in json.dumps(blocks)
    button = blocks[-1]["elements"][0]
    assert button["action_id"] == "manager_request_accept"
    # asking twice does not ping the rep twice
    harness.command(OTHER_MANAGER, f"request <@{REP}>")
    assert "already asked" in _reply(harness)
    assert len(harness.fake.calls_to("chat.postMessage")) == 1
    # a stranger cannot accept on the rep's behalf
    harness.action(STRANGER, "manager_request_accept", button["value"])
    assert "couldn't find that request" in harness.fake.responses()[-1].text_dump()
    harness.action(REP, "manager_request_accept", button["value"])
    with Session(engine) as s:
        assert present(queries.get_person(s, "T0TEAM", REP)).manager_user_id == OTHER_MANAGER
        req = s.exec(select(ManagerRequest)).one()
        assert req.status == "accepted"
    notice = harness.fake.calls_to("chat.postMessage")[-1]
    assert notice.args["channel"] == f"D{OTHER_MANAGER}" and "accepted" in notice.text_dump()
    # a double click decides once
    harness.action(REP, "manager_request_accept", button["value"])
    assert "already accepted" in harness.fake.responses()[-1].text_dump()
    assert len(harness.fake.calls_to("chat.postMessage")) == 2


def test_request_declined(harness, roster, engine):
    harness.command(OTHER_MANAGER, f"request <@{REP}>")
    value = harness.fake.calls_to("chat.postMessage")[-1].blocks[-1]["elements"][1]["value"]
    harness.action(REP, "manager_request_decline", value)
    with Session(engine) as s:
        assert present(queries.get_person(s, "T0TEAM", REP)).manager_user_id == MANAGER
        assert s.exec(select(ManagerRequest)).one().status == "declined"


def test_request_dm_failure_leaves_no_row(harness, roster, engine):
    harness.fake.fail_next("chat.postMessage", error="not_allowed_token_type")
    harness.command(OTHER_MANAGER, f"request <@{REP}>")
    assert "couldn't send" in _reply(harness)
    with Session(engine) as s:
        assert s.exec(select(ManagerRequest)).all() == []


@pytest.mark.sqlite_only
def test_malformed_button_value(harness, roster):
    r = harness.action(REP, "manager_request_accept", "not-a-number")
    assert r.status == 200
    assert "doesn't carry a request" in harness.fake.responses()[-1].text_dump()


@pytest.mark.sqlite_only
def test_other_workspace_sees_nothing(harness, roster):
    harness.command(MANAGER, "team", team_id="T0OTHER")
    assert "for members of this workspace only" in _reply(harness)
