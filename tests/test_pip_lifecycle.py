"""PIPs end to end through the real app: readiness offers *Draft the PIP*, the click re-reads the
rules and opens a form drafted from the gap's history, the form starts the plan once, the rep gets it
by DM and in Home, the manager's summary tracks it (and says when promised sessions are missing),
`/coach pip close` ends it once, and `coachbot export --pip` writes the evidence pack. Each surface
is tried by the rep, their manager, another manager, an admin and a stranger."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session, select

from bot.coaching import service as svc
from bot.pip.rules import Committed, Diagnosed, Logged, check_terms, evidence_pack, review_dates
from bot.pip.rules import Session as Coached
from bot.team import service as team_service
from storage.db import session_scope
from storage.models import Commitment, Person, Pip
from tests.conftest import ADMIN, MANAGER, OTHER_MANAGER, REP, REP2, STANDARD_ROWS, STRANGER
from tests.harness import num, opened_view, sel, txt
from tests.rows import id_of, present
from tests.seed import commitment, slack_user

START = date(2026, 9, 7)  # two missed weekly cycles on closing: Sep 7-13 and Sep 14-20
DRAFT_DAY = datetime(2026, 9, 22, 15, 0, tzinfo=UTC)  # Tuesday; the manager is in London
NOTE = "Tried it twice <!channel> *bold*"
BEHAVIOR = "Ask for a dated next step before every call ends"


def _rows(engine, model) -> list:
    with Session(engine) as s:
        return list(s.exec(select(model)))


def _close(engine, commitment_id: int, status: str) -> None:
    with session_scope(engine) as session:
        row = present(session.get(Commitment, commitment_id))
        row.status, row.closed_at = status, datetime.combine(row.ends_on, datetime.min.time(), tzinfo=UTC)
        session.add(row)


def _person(engine, user_id: str) -> Person:
    with Session(engine) as session:
        return present(session.exec(select(Person).where(Person.slack_user_id == user_id)).first())


def _coach(engine, rep_id: str, on: date, minutes: int = 60) -> None:
    person = _person(engine, rep_id)
    with session_scope(engine) as session:
        team_service.log_session(session, "T0TEAM", MANAGER, "one_on_one", minutes, [person], on)


def _stall(engine, playbook, rep_id: str) -> list[int]:
    """Two weekly cycles on closing, each coached for an hour, one check-in with a note, both missed."""
    ids = []
    for i in range(2):
        starts = START + timedelta(days=7 * i)
        cid = commitment(engine, playbook, slack_user(rep_id), MANAGER, starts, gap="closing", key=f"{rep_id}-{i}")
        with session_scope(engine) as s:
            when = datetime.combine(starts + timedelta(days=2), datetime.min.time(), tzinfo=UTC) + timedelta(hours=15)
            assert svc.log_check_in(s, "T0TEAM", cid, rep_id, 1, NOTE if i == 0 else "", "button", when, "UTC").ok
        _close(engine, cid, "missed")
        _coach(engine, rep_id, starts + timedelta(days=1))
        ids.append(cid)
    return ids


@pytest.fixture
def h(harness, import_csv, engine, playbook):
    import_csv(*STANDARD_ROWS)
    _stall(engine, playbook, REP2)
    harness.ctx.clock = lambda: DRAFT_DAY
    return harness


def _reply(h) -> str:
    responses = h.fake.responses()
    assert responses, "no reply reached the user"
    assert responses[-1].args.get("response_type") == "ephemeral"
    return responses[-1].text_dump()


def _dump(call) -> str:
    """What a call showed, with non-ASCII text as typed (the fake's dump escapes it)."""
    return json.dumps(json.loads(call.text_dump()), ensure_ascii=False)


def _dms_to(fake, user: str) -> list:
    return [c for c in fake.calls_to("chat.postMessage") if c.args.get("channel") == f"D{user}"]


def _draft_button(h, caller: str = MANAGER) -> str:
    h.command(caller, f"pip <@{REP2}>")
    text = _reply(h)
    assert "PIP readiness: ready" in text
    buttons = [
        e for b in h.fake.responses()[-1].blocks if b["type"] == "actions" for e in b["elements"] if e["action_id"]
    ]
    (draft,) = [b for b in buttons if b["action_id"] == "pip_draft"]
    return draft["value"]


def _values(weeks: str = "4", behavior: str = BEHAVIOR, target: str = "3", sessions: str = "2") -> dict:
    return {
        "behavior": txt(behavior),
        "target": num(target),
        "sessions": num(sessions),
        "weeks": sel(weeks, kind="radio_buttons"),
    }


def _open_form(h, caller: str = MANAGER) -> dict:
    value = _draft_button(h)
    h.action(caller, "pip_draft", value)
    return opened_view(h.fake)


def _home_of(h, user: str, event_id: str) -> str:
    h.event({"type": "app_home_opened", "user": user, "tab": "home"}, event_id=event_id)
    published = [c for c in h.fake.calls_to("views.publish") if c.args.get("user_id") == user]
    assert published, "no Home tab published"
    view = published[-1].args["view"]
    return json.dumps(json.loads(view) if isinstance(view, str) else view)


def test_the_whole_lifecycle(h, engine, playbook, cli, tmp_path):
    # Ready: the readiness answer carries the draft button; the click opens the form drafted from history.
    view = _open_form(h)
    assert view["callback_id"] == "pip_plan" and json.loads(view["private_metadata"]) == {"rep": REP2, "gap": "closing"}
    inputs = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert set(inputs) == {"behavior", "target", "sessions", "weeks"}
    assert inputs["behavior"]["initial_value"] == "Discovery calls with no pitch before minute 12"
    assert inputs["target"]["initial_value"] == "3"
    assert [o["value"] for o in inputs["weeks"]["options"]] == ["4", "6", "8"]
    shown = json.dumps(view, ensure_ascii=False)
    assert "Evidence pack" in shown and "Seeded evidence for a test." in shown
    assert "(2: 0 met, 2 missed)" in shown and "07 Sep: 60 · 14 Sep: 60" in shown

    # Submitted twice (Slack's retry of the same form): stored once, the rep told once.
    h.submit(MANAGER, view, _values(), view_id="VPIP1")
    h.submit(MANAGER, view, _values(), view_id="VPIP1")
    (pip,) = _rows(engine, Pip)
    assert (pip.status, pip.gap, pip.behavior, pip.weekly_count) == ("active", "closing", BEHAVIOR, 3)
    assert (pip.sessions_per_week, pip.weeks, pip.submission_key) == (2, 4, "VPIP1")
    assert (pip.starts_on, pip.ends_on, pip.manager_user_id) == (date(2026, 9, 22), date(2026, 10, 20), MANAGER)
    (dm,) = _dms_to(h.fake, REP2)
    assert "Your performance improvement plan" in dm.text_dump()
    assert f"<@{MANAGER}> will hold 2 coaching sessions with you every week" in dm.text_dump()
    assert "Tue 06 Oct, Tue 20 Oct" in dm.text_dump()
    metadata = dm.args["metadata"]
    assert (json.loads(metadata) if isinstance(metadata, str) else metadata)["event_payload"]["key"] == (
        f"pip:T0TEAM:{pip.id}"
    )
    started = [c.text_dump() for c in _dms_to(h.fake, MANAGER) if "Started" in c.text_dump()]
    assert len(started) == 1
    home = _home_of(h, REP2, "EvPipHome1")
    assert "Your PIP" in home and "Week 1 of 4" in home and BEHAVIOR in home

    # A week on: one commitment met since the start, one of the two promised sessions logged.
    cid = commitment(engine, playbook, slack_user(REP2), MANAGER, date(2026, 9, 22), gap="closing", key="REP2-pip")
    _close(engine, cid, "met")
    _coach(engine, REP2, date(2026, 9, 24), minutes=30)
    h.ctx.clock = lambda: datetime(2026, 9, 29, 15, 0, tzinfo=UTC)
    h.command(MANAGER, "summary")
    summary = _dump(_dms_to(h.fake, MANAGER)[-1])
    gap = playbook.gaps["closing"].name
    assert f"*PIP* <@{REP2}> on {gap}: week 2 of 4" in summary
    assert "since it started: 1 met, 0 missed" in summary
    assert "coaching sessions 1 of 2 promised this week (1 of 4 so far)" in summary
    assert f"You promised <@{REP2}> 2 coaching sessions a week under their PIP and logged 1 this week" in summary
    assert "PIP readiness*" not in summary

    # Closed once, the note kept as typed and escaped where shown; the rep is told.
    h.command(MANAGER, f"pip close <@{REP2}> closed {NOTE}")
    assert "ended (the gap closed" in _reply(h)
    h.command(MANAGER, f"pip close <@{REP2}> separated")
    assert "has no PIP running" in _reply(h)
    (pip,) = _rows(engine, Pip)
    assert (pip.status, pip.close_note, pip.closed_by) == ("closed", NOTE, MANAGER)
    ended = _dump(_dms_to(h.fake, REP2)[-1])
    assert "has ended: the gap is closed" in ended and "&lt;!channel&gt;" in ended and "<!channel>" not in ended
    assert "Your PIP" not in _home_of(h, REP2, "EvPipHome2")

    # The evidence pack as Markdown, from the same database.
    path = tmp_path / "pip.md"
    code, out, err = cli("export", "--pip", str(pip.id), str(path))
    assert code == 0, err
    assert f"PIP {pip.id}" in out and "T0TEAM" in out
    doc = path.read_text()
    assert doc.startswith(f"# PIP {pip.id}: {gap}")
    assert f"- Weekly target: {BEHAVIOR}, 3 times a week" in doc
    assert "- Reviews: 2026-10-06, 2026-10-20" in doc
    assert "Evidence: Seeded evidence for a test." in doc
    assert "### 2026-09-07 to 2026-09-13: missed" in doc and "### 2026-09-22 to 2026-09-28: met" in doc
    assert "- 2026-09-09: +1, Tried it twice &lt;!channel&gt; \\*bold\\*" in doc
    assert "| 2026-09-07 | 60 |" in doc and "| 2026-09-14 | 60 |" in doc
    assert "closed (the gap closed and the plan is done)" in doc and "- Note: Tried it twice &lt;!channel&gt;" in doc
    code, _, err = cli("export", "--team", "T0OTHER", "--pip", str(pip.id), str(tmp_path / "x.md"))
    assert code == 1 and "no PIP" in err and not (tmp_path / "x.md").exists()


def test_a_form_submitted_twice_is_stored_once(h, engine):
    view = _open_form(h)
    first = h.submit_body(MANAGER, view, _values(), view_id="VTWICE")
    h.post(first, "application/x-www-form-urlencoded")
    h.post(first, "application/x-www-form-urlencoded")  # the very same request, replayed
    h.submit(MANAGER, view, _values(weeks="8"), view_id="VOTHER")  # a second form for the same rep
    (pip,) = _rows(engine, Pip)
    assert (pip.submission_key, pip.weeks) == ("VTWICE", 4)
    assert len(_dms_to(h.fake, REP2)) == 1
    assert any("already has a PIP running" in c.text_dump() for c in _dms_to(h.fake, MANAGER))


@pytest.mark.sqlite_only
def test_field_errors_store_nothing(h, engine):
    view = _open_form(h)
    r = h.submit(MANAGER, view, _values(behavior="work harder", sessions="9", weeks="5"))
    errors = json.loads(r.body)["errors"]
    assert set(errors) == {"behavior", "sessions", "weeks"}
    assert _rows(engine, Pip) == [] and _dms_to(h.fake, REP2) == []


@pytest.mark.parametrize("caller", [OTHER_MANAGER, REP2, STRANGER])
def test_a_click_from_anyone_but_the_manager_or_an_admin_is_refused(h, engine, caller):
    value = _draft_button(h)
    h.action(caller, "pip_draft", value)
    assert "Only a rep's manager or a Coachbot admin" in _reply(h)
    assert h.fake.calls_to("views.open") == [] and _rows(engine, Pip) == []


def test_an_admin_may_draft_and_the_support_stays_the_managers(h, engine):
    view = _open_form(h, caller=ADMIN)
    h.submit(ADMIN, view, _values(), view_id="VADMIN")
    (pip,) = _rows(engine, Pip)
    assert (pip.drafted_by, pip.manager_user_id) == (ADMIN, MANAGER)


def test_a_forged_form_from_another_manager_stores_nothing(h, engine):
    view = _open_form(h)
    h.submit(OTHER_MANAGER, view, _values(), view_id="VFORGED")
    assert _rows(engine, Pip) == [] and _dms_to(h.fake, REP2) == []
    assert any("Only a rep's manager" in c.text_dump() for c in _dms_to(h.fake, OTHER_MANAGER))


def test_the_click_rereads_the_rules(h, engine, playbook):
    value = _draft_button(h)
    cid = commitment(engine, playbook, slack_user(REP2), MANAGER, date(2026, 9, 21), gap="closing", key="late")
    _close(engine, cid, "met")  # the gap moved after the check: no longer stalled
    h.action(MANAGER, "pip_draft", value)
    assert "no longer the honest next step" in _reply(h)
    assert h.fake.calls_to("views.open") == []


@pytest.mark.sqlite_only
def test_a_button_without_a_gap_is_refused(h):
    h.action(MANAGER, "pip_draft", REP2)
    assert "doesn't say which rep and gap" in _reply(h)


def _start(h) -> Pip:
    view = _open_form(h)
    h.submit(MANAGER, view, _values(), view_id="VSTART")
    h.fake.reset_calls()
    return present(_rows(h.ctx.engine, Pip)[0])


def test_who_sees_the_running_pip(h, engine):
    _start(h)
    assert "Your PIP" in _home_of(h, REP2, "Ev1")
    manager_home = _home_of(h, MANAGER, "Ev2")
    assert "PIPs you are running" in manager_home and f"*PIP* <@{REP2}>" in manager_home
    for user, event in ((OTHER_MANAGER, "Ev3"), (STRANGER, "Ev4"), (REP, "Ev5"), (ADMIN, "Ev6")):
        home = _home_of(h, user, event)
        assert "PIP" not in home and BEHAVIOR not in home, user
    # The readiness check now names the running plan, with no second draft button.
    h.command(ADMIN, f"pip <@{REP2}>")
    text = _reply(h)
    assert "already running" in text and "pip_draft" not in text
    h.command(OTHER_MANAGER, f"pip <@{REP2}>")
    assert "already running" not in _reply(h)


@pytest.mark.parametrize("caller", [OTHER_MANAGER, REP2, STRANGER])
def test_only_the_manager_or_an_admin_may_close(h, engine, caller):
    _start(h)
    h.command(caller, f"pip close <@{REP2}> separated")
    assert "Only a rep's manager or a Coachbot admin" in _reply(h)
    assert [p.status for p in _rows(engine, Pip)] == ["active"] and _dms_to(h.fake, REP2) == []


def test_an_admin_may_close_and_bad_outcomes_are_refused(h, engine):
    _start(h)
    h.command(MANAGER, f"pip close <@{REP2}> fired")
    assert "`closed`, `reseated` or `separated`" in _reply(h)
    h.command(ADMIN, f"pip close <@{REP2}> reseated")
    assert [(p.status, p.closed_by, p.close_note) for p in _rows(engine, Pip)] == [("reseated", ADMIN, "")]
    (told,) = _dms_to(h.fake, REP2)
    assert "moving to a seat that suits your wiring" in told.text_dump()


def test_a_summary_in_a_channel_names_no_pip(h, engine, slack):
    _start(h)
    slack.fake.add_channel("GCOACH09", "coaching-morgan")
    with session_scope(engine) as s:
        team_service.set_summary_channel(s, "T0TEAM", MANAGER, "GCOACH09")
    h.command(MANAGER, "summary")
    (posted,) = [c for c in h.fake.calls_to("chat.postMessage") if c.args.get("channel") == "GCOACH09"]
    text = posted.text_dump()
    assert "You have 1 running PIP" in text and "fewer coaching sessions than you promised under 1" in text
    assert "*PIP* <@" not in text and BEHAVIOR not in text


# --- the pure rules ---------------------------------------------------------------------------------


def test_the_evidence_pack_holds_the_gaps_record_in_order():
    said = [
        Diagnosed(date(2026, 9, 20), "closing", "coaching_gap", "No next step on 4 of 5 calls", ["Check the seat"]),
        Diagnosed(date(2026, 9, 1), "closing", "coaching_gap", "Deals stall after demo"),
        Diagnosed(date(2026, 9, 2), "discovery", "seat_fit", "Not this gap"),
    ]
    done = [
        Committed("closing", "Second", 3, date(2026, 9, 14), date(2026, 9, 20), "missed"),
        Committed(
            "closing",
            "First",
            3,
            date(2026, 9, 7),
            date(2026, 9, 13),
            "missed",
            [Logged(date(2026, 9, 9), 2, "two calls"), Logged(date(2026, 9, 10), 0, "no leads", blocked=True)],
        ),
        Committed("closing", "Now", 3, date(2026, 9, 21), date(2026, 9, 27), "active"),
        Committed("discovery", "Elsewhere", 2, date(2026, 9, 7), date(2026, 9, 13), "met"),
    ]
    coached = [Coached(date(2026, 9, 8), 45), Coached(date(2026, 9, 9), 15), Coached(date(2026, 9, 30), 60)]
    pack = evidence_pack("closing", said, done, coached)
    assert [d.on for d in pack.diagnoses] == [date(2026, 9, 1), date(2026, 9, 20)]
    assert pack.diagnoses[1].pushback == ["Check the seat"]
    assert [c.behavior for c in pack.commitments] == ["First", "Second", "Now"]
    assert (pack.met, pack.missed, pack.commitments[0].logged) == (0, 2, 2)
    assert [(w.starts_on, w.minutes) for w in pack.weeks] == [(date(2026, 9, 7), 60), (date(2026, 9, 14), 0)]
    assert evidence_pack("time_pressure", said, done, coached).weeks == []


def test_terms_reuse_the_prescription_rules(playbook):
    terms, errors = check_terms(playbook, f"  {BEHAVIOR} ", "3", "2", "6")
    assert errors == {} and terms is not None and terms.behavior == BEHAVIOR
    _, errors = check_terms(playbook, "be more confident on calls", "0", "0", "3")
    assert set(errors) == {"behavior", "target", "sessions", "weeks"}
    assert review_dates(date(2026, 9, 22), 6) == [date(2026, 10, 6), date(2026, 10, 20), date(2026, 11, 3)]


def test_evidence_of_keeps_the_pushback_shown_at_the_time(import_csv, engine, playbook):
    import_csv(*STANDARD_ROWS)  # REP: Root wiring in an Engine seat, coaching resistance flagged
    commitment(engine, playbook, slack_user(REP), MANAGER, START, gap="closing", key="rep-1")
    from bot.pip.service import evidence_of

    with Session(engine) as s:
        pack = evidence_of(s, "T0TEAM", id_of(_person(engine, REP)), "closing")
    (diagnosis,) = pack.diagnoses
    assert diagnosis.cause == "coaching_gap" and len(diagnosis.pushback) == 2
    assert [c.status for c in pack.commitments] == ["active"] and pack.weeks == []


def test_every_pip_view_stays_within_block_kit_limits(playbook):
    from bot.pip import views
    from bot.pip.rules import Status
    from bot.slack.limits import check_message, check_view

    long = "<!channel> " + "x" * 2000
    said = [Diagnosed(START, "closing", "coaching_gap", long, [long, long]) for _ in range(30)]
    logs = [Logged(START, 1, long[:500]) for _ in range(50)]
    done = [Committed("closing", long[:300], 50, START, START + timedelta(days=6), "missed", logs)] * 40
    pack = evidence_pack("closing", said, done, [Coached(START, 480)])
    view = views.draft_modal(REP2, "closing", long[:200], long[:300], 50, pack, playbook, START)
    shown = [b for b in view["blocks"] if b["type"] != "input"]  # an input's initial value is plain text
    assert check_view(view) == [] and "<!channel>" not in json.dumps(shown)
    card = views.Card(7, REP2, MANAGER, long[:200], long[:300], 50, 5, 8, START, START + timedelta(days=56))
    for message in (views.plan_message(card), views.closed_message(card, "separated", ADMIN, long[:500])):
        assert check_message(message) == [] and "<!channel>" not in json.dumps(message)
    assert check_view({"type": "home", "blocks": views.home_blocks(card, START)}) == []
    lines = views.status_lines(REP2, long[:200], Status(3, 8, 1, 2, 0, 5, 4, 15, None, False))
    assert len(lines) == 2 and "final review due" in lines[0] and "5 short" in lines[1]
    (line,) = views.status_lines(REP2, "Closing", Status(9, 8, 1, 2, 0, 5, 4, 40, None, True))
    assert "week 8 of 8" in line and "past its final review" in line and "&lt;" not in line
