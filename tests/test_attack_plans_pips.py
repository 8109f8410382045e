"""Attacks on the 30/60/90 plans and the PIPs, from outside: through the real Bolt app (signed HTTP
requests, tests/harness.py) against the Slack fake, asserting what Slack received and what the
database holds.

The promises tried (README "30/60/90 onboarding" and "PIPs", and "Privacy and safety"):
- only the rep's manager or an admin of *this* workspace starts a plan or writes/closes a PIP; the
  rep, their manager or an admin checks a step off; nothing crosses Slack team ids;
- a plan and a PIP are stored once (a repeated or racing form changes nothing), the rep is DM'd once;
- a step is checked off once; a PIP is closed once;
- user text is escaped before it is echoed, and bad input gets a clear answer, never a crash.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from sqlmodel import Session, select

from bot.team import service as team_service
from storage.db import session_scope
from storage.models import Commitment, Milestone, OnboardingPlan, Person, Pip
from tests.conftest import ADMIN, MANAGER, OTHER_MANAGER, REP, REP2, STANDARD_ROWS, STRANGER
from tests.harness import Harness, num, opened_view, sel, txt
from tests.rows import present
from tests.seed import commitment, slack_user
from tests.slack_fake import Call, SlackFake

FORM = "application/x-www-form-urlencoded"
FOREIGN = "T0OTHER"
REP3 = "UREP3"  # a new hire managed by OTHER_MANAGER
PLAN_DAY = datetime(2026, 11, 12, 15, 0, tzinfo=UTC)  # REP started 2026-11-01: day 12; REP3 day 10
REP3_ROW = f"{REP3},{OTHER_MANAGER},Engine,Hunter,Engine,80,90,70,,closing,2026-11-03"
PIP_START = date(2026, 9, 7)  # REP2: two weekly cycles on closing, both missed, each coached an hour
PIP_DAY = datetime(2026, 9, 22, 15, 0, tzinfo=UTC)
BEHAVIOR = "Ask for a dated next step before every call ends"
INJECTION = "<!channel> <@UADMIN> <https://evil.example|click here> *bold* &amp;"


# --- shared helpers -----------------------------------------------------------------------------------


def _rows(engine: Any, model: Any) -> list[Any]:
    with Session(engine) as s:
        return list(s.exec(select(model)))


def _dms_to(fake: SlackFake, user: str) -> list[Call]:
    return [c for c in fake.calls_to("chat.postMessage") if c.args.get("channel") == f"D{user}"]


def _plan_dms(fake: SlackFake, user: str) -> list[Call]:
    """The plan itself, as DM'd to the rep."""
    return [c for c in _dms_to(fake, user) if "Your first 90 days" in c.text_dump()]


def _history_to(fake: SlackFake, user: str) -> list[dict[str, Any]]:
    """What actually landed in the DM (a post whose answer was lost is still here)."""
    with fake.lock:
        return list(fake.history.get(f"D{user}", []))


def _everything_shown(fake: SlackFake) -> str:
    """Every message, ephemeral answer, view and Home tab the app sent, as one string."""
    shown = []
    for method in ("chat.postMessage", "chat.update", "response_url", "views.open", "views.publish"):
        for call in fake.calls_to(method):
            view = call.args.get("view")
            shown.append(call.text_dump() + (view if isinstance(view, str) else json.dumps(view or "")))
    return "\n".join(shown)


def _replies(fake: SlackFake) -> str:
    return "\n".join(c.text_dump() for c in fake.responses())


def _answers_saying(fake: SlackFake, words: str) -> int:
    """How many ephemeral answers said this."""
    return sum(words in c.text_dump() for c in fake.responses())


def _landed(fake: SlackFake, user: str, words: str) -> list[dict[str, Any]]:
    """Messages with these words that actually landed in the user's DM (a lost answer's post too)."""
    return [m for m in _history_to(fake, user) if words in str(m.get("text"))]


def _with_payload(body: bytes, **changes: Any) -> bytes:
    """The same signed-by-the-harness request with fields of its payload changed (a forgery)."""
    payload = json.loads(dict(parse_qsl(body.decode()))["payload"])
    for key, value in changes.items():
        if value is None:
            payload.pop(key, None)
        else:
            payload[key] = value
    return urlencode({"payload": json.dumps(payload)}).encode()


def _concurrently(*jobs: Callable[[], Any]) -> None:
    barrier = threading.Barrier(len(jobs))
    failures: list[BaseException] = []

    def run(job: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=10)
            job()
        except BaseException as exc:  # reported below, on the test's thread
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not failures, failures


def _post_reset_history_down(fake: SlackFake) -> None:
    fake.lose_answer("chat.postMessage", status=0)
    fake.fail_next("conversations.history", status=500, times=3)


FAULTS: dict[str, Callable[[SlackFake], None]] = {
    "refused": lambda f: f.fail_next("chat.postMessage", error="is_archived"),
    "no-dm": lambda f: f.fail_next("conversations.open", error="user_not_found"),
    "open-reset": lambda f: f.lose_answer("conversations.open", status=0, times=3),
    "post-5xx": lambda f: f.lose_answer("chat.postMessage", status=500),
    "post-reset": lambda f: f.lose_answer("chat.postMessage", status=0),
    "post-reset-history-down": _post_reset_history_down,
}


# --- 30/60/90 plans ------------------------------------------------------------------------------------


@pytest.fixture
def h(harness: Harness, import_csv: Any, slack: Any) -> Harness:
    slack.fake.add_user(REP3, "Tess")
    import_csv(*STANDARD_ROWS, REP3_ROW)
    harness.ctx.clock = lambda: PLAN_DAY
    return harness


def _plan_view(rep: str) -> dict[str, Any]:
    """A plan form as Slack would hand it back (the app's own form, or one forged to look like it)."""
    return {"type": "modal", "callback_id": "onboarding_plan", "private_metadata": json.dumps({"rep": rep})}


def _steps(*phases: str) -> dict[str, dict[str, Any]]:
    return {f"phase_{n}": txt(text) for n, text in enumerate(phases, start=1)}


SIMPLE = _steps("Shadow five discovery calls", "Run two calls with the manager listening", "Own a pipeline review")


def _open_plan(h: Harness, caller: str = MANAGER, rep: str = REP) -> dict[str, Any]:
    h.command(caller, f"plan <@{rep}>")
    return opened_view(h.fake)


def _start_plan(h: Harness, rep: str = REP, caller: str = MANAGER, view_id: str = "VPLAN") -> list[Milestone]:
    h.submit(caller, _plan_view(rep), SIMPLE, view_id=view_id)
    steps = sorted(_rows(h.ctx.engine, Milestone), key=lambda m: m.id or 0)
    assert steps, "the plan was not started"
    h.fake.reset_calls()
    return steps


def _foreign_plan(engine: Any, rep: str = REP) -> Milestone:
    """Another workspace's plan for a person with the same user id (Enterprise Grid ids are shared)."""
    with session_scope(engine) as s:
        person = Person(team_id=FOREIGN, slack_user_id=rep, manager_user_id=MANAGER, start_date=date(2026, 11, 1))
        s.add(person)
        s.flush()
        plan = OnboardingPlan(
            team_id=FOREIGN,
            person_id=present(person.id),
            manager_user_id=MANAGER,
            start_date=date(2026, 11, 1),
            submission_key="VFOREIGNPLAN",
        )
        s.add(plan)
        s.flush()
        step = Milestone(
            team_id=FOREIGN, plan_id=present(plan.id), phase=1, position=1, title="Foreign secret step", due_day=10
        )
        s.add(step)
        s.flush()
        s.expunge(step)
        return step


# Privacy and roles: who may start a plan ----------------------------------------------------------------


@pytest.mark.sqlite_only
@pytest.mark.parametrize("caller", [OTHER_MANAGER, REP, REP2, STRANGER])
def test_a_forged_plan_form_from_anyone_but_the_manager_or_an_admin_stores_nothing(h, engine, caller):
    h.submit(caller, _plan_view(REP), SIMPLE, view_id="VFORGE")
    assert _rows(engine, OnboardingPlan) == [] and _rows(engine, Milestone) == []
    assert _plan_dms(h.fake, REP) == []


@pytest.mark.sqlite_only
def test_a_plan_form_whose_metadata_names_another_managers_rep_stores_nothing(h, engine):
    view = _open_plan(h)  # MANAGER's own form for REP, edited to point at OTHER_MANAGER's hire
    forged = {**view, "private_metadata": json.dumps({"rep": REP3})}
    h.submit(MANAGER, forged, SIMPLE, view_id="VMETA")
    assert _rows(engine, OnboardingPlan) == []
    assert _dms_to(h.fake, REP3) == []
    assert any("Only a rep's manager" in c.text_dump() for c in _dms_to(h.fake, MANAGER))


@pytest.mark.sqlite_only
@pytest.mark.parametrize("caller", [MANAGER, ADMIN])
def test_a_plan_form_whose_metadata_names_another_workspaces_rep_stores_nothing(h, engine, caller):
    _foreign_plan(engine, rep="UFOREIGN")
    before = len(_rows(engine, OnboardingPlan))
    h.submit(caller, _plan_view("UFOREIGN"), SIMPLE, view_id="VFOREIGN")
    assert len(_rows(engine, OnboardingPlan)) == before
    assert _dms_to(h.fake, "UFOREIGN") == []


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    "metadata", [None, "", "not json", "[1, 2]", json.dumps({"rep": 123}), json.dumps({"rep": None}), "{}"]
)
def test_a_plan_form_without_usable_metadata_stores_nothing_and_never_crashes(h, engine, errors, metadata):
    view = {"type": "modal", "callback_id": "onboarding_plan"}
    if metadata is not None:
        view["private_metadata"] = metadata
    r = h.submit(ADMIN, view, SIMPLE, view_id="VNOMETA")
    assert r.status == 200
    assert _rows(engine, OnboardingPlan) == []
    assert errors() == []


@pytest.mark.sqlite_only
def test_a_plan_form_from_a_user_of_another_org_stores_nothing(h, engine):
    """The payload says the submitter's own team is another organisation (Slack Connect)."""
    body = h.submit_body(MANAGER, _plan_view(REP), SIMPLE, view_id="VCONNECT")
    h.post(_with_payload(body, user={"id": MANAGER, "team_id": FOREIGN}), FORM)
    assert _rows(engine, OnboardingPlan) == [] and _dms_to(h.fake, REP) == []


@pytest.mark.sqlite_only
def test_a_plan_form_from_a_manager_slack_moved_to_another_org_stores_nothing(h, engine):
    view = _open_plan(h)
    h.fake.users[MANAGER]["team_id"] = FOREIGN  # users.info now says another team
    h.submit(MANAGER, view, SIMPLE, view_id="VMOVED")
    assert _rows(engine, OnboardingPlan) == [] and _dms_to(h.fake, REP) == []


@pytest.mark.sqlite_only
def test_a_plan_form_after_the_rep_changed_manager_stores_nothing(h, engine):
    view = _open_plan(h)
    with session_scope(engine) as s:
        person = present(s.exec(select(Person).where(Person.slack_user_id == REP)).first())
        person.manager_user_id = OTHER_MANAGER
        s.add(person)
    h.submit(MANAGER, view, SIMPLE, view_id="VSTALE")
    assert _rows(engine, OnboardingPlan) == [] and _dms_to(h.fake, REP) == []


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    ("caller", "rep", "expected"),
    [
        (MANAGER, "UGONE", "deactivated"),
        (MANAGER, "UFOREIGN", "another workspace"),
        (MANAGER, "UBOTUSER", "bot"),
        (MANAGER, REP3, "Only a rep's manager"),
    ],
)
def test_plan_command_for_people_who_cannot_have_one_opens_nothing(h, engine, caller, rep, expected):
    h.command(caller, f"plan <@{rep}>")
    assert expected in _replies(h.fake)
    assert h.fake.calls_to("views.open") == [] and _rows(engine, OnboardingPlan) == []


@pytest.mark.sqlite_only
def test_plan_command_from_a_user_of_another_org_opens_nothing(h, engine):
    h.command("UFOREIGN", f"plan <@{REP}>")
    assert h.fake.calls_to("views.open") == []
    assert "for members of this workspace only" in _replies(h.fake)


@pytest.mark.sqlite_only
def test_a_forged_plan_form_for_a_rep_past_onboarding_starts_no_plan(h, engine):
    """`/coach plan @REP2` says REP2 is past onboarding (started 2025-01-15); the form's submit path
    must not start the plan the command refused to draft."""
    h.command(MANAGER, f"plan <@{REP2}>")
    assert "past onboarding" in _replies(h.fake)
    h.submit(MANAGER, _plan_view(REP2), SIMPLE, view_id="VPAST")
    assert _rows(engine, OnboardingPlan) == [], "a plan was started for a rep 600+ days past their start"
    assert _dms_to(h.fake, REP2) == []


@pytest.mark.sqlite_only
@pytest.mark.parametrize("change", ["deleted", "team_id"])
def test_a_plan_form_for_a_rep_slack_no_longer_lets_us_coach_starts_no_plan(h, engine, change):
    """Opened while REP was a member; by submit time Slack says REP is deactivated or belongs to
    another organisation. The command refuses such a rep; the form must too."""
    view = _open_plan(h)
    h.fake.users[REP][change] = True if change == "deleted" else FOREIGN
    h.submit(MANAGER, view, SIMPLE, view_id="VGONE")
    assert _rows(engine, OnboardingPlan) == []
    assert _history_to(h.fake, REP) == []


# Privacy and roles: who may check a step off ----------------------------------------------------------


@pytest.mark.sqlite_only
@pytest.mark.parametrize("caller", [MANAGER, REP, REP2, STRANGER])
def test_a_step_of_another_managers_plan_is_not_checked_off_and_its_title_stays_hidden(h, engine, caller):
    """REP3's plan is OTHER_MANAGER's; MANAGER (and MANAGER's reps) click its step id in their own messages."""
    (secret, *_) = _start_plan(h, rep=REP3, caller=OTHER_MANAGER)
    h.action(caller, "milestone_done", str(secret.id))
    assert all(m.done_at is None for m in _rows(engine, Milestone))
    assert "Only the rep, their manager" in _replies(h.fake)
    assert secret.title not in _everything_shown(h.fake)
    assert not [c for c in h.fake.responses() if c.args.get("replace_original")], "the clicked message was redrawn"


@pytest.mark.sqlite_only
@pytest.mark.parametrize("caller", [REP, MANAGER])
def test_a_step_id_from_another_workspace_is_not_found(h, engine, caller):
    foreign = _foreign_plan(engine, rep=REP)
    h.action(caller, "milestone_done", str(foreign.id))
    with Session(engine) as s:
        assert present(s.get(Milestone, foreign.id)).done_at is None
    assert "couldn't find that step" in _replies(h.fake)
    assert "Foreign secret step" not in _everything_shown(h.fake)


@pytest.mark.sqlite_only
def test_a_click_sent_from_the_other_workspace_checks_nothing_off(h, engine):
    """A request whose team is the other workspace, by a user Slack says is ours: an outsider there."""
    foreign = _foreign_plan(engine, rep=REP)
    own = _start_plan(h)
    for step in (foreign, own[0]):
        h.action(MANAGER, "milestone_done", str(step.id), team_id=FOREIGN)
        h.action(REP, "milestone_done", str(step.id), team_id=FOREIGN)
    assert all(m.done_at is None for m in _rows(engine, Milestone))
    assert "Foreign secret step" not in _everything_shown(h.fake)


@pytest.mark.sqlite_only
def test_a_click_whose_payload_names_another_org_checks_nothing_off(h, engine):
    (step, *_) = _start_plan(h)
    body = h.action_body(REP, "milestone_done", str(step.id))
    h.post(_with_payload(body, user={"id": REP, "team_id": FOREIGN}), FORM)
    h.fake.users[MANAGER]["team_id"] = FOREIGN  # and the manager Slack now places in another org
    h.action(MANAGER, "milestone_done", str(step.id))
    assert all(m.done_at is None for m in _rows(engine, Milestone))


@pytest.mark.sqlite_only
def test_the_rep_slack_moved_to_another_org_cannot_check_off(h, engine):
    (step, *_) = _start_plan(h)
    h.fake.users[REP]["team_id"] = FOREIGN
    h.action(REP, "milestone_done", str(step.id))
    assert all(m.done_at is None for m in _rows(engine, Milestone))


@pytest.mark.sqlite_only
def test_the_old_manager_cannot_check_off_once_the_rep_moved_teams(h, engine):
    (step, *_) = _start_plan(h)
    with session_scope(engine) as s:
        person = present(s.exec(select(Person).where(Person.slack_user_id == REP)).first())
        person.manager_user_id = OTHER_MANAGER
        s.add(person)
    h.action(MANAGER, "milestone_done", str(step.id))
    assert all(m.done_at is None for m in _rows(engine, Milestone))
    h.action(OTHER_MANAGER, "milestone_done", str(step.id))
    assert [m.done_by for m in _rows(engine, Milestone) if m.done_at] == [OTHER_MANAGER]


# Bad input on the Done button ------------------------------------------------------------------------


@pytest.mark.sqlite_only  # refused before any database look-up: the backend cannot change the answer
@pytest.mark.parametrize("value", ["", "abc", "1.5", "-1", "0", "1e3", " ", "0x1"])
def test_a_done_button_whose_value_is_not_an_id_changes_nothing_and_never_crashes(h, engine, errors, value):
    _bad_done_click(h, engine, errors, value)
    assert "doesn't point at a step" in _replies(h.fake)


def test_a_done_button_with_the_largest_id_that_is_no_step_changes_nothing_and_never_crashes(h, engine, errors):
    _bad_done_click(h, engine, errors, "2147483647")


def _bad_done_click(h: Harness, engine: Any, errors: Callable[[], list[str]], value: str) -> None:
    _start_plan(h)
    h.action(REP, "milestone_done", value)
    assert all(m.done_at is None for m in _rows(engine, Milestone))
    replies = _replies(h.fake)
    assert "doesn't point at a step" in replies or "couldn't find that step" in replies, replies
    assert errors() == [], f"the Done listener raised on the button value {value!r}"


def _huge_id_click(h: Harness, engine: Any, errors: Callable[[], list[str]], value: str) -> None:
    _start_plan(h)
    h.action(REP, "milestone_done", value)
    assert all(m.done_at is None for m in _rows(engine, Milestone))
    replies = _replies(h.fake)
    assert "something went wrong" not in replies, "a button value outside the id range reached the database"
    assert "doesn't point at a step" in replies or "couldn't find that step" in replies, replies
    assert errors() == [], f"the Done listener raised on the button value {value!r}"


@pytest.mark.parametrize("value", ["9223372036854775808", "99999999999999999999"])
def test_a_done_button_with_an_id_past_64_bits_never_crashes(h, engine, errors, value):
    _huge_id_click(h, engine, errors, value)


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
@pytest.mark.parametrize("value", ["2147483648", "9223372036854775807"])
def test_a_done_button_with_an_id_past_32_bits_never_crashes_on_postgres(h, engine, errors, value):
    _huge_id_click(h, engine, errors, value)


# Bad input in the plan form ---------------------------------------------------------------------------


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    ("phase_1", "problem"),
    [
        ("x" * 151, "151 characters"),
        ("\n".join(f"Step number {n}" for n in range(9)), "9 milestones"),
        ("- \n•\n  \n", "at least one milestone"),
        ("Shadow a call\n- shadow   A CALL", "repeats milestone 1"),
        ("\n".join(f"- {n} " + "y" * 140 for n in range(12)), "12 milestones"),
    ],
)
def test_a_bad_phase_is_a_field_error_and_nothing_is_stored(h, engine, phase_1, problem):
    r = h.submit(MANAGER, _plan_view(REP), {**SIMPLE, "phase_1": txt(phase_1)}, view_id="VBAD")
    body = json.loads(r.body)
    assert body["response_action"] == "errors" and problem in body["errors"]["phase_1"]
    assert _rows(engine, OnboardingPlan) == [] and _dms_to(h.fake, REP) == []


@pytest.mark.sqlite_only
def test_the_largest_plan_the_form_allows_fits_slack(h, engine):
    """Eight 150-character steps in every phase, every character one that escaping triples."""
    phases = ["\n".join(f"{p}{n}" + "&" * 148 for n in range(8)) for p in "abc"]
    h.submit(MANAGER, _plan_view(REP), _steps(*phases), view_id="VBIG")
    assert len(_rows(engine, Milestone)) == 24
    (dm,) = _plan_dms(h.fake, REP)  # the fake refuses a message past Block Kit's limits
    assert len([b for b in dm.blocks if b.get("accessory")]) == 24
    step = min(_rows(engine, Milestone), key=lambda m: m.id or 0)
    h.fake.reset_calls()
    h.action(REP, "milestone_done", str(step.id))
    redrawn = [c for c in h.fake.responses() if c.args.get("replace_original")]
    assert redrawn and "1 of 24 done" in redrawn[-1].text_dump()


@pytest.mark.sqlite_only
def test_mrkdwn_in_step_titles_is_inert_in_the_dm_the_reply_and_home(h, engine):
    titles = [INJECTION, "Meet <@UADMIN> and <!here>", "~strike~ _it_ <#C0PUBLIC>"]
    h.submit(MANAGER, _plan_view(REP), _steps(*titles), view_id="VMRK")
    (dm,) = _plan_dms(h.fake, REP)
    step = min(_rows(engine, Milestone), key=lambda m: m.id or 0)
    assert step.title == INJECTION  # stored as typed
    h.action(REP, "milestone_done", str(step.id))
    h.event({"type": "app_home_opened", "user": REP, "tab": "home"}, event_id="EvHomeMrk")
    shown = _everything_shown(h.fake)
    for raw in ("<!channel>", "<@UADMIN>", "<https://evil.example", "<!here>", "<#C0PUBLIC>"):
        assert raw not in shown, f"{raw} reached Slack unescaped"
    assert "&lt;!channel&gt;" in dm.text_dump() and "&amp;amp;" in dm.text_dump()


@pytest.mark.parametrize("control", ["\x00", "\x1b[31m", "\x07"])
def test_control_characters_in_a_step_get_a_field_error_or_are_dropped(h, engine, errors, control):
    """A NUL byte cannot be stored in PostgreSQL text at all; any control character is junk in a DM."""
    r = h.submit(MANAGER, _plan_view(REP), {**SIMPLE, "phase_1": txt(f"Shadow{control} calls")}, view_id="VCTL")
    answer = json.loads(r.body) if r.body else {}
    if answer.get("response_action") == "errors":
        assert "phase_1" in answer["errors"] and _rows(engine, OnboardingPlan) == []
        return
    titles = [m.title for m in _rows(engine, Milestone)]
    assert titles, "the form closed, nothing was stored, and the manager was told nothing"
    assert all(ch.isprintable() for title in titles for ch in title), titles
    assert errors() == []


# Idempotency of the plan form and the Done button ------------------------------------------------------


def test_the_same_plan_form_delivered_concurrently_starts_one_plan_and_one_dm(h, engine):
    body = h.submit_body(MANAGER, _plan_view(REP), SIMPLE, view_id="VCONC")
    _concurrently(*[lambda: h.post(body, FORM) for _ in range(3)])
    h.executor.drain()
    assert len(_rows(engine, OnboardingPlan)) == 1 and len(_rows(engine, Milestone)) == 3
    assert len(_history_to(h.fake, REP)) == 1
    started = [c for c in _dms_to(h.fake, MANAGER) if "Started" in c.text_dump()]
    assert len(started) == 1


def test_two_different_plan_forms_racing_start_one_plan_and_one_dm(h, engine):
    first = h.submit_body(MANAGER, _plan_view(REP), SIMPLE, view_id="VRACE1")
    other = _steps("Other step one", "Other step two", "Other step three")
    second = h.submit_body(ADMIN, _plan_view(REP), other, view_id="VRACE2")
    _concurrently(lambda: h.post(first, FORM), lambda: h.post(second, FORM))
    h.executor.drain()
    (plan,) = _rows(engine, OnboardingPlan)
    titles = {m.title for m in _rows(engine, Milestone)}
    assert len(titles) == 3 and titles in ({v["value"] for v in SIMPLE.values()}, {v["value"] for v in other.values()})
    assert plan.submission_key in ("VRACE1", "VRACE2")
    assert len(_history_to(h.fake, REP)) == 1
    loser = ADMIN if plan.submission_key == "VRACE1" else MANAGER
    assert any("already has a plan" in c.text_dump() for c in _dms_to(h.fake, loser))


def test_a_plan_form_replayed_after_an_hour_with_a_new_hash_changes_nothing(h, engine):
    h.submit(MANAGER, _plan_view(REP), SIMPLE, view_id="VREPLAY")
    h.submit(MANAGER, {**_plan_view(REP), "hash": "1700009999.zzz"}, _steps("a", "b", "c"), view_id="VREPLAY")
    assert len(_rows(engine, OnboardingPlan)) == 1 and len(_rows(engine, Milestone)) == 3
    assert len(_history_to(h.fake, REP)) == 1


def test_a_double_click_on_done_checks_the_step_off_once(h, engine):
    (step, *_) = _start_plan(h)
    _concurrently(
        lambda: h.action(REP, "milestone_done", str(step.id)),
        lambda: h.action(MANAGER, "milestone_done", str(step.id), channel=f"D{REP}"),
        lambda: h.action(REP, "milestone_done", str(step.id)),
    )
    h.executor.drain()
    done = [m for m in _rows(engine, Milestone) if m.done_at is not None]
    assert [m.id for m in done] == [step.id] and done[0].done_by in (REP, MANAGER)
    said = [c.text_dump() for c in h.fake.responses() if not c.args.get("replace_original")]
    assert sum("Done:" in t for t in said) == 1 and sum("already checked off" in t for t in said) == 2


def test_the_same_done_click_replayed_is_answered_once(h, engine):
    (step, *_) = _start_plan(h)
    body = h.action_body(REP, "milestone_done", str(step.id))
    h.post(body, FORM)
    h.post(body, FORM, headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    said = [c.text_dump() for c in h.fake.responses() if not c.args.get("replace_original")]
    assert sum("Done:" in t for t in said) == 1 and not any("already checked off" in t for t in said)


# Faults while the plan is sent ------------------------------------------------------------------------


@pytest.mark.postgres_once(fault="post-reset-history-down")
@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_plan_whose_dm_fails_is_stored_once_and_never_sent_twice(h, engine, fault):
    body = h.submit_body(MANAGER, _plan_view(REP), SIMPLE, view_id="VFAULT")
    FAULTS[fault](h.fake)
    h.post(body, FORM)
    h.post(body, FORM)  # the same form again
    h.submit(MANAGER, _plan_view(REP), SIMPLE, view_id="VFAULT2")  # and a second form for the same rep
    assert len(_rows(engine, OnboardingPlan)) == 1 and len(_rows(engine, Milestone)) == 3
    landed = _history_to(h.fake, REP)
    assert len(landed) <= 1, f"the plan reached the rep {len(landed)} times"
    started = [c.text_dump() for c in _dms_to(h.fake, MANAGER) if "Started" in c.text_dump()]
    assert len(started) == 1, "the manager was not told exactly once"
    if not landed:
        assert "couldn't confirm the DM" in started[0]


# --- PIPs ------------------------------------------------------------------------------------------------


def _stall(engine: Any, playbook: Any, rep: str, manager: str) -> None:
    """Two weekly cycles on closing, each coached for an hour, both missed: every readiness rule holds."""
    for i in range(2):
        starts = PIP_START + timedelta(days=7 * i)
        cid = commitment(engine, playbook, slack_user(rep), manager, starts, gap="closing", key=f"{rep}-{i}")
        with session_scope(engine) as s:
            row = present(s.get(Commitment, cid))
            row.status, row.closed_at = "missed", datetime.combine(row.ends_on, datetime.min.time(), tzinfo=UTC)
            s.add(row)
            person = present(s.exec(select(Person).where(Person.slack_user_id == rep)).first())
            team_service.log_session(s, "T0TEAM", manager, "one_on_one", 60, [person], starts + timedelta(days=1))


@pytest.fixture
def p(harness: Harness, import_csv: Any, slack: Any, engine: Any, playbook: Any) -> Harness:
    slack.fake.add_user(REP3, "Tess")
    import_csv(*STANDARD_ROWS, REP3_ROW)
    _stall(engine, playbook, REP2, MANAGER)
    _stall(engine, playbook, REP3, OTHER_MANAGER)
    harness.ctx.clock = lambda: PIP_DAY
    harness.fake.reset_calls()
    return harness


def _pip_view(rep: str = REP2, gap: str = "closing") -> dict[str, Any]:
    return {"type": "modal", "callback_id": "pip_plan", "private_metadata": json.dumps({"rep": rep, "gap": gap})}


def _pip_values(behavior: str = BEHAVIOR, weeks: str = "4", target: str = "3", sessions: str = "2") -> dict[str, Any]:
    return {
        "behavior": txt(behavior),
        "target": num(target),
        "sessions": num(sessions),
        "weeks": sel(weeks, kind="radio_buttons"),
    }


def _pip_dms(fake: SlackFake, user: str) -> list[Call]:
    return [c for c in _dms_to(fake, user) if "performance improvement plan" in c.text_dump()]


def _start_pip(p: Harness, view_id: str = "VPIP") -> Pip:
    p.submit(MANAGER, _pip_view(), _pip_values(), view_id=view_id)
    (pip,) = _rows(p.ctx.engine, Pip)
    p.fake.reset_calls()
    return pip


def _foreign_pip(engine: Any) -> Pip:
    with session_scope(engine) as s:
        person = Person(team_id=FOREIGN, slack_user_id=REP2, manager_user_id=MANAGER)
        s.add(person)
        s.flush()
        pip = Pip(
            team_id=FOREIGN,
            person_id=present(person.id),
            manager_user_id=MANAGER,
            drafted_by=MANAGER,
            gap="closing",
            behavior="Foreign secret behavior",
            weekly_count=3,
            sessions_per_week=2,
            weeks=4,
            starts_on=PIP_DAY.date(),
            ends_on=PIP_DAY.date() + timedelta(days=28),
            submission_key="VFOREIGNPIP",
        )
        s.add(pip)
        s.flush()
        s.expunge(pip)
        return pip


# Privacy and roles -------------------------------------------------------------------------------------


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    ("caller", "rep", "gap"),
    [
        (OTHER_MANAGER, REP2, "closing"),  # another manager
        (REP2, REP2, "closing"),  # the rep themself
        (STRANGER, REP2, "closing"),
        (MANAGER, REP3, "closing"),  # metadata pointing at another manager's (ready) rep
        (MANAGER, REP2, "discovery"),  # a gap that never stalled
        (MANAGER, REP2, "juggling"),  # no such gap
        (MANAGER, REP, "closing"),  # MANAGER's rep, but not ready (seat question)
        (ADMIN, "UFOREIGN", "closing"),  # not on this workspace's roster
        (MANAGER, "", "closing"),
        (MANAGER, REP2, ""),
    ],
)
def test_a_forged_pip_form_stores_nothing_and_tells_the_rep_nothing(p, engine, caller, rep, gap):
    p.submit(caller, _pip_view(rep, gap), _pip_values(), view_id="VFORGED")
    assert _rows(engine, Pip) == []
    for user in (REP, REP2, REP3, "UFOREIGN"):
        assert _pip_dms(p.fake, user) == []


@pytest.mark.sqlite_only
@pytest.mark.parametrize("metadata", [None, "not json", "[]", json.dumps({"rep": ["x"], "gap": {"a": 1}})])
def test_a_pip_form_without_usable_metadata_is_a_field_error(p, engine, errors, metadata):
    view = {"type": "modal", "callback_id": "pip_plan"}
    if metadata is not None:
        view["private_metadata"] = metadata
    r = p.submit(MANAGER, view, _pip_values(), view_id="VNOMETA")
    assert _rows(engine, Pip) == [] and errors() == []
    if metadata is None or "rep" not in metadata:
        assert "lost track of its rep" in json.loads(r.body)["errors"]["behavior"]


@pytest.mark.sqlite_only
def test_a_pip_form_from_a_user_of_another_org_stores_nothing(p, engine):
    body = p.submit_body(MANAGER, _pip_view(), _pip_values(), view_id="VCONNECT")
    p.post(_with_payload(body, user={"id": MANAGER, "team_id": FOREIGN}), FORM)
    p.fake.users[MANAGER]["team_id"] = FOREIGN
    p.submit(MANAGER, _pip_view(), _pip_values(), view_id="VMOVED")
    assert _rows(engine, Pip) == [] and _pip_dms(p.fake, REP2) == []


@pytest.mark.sqlite_only
def test_a_pip_form_sent_from_the_other_workspace_stores_nothing(p, engine):
    p.submit("UFOREIGN", _pip_view(), _pip_values(), view_id="VOTHERWS", team_id=FOREIGN)
    p.submit(MANAGER, _pip_view(), _pip_values(), view_id="VOTHERWS2", team_id=FOREIGN)
    assert _rows(engine, Pip) == [] and _pip_dms(p.fake, REP2) == []


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    ("caller", "value"),
    [
        (MANAGER, f"{REP3}|closing"),  # another manager's ready rep
        (MANAGER, f"{REP2}|discovery"),
        (MANAGER, f"{REP2}|closing|extra"),
        (MANAGER, "|closing"),
        (MANAGER, f"{REP2}|"),
        (MANAGER, "garbage"),
        (MANAGER, "UFOREIGN|closing"),
        (OTHER_MANAGER, f"{REP2}|closing"),
        (REP2, f"{REP2}|closing"),
    ],
)
def test_a_forged_draft_button_opens_no_form(p, engine, errors, caller, value):
    p.action(caller, "pip_draft", value)
    assert p.fake.calls_to("views.open") == []
    assert "Evidence pack" not in _everything_shown(p.fake)
    assert errors() == []


@pytest.mark.sqlite_only
def test_a_draft_click_from_the_other_workspace_opens_no_form(p, engine):
    p.action(MANAGER, "pip_draft", f"{REP2}|closing", team_id=FOREIGN)
    body = p.action_body(MANAGER, "pip_draft", f"{REP2}|closing")
    p.post(_with_payload(body, user={"id": MANAGER, "team_id": FOREIGN}), FORM)
    assert p.fake.calls_to("views.open") == []


@pytest.mark.sqlite_only
@pytest.mark.parametrize("caller", [OTHER_MANAGER, REP2, STRANGER, "UFOREIGN"])
def test_the_readiness_check_shows_nothing_to_others(p, caller):
    p.command(caller, f"pip <@{REP2}>")
    shown = _everything_shown(p.fake)
    assert "PIP readiness:" not in shown and "closed cycles" not in shown and "pip_draft" not in shown


@pytest.mark.sqlite_only
@pytest.mark.parametrize("caller", [OTHER_MANAGER, REP2, STRANGER, "UFOREIGN"])
def test_only_the_manager_or_an_admin_closes_and_the_rep_hears_nothing_otherwise(p, engine, caller):
    _start_pip(p)
    p.command(caller, f"pip close <@{REP2}> separated Forged note")
    assert [x.status for x in _rows(engine, Pip)] == ["active"]
    assert _dms_to(p.fake, REP2) == []


@pytest.mark.sqlite_only
def test_a_close_from_a_manager_slack_moved_to_another_org_changes_nothing(p, engine):
    _start_pip(p)
    p.fake.users[MANAGER]["team_id"] = FOREIGN
    p.command(MANAGER, f"pip close <@{REP2}> closed")
    assert [x.status for x in _rows(engine, Pip)] == ["active"] and _dms_to(p.fake, REP2) == []


@pytest.mark.sqlite_only
def test_closing_never_touches_another_workspaces_pip(p, engine):
    foreign = _foreign_pip(engine)
    p.command(MANAGER, f"pip close <@{REP2}> separated")  # REP2 has no PIP running here
    assert "has no PIP running" in _replies(p.fake)
    with Session(engine) as s:
        assert present(s.get(Pip, foreign.id)).status == "active"
    assert "Foreign secret behavior" not in _everything_shown(p.fake)


@pytest.mark.sqlite_only
def test_a_running_pip_in_another_workspace_does_not_block_or_leak_here(p, engine):
    _foreign_pip(engine)
    p.command(MANAGER, f"pip <@{REP2}>")
    shown = _everything_shown(p.fake)
    assert "PIP readiness: ready" in shown and "already running" not in shown
    assert "Foreign secret behavior" not in shown
    p.submit(MANAGER, _pip_view(), _pip_values(), view_id="VHERE")
    assert len([x for x in _rows(engine, Pip) if x.team_id == "T0TEAM"]) == 1


@pytest.mark.sqlite_only
@pytest.mark.parametrize("change", ["deleted", "team_id"])
def test_a_pip_form_for_a_rep_slack_no_longer_lets_us_coach_starts_no_pip(p, engine, change):
    """`/coach pip @rep` refuses a deactivated rep or one of another org; the draft form must too."""
    p.fake.users[REP2][change] = True if change == "deleted" else FOREIGN
    p.command(MANAGER, f"pip <@{REP2}>")
    assert "PIP readiness" not in _replies(p.fake)
    p.submit(MANAGER, _pip_view(), _pip_values(), view_id="VGONE")
    assert _rows(engine, Pip) == []
    assert _history_to(p.fake, REP2) == []


@pytest.mark.sqlite_only
def test_the_pip_of_a_rep_who_left_and_was_deactivated_can_be_closed_as_separated(p, engine):
    """`separated` means "left the team"; leaving deactivates the Slack account. The manager must
    still be able to record how the plan ended (the export and the record depend on it)."""
    _start_pip(p)
    p.fake.users[REP2]["deleted"] = True
    p.command(MANAGER, f"pip close <@{REP2}> separated Left on 30 Sep")
    (pip,) = _rows(engine, Pip)
    assert (pip.status, pip.close_note) == ("separated", "Left on 30 Sep"), _replies(p.fake)


# Bad input and escaping ---------------------------------------------------------------------------------


@pytest.mark.sqlite_only
def test_mrkdwn_in_the_behavior_is_inert_in_the_dm_home_and_summary(p, engine):
    behavior = f"Ask for a dated next step {INJECTION}"
    p.submit(MANAGER, _pip_view(), _pip_values(behavior=behavior), view_id="VMRK")
    (pip,) = _rows(engine, Pip)
    assert pip.behavior == behavior
    p.event({"type": "app_home_opened", "user": REP2, "tab": "home"}, event_id="EvPipHome")
    p.event({"type": "app_home_opened", "user": MANAGER, "tab": "home"}, event_id="EvPipHomeM")
    p.command(MANAGER, "summary")
    shown = _everything_shown(p.fake)
    for raw in ("<!channel>", "<@UADMIN>", "<https://evil.example"):
        assert raw not in shown, f"{raw} reached Slack unescaped"
    (dm,) = _pip_dms(p.fake, REP2)
    assert "&lt;!channel&gt;" in dm.text_dump()


@pytest.mark.sqlite_only
def test_the_longest_behavior_and_note_fit_slack_once_escaped(p, engine):
    behavior = "Ask " + "&" * 296  # 300 characters, each escaped to five
    p.submit(MANAGER, _pip_view(), _pip_values(behavior=behavior), view_id="VLONG")
    assert len(_pip_dms(p.fake, REP2)) == 1, "the PIP DM was refused by Slack's limits"
    p.event({"type": "app_home_opened", "user": REP2, "tab": "home"}, event_id="EvLong")
    assert p.fake.calls_to("views.publish"), "the rep's Home tab with the PIP was refused"
    p.fake.reset_calls()
    p.command(MANAGER, f"pip close <@{REP2}> closed " + "<" * 500)
    (pip,) = _rows(engine, Pip)
    assert pip.status == "closed" and pip.close_note == "<" * 500
    (told,) = _dms_to(p.fake, REP2)
    assert "has ended" in told.text_dump() and "<<" not in told.text_dump()


@pytest.mark.sqlite_only
def test_a_note_one_character_too_long_is_refused_and_nothing_closes(p, engine):
    _start_pip(p)
    p.command(MANAGER, f"pip close <@{REP2}> closed " + "n" * 501)
    assert "Keep the note to 500 characters" in _replies(p.fake)
    assert [x.status for x in _rows(engine, Pip)] == ["active"] and _dms_to(p.fake, REP2) == []


@pytest.mark.sqlite_only
def test_mrkdwn_in_the_close_note_is_inert_and_kept_as_typed(p, engine):
    _start_pip(p)
    note = "Moved on <@UADMIN> <https://evil.example|see> <!here> *done*"
    p.command(MANAGER, f"pip close <@{REP2}> reseated {note}")
    (pip,) = _rows(engine, Pip)
    assert (pip.status, pip.close_note) == ("reseated", note)
    shown = _everything_shown(p.fake)
    for raw in ("<@UADMIN>", "<https://evil.example", "<!here>"):
        assert raw not in shown, f"{raw} reached Slack unescaped"


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    "values",
    [
        {"sessions": num("²")},
        {"sessions": num("--1")},
        {"target": num("³")},
        {"weeks": sel("--4", kind="radio_buttons")},
    ],
    ids=["sessions-superscript", "sessions-double-minus", "target-superscript", "weeks-double-minus"],
)
def test_odd_numbers_in_the_pip_form_are_field_errors_not_crashes(p, engine, errors, values):
    r = p.submit(MANAGER, _pip_view(), {**_pip_values(), **values}, view_id="VODD")
    assert _rows(engine, Pip) == []
    assert errors() == [], "the PIP form's validation raised"
    assert json.loads(r.body or "{}").get("response_action") == "errors"


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    "values",
    [
        {"sessions": num("0")},
        {"sessions": num("6")},
        {"sessions": num("1.5")},
        {"target": num("51")},
        {"target": num("")},
        {"weeks": sel("5", kind="radio_buttons")},
        {"weeks": sel(None, kind="radio_buttons")},
        {"behavior": txt("work harder on every single call")},
        {"behavior": txt("x" * 301)},
    ],
)
def test_out_of_range_terms_are_field_errors(p, engine, errors, values):
    r = p.submit(MANAGER, _pip_view(), {**_pip_values(), **values}, view_id="VRANGE")
    assert json.loads(r.body)["response_action"] == "errors"
    assert _rows(engine, Pip) == [] and _pip_dms(p.fake, REP2) == [] and errors() == []


@pytest.mark.parametrize("control", ["\x00", "\x1b[31m"])
def test_control_characters_in_the_behavior_get_a_field_error_or_are_dropped(p, engine, errors, control):
    r = p.submit(MANAGER, _pip_view(), _pip_values(behavior=f"Ask for a{control} dated next step"), view_id="VCTL")
    answer = json.loads(r.body) if r.body else {}
    if answer.get("response_action") == "errors":
        assert "behavior" in answer["errors"] and _rows(engine, Pip) == []
        return
    behaviors = [x.behavior for x in _rows(engine, Pip)]
    assert behaviors, "the form closed, nothing was stored, and the manager was told nothing"
    assert all(ch.isprintable() for b in behaviors for ch in b), behaviors
    assert errors() == []


# Idempotency -------------------------------------------------------------------------------------------


def test_the_same_pip_form_delivered_concurrently_starts_one_pip_and_one_dm(p, engine):
    body = p.submit_body(MANAGER, _pip_view(), _pip_values(), view_id="VCONC")
    _concurrently(*[lambda: p.post(body, FORM) for _ in range(3)])
    p.executor.drain()
    assert len(_rows(engine, Pip)) == 1
    assert len(_history_to(p.fake, REP2)) == 1
    assert len([c for c in _dms_to(p.fake, MANAGER) if "Started" in c.text_dump()]) == 1


def test_two_different_pip_forms_racing_start_one_pip_and_one_dm(p, engine):
    first = p.submit_body(MANAGER, _pip_view(), _pip_values(weeks="4"), view_id="VRACE1")
    second = p.submit_body(ADMIN, _pip_view(), _pip_values(weeks="8"), view_id="VRACE2")
    _concurrently(lambda: p.post(first, FORM), lambda: p.post(second, FORM))
    p.executor.drain()
    (pip,) = _rows(engine, Pip)
    assert (pip.submission_key, pip.weeks) in (("VRACE1", 4), ("VRACE2", 8))
    assert len(_history_to(p.fake, REP2)) == 1
    loser = ADMIN if pip.submission_key == "VRACE1" else MANAGER
    assert any("already has a PIP running" in c.text_dump() for c in _dms_to(p.fake, loser))


def test_closing_twice_at_once_closes_once_and_tells_the_rep_once(p, engine):
    _start_pip(p)
    _concurrently(
        lambda: p.command(MANAGER, f"pip close <@{REP2}> closed First note"),
        lambda: p.command(ADMIN, f"pip close <@{REP2}> separated Second note"),
    )
    p.executor.drain()
    (pip,) = _rows(engine, Pip)
    assert (pip.status, pip.close_note) in (("closed", "First note"), ("separated", "Second note"))
    assert len(_landed(p.fake, REP2, "has ended")) == 1
    assert _answers_saying(p.fake, "Recorded:") == 1
    said = _replies(p.fake)
    assert "already closed" in said or "has no PIP running" in said


def test_pip_close_sent_twice_in_a_row_closes_once(p, engine):
    _start_pip(p)
    p.command(MANAGER, f"pip close <@{REP2}> closed Done")
    p.command(MANAGER, f"pip close <@{REP2}> separated Changed my mind")
    (pip,) = _rows(engine, Pip)
    assert (pip.status, pip.close_note) == ("closed", "Done")
    assert len(_landed(p.fake, REP2, "has ended")) == 1


def test_a_replayed_close_command_is_handled_once(p, engine):
    _start_pip(p)
    body = p.command_body(MANAGER, f"pip close <@{REP2}> closed Done")
    p.post(body, FORM)
    p.post(body, FORM, headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    assert [x.status for x in _rows(engine, Pip)] == ["closed"]
    assert len(_landed(p.fake, REP2, "has ended")) == 1
    assert _answers_saying(p.fake, "Recorded:") == 1


def test_a_replayed_readiness_command_and_draft_click_answer_once(p, engine):
    body = p.command_body(MANAGER, f"pip <@{REP2}>")
    p.post(body, FORM)
    p.post(body, FORM)
    assert _answers_saying(p.fake, "PIP readiness: ready") == 1
    click = p.action_body(MANAGER, "pip_draft", f"{REP2}|closing")
    p.post(click, FORM)
    p.post(click, FORM)
    assert len(p.fake.calls_to("views.open")) == 1


def test_a_new_pip_after_closing_is_allowed_and_its_dm_is_not_mistaken_for_the_old(p, engine):
    """The DM keys are per PIP id: the second plan's DM is not taken for a repeat of the first."""
    _start_pip(p, view_id="VFIRST")
    p.command(MANAGER, f"pip close <@{REP2}> closed")
    p.fake.reset_calls()
    p.submit(MANAGER, _pip_view(), _pip_values(weeks="6"), view_id="VSECOND")
    assert sorted(x.status for x in _rows(engine, Pip)) == ["active", "closed"]
    assert len(_pip_dms(p.fake, REP2)) == 1


# Faults while the PIP is sent or closed -----------------------------------------------------------------


@pytest.mark.postgres_once(fault="post-reset-history-down")
@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_pip_whose_dm_fails_is_stored_once_and_never_sent_twice(p, engine, fault):
    body = p.submit_body(MANAGER, _pip_view(), _pip_values(), view_id="VFAULT")
    FAULTS[fault](p.fake)
    p.post(body, FORM)
    p.post(body, FORM)  # the same form again
    p.submit(MANAGER, _pip_view(), _pip_values(), view_id="VFAULT2")  # and a second form
    assert len(_rows(engine, Pip)) == 1
    landed = _history_to(p.fake, REP2)
    assert len(landed) <= 1, f"the PIP reached the rep {len(landed)} times"
    started = [c.text_dump() for c in _dms_to(p.fake, MANAGER) if "Started" in c.text_dump()]
    assert len(started) == 1, "the manager was not told exactly once"
    if not landed:
        assert "couldn't confirm the DM" in started[0]


@pytest.mark.postgres_once(fault="post-reset-history-down")
@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_close_whose_dm_fails_is_recorded_once_and_never_sent_twice(p, engine, fault):
    _start_pip(p)
    body = p.command_body(MANAGER, f"pip close <@{REP2}> closed Done")
    FAULTS[fault](p.fake)
    p.post(body, FORM)
    p.post(body, FORM, headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    p.command(MANAGER, f"pip close <@{REP2}> closed Done")  # the manager, unsure, types it again
    (pip,) = _rows(engine, Pip)
    assert (pip.status, pip.close_note) == ("closed", "Done")
    assert len(_landed(p.fake, REP2, "has ended")) <= 1
    assert _answers_saying(p.fake, "Recorded:") == 1


# Export --------------------------------------------------------------------------------------------------


def test_export_never_writes_another_workspaces_pip(p, engine, cli, tmp_path):
    own = _start_pip(p)
    foreign = _foreign_pip(engine)
    for args in (
        ("--pip", str(foreign.id)),  # the bot token's workspace is T0TEAM
        ("--team", "T0TEAM", "--pip", str(foreign.id)),
        ("--team", FOREIGN, "--pip", str(own.id)),
    ):
        path = tmp_path / "out.md"
        code, out, err = cli("export", *args, str(path))
        assert code == 1 and "no PIP" in err, (args, out, err)
        assert not path.exists()
    code, _, err = cli("export", "--pip", str(own.id), str(tmp_path / "own.md"))
    assert code == 0, err
    assert "Foreign secret behavior" not in (tmp_path / "own.md").read_text()


def test_export_refuses_a_pip_whose_rep_row_is_another_workspaces(p, engine, cli, tmp_path):
    """A PIP row of this team pointing at another team's person (a bad join) is not exported."""
    with session_scope(engine) as s:
        person = Person(team_id=FOREIGN, slack_user_id="UFOREIGN", manager_user_id=MANAGER)
        s.add(person)
        s.flush()
        pip = Pip(
            team_id="T0TEAM",
            person_id=present(person.id),
            manager_user_id=MANAGER,
            drafted_by=MANAGER,
            gap="closing",
            behavior="Cross-team row",
            weekly_count=3,
            sessions_per_week=2,
            weeks=4,
            starts_on=PIP_DAY.date(),
            ends_on=PIP_DAY.date() + timedelta(days=28),
            submission_key="VCROSS",
        )
        s.add(pip)
        s.flush()
        pip_id = present(pip.id)
    code, _, err = cli("export", "--team", "T0TEAM", "--pip", str(pip_id), str(tmp_path / "x.md"))
    assert code == 1 and "no PIP" in err and not (tmp_path / "x.md").exists()


@pytest.mark.parametrize("pip_id", ["0", "-1", "2147483647"])
def test_export_of_a_pip_that_does_not_exist_says_so(p, cli, tmp_path, pip_id):
    code, _, err = cli("export", "--team", "T0TEAM", "--pip", pip_id, str(tmp_path / "x.md"))
    assert code == 1 and "no PIP" in err and not (tmp_path / "x.md").exists()


def test_export_escapes_markdown_in_the_behavior_and_the_note(p, engine, cli, tmp_path):
    behavior = "Ask for a [dated](https://evil.example) next step <b>now</b> | `x` *y* _z_ ~w~"
    p.submit(MANAGER, _pip_view(), _pip_values(behavior=behavior), view_id="VMD")
    p.command(MANAGER, f"pip close <@{REP2}> closed <script>alert(1)</script> [a](b) # heading")
    (pip,) = _rows(engine, Pip)
    assert pip.status == "closed"
    path = tmp_path / "pip.md"
    code, _, err = cli("export", "--pip", str(pip.id), str(path))
    assert code == 0, err
    doc = path.read_text()
    assert "<b>" not in doc and "<script>" not in doc and "[dated](" not in doc and "[a](b)" not in doc
    assert "\\[dated\\]" in doc and "\\|" in doc and "\\*y\\*" in doc
    assert "\n# heading" not in doc and "\n## " in doc


# Forms that carry no id of their own ----------------------------------------------------------------------


def _without_ids(body: bytes) -> bytes:
    """The same form with neither a view id nor a trigger id (nothing for Coachbot to key it on)."""
    payload = json.loads(dict(parse_qsl(body.decode()))["payload"])
    payload.pop("trigger_id", None)
    payload["view"].pop("id", None)
    return urlencode({"payload": json.dumps(payload)}).encode()


@pytest.mark.sqlite_only
def test_forms_without_a_view_id_are_refused_before_any_listener(p, engine, errors):
    """Both use cases key the stored row on the view id (`str(view.get("id") or trigger_id)`: "None"
    with neither); the request guard must keep such a form away from them."""
    r1 = p.post(_without_ids(p.submit_body(MANAGER, _plan_view(REP), SIMPLE)), FORM)
    r2 = p.post(_without_ids(p.submit_body(MANAGER, _pip_view(REP2), _pip_values())), FORM)
    assert (r1.status, r2.status) == (400, 400)
    assert _rows(engine, OnboardingPlan) == [] and _rows(engine, Pip) == [] and errors() == []


def _export_out_of_range(cli: Any, tmp_path: Any, pip_id: str) -> None:
    try:
        code, _, err = cli("export", "--team", "T0TEAM", "--pip", pip_id, str(tmp_path / "x.md"))
    except Exception as exc:  # the entry point let a database error escape as a traceback
        pytest.fail(f"coachbot export --pip {pip_id} raised {type(exc).__name__}")
    assert code == 1 and "no PIP" in err, err
    assert not (tmp_path / "x.md").exists()


def test_export_of_an_id_past_64_bits_says_no_pip(p, cli, tmp_path):
    _export_out_of_range(cli, tmp_path, "99999999999999999999")


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_export_of_an_id_past_32_bits_says_no_pip_on_postgres(p, cli, tmp_path):
    _export_out_of_range(cli, tmp_path, "2147483648")


@pytest.mark.sqlite_only
def test_a_replayed_plan_command_opens_one_form(h, engine):
    body = h.command_body(MANAGER, f"plan <@{REP}>")
    h.post(body, FORM)
    h.post(body, FORM, headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    assert len(h.fake.calls_to("views.open")) == 1


@pytest.mark.sqlite_only
def test_a_draft_click_while_a_pip_runs_opens_no_second_form(p, engine):
    _start_pip(p)
    p.action(MANAGER, "pip_draft", f"{REP2}|closing")
    assert p.fake.calls_to("views.open") == [] and "already has a PIP running" in _replies(p.fake)
    p.submit(ADMIN, _pip_view(), _pip_values(weeks="8"), view_id="VSECONDPIP")
    assert len(_rows(engine, Pip)) == 1 and _pip_dms(p.fake, REP2) == []


@pytest.mark.sqlite_only
def test_a_summary_in_a_channel_never_names_a_rep_as_ready_for_a_pip(p, engine, slack):
    """README: everything about a PIP, the check included, is visible only to the rep, their manager
    and admins; a summary that goes to a channel names no one."""
    slack.fake.add_channel("GCOACH01", "coaching-morgan")
    with session_scope(engine) as s:
        team_service.set_summary_channel(s, "T0TEAM", MANAGER, "GCOACH01")
    p.command(MANAGER, "summary")
    posted = [c.text_dump() for c in p.fake.calls_to("chat.postMessage") if c.args.get("channel") == "GCOACH01"]
    assert posted, "the summary did not reach the channel"
    channel = "\n".join(posted)
    assert "PIP readiness" not in channel, "a channel summary named a rep as ready for a PIP"


@pytest.mark.sqlite_only
def test_another_managers_plan_shows_in_no_one_elses_home_or_summary(h, engine):
    view = _plan_view(REP3)
    h.submit(OTHER_MANAGER, view, _steps("Secret step alpha", "Secret step beta", "Secret step gamma"), view_id="V3")
    h.fake.reset_calls()
    for n, user in enumerate((MANAGER, REP, REP2, STRANGER)):
        h.event({"type": "app_home_opened", "user": user, "tab": "home"}, event_id=f"EvSecret{n}")
    h.command(MANAGER, "summary")
    shown = _everything_shown(h.fake)
    assert "Secret step" not in shown and f"<@{REP3}>" not in shown
    h.event({"type": "app_home_opened", "user": REP3, "tab": "home"}, event_id="EvSecretOwn")
    assert "Secret step alpha" in _everything_shown(h.fake)
