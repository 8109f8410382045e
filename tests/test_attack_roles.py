"""Attacks on "every role check compares the user's own team id with the workspace's".

The roster says MANAGER coaches REP. Once Slack says MANAGER's own team is another org (a Slack
Connect or Grid sibling, the case tests/test_repeats_and_roles.py already uses for /diagnose and
/coach profile), MANAGER must not get REP's wiring data through any other door either.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from urllib.parse import parse_qsl, urlencode

import pytest
from sqlmodel import Session, select

from storage import queries
from storage.models import CheckIn, Commitment, ManagerRequest, ManagerSetting
from tests import seed
from tests.conftest import MANAGER, OTHER_MANAGER, REP, REP2, STANDARD_ROWS
from tests.harness import opened_view, txt
from tests.rows import present

NOW = datetime(2026, 11, 17, 15, 0, tzinfo=UTC)  # a Tuesday, inside a window that started Monday
FOREIGN = "T0OTHER"


@pytest.fixture
def h(harness, import_csv, engine, playbook):
    import_csv(*STANDARD_ROWS)
    harness.ctx.clock = lambda: NOW
    harness.cid = seed.commitment(engine, playbook, seed.slack_user(REP), MANAGER, date(2026, 11, 16))
    harness.fake.reset_calls()
    return harness


def _manager_moves_to_another_org(h) -> None:
    h.fake.users[MANAGER]["team_id"] = FOREIGN


def _wiring_leaks(fake) -> list[str]:
    """Everything the app showed or sent that names REP's archetype ('Root' in STANDARD_ROWS) or REP."""
    shown = []
    for method in ("chat.postMessage", "views.publish", "response_url"):
        for call in fake.calls_to(method):
            dump = call.text_dump() + json.dumps(call.args.get("view") or "")
            if f"<@{REP}>" in dump or "Root" in dump:
                shown.append(f"{method}: {dump[:200]}")
    return shown


def test_on_demand_summary_is_refused_to_a_manager_of_another_org(h):
    _manager_moves_to_another_org(h)
    h.command(MANAGER, "summary")
    assert _wiring_leaks(h.fake) == [], "the weekly summary (wiring data) went to a user of another org"


def test_team_list_is_refused_to_a_manager_of_another_org(h):
    _manager_moves_to_another_org(h)
    h.command(MANAGER, "team")
    assert _wiring_leaks(h.fake) == [], "/coach team listed the reps' archetypes to a user of another org"


def test_home_summary_button_is_refused_to_a_manager_of_another_org(h):
    _manager_moves_to_another_org(h)
    h.action(MANAGER, "home_post_summary", extra={"user": {"id": MANAGER, "team_id": FOREIGN}})
    assert _wiring_leaks(h.fake) == [], "the Home tab's summary button posted wiring data to another org's user"


def test_app_home_of_a_manager_of_another_org_shows_no_team(h):
    _manager_moves_to_another_org(h)
    h.event({"type": "app_home_opened", "user": MANAGER, "tab": "home"}, event_id="EvHomeForeign")
    publishes = h.fake.calls_to("views.publish")
    assert publishes, "no Home tab was published at all"
    assert _wiring_leaks(h.fake) == [], "the Home tab showed the team's wiring to a user of another org"


def test_summary_channel_form_is_refused_to_a_manager_of_another_org(h, engine):
    fake = h.fake
    fake.add_channel("G0COACH", "coaching", private=True, member=True)
    h.action(MANAGER, "home_summary_channel")
    view = opened_view(fake)
    _manager_moves_to_another_org(h)
    h.submit(
        MANAGER,
        view,
        {"channel": {"type": "conversations_select", "selected_conversation": "G0COACH"}},
    )
    with Session(engine) as s:
        assert s.exec(select(ManagerSetting)).all() == [], "a user of another org changed where summaries go"


def test_a_slack_connect_private_channel_is_refused_for_summaries(h, engine):
    """A private channel shared with another organisation (Slack Connect): its external members
    would read the team's wiring data. "Nothing crosses Slack team ids" (DESIGN.md)."""
    fake = h.fake
    fake.add_channel("C0SHARED", "coaching-with-agency", private=True, member=True)
    fake.channels["C0SHARED"].update(is_ext_shared=True, is_shared=True)
    h.command(MANAGER, "settings channel <#C0SHARED|coaching-with-agency>")
    with Session(engine) as s:
        assert s.exec(select(ManagerSetting)).all() == [], (
            "summaries were routed into a channel shared with another org"
        )


def test_an_accept_that_cannot_connect_does_not_mark_the_request_accepted(h, engine):
    """The requesting manager left the workspace before the rep clicked Accept: the rep is told it
    could not connect them, yet the request is stored as accepted (the session still commits), so
    it can never be decided again."""
    h.command(OTHER_MANAGER, f"request <@{REP2}>")
    with Session(engine) as s:
        (req,) = s.exec(select(ManagerRequest)).all()
    h.fake.users[OTHER_MANAGER]["team_id"] = FOREIGN
    h.action(REP2, "manager_request_accept", str(req.id))
    assert "no longer in this workspace" in h.fake.last_response_text()
    with Session(engine) as s:
        status = present(s.get(ManagerRequest, req.id)).status
        rep = present(queries.get_person(s, "T0TEAM", REP2))
    assert rep.manager_user_id == MANAGER
    assert status != "accepted", "the request says accepted, but nobody was connected"


def test_a_reflection_from_a_user_of_another_org_is_refused(h, engine):
    """The check-in and "I'm blocked" forms check the user's own team; the reflection form does not."""
    h.action(REP, "reflection_open", str(h.cid))
    h.fake.users[REP]["team_id"] = FOREIGN
    body = h.submit_body(REP, opened_view(h.fake), {"note": txt("What I learned this week")})
    form = dict(parse_qsl(body.decode()))
    payload = json.loads(form["payload"])
    payload["user"]["team_id"] = FOREIGN  # Slack says whose org the user belongs to
    assert (
        h.post(urlencode({"payload": json.dumps(payload)}).encode(), "application/x-www-form-urlencoded").status == 200
    )
    with Session(engine) as s:
        assert present(s.get(Commitment, h.cid)).reflection is None, "a user of another org wrote into this team's data"


# --- regression tests: attacks that the checks withstand today -------------------------------------


def test_check_in_click_on_another_reps_commitment_is_refused(h, engine):
    h.action(REP2, "checkin_log", str(h.cid))
    h.action(MANAGER, "checkin_log", str(h.cid))
    with Session(engine) as s:
        assert s.exec(select(CheckIn)).all() == []
    assert "isn't yours" in h.fake.last_response_text()


def test_click_whose_user_team_differs_from_the_payload_team_is_refused(h, engine):
    h.action(REP, "checkin_log", str(h.cid), extra={"user": {"id": REP, "team_id": FOREIGN}})
    with Session(engine) as s:
        assert s.exec(select(CheckIn)).all() == []


def test_a_click_signed_for_another_team_does_not_touch_this_teams_commitment(h, engine):
    h.action(REP, "checkin_log", str(h.cid), team_id=FOREIGN)
    with Session(engine) as s:
        assert s.exec(select(CheckIn)).all() == []


def test_enterprise_grid_payload_keeps_the_team_check(h, engine):
    """An org-wide install: `team` is null, the user's team id says another workspace of the org."""
    extra = {
        "team": None,
        "enterprise": {"id": "E0ORG", "name": "Org"},
        "is_enterprise_install": True,
        "user": {"id": REP, "team_id": FOREIGN},
    }
    r = h.action(REP, "checkin_log", str(h.cid), extra=extra)
    assert r.status == 200
    with Session(engine) as s:
        assert s.exec(select(CheckIn)).all() == []


def test_app_home_opened_for_a_user_of_another_team_shows_nothing_of_this_team(h):
    h.event({"type": "app_home_opened", "user": "UFOREIGN", "tab": "home"}, event_id="EvHomeF")
    assert _wiring_leaks(h.fake) == []


@pytest.mark.parametrize("kind", ["public", "mpim", "im"])
def test_summary_channel_that_is_not_a_private_channel_is_refused(h, engine, kind):
    fake = h.fake
    fake.add_channel("C0PUB", "pub", private=kind != "public", member=True)
    if kind == "mpim":
        fake.channels["C0PUB"].update(is_mpim=True, is_channel=False, is_private=True)
    if kind == "im":
        fake.channels["C0PUB"].update(is_im=True, is_channel=False, is_private=True)
    h.command(MANAGER, "settings channel <#C0PUB|pub>")
    with Session(engine) as s:
        assert s.exec(select(ManagerSetting)).all() == []
