"""Coaching debt on the manager's Home and in the weekly summary, and the mid-window slip warning
through `coachbot dispatch --now`, end to end on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.coaching import service as svc
from storage import queries
from storage.db import session_scope
from storage.models import Commitment, Person, ScheduledMessage
from tests import seed
from tests.conftest import MANAGER, REP, REP2, STANDARD_ROWS
from tests.rows import present
from tests.slack_fake import sent_keys

# REP2 lives in New York (UTC-5). CURRENT is a Friday: the window runs to Thu 19, its middle is Mon 16 12:00
# local, and the first nudge time after it is Tue 17 09:00 local.
CURRENT = date(2026, 11, 13)
FIRST_CHECK = datetime(2026, 11, 17, 14, 0, tzinfo=UTC)
MONDAY_NUDGE = datetime(2026, 11, 16, 14, 0, tzinfo=UTC)  # the weekly nudge and the mid-window reminder
FRIDAY = datetime(2026, 11, 13, 16, 0, tzinfo=UTC)  # the manager's summary time (London)


@pytest.fixture
def roster(import_csv):
    import_csv(*STANDARD_ROWS)


def dispatch(cli, moment: datetime) -> str:
    code, out, err = cli("dispatch", "--now", moment.isoformat())
    assert code == 0, err
    return out


def check_in(engine, cid: int, user: str, count: int, when: datetime) -> None:
    with session_scope(engine) as s:
        assert svc.log_check_in(s, "T0TEAM", cid, user, count, "", "button", when, "UTC").ok


def close(engine, cid: int, status: str, cycle: int) -> None:
    """As the closeout would: the window is over and counted."""
    with session_scope(engine) as s:
        c = present(s.get(Commitment, cid))
        c.status, c.cycle_number = status, cycle
        c.closed_at = datetime.combine(c.ends_on + timedelta(days=1), time(9), tzinfo=UTC)
        s.add(c)


def history(engine, playbook, windows: int = 3, logged_now: int = 0) -> int:
    """REP2 met `windows` past weekly windows, each logged in full on its first day; then the current
    window (from CURRENT, target 3) with `logged_now` logged on its first day. Returns its id."""
    rep = seed.slack_user(REP2, tz="America/New_York")
    for k in range(windows):
        start = CURRENT - timedelta(days=7 * (windows - k))
        cid = seed.commitment(engine, playbook, rep, MANAGER, start, gap="closing", key=f"past{k}")
        check_in(engine, cid, REP2, 3, datetime.combine(start, time(15), tzinfo=UTC))
        close(engine, cid, "met", k + 1)
    cid = seed.commitment(engine, playbook, rep, MANAGER, CURRENT, gap="closing", key="now")
    if logged_now:
        check_in(engine, cid, REP2, logged_now, datetime.combine(CURRENT, time(15), tzinfo=UTC))
    return cid


def slips(engine) -> list[ScheduledMessage]:
    with Session(engine) as s:
        return list(s.exec(select(ScheduledMessage).where(ScheduledMessage.kind == "slip")))


def slip_keys(fake) -> list[str]:
    return [k for k in sent_keys(fake) if ":slip:" in k]


# --- the slip warning ---------------------------------------------------------------------------


def test_slip_warning_goes_to_the_manager_once_per_window(cli, slack, engine, playbook, roster):
    cid = history(engine, playbook)
    dispatch(cli, MONDAY_NUDGE)
    assert "sent 0" in dispatch(cli, FIRST_CHECK - timedelta(minutes=1))  # half gone, but not yet the check
    assert slips(engine) == []
    slack.fake.reset_calls()
    assert "sent 1" in dispatch(cli, FIRST_CHECK)
    (post,) = slack.fake.calls_to("chat.postMessage")
    assert post.args["channel"] == f"D{MANAGER}"  # to the manager, about the rep
    text = post.text_dump()
    assert f"Heads-up on <@{REP2}>" in text and "0 of 3" in text and "last 3 windows" in text
    assert "100% of the target" in text  # their own usual by this point
    # once: later passes in the same window send nothing more
    for moment in (FIRST_CHECK + timedelta(minutes=5), FIRST_CHECK + timedelta(days=1)):
        assert "sent 0" in dispatch(cli, moment)
    assert slip_keys(slack.fake) == [f"T0TEAM:{REP2}:slip:{cid}"]
    (row,) = slips(engine)
    assert (row.rep_user_id, row.period, row.status, row.slack_channel) == (REP2, str(cid), "sent", f"D{MANAGER}")


def _pause(engine):
    with session_scope(engine) as s:
        assert svc.pause_nudges(s, "T0TEAM", REP2, date(2026, 11, 24), date(2026, 11, 14))


def _quiet(engine):
    with session_scope(engine) as s:
        ws = present(queries.get_workspace(s, "T0TEAM"))
        ws.reminders_enabled = False
        s.add(ws)


def _manager_unreachable(engine):
    with session_scope(engine) as s:
        assert present(queries.get_person(s, "T0TEAM", MANAGER)).id is not None
        s.exec(
            update(Person)
            .where(col(Person.team_id) == "T0TEAM", col(Person.slack_user_id) == MANAGER)
            .values(unreachable_reason="account_inactive")
        )


@pytest.mark.parametrize(
    ("case", "windows", "logged_now", "setup", "first_pass"),
    [
        ("paused", 3, 0, _pause, FIRST_CHECK),
        ("reminders off", 3, 0, _quiet, FIRST_CHECK),
        ("window over", 3, 0, None, datetime(2026, 11, 20, 6, 0, tzinfo=UTC)),  # after local midnight, before closeout
        ("not behind", 3, 2, None, FIRST_CHECK),
        ("two past windows", 2, 0, None, FIRST_CHECK),
        ("manager unreachable", 3, 0, _manager_unreachable, FIRST_CHECK),
    ],
)
def test_no_slip_warning(cli, slack, engine, playbook, roster, case, windows, logged_now, setup, first_pass):
    history(engine, playbook, windows=windows, logged_now=logged_now)
    if setup:
        setup(engine)
    dispatch(cli, first_pass)
    dispatch(cli, first_pass + timedelta(hours=2))
    assert slip_keys(slack.fake) == [], case
    assert all(c.args["channel"] != f"D{MANAGER}" for c in slack.fake.calls_to("chat.postMessage")), case
    rows = slips(engine)
    if case == "manager unreachable":  # planned, then recorded as undeliverable, never posted
        assert [(r.status, r.last_error) for r in rows] == [("unreachable", "manager: account_inactive")]
    else:
        assert rows == [], case


def test_a_lost_answer_is_resolved_from_the_managers_dm_not_sent_again(cli, slack, engine, playbook, roster):
    """Slack posted the heads-up but the answer was lost: crash recovery finds it in the manager's DM
    (where the row says it went) and records it as sent; a replayed pass sends nothing."""
    history(engine, playbook)
    dispatch(cli, MONDAY_NUDGE)
    slack.fake.lose_answer("chat.postMessage", status=500)
    assert "unconfirmed 1" in dispatch(cli, FIRST_CHECK)
    (row,) = slips(engine)
    assert (row.status, row.slack_channel) == ("sending", f"D{MANAGER}")
    seed.age_claims(engine, 3)
    assert "resolved after a crash 1" in dispatch(cli, FIRST_CHECK + timedelta(minutes=3))
    assert "sent 0" in dispatch(cli, FIRST_CHECK + timedelta(minutes=6))
    assert len(slip_keys(slack.fake)) == 1
    (row,) = slips(engine)
    assert row.status == "sent"


# --- coaching debt on the Home tab and in the summary -------------------------------------------


def _debt_team(harness, cli, engine, playbook) -> None:
    """REP2: two missed cycles on closing (a PIP question) and an open window; REP: a new hire with one
    30-minute 1:1 logged this week."""
    u = seed.slack_user
    for k, start in enumerate((date(2026, 10, 29), date(2026, 11, 5))):
        cid = seed.commitment(engine, playbook, u(REP2, "UTC"), MANAGER, start, gap="closing", key=f"m{k}")
        close(engine, cid, "missed", k + 1)
    seed.commitment(engine, playbook, u(REP2, "UTC"), MANAGER, date(2026, 11, 12), gap="closing", key="open")
    harness.ctx.clock = lambda: datetime(2026, 11, 13, 12, 0, tzinfo=UTC)
    harness.command(MANAGER, f"log 30 1:1 <@{REP}>")


def _section_text(blocks) -> str:
    return "\n".join(b.get("text", {}).get("text", "") for b in blocks if b["type"] == "section")


def test_debt_lines_on_home_and_in_the_summary(harness, cli, slack, engine, playbook, roster):
    _debt_team(harness, cli, engine, playbook)
    slack.fake.reset_calls()
    assert "sent 1" in dispatch(cli, FRIDAY)
    (post,) = [c for c in slack.fake.calls_to("chat.postMessage") if c.args["channel"] == f"D{MANAGER}"]
    body = _section_text(post.blocks)
    # REP2: 240 min owed; REP started Nov 1, so 13 days are owed (111 min), less the 30 logged
    assert "*Where your next hour goes* · owed over four weeks: 321 min across 2 of 2 reps" in body
    assert "your 1:1 share 100% (aim for about 70%)" in body
    first = next(line for line in body.split("\n") if line.startswith("1. "))
    assert first.startswith(f"1. <@{REP2}> → a 1:1: missed 2 cycles lately; PIP question on Asking for commitment")
    assert "2 closed cycles unmet on Asking for commitment" in first and first.endswith("owed 240 of 240 min")
    second = next(line for line in body.split("\n") if line.startswith("2. "))
    assert second == f"2. <@{REP}> → a 1:1: onboarding day 13/90, no plan yet · owed 81 of 111 min"
    assert "3. " not in body.split("*Where your next hour goes*")[1].split("*Reps*")[0]  # only two reps

    harness.event({"type": "app_home_opened", "user": MANAGER, "tab": "home"}, event_id="EvDebtHome")
    view = slack.fake.calls_to("views.publish")[-1].args["view"]
    home = _section_text((view if isinstance(view, dict) else json.loads(view))["blocks"])
    assert first in home and second in home  # the same lines, PIP question included: Home is the manager's alone


def test_a_summary_in_a_channel_keeps_pip_questions_out_of_the_debt_lines(
    harness, cli, slack, engine, playbook, roster
):
    """Minutes owed per rep are shown where the summary already shows each rep's minutes; whether a PIP
    is in question is not, as with the summary's own PIP lines in a channel."""
    _debt_team(harness, cli, engine, playbook)
    slack.fake.add_channel("GCOACH01", "coaching-morgan")
    harness.command(MANAGER, "settings channel <#GCOACH01|coaching-morgan>")
    slack.fake.reset_calls()
    dispatch(cli, FRIDAY)
    (post,) = [c for c in slack.fake.calls_to("chat.postMessage") if c.args["channel"] == "GCOACH01"]
    body = _section_text(post.blocks)
    first = next(line for line in body.split("\n") if line.startswith("1. "))
    assert first.startswith(f"1. <@{REP2}> → a 1:1: missed 2 cycles lately") and "owed 240 of 240 min" in first
    assert "PIP" not in body.split("*Where your next hour goes*")[1].split("*Reps*")[0]
