"""Plans offered from the roster import: after `coachbot import` commits, each manager with hires in
(or about to start) their first 90 days and no plan gets one DM, with a *Review the plan* button per
hire that opens the plan form. Once per hire however often the file is imported; only the hire's own
manager is told (never the hire); the button is for that manager and admins; a failed DM is reported."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session, select

from bot.onboarding.views import OFFER_BUTTONS_MAX, OfferedHire, plan_offer_message
from bot.slack.limits import check_message
from storage.db import session_scope
from storage.models import OnboardingPlan, Person, PlanOffer
from tests.conftest import ADMIN, HEADER, MANAGER, OTHER_MANAGER, REP, REP2, STRANGER
from tests.harness import opened_view, txt
from tests.rows import present

OFFER = "plan_offer_review"
HIRE3 = "UHIRE3"
ASKED = "Asked {managers} manager(s) by DM to review and confirm a 30/60/90 plan for {hires} hire(s)"


def _today() -> date:
    return datetime.now(UTC).date()  # what `coachbot import` counts plan days from


def _row(rep: str, manager: str, start: date | None) -> str:
    return f"{rep},{manager},Root,Hunter,Engine,72,65,40,,discovery,{start.isoformat() if start else ''}"


def _import(cli, tmp_path, *rows: str, name: str = "roster.csv") -> str:
    path = tmp_path / name
    path.write_text(HEADER + "\n".join(rows) + "\n")
    code, out, err = cli("import", str(path))
    assert code == 0, err
    return out


def _dms(fake, user: str) -> list:
    return [c for c in fake.calls_to("chat.postMessage") if c.args.get("channel") == f"D{user}"]


def _offers_in_history(fake, user: str) -> list[dict]:
    """What Slack kept in the user's DM: offer messages (keyed `offer:`), duplicates included."""
    with fake.lock:
        messages = list(fake.history.get(f"D{user}", []))
    return [
        m
        for m in messages
        if ((m.get("metadata") or {}).get("event_payload") or {}).get("key", "").startswith("offer:")
    ]


def _buttons(call) -> dict[str, str]:
    """rep id -> button value, for each hire with a *Review the plan* button in an offer DM."""
    found = {}
    for block in call.blocks:
        accessory = block.get("accessory") or {}
        if accessory.get("action_id") == OFFER:
            rep = present(re.search(r"<@(\w+)>", block["text"]["text"])).group(1)
            found[rep] = accessory["value"]
    return found


def _rows(engine, model) -> list:
    with Session(engine) as s:
        return list(s.exec(select(model)).all())


def _person_id(engine, user: str) -> int:
    with Session(engine) as s:
        return present(present(s.exec(select(Person).where(Person.slack_user_id == user)).first()).id)


def _reply(h) -> str:
    responses = h.fake.responses()
    assert responses, "no reply reached the user"
    return responses[-1].text_dump()


@pytest.fixture
def hires(slack):
    """REP and REP2 (MANAGER's, one started five days ago, one starting in ten), HIRE3 (OTHER_MANAGER's,
    starting today) and STRANGER (MANAGER's, started 200 days ago: past onboarding)."""
    slack.fake.add_user(HIRE3, "Hana")
    today = _today()
    return (
        _row(REP, MANAGER, today - timedelta(days=5)),
        _row(REP2, MANAGER, today + timedelta(days=10)),
        _row(HIRE3, OTHER_MANAGER, today),
        _row(STRANGER, MANAGER, today - timedelta(days=200)),
    )


def test_import_asks_each_manager_once_about_their_own_hires_only(cli, tmp_path, slack, engine, hires):
    out = _import(cli, tmp_path, *hires)
    assert ASKED.format(managers=2, hires=3) in out
    fake = slack.fake
    (mine,) = _dms(fake, MANAGER)
    (theirs,) = _dms(fake, OTHER_MANAGER)
    assert set(_buttons(mine)) == {REP, REP2} and set(_buttons(theirs)) == {HIRE3}
    assert _buttons(mine)[REP] == str(_person_id(engine, REP))
    text = mine.text_dump()
    assert "Onboarding plans to review" in text and "day 6 of 90" in text and "in 10 days" in text
    assert HIRE3 not in text and STRANGER not in text and REP not in theirs.text_dump()  # each manager's own
    for hire in (REP, REP2, HIRE3, STRANGER):  # the hires hear nothing from the offer
        assert _dms(fake, hire) == []
    offers = _rows(engine, PlanOffer)
    assert sorted(o.person_id for o in offers) == sorted(_person_id(engine, u) for u in (REP, REP2, HIRE3))
    assert {o.status for o in offers} == {"sent"} and all(o.slack_ts for o in offers)
    assert len({o.batch_key for o in offers}) == 2  # one DM per manager
    assert _rows(engine, OnboardingPlan) == []  # nothing starts before the manager does


def test_reimporting_offers_no_hire_twice_and_a_new_hire_once(cli, tmp_path, slack, engine, hires):
    _import(cli, tmp_path, *hires)
    out = _import(cli, tmp_path, *hires)
    assert "Asked" not in out
    assert len(_dms(slack.fake, MANAGER)) == 1 and len(_dms(slack.fake, OTHER_MANAGER)) == 1
    assert len(_rows(engine, PlanOffer)) == 3
    slack.fake.add_user("UHIRE4", "Ines")
    out = _import(cli, tmp_path, *hires, _row("UHIRE4", MANAGER, _today()), name="more.csv")
    assert ASKED.format(managers=1, hires=1) in out
    latest = _dms(slack.fake, MANAGER)[-1]
    assert len(_dms(slack.fake, MANAGER)) == 2 and set(_buttons(latest)) == {"UHIRE4"}


def test_no_offer_on_a_dry_run_nor_for_hires_with_a_plan_no_start_date_or_no_manager(cli, tmp_path, slack, engine):
    path = tmp_path / "dry.csv"
    path.write_text(HEADER + _row(REP, MANAGER, _today()) + "\n")
    code, out, _ = cli("import", str(path), "--dry-run")
    assert code == 0 and "Asked" not in out and slack.fake.calls_to("chat.postMessage") == []
    out = _import(cli, tmp_path, _row(REP, MANAGER, None), f"{REP2},,Root,,,50,50,50,,,{_today().isoformat()}")
    assert "Asked" not in out and slack.fake.calls_to("chat.postMessage") == []
    with session_scope(engine) as s:  # REP's plan was started with `/coach plan` in the meantime
        s.add(
            OnboardingPlan(
                team_id="T0TEAM",
                person_id=_person_id(engine, REP),
                manager_user_id=MANAGER,
                start_date=_today(),
                submission_key="VEARLIER",
            )
        )
    out = _import(cli, tmp_path, _row(REP, MANAGER, _today()), name="dated.csv")
    assert "Asked" not in out and slack.fake.calls_to("chat.postMessage") == [] and _rows(engine, PlanOffer) == []


def _open_from_offer(h, engine, caller: str = MANAGER, rep: str = REP) -> None:
    h.fake.reset_calls()
    h.action(caller, OFFER, str(_person_id(engine, rep)))


def _phase_values(view: dict) -> dict[str, dict]:
    return {b["block_id"]: txt(b["element"].get("initial_value", "")) for b in view["blocks"] if b["type"] == "input"}


def test_review_button_opens_the_plan_form_which_starts_the_plan_once(harness, cli, tmp_path, engine, hires):
    h = harness
    _import(cli, tmp_path, *hires)
    _open_from_offer(h, engine)
    view = opened_view(h.fake)
    assert view["callback_id"] == "onboarding_plan" and REP in view["private_metadata"]
    assert _rows(engine, OnboardingPlan) == []  # opening the form writes no plan
    h.submit(MANAGER, view, _phase_values(view), view_id="VOFFER1")
    h.submit(MANAGER, view, _phase_values(view), view_id="VOFFER1")  # the same form again
    (plan,) = _rows(engine, OnboardingPlan)
    assert plan.manager_user_id == MANAGER and plan.person_id == _person_id(engine, REP)
    assert len([c for c in _dms(h.fake, REP) if "Your first 90 days" in c.text_dump()]) == 1
    _open_from_offer(h, engine)  # the button again, now that the plan runs: a polite no
    assert h.fake.calls_to("views.open") == [] and "already has a plan" in _reply(h)
    _open_from_offer(h, engine, rep=REP2)  # the other hire's button still works
    assert opened_view(h.fake)["callback_id"] == "onboarding_plan"


@pytest.mark.parametrize(
    ("caller", "expected"),
    [
        (REP, "Only a rep's manager or a Coachbot admin"),  # the hire
        (OTHER_MANAGER, "Only a rep's manager or a Coachbot admin"),
        (STRANGER, "Only a rep's manager or a Coachbot admin"),
        ("UFOREIGN", "for members of this workspace only"),  # another organisation's user
        ("UFADMIN", "for members of this workspace only"),  # ... even one of its admins
        (ADMIN, None),
        (MANAGER, None),
    ],
)
def test_who_may_open_an_offered_plan(harness, cli, tmp_path, engine, hires, caller, expected):
    harness.fake.add_user("UFADMIN", "Fern", is_admin=True, team_id="T0OTHER")
    _import(cli, tmp_path, *hires)
    _open_from_offer(harness, engine, caller=caller)
    if expected is None:
        assert opened_view(harness.fake)["callback_id"] == "onboarding_plan"
    else:
        assert harness.fake.calls_to("views.open") == [] and expected in _reply(harness)
    assert _rows(engine, OnboardingPlan) == []


def test_stale_and_bad_buttons_get_a_polite_answer(harness, cli, tmp_path, engine, hires):
    h = harness
    _import(cli, tmp_path, *hires)
    with session_scope(engine) as s:  # REP left the roster; REP2's start date moved to long ago
        for person in s.exec(select(Person)).all():
            if person.slack_user_id == REP:
                person.active = False
            if person.slack_user_id == REP2:
                person.start_date = _today() - timedelta(days=120)
            s.add(person)
    cases = [
        (MANAGER, str(_person_id(engine, REP)), "no longer on the active roster"),
        (MANAGER, str(_person_id(engine, REP2)), "more than 90 days ago"),
        (ADMIN, "424242", "couldn't find that hire"),
        (MANAGER, "424242", "Only a rep's manager or a Coachbot admin"),
    ]
    cases += [(MANAGER, value, "doesn't point at a hire") for value in ("abc", "0", "-3", "99999999999", "")]
    for caller, value, expected in cases:
        h.fake.reset_calls()
        result = h.action(caller, OFFER, value)
        assert result.status == 200 and expected in _reply(h), (value, expected)
        assert h.fake.calls_to("views.open") == []
        assert all(c.args.get("response_type") == "ephemeral" for c in h.fake.responses())
    assert _rows(engine, OnboardingPlan) == []


def test_a_repeated_click_is_answered_once(harness, cli, tmp_path, engine, hires):
    h = harness
    _import(cli, tmp_path, *hires)
    h.fake.reset_calls()
    body = h.action_body(MANAGER, OFFER, str(_person_id(engine, REP)))
    h.post(body, "application/x-www-form-urlencoded")
    h.post(body, "application/x-www-form-urlencoded")  # a double click Slack delivered twice
    assert len(h.fake.calls_to("views.open")) == 1
    assert "already got that one" in _reply(h)


def test_a_failed_dm_is_reported_and_offered_again_next_import(cli, tmp_path, slack, engine, hires):
    slack.fake.fail_next("conversations.open", error="user_disabled")
    out = _import(cli, tmp_path, hires[2])  # OTHER_MANAGER's hire alone
    assert "Could not DM manager UOTHERMGR (user_disabled)" in out
    assert "Asked" not in out and _rows(engine, PlanOffer) == []
    assert _person_id(engine, HIRE3)  # the import itself stands
    out = _import(cli, tmp_path, hires[2])
    assert ASKED.format(managers=1, hires=1) in out and len(_offers_in_history(slack.fake, OTHER_MANAGER)) == 1


def test_a_lost_answer_is_looked_up_before_anything_is_sent_again(cli, tmp_path, slack, engine, hires):
    slack.fake.lose_answer("chat.postMessage")  # Slack posts it, the answer is lost
    out = _import(cli, tmp_path, hires[2])
    assert ASKED.format(managers=1, hires=1) in out
    assert len(_offers_in_history(slack.fake, OTHER_MANAGER)) == 1
    assert [o.status for o in _rows(engine, PlanOffer)] == ["sent"]


def test_an_unconfirmable_dm_is_never_sent_twice(cli, tmp_path, slack, engine, hires):
    slack.fake.lose_answer("chat.postMessage")
    slack.fake.fail_next("conversations.history", error="internal_error")  # and the history can't tell
    out = _import(cli, tmp_path, hires[2])
    assert "Slack did not confirm the DM to manager UOTHERMGR" in out
    assert [o.status for o in _rows(engine, PlanOffer)] == ["unconfirmed"]
    _import(cli, tmp_path, hires[2])
    assert len(_offers_in_history(slack.fake, OTHER_MANAGER)) == 1


def _hire3_on_roster_unoffered(cli, tmp_path, engine, minutes_ago: int) -> None:
    """HIRE3 on the roster, claimed by an import that stopped before its DM (`minutes_ago`)."""
    from bot.onboarding import service

    _import(cli, tmp_path, _row(HIRE3, OTHER_MANAGER, None), name="nodate.csv")  # no start date: no offer
    with session_scope(engine) as s:
        hire = present(s.exec(select(Person).where(Person.slack_user_id == HIRE3)).first())
        hire.start_date = _today()
        s.add(hire)
    with session_scope(engine) as s:
        ((offer, _),) = service.claim_offers(s, "T0TEAM", _today())
        offer.created_at = datetime.now(UTC) - timedelta(minutes=minutes_ago)
        s.add(offer)


def test_an_offer_whose_dm_went_out_before_a_crash_is_not_sent_again(cli, tmp_path, slack, engine, hires):
    _import(cli, tmp_path, hires[2])
    with session_scope(engine) as s:  # the process died after Slack took the DM, before recording it
        (offer,) = s.exec(select(PlanOffer)).all()
        offer.status, offer.created_at = "sending", datetime.now(UTC) - timedelta(minutes=20)
        s.add(offer)
    _import(cli, tmp_path, hires[2])
    assert len(_offers_in_history(slack.fake, OTHER_MANAGER)) == 1  # found in the DM's history
    assert [o.status for o in _rows(engine, PlanOffer)] == ["sent"]


def test_an_offer_claimed_but_never_sent_goes_out_with_the_next_import(cli, tmp_path, slack, engine):
    slack.fake.add_user(HIRE3, "Hana")
    _hire3_on_roster_unoffered(cli, tmp_path, engine, minutes_ago=20)
    assert _offers_in_history(slack.fake, OTHER_MANAGER) == []
    out = _import(cli, tmp_path, _row(HIRE3, OTHER_MANAGER, _today()))
    assert ASKED.format(managers=1, hires=1) in out
    assert len(_offers_in_history(slack.fake, OTHER_MANAGER)) == 1
    assert [o.status for o in _rows(engine, PlanOffer)] == ["sent"]


def test_an_import_running_alongside_leaves_the_other_imports_offers_alone(cli, tmp_path, slack, engine):
    slack.fake.add_user(HIRE3, "Hana")
    _hire3_on_roster_unoffered(cli, tmp_path, engine, minutes_ago=0)  # the other import is sending now
    out = _import(cli, tmp_path, _row(HIRE3, OTHER_MANAGER, _today()))
    assert "Asked" not in out and _offers_in_history(slack.fake, OTHER_MANAGER) == []
    assert [o.status for o in _rows(engine, PlanOffer)] == ["sending"]


def test_a_half_sent_offer_follows_the_hire_to_their_new_manager(cli, tmp_path, slack, engine):
    slack.fake.add_user(HIRE3, "Hana")
    _hire3_on_roster_unoffered(cli, tmp_path, engine, minutes_ago=20)  # claimed for OTHER_MANAGER
    out = _import(cli, tmp_path, _row(HIRE3, MANAGER, _today()), name="moved.csv")  # now MANAGER's hire
    assert ASKED.format(managers=1, hires=1) in out
    assert _offers_in_history(slack.fake, OTHER_MANAGER) == [] and len(_offers_in_history(slack.fake, MANAGER)) == 1
    (offer,) = _rows(engine, PlanOffer)
    assert (offer.manager_user_id, offer.status) == (MANAGER, "sent")


@pytest.mark.sqlite_only
def test_the_offer_dm_stays_within_block_kit_limits_for_any_number_of_hires():
    today = date(2026, 12, 1)
    for count in (1, OFFER_BUTTONS_MAX, OFFER_BUTTONS_MAX + 1, 500):
        hires = [OfferedHire(i + 1, f"U{i:09d}", today - timedelta(days=i % 120 - 30)) for i in range(count)]
        message = plan_offer_message(hires, today)
        assert check_message(message) == [], count
        buttons = [b for b in message["blocks"] if (b.get("accessory") or {}).get("action_id") == OFFER]
        assert len(buttons) == min(count, OFFER_BUTTONS_MAX)
        if count > OFFER_BUTTONS_MAX:
            assert "/coach plan @rep" in message["blocks"][-2]["text"]["text"]
    assert "and 310 more" in str(plan_offer_message(hires, today)["blocks"])


def test_a_manager_with_many_hires_gets_one_dm_within_limits(cli, tmp_path, slack, engine):
    rows = []
    for i in range(OFFER_BUTTONS_MAX + 5):
        user = f"UMANY{i:03d}"
        slack.fake.add_user(user, f"Hire{i}")
        rows.append(_row(user, MANAGER, _today() - timedelta(days=i)))
    out = _import(cli, tmp_path, *rows)
    assert ASKED.format(managers=1, hires=OFFER_BUTTONS_MAX + 5) in out
    (dm,) = _dms(slack.fake, MANAGER)
    assert len(_buttons(dm)) == OFFER_BUTTONS_MAX and "UMANY044" in dm.text_dump()
