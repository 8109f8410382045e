"""An outside attack on the learning loop (issue 13): the outcome ledger's figures in the prescribe
form and the manager's confirmation, similar cases and the second opinion at /diagnose, coaching
debt on Home, and the slip warning through the outbox. Everything goes through the real app over
signed HTTP, the real WebClient against the Slack fake, and a real database (SQLite and PostgreSQL
where the backend matters); each case checks what Slack received and what the database holds.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, update
from sqlmodel import Session, col, select

from bot.context import AppContext
from bot.learning import service as learning
from bot.outbox.dispatcher import Dispatcher
from bot.outbox.report import PassReport
from bot.settings import Settings
from bot.slack.client import make_dispatch_client
from bot.slack.limits import check_message, check_view
from storage import queries
from storage.db import session_scope
from storage.models import CaseDoc, CaseTermDf, Commitment, Diagnosis, OutcomeLedger, Person, ScheduledMessage
from tests import seed
from tests.conftest import ADMIN, MANAGER, OTHER_MANAGER, REP, REP2, STANDARD_ROWS, STRANGER
from tests.harness import BOT_TOKEN, num, opened_view, sel, txt
from tests.rows import present
from tests.slack_fake import sent_keys
from tests.test_cases import _closed, _diagnose, _flat_figures
from tests.test_debt import FIRST_CHECK, MONDAY_NUDGE, history
from tests.test_diagnose import diagnose, open_prescribe, prescribe_values
from tests.test_learning import _shape_rows

TODAY = datetime(2026, 11, 12, 15, 0, tzinfo=UTC)
OTHER_REP = "UOREP1"
ROWS = (*STANDARD_ROWS, f"{OTHER_REP},{OTHER_MANAGER},Root,Hunter,Engine,70,70,70,,discovery,2025-02-01")
INJECTION = "<!channel> see <https://evil.example|your bonus> & <@UADMIN> now"


@pytest.fixture
def h(harness, import_csv):
    harness.fake.add_user(OTHER_REP, "Dana")
    import_csv(*ROWS)
    harness.ctx.clock = lambda: TODAY
    harness.fake.reset_calls()
    return harness


def _dms_to(fake, user: str) -> list[str]:
    return [c.text_dump() for c in fake.calls_to("chat.postMessage") if c.args.get("channel") == f"D{user}"]


def _published(fake, user: str) -> str:
    views = [c.args["view"] for c in fake.calls_to("views.publish") if c.args.get("user_id") == user]
    assert views, f"no Home tab published for {user}"
    view = views[-1] if isinstance(views[-1], dict) else json.loads(views[-1])
    assert check_view(view) == []
    return json.dumps(view["blocks"], ensure_ascii=False)


def _count(engine, model: Any, *where: Any) -> int:
    with Session(engine) as s:
        return int(s.exec(select(func.count()).select_from(model).where(*where)).one())


def _last_diagnosis(engine) -> int:
    with Session(engine) as s:
        return present(s.exec(select(func.max(Diagnosis.id))).one())


def _open_diagnose(h, caller: str, rep: str, note: str = "") -> dict[str, Any]:
    h.fake.reset_calls()
    h.command(caller, f"<@{rep}|x> {note}".strip(), command="/diagnose")
    view = opened_view(h.fake)
    assert check_view(view) == []
    return view


# --- 1. figures across reps come from at least five distinct reps -----------------------------


def test_a_figure_about_fewer_than_five_reps_is_never_shown_however_many_commitments(h, engine, errors):
    """Twelve closed commitments of ONE rep (someone else's) used to clear the five-case floor: the
    form then told this manager how that one person did. The floor now also counts distinct reps."""
    _shape_rows(engine, "T0TEAM", "call_review", 3, 10, 2, reps=1)
    _shape_rows(engine, "T0TEAM", "drill", 8, 9, 3, reps=4)
    with Session(engine) as s:  # the counts are all there: only what is shown changes
        assert {(r.practice_format, r.met, r.missed) for r in s.exec(select(OutcomeLedger))} == {
            ("call_review", 10, 2),
            ("drill", 9, 3),
        }
    diagnose(h)
    mine = _last_diagnosis(engine)
    view = open_prescribe(h)
    dump = json.dumps(view["blocks"], ensure_ascii=False)
    assert "not enough history yet" in dump and "5 reps or more" in dump
    assert "of 12" not in dump and "met 10" not in dump and "met 9" not in dump
    h.fake.reset_calls()
    h.submit(MANAGER, view, prescribe_values(target="3"))
    (confirmation,) = [t for t in _dms_to(h.fake, MANAGER) if "Sent to" in t]
    assert "across the workspace" not in confirmation and "of 12" not in confirmation
    # a fifth rep on the drill shape: now an aggregate of five people, and shown
    _shape_rows(engine, "T0TEAM", "drill", 8, 1, 0, reps=1)
    h.action(MANAGER, "prescribe_open", str(mine))
    dump = json.dumps(opened_view(h.fake)["blocks"], ensure_ascii=False)
    assert "*Drill*: met 10 of 13" in dump and "Call review" not in dump.split("Sizing")[0]
    assert errors() == []


@pytest.mark.sqlite_only
def test_the_prescribe_advice_reads_a_fixed_number_of_statements_whatever_the_history(h, engine):
    counts = []
    for more in (1, 4):
        _shape_rows(engine, "T0TEAM", "call_review", 3, 5 * more, 2 * more, reps=3 * more)
        seen: list[str] = []

        def spy(conn, cursor, statement, *args, seen=seen):
            if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")):
                seen.append(statement)

        with Session(engine) as s:
            rep = present(queries.get_person(s, "T0TEAM", REP))
            event.listen(engine, "before_cursor_execute", spy)
            try:
                advice = learning.advice_for(s, h.ctx.playbook, "T0TEAM", present(rep.id), "root", "discovery")
            finally:
                event.remove(engine, "before_cursor_execute", spy)
        counts.append(len(seen))
    assert advice.shapes and advice.shapes[0].overall.closed == 35
    assert counts[0] == counts[1] <= 3, counts


# --- 2. similar cases: whose, and escaped ----------------------------------------------------------


def _case(h, rep: str, evidence: str, behavior: str, days_ago: int, caller: str = MANAGER) -> None:
    d = _diagnose(h, rep, evidence, TODAY - timedelta(days=days_ago), caller=caller)
    _closed(h.ctx.engine, d, "met", 3, behavior, TODAY - timedelta(days=days_ago - 7))


def _foreign_workspace_case(engine) -> None:
    """The same words in another workspace (T0OTHER), indexed as the app indexes a diagnosis."""
    from bot.cases import service as cases

    with Session(engine) as s:
        person = Person(team_id="T0OTHER", slack_user_id="UFOREIGN", manager_user_id=MANAGER)
        s.add(person)
        s.flush()
        d = Diagnosis(
            team_id="T0OTHER", person_id=present(person.id), manager_user_id=MANAGER, cause="coaching_gap",
            gap="discovery", evidence="Pitches before discovery questions on calls", submission_key="foreign-case",
            created_at=TODAY - timedelta(days=9),
        )  # fmt: skip
        s.add(d)
        s.flush()
        cases.index_case(s, d)
        s.commit()
        did = present(d.id)
    _closed(engine, did, "met", 3, "Foreign workspace secret", TODAY - timedelta(days=2))


def test_similar_cases_show_only_what_the_viewer_may_see(h, engine, errors):
    _case(h, REP2, "Pitches before discovery questions on calls", "Own team plan", 40)
    _case(h, OTHER_REP, "Pitches before discovery questions on calls, again", "Oakley's private plan", 30,
          caller=OTHER_MANAGER)  # fmt: skip
    _foreign_workspace_case(engine)
    note = "pitches before discovery questions"
    manager = json.dumps(_open_diagnose(h, MANAGER, REP, note))
    assert "Own team plan" in manager and "among your own reps" in manager
    assert OTHER_REP not in manager and "Oakley" not in manager and "UFOREIGN" not in manager
    assert "Foreign workspace secret" not in manager
    other = json.dumps(_open_diagnose(h, OTHER_MANAGER, OTHER_REP, note))
    assert "Own team plan" not in other and REP2 not in other and "Foreign workspace secret" not in other
    admin = json.dumps(_open_diagnose(h, ADMIN, REP, note))
    assert "Own team plan" in admin and "Oakley's private plan" in admin and "across the workspace" in admin
    assert "Foreign workspace secret" not in admin and "UFOREIGN" not in admin
    for outsider, rep in ((STRANGER, REP), (REP, REP2), (REP2, REP2), (OTHER_MANAGER, REP)):
        h.fake.reset_calls()
        h.command(outsider, f"<@{rep}|x> {note}", command="/diagnose")
        assert h.fake.calls_to("views.open") == [], (outsider, rep)
        assert "Only a rep's manager or a Coachbot admin" in h.fake.last_response_text()
        assert "Own team plan" not in json.dumps([c.args for c in h.fake.calls])
    # the foreign user, whose own org has the case, asking in this workspace with a forged team
    h.fake.reset_calls()
    h.command("UFOREIGN", f"<@{REP}|x> {note}", command="/diagnose")
    assert h.fake.calls_to("views.open") == []
    assert errors() == []


def test_evidence_and_behaviors_echoed_in_cases_and_second_opinions_are_inert(h, engine):
    d = _diagnose(h, REP2, f"Pitched early {INJECTION}", TODAY - timedelta(days=30))
    _closed(engine, d, "missed", 1, f"Cycle one {INJECTION}", TODAY - timedelta(days=20))
    _closed(engine, d, "missed", 2, f"Cycle two {INJECTION}", TODAY - timedelta(days=10))
    form = json.dumps(_open_diagnose(h, MANAGER, REP, "pitched early"))  # REP2's case, escaped
    second = json.dumps(_open_diagnose(h, MANAGER, REP2))  # REP2's own trail, escaped
    with Session(engine) as s:
        from bot.team.service import build_messages

        summary = json.dumps(build_messages(s, h.ctx.playbook, "T0TEAM", MANAGER, TODAY.date()))
    for shown in (form, second):
        assert "&lt;!channel&gt;" in shown and "&amp;" in shown
    for shown in (form, second, summary):
        assert "<!channel>" not in shown and "<https://evil" not in shown and "<@UADMIN>" not in shown
    assert "Second opinion" in second and "Second opinion" in summary


# --- 3. forged, replayed and out-of-range form submissions ------------------------------------------


def _diagnosis_of(h, rep: str, caller: str) -> int:
    diagnose(h, rep=rep, caller=caller)
    return _last_diagnosis(h.ctx.engine)


def test_forged_prescribe_forms_store_nothing_and_answer_politely(h, engine, errors):
    mine = _diagnosis_of(h, REP, MANAGER)
    theirs = _diagnosis_of(h, OTHER_REP, OTHER_MANAGER)
    _foreign_workspace_case(engine)
    with Session(engine) as s:
        foreign = present(s.exec(select(Diagnosis.id).where(Diagnosis.team_id == "T0OTHER")).first())
    h.action(MANAGER, "prescribe_open", str(mine))
    view = opened_view(h.fake)
    forged = {
        "another manager's rep": (json.dumps({"diagnosis": theirs}), "Only a rep's manager"),
        "another workspace": (json.dumps({"diagnosis": foreign}), "couldn't find that diagnosis"),
        "nonexistent": (json.dumps({"diagnosis": 2_000_000}), "couldn't find that diagnosis"),
    }
    for case, (metadata, answer) in forged.items():
        h.fake.reset_calls()
        r = h.submit(MANAGER, {**view, "private_metadata": metadata}, prescribe_values())
        assert r.status == 200 and r.body == "", case
        assert any(answer in t for t in _dms_to(h.fake, MANAGER)), case
        assert _dms_to(h.fake, OTHER_REP) == [] and _dms_to(h.fake, "UFOREIGN") == [], case
    for case, metadata in {"lost": "{}", "not json": "{{", "a list": "[1]", "huge id": '{"diagnosis": 1e999}'}.items():
        r = h.submit(MANAGER, {**view, "private_metadata": metadata}, prescribe_values())
        assert json.loads(r.body)["response_action"] == "errors", case
    assert _count(engine, Commitment, Commitment.team_id == "T0TEAM") == 0
    assert errors() == []


def test_forged_diagnose_forms_store_nothing_and_answer_politely(h, engine, errors):
    view = _open_diagnose(h, MANAGER, REP)
    values = {"cause": sel("coaching_gap", "radio_buttons"), "gap": sel("discovery"), "drag": sel(None),
              "evidence": txt("Pitched before minute five on three calls")}  # fmt: skip
    for rep, answer in ((OTHER_REP, "Only a rep's manager"), ("UFOREIGN", "didn't record"), ("UNOBODY1", "didn't")):
        h.fake.reset_calls()
        r = h.submit(MANAGER, {**view, "private_metadata": json.dumps({"rep": rep})}, values)
        assert r.status == 200 and r.body == "", rep
        assert any(answer in t for t in _dms_to(h.fake, MANAGER)), (rep, _dms_to(h.fake, MANAGER))
    h.fake.reset_calls()
    h.submit(STRANGER, view, values)  # the form itself, submitted by someone who may not coach REP
    assert any("Only a rep's manager" in t for t in _dms_to(h.fake, STRANGER))
    for metadata in ('{"rep": ["UREP1"]}', '{"rep": "<!channel>"}', "null"):
        r = h.submit(MANAGER, {**view, "private_metadata": metadata}, values)
        assert json.loads(r.body)["response_action"] == "errors", metadata
    assert (_count(engine, Diagnosis), _count(engine, CaseDoc)) == (0, 0)
    assert errors() == []


@pytest.mark.parametrize(
    ("evidence", "stored"),
    [
        ("Pitched early\x00 on three calls", False),  # PostgreSQL cannot store NUL: a field error, not a crash
        ("Pitched early on three calls\x1b[31m", False),
        ("x" * 100_000, False),
        (" \n\t ", False),
        ("Pitched early \ud800 on three calls", False),  # a lone surrogate: neither database can encode it
        ("Présenté trop tôt 🚀 عرض مبكر ‮ on calls", True),
    ],
    ids=["nul", "escape", "huge", "blank", "surrogate", "unicode"],
)
def test_diagnose_evidence_of_any_shape_is_stored_and_indexed_or_refused_by_field(h, engine, errors, evidence, stored):
    view = _open_diagnose(h, MANAGER, REP)
    values = {"cause": sel("coaching_gap", "radio_buttons"), "gap": sel("discovery"), "drag": sel(None),
              "evidence": txt(evidence)}  # fmt: skip
    r = h.submit(MANAGER, view, values)
    assert r.status == 200
    if stored:
        assert r.body == ""
        assert (_count(engine, Diagnosis), _count(engine, CaseDoc)) == (1, 1)
        assert any("Your evidence" in t for t in _dms_to(h.fake, MANAGER))
    else:
        assert "evidence" in json.loads(r.body)["errors"]
        assert (_count(engine, Diagnosis), _count(engine, CaseDoc)) == (0, 0)
        assert _dms_to(h.fake, MANAGER) == []
    assert errors() == []


@pytest.mark.sqlite_only
def test_prescribe_numbers_out_of_range_are_field_errors(h, engine, errors):
    diagnose(h)
    view = open_prescribe(h)
    cases = {"target": ["0", "51", "-3", "1e3", "99999999999999999999", "3.5", "", "\x003"], "window": ["31", "0"]}
    for field, bad in cases.items():
        for value in bad:
            r = h.submit(MANAGER, view, {**prescribe_values(), field: num(value)})
            assert field in json.loads(r.body or "{}").get("errors", {}), (field, value)
    for field, value in (("behavior", "x" * 50_000), ("evidence", "Recordings\x00"), ("format", "")):
        values = {**prescribe_values(), field: sel(value or None) if field == "format" else txt(value)}
        assert field in json.loads(h.submit(MANAGER, view, values).body)["errors"], field
    assert _count(engine, Commitment) == 0 and _dms_to(h.fake, REP) == []
    assert errors() == []


def test_replayed_and_double_submitted_forms_are_stored_and_answered_once(h, engine, errors):
    view = _open_diagnose(h, MANAGER, REP)
    values = {"cause": sel("coaching_gap", "radio_buttons"), "gap": sel("discovery"), "drag": sel(None),
              "evidence": txt("Pitched before minute five on three calls")}  # fmt: skip
    body = h.submit_body(MANAGER, view, values, view_id="VSAMEDIAG")
    for _ in range(3):
        assert h.post(body, "application/x-www-form-urlencoded").status == 200
    h.submit(MANAGER, view, values, view_id="VSAMEDIAG")  # a fresh delivery of the same form
    assert (_count(engine, Diagnosis), _count(engine, CaseDoc)) == (1, 1)
    with Session(engine) as s:
        total = s.exec(select(CaseTermDf).where(CaseTermDf.team_id == "T0TEAM", CaseTermDf.term == "")).one()
    assert total.docs == 1  # the word counts were not added twice
    assert sum("Your evidence" in t for t in _dms_to(h.fake, MANAGER)) == 1
    h.action(MANAGER, "prescribe_open", str(_last_diagnosis(engine)))
    prescribe = opened_view(h.fake)
    body = h.submit_body(MANAGER, prescribe, prescribe_values(), view_id="VSAMEPRESC")
    threads = [threading.Thread(target=h.post, args=(body, "application/x-www-form-urlencoded")) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    h.submit(MANAGER, prescribe, prescribe_values(), view_id="VSAMEPRESC")
    h.executor.drain()
    assert _count(engine, Commitment) == 1
    assert len(_dms_to(h.fake, REP)) == 1 and sum("Sent to" in t for t in _dms_to(h.fake, MANAGER)) == 1
    assert errors() == []


@pytest.mark.sqlite_only
def test_bad_prescribe_button_values_get_a_polite_ephemeral_answer(h, engine, errors):
    theirs = _diagnosis_of(h, OTHER_REP, OTHER_MANAGER)
    for value in ("", "abc", "0", "-1", "99999999999", "1e3", str(theirs), "<!channel>", "١"):
        h.fake.reset_calls()
        r = h.action(MANAGER, "prescribe_open", value)
        assert r.status == 200 and h.fake.calls_to("views.open") == [], value
        answer = h.fake.last_response_text()
        assert "couldn't find that diagnosis" in answer or "Only a rep's manager" in answer, value
    assert _count(engine, Commitment) == 0
    assert errors() == []


# --- 4. the slip warning: once per window, whatever runs at once or crashes ------------------------


def _dispatchers(h, n: int) -> list[Dispatcher]:
    settings = Settings(bot_token=BOT_TOKEN, database_url=h.settings.database_url, slack_api_url=h.fake_server.api_url)
    ctx = AppContext(settings=settings, engine=h.ctx.engine, playbook=h.ctx.playbook)
    return [Dispatcher(ctx, make_dispatch_client(settings), worker_id=f"host-{i}:{i}:w") for i in range(n)]


def _slip_rows(engine) -> list[ScheduledMessage]:
    with Session(engine) as s:
        return list(s.exec(select(ScheduledMessage).where(ScheduledMessage.kind == "slip")))


def _slip_posts(fake) -> list[str]:
    return [k for k in sent_keys(fake) if ":slip:" in k]


def test_two_dispatchers_at_once_send_one_slip_warning(h, engine, errors):
    cid = history(engine, h.ctx.playbook)
    first, second = _dispatchers(h, 2)
    first.run_pass(MONDAY_NUDGE)
    h.fake.reset_calls()
    h.fake.delays["chat.postMessage"] = 0.3  # the first sender is still waiting on Slack when the second looks
    gate = threading.Barrier(2)

    def run(d: Dispatcher) -> None:
        gate.wait()
        d.run_pass(FIRST_CHECK)

    threads = [threading.Thread(target=run, args=(d,)) for d in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    h.fake.delays.pop("chat.postMessage")
    for replay in (FIRST_CHECK + timedelta(minutes=1), FIRST_CHECK + timedelta(hours=3)):
        second.run_pass(replay)
    assert _slip_posts(h.fake) == [f"T0TEAM:{REP2}:slip:{cid}"]
    posts = [c for c in h.fake.calls_to("chat.postMessage") if "Heads-up on" in c.text_dump()]
    assert [p.args["channel"] for p in posts] == [f"D{MANAGER}"]
    assert [(r.status, r.slack_channel) for r in _slip_rows(engine)] == [("sent", f"D{MANAGER}")]
    assert errors() == []


def test_a_crash_between_claim_and_send_sends_the_slip_once_later(h, engine, errors):
    cid = history(engine, h.ctx.playbook)
    (d,) = _dispatchers(h, 1)
    d.run_pass(MONDAY_NUDGE)
    d.plan(FIRST_CHECK, PassReport())
    claimed = d.claim(FIRST_CHECK)  # ... and the process dies here, before any Slack call
    assert [r.kind for r in claimed] == ["slip"]
    h.fake.reset_calls()
    seed.age_claims(engine, 3)
    d.run_pass(FIRST_CHECK + timedelta(minutes=3))  # the history has nothing: sent now, once
    seed.age_claims(engine, 3)
    d.run_pass(FIRST_CHECK + timedelta(minutes=6))
    assert _slip_posts(h.fake) == [f"T0TEAM:{REP2}:slip:{cid}"]
    assert [r.status for r in _slip_rows(engine)] == ["sent"]
    assert errors() == []


def test_a_paused_rep_or_a_quiet_workspace_after_planning_gets_no_slip(h, engine):
    """The row was planned; the rep paused (or reminders were turned off) before it went out."""
    history(engine, h.ctx.playbook)
    (d,) = _dispatchers(h, 1)
    d.run_pass(MONDAY_NUDGE)
    d.plan(FIRST_CHECK, PassReport())
    assert [r.status for r in _slip_rows(engine)] == ["pending"]
    h.command(REP2, "pause 2026-11-30")
    h.fake.reset_calls()
    d.run_pass(FIRST_CHECK)
    assert _slip_posts(h.fake) == [] and _dms_to(h.fake, MANAGER) == []
    assert [r.status for r in _slip_rows(engine)] == ["skipped"]


# --- 5. coaching debt and the second opinion on Home ------------------------------------------------


def _home(h, user: str, n: int = 0) -> str:
    h.event({"type": "app_home_opened", "user": user, "tab": "home"}, event_id=f"EvHome{user}{n}{id(h)}")
    return _published(h.fake, user)


def test_home_shows_the_met_but_flat_second_opinion_once_per_rep_and_pings_no_one(h, engine, errors):
    d = _diagnose(h, REP2, "Skips discovery questions", TODAY - timedelta(days=30))
    _closed(engine, d, "met", 3, "Met one", TODAY - timedelta(days=20))
    _closed(engine, d, "met", 3, "Met two", TODAY - timedelta(days=10))
    _flat_figures(engine, REP2)
    h.fake.reset_calls()
    for n in range(2):  # opened twice: still one line, and nothing sent
        home = _home(h, MANAGER, n)
        assert home.count("stayed flat for a quarter") == 1, home
        assert f"*Second opinion* <@{REP2}>" in home
    assert h.fake.calls_to("chat.postMessage") == []
    assert "numbers flat" not in _home(h, OTHER_MANAGER) and REP2 not in _home(h, OTHER_MANAGER, 1)
    assert "Second opinion" not in _home(h, REP2)  # the rep's own Home is about their practice
    assert errors() == []


def test_homes_and_group_proposals_never_name_reps_the_viewer_cannot_see(h, engine, errors):
    others = ["UOREP2", "UOREP3", "UOREP4"]
    for k, rep in enumerate([OTHER_REP, *others]):
        h.fake.add_user(rep, f"Other {k}") if rep != OTHER_REP else None
        with session_scope(engine) as s:
            person = seed.svc.ensure_person(s, "T0TEAM", seed.slack_user(rep))
            person.manager_user_id = OTHER_MANAGER
            s.add(person)
        seed.commitment(engine, h.ctx.playbook, seed.slack_user(rep), OTHER_MANAGER, date(2026, 11, 9), key=rep)
    seed.commitment(engine, h.ctx.playbook, seed.slack_user(REP), MANAGER, date(2026, 11, 9), key="mine")
    theirs = _home(h, OTHER_MANAGER)
    assert "Group session on *Discovery depth*: <@UOREP1>, <@UOREP2>, <@UOREP3>, <@UOREP4>" in theirs
    mine = _home(h, MANAGER)
    for rep in (OTHER_REP, *others):
        assert rep not in mine, rep
    assert REP not in theirs and REP2 not in theirs
    for outsider in (STRANGER, REP):
        shown = _home(h, outsider)
        assert all(rep not in shown for rep in (OTHER_REP, *others, REP2)), outsider
        assert "Where your next hour goes" not in shown
    assert errors() == []


def test_home_and_summary_with_zero_one_paused_or_undiagnosed_reps(h, engine, errors):
    assert "Where your next hour goes" not in _home(h, ADMIN)  # an admin with no reps of their own
    one = _home(h, OTHER_MANAGER)  # one rep, never diagnosed, nothing logged
    assert "Where your next hour goes" in one and f"<@{OTHER_REP}>" in one
    h.command(REP2, "pause 2026-11-30")
    with session_scope(engine) as s:  # and REP has no commitment at all
        present(queries.get_person(s, "T0TEAM", REP))
    mine = _home(h, MANAGER, 1)
    assert "Where your next hour goes" in mine and "Paused" in mine
    with Session(engine) as s:
        from bot.team.service import build_messages

        for manager in (MANAGER, OTHER_MANAGER):
            messages = build_messages(s, h.ctx.playbook, "T0TEAM", manager, TODAY.date()) or []
            assert messages and all(check_message(m) == [] for m in messages)
        assert build_messages(s, h.ctx.playbook, "T0TEAM", STRANGER, TODAY.date()) is None
    assert errors() == []


# --- 6. Block Kit limits with 50 reps and the longest text -----------------------------------------


def _long_cases(h, engine, reps: list[str]) -> None:
    """Each rep's closed commitments carry the longest behavior; some reps have a diagnosis (indexed)
    with the longest evidence, linked to their closed commitments, so they are similar cases."""
    from bot.cases import service as cases

    behavior = ("Ask three open questions " + INJECTION + " ") * 5
    with Session(engine) as s:
        s.exec(update(Commitment).values(behavior=behavior[:300]))
        for rep in reps:
            person = present(queries.get_person(s, "T0TEAM", rep))
            d = Diagnosis(
                team_id="T0TEAM", person_id=present(person.id), manager_user_id=MANAGER, cause="coaching_gap",
                gap="closing", evidence=("Pitched early on discovery calls " + INJECTION + " ") * 22,
                profile_version=1, submission_key=f"long-{rep}", created_at=TODAY - timedelta(days=40),
            )  # fmt: skip
            d.evidence = d.evidence[:2000]
            s.add(d)
            s.flush()
            cases.index_case(s, d)
            s.exec(
                update(Commitment)
                .where(col(Commitment.person_id) == person.id, col(Commitment.status) != "active")
                .values(diagnosis_id=d.id)
            )
        s.commit()


def test_every_surface_stays_within_block_kit_limits_with_50_reps_and_long_text(h, engine, errors):
    seed.bulk_team(engine, "T0TEAM", MANAGER, 50, "UB")
    reps = [f"UB{i:04d}" for i in range(50)]
    for rep in reps[:8]:
        h.fake.add_user(rep, "N" * 80)
    _long_cases(h, engine, reps[:8])
    _shape_rows(engine, "T0TEAM", "call_review", 3, 30, 9, archetype="engine", reps=6)
    home = _home(h, MANAGER)  # checked against the limits inside
    assert "Where your next hour goes" in home and "&lt;!channel&gt;" in home and "<!channel>" not in home
    with Session(engine) as s:
        from bot.team.service import build_messages

        messages = build_messages(s, h.ctx.playbook, "T0TEAM", MANAGER, TODAY.date()) or []
    assert messages and all(check_message(m) == [] for m in messages)
    view = _open_diagnose(h, MANAGER, reps[0], ("pitched early on discovery calls " * 40)[:990])
    dump = json.dumps(view, ensure_ascii=False)
    assert dump.count("Tried “") == 3 and "<!channel>" not in dump and len(view["blocks"]) <= 100
    h.submit(MANAGER, view, {"cause": sel("coaching_gap", "radio_buttons"), "gap": sel("discovery"),
                             "drag": sel(None), "evidence": txt("E" * 2000)})  # fmt: skip
    brief = [c for c in h.fake.calls_to("chat.postMessage") if c.args.get("channel") == f"D{MANAGER}"][-1]
    assert check_message({"text": brief.args.get("text"), "blocks": brief.blocks}) == []
    h.action(MANAGER, "prescribe_open", str(_last_diagnosis(engine)))
    prescribe = opened_view(h.fake)
    assert check_view(prescribe) == [] and "*Call review*: met 30 of 39" in json.dumps(prescribe, ensure_ascii=False)
    assert errors() == []
