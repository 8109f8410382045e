"""Nudges, reminders and closeouts through `coachbot dispatch --now`: each message exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session, col, select

from bot.practice.schedule import latest_weekly, zone_for
from storage import queries
from storage.models import Commitment, Person, ScheduledMessage
from tests import seed
from tests.conftest import MANAGER, REP, REP2, STANDARD_ROWS
from tests.harness import BOT_TOKEN, opened_view
from tests.rows import present
from tests.slack_fake import sent_keys

THU = date(2026, 11, 12)  # commitments start here: window Thu 12 .. Wed 18; weekly nudge Monday 16


@pytest.fixture
def roster(import_csv):
    import_csv(*STANDARD_ROWS)


def dispatch(cli, iso: str) -> str:
    code, out, err = cli("dispatch", "--now", iso)
    assert code == 0, err
    return out


def _rows(engine):
    """The rep-facing outbox rows (managers' weekly summaries are tested in test_summary.py)."""
    with Session(engine) as s:
        return sorted(
            s.exec(select(ScheduledMessage).where(ScheduledMessage.kind != "summary")).all(), key=lambda r: r.id
        )


def _commitment(engine, cid: int) -> Commitment:
    with Session(engine) as s:
        return present(s.get(Commitment, cid))


def _log(engine, cid: int, count: int) -> None:
    from bot.coaching import service as svc
    from storage.db import session_scope

    with session_scope(engine) as s:
        result = svc.log_check_in(
            s, "T0TEAM", cid, REP, count, "", "button", datetime(2026, 11, 15, 20, 0, tzinfo=UTC), "UTC"
        )
        assert result.ok, result.message


def test_full_seven_day_cycle_each_message_once(cli, slack, engine, playbook, roster):
    cid = seed.commitment(engine, playbook, seed.slack_user(REP), MANAGER, THU)
    fake = slack.fake
    assert "sent 0" in dispatch(cli, "2026-11-13T12:00:00+00:00")
    # mid-window reminder: Sunday 15th 09:00 in Chicago (15:00 UTC), nothing logged yet
    assert "sent 0" in dispatch(cli, "2026-11-15T14:59:00+00:00")
    out = dispatch(cli, "2026-11-15T15:00:00+00:00")
    assert "sent 1" in out
    dispatch(cli, "2026-11-15T15:00:00+00:00")  # a second pass at the same moment sends nothing
    assert sent_keys(fake) == [f"T0TEAM:{REP}:reminder:{cid}"]
    assert "Halfway through" in fake.calls_to("chat.postMessage")[-1].text_dump()
    _log(engine, cid, 1)
    # weekly nudge: Monday 16th 09:00 Chicago, with progress and the drill for a Root rep
    assert "sent 0" in dispatch(cli, "2026-11-16T14:59:00+00:00")
    dispatch(cli, "2026-11-16T15:00:00+00:00")
    nudge = fake.calls_to("chat.postMessage")[-1]
    text = nudge.text_dump()
    assert nudge.args["channel"] == f"D{REP}"
    assert "1 of 3" in text and "3 days left" in text and "Drill for this week" in text
    assert {"checkin_log", "checkin_note_open", "blocked_open"} <= {
        e["action_id"] for b in nudge.blocks if b["type"] == "actions" for e in b["elements"]
    }
    _log(engine, cid, 2)
    # closeout: the morning after the window, met, cycle counted
    assert _commitment(engine, cid).status == "active"
    dispatch(cli, "2026-11-19T15:00:00+00:00")
    dispatch(cli, "2026-11-19T15:30:00+00:00")
    closed = _commitment(engine, cid)
    assert (closed.status, closed.cycle_number) == ("met", 1)
    assert "Met" in fake.calls_to("chat.postMessage")[-1].text_dump()
    assert sent_keys(fake) == [
        f"T0TEAM:{REP}:reminder:{cid}",
        f"T0TEAM:{REP}:nudge:2026-11-16",
        f"T0TEAM:{REP}:closeout:{cid}",
    ]
    assert [r.status for r in _rows(engine)] == ["sent", "sent", "sent"]
    # later passes send nothing more
    assert "sent 0" in dispatch(cli, "2026-11-23T15:00:00+00:00")
    assert len(sent_keys(fake)) == 3


def test_missed_commitment_counts_cycles(cli, slack, engine, playbook, roster):
    first = seed.commitment(engine, playbook, seed.slack_user(REP), MANAGER, THU, key="a")
    dispatch(cli, "2026-11-19T15:00:00+00:00")
    assert (_commitment(engine, first).status, _commitment(engine, first).cycle_number) == ("missed", 1)
    second = seed.commitment(engine, playbook, seed.slack_user(REP), MANAGER, date(2026, 11, 19), key="b")
    dispatch(cli, "2026-11-26T15:00:00+00:00")
    assert (_commitment(engine, second).status, _commitment(engine, second).cycle_number) == ("missed", 2)
    assert "Not met this time" in slack.fake.calls_to("chat.postMessage")[-1].text_dump()


def test_reminder_skipped_when_already_logged_and_when_disabled(cli, slack, engine, playbook, roster):
    cid = seed.commitment(engine, playbook, seed.slack_user(REP), MANAGER, THU)
    _log(engine, cid, 1)
    dispatch(cli, "2026-11-15T15:00:00+00:00")
    assert sent_keys(slack.fake) == []
    assert [(r.kind, r.status, r.last_error) for r in _rows(engine)] == [
        ("reminder", "skipped", "not needed: already logged")
    ]
    with Session(engine) as s:
        ws = present(queries.get_workspace(s, "T0TEAM"))
        ws.reminders_enabled = False
        s.add(ws)
        s.commit()
    seed.commitment(engine, playbook, seed.slack_user(REP2, tz="UTC"), MANAGER, THU)
    dispatch(cli, "2026-11-15T15:00:00+00:00")
    assert sent_keys(slack.fake) == []


def test_missed_while_down_is_sent_within_grace_and_skipped_after(cli, slack, engine, playbook, roster):
    seed.commitment(engine, playbook, seed.slack_user(REP), MANAGER, THU)
    seed.commitment(engine, playbook, seed.slack_user(REP2, tz="UTC"), MANAGER, THU)
    with Session(engine) as s:
        ws = present(queries.get_workspace(s, "T0TEAM"))
        ws.reminders_enabled = False
        s.add(ws)
        s.commit()
    # REP's nudge was due Monday 15:00 UTC, REP2's at 09:00 UTC; the bot comes back at 20:00 UTC (11 h late)
    dispatch(cli, "2026-11-16T20:00:00+00:00")
    assert sorted(sent_keys(slack.fake)) == [f"T0TEAM:{REP}:nudge:2026-11-16", f"T0TEAM:{REP2}:nudge:2026-11-16"]
    # a longer outage: a fresh commitment, and the bot comes back 13 hours after its nudge was due
    seed.commitment(engine, playbook, seed.slack_user(REP), MANAGER, date(2026, 11, 19), gap="closing", key="c")
    dispatch(cli, "2026-11-24T04:01:00+00:00")  # Monday 23rd 09:00 Chicago was 13h01 ago
    late = [r for r in _rows(engine) if r.period == "2026-11-23"]
    assert [(r.rep_user_id, r.status) for r in late] == [(REP, "skipped")]
    assert "past the grace window" in late[0].last_error
    assert f"T0TEAM:{REP}:nudge:2026-11-23" not in sent_keys(slack.fake)


def test_dst_week_lands_at_local_hour_once(cli, slack, engine, playbook, roster):
    ny = seed.slack_user(REP, tz="America/New_York")
    with Session(engine) as s:
        ws = present(queries.get_workspace(s, "T0TEAM"))
        ws.reminders_enabled = False
        s.add(ws)
        person = present(queries.get_person(s, "T0TEAM", REP))
        person.tz = "America/New_York"
        s.add(person)
        s.commit()
    seed.commitment(engine, playbook, ny, MANAGER, date(2026, 10, 29))  # Thu; DST ends Sun Nov 1
    # Monday Nov 2, 09:00 EST is 14:00 UTC (it was 13:00 UTC the Monday before, under EDT)
    assert "sent 0" in dispatch(cli, "2026-11-02T13:00:00+00:00")
    assert "sent 0" in dispatch(cli, "2026-11-02T13:59:00+00:00")
    assert "sent 1" in dispatch(cli, "2026-11-02T14:00:00+00:00")
    assert "sent 0" in dispatch(cli, "2026-11-02T15:00:00+00:00")
    assert sent_keys(slack.fake) == [f"T0TEAM:{REP}:nudge:2026-11-02"]


@pytest.mark.parametrize(
    "tz",
    [
        "Pacific/Honolulu",
        "America/Los_Angeles",
        "UTC",
        "Europe/Berlin",
        "Asia/Kolkata",
        "Australia/Sydney",
        "Pacific/Auckland",
        "Pacific/Kiritimati",
        "Pacific/Chatham",
    ],
)
def test_weekly_occurrence_is_the_local_hour_in_every_zone(tz):
    zone = zone_for(tz, "UTC")
    moment = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
    seen = set()
    for hours in range(0, 24 * 7 * 40, 5):  # forty weeks, across both DST changes wherever there are any
        now = moment + timedelta(hours=hours)
        day, due = latest_weekly(now, zone, 0, 9, 0)
        local = due.astimezone(zone)
        assert (local.weekday(), local.hour, local.minute) == (0, 9, 0) and local.date() == day
        assert due <= now < due + timedelta(days=7, hours=2)
        seen.add(day)
    assert len(seen) >= 39  # one occurrence per week, none skipped


def test_restart_mid_send_resolves_without_duplicates(cli, slack, engine, playbook, roster, database_url, tmp_path):
    """SIGKILL a dispatcher while Slack has accepted the message but before the bot records it."""
    seed.commitment(engine, playbook, seed.slack_user(REP), MANAGER, THU, key="a")
    seed.commitment(engine, playbook, seed.slack_user(REP2, tz="America/Chicago"), MANAGER, THU, key="b")
    with Session(engine) as s:
        ws = present(queries.get_workspace(s, "T0TEAM"))
        ws.reminders_enabled = False
        s.add(ws)
        s.commit()
    slack.fake.delays["chat.postMessage"] = 30
    env = {**os.environ, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_API_URL": slack.api_url, "DATABASE_URL": database_url}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "dispatch", "--now", "2026-11-16T15:00:00+00:00"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    slack.fake.wait_for("chat.postMessage", 1, timeout=20)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    slack.fake.delays.clear()
    assert len(sent_keys(slack.fake)) == 1  # Slack got the first message; the process died before recording it
    assert sorted(r.status for r in _rows(engine)) == ["sending", "sending"]
    out = dispatch(cli, "2026-11-16T15:05:00+00:00")
    assert "resolved after a crash 1" in out  # the one Slack had; the other was never sent, so it goes now
    keys = sent_keys(slack.fake)
    assert sorted(keys) == sorted([f"T0TEAM:{REP}:nudge:2026-11-16", f"T0TEAM:{REP2}:nudge:2026-11-16"])
    assert len(keys) == len(set(keys)) == 2
    assert [r.status for r in _rows(engine)] == ["sent", "sent"]


@pytest.mark.runs_long
def test_two_dispatchers_at_once_send_each_message_once(
    cli,
    slack,
    engine,
    playbook,
    roster,
    database_url,
    tmp_path,
):
    # One workspace is sent at most 4 posts a second (bot.slack.budget): 24 reps keep this short.
    reps = [f"UBULK{i:03d}" for i in range(24)]
    for rep in reps:
        slack.fake.add_user(rep, rep.title(), tz="UTC")
        seed.commitment(engine, playbook, seed.slack_user(rep, tz="UTC"), MANAGER, THU)
    # Most reps were messaged before (their DM channel is known); eight are new, so DMs are opened too,
    # within conversations.open's burst (Slack's Tier 3 pace is not this test's subject).
    with Session(engine) as s:
        for person in s.exec(select(Person).where(col(Person.slack_user_id).in_(reps[8:]))):
            person.dm_channel = "D" + person.slack_user_id
            s.add(person)
        s.commit()
    slack.fake.delays["chat.postMessage"] = 0.01
    env = {**os.environ, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_API_URL": slack.api_url, "DATABASE_URL": database_url}
    cmd = [sys.executable, "-m", "bot.cli", "dispatch", "--now", "2026-11-16T09:30:00+00:00"]
    procs = [
        subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    assert "database is locked" not in "".join(o[1] for o in outputs)
    keys = sent_keys(slack.fake)
    assert len(keys) == len(set(keys)), "a message was sent twice"
    assert set(keys) == {f"T0TEAM:{r}:nudge:2026-11-16" for r in reps}
    statuses = [(r.kind, r.status) for r in _rows(engine)]
    assert statuses.count(("nudge", "sent")) == len(reps)
    assert statuses.count(("reminder", "skipped")) == len(reps)  # due Sunday 09:00, more than 12 h before
    print(f"\n[two dispatchers] messages sent {len(keys)}, unique {len(set(keys))}, duplicates 0, lost 0")


def test_rate_limit_is_honoured_and_nothing_doubles(cli, slack, engine, playbook, roster):
    seed.commitment(engine, playbook, seed.slack_user(REP), MANAGER, THU)
    slack.fake.fail_next("chat.postMessage", status=429, retry_after=1)
    started = time.monotonic()
    dispatch(cli, "2026-11-15T15:00:00+00:00")
    assert time.monotonic() - started >= 1.0
    statuses = [c.status for c in slack.fake.calls if c.method == "chat.postMessage"]
    assert statuses == [429, 200]
    assert len(sent_keys(slack.fake)) == 1


def test_unreachable_rep_is_marked_and_not_retried(cli, slack, engine, playbook, roster):
    cid = seed.commitment(engine, playbook, seed.slack_user(REP), MANAGER, THU)
    seed.commitment(engine, playbook, seed.slack_user(REP2, tz="America/Chicago"), MANAGER, THU)
    slack.fake.fail_next("chat.postMessage", error="account_inactive")
    out = dispatch(cli, "2026-11-15T15:00:00+00:00")
    assert "unreachable 1" in out and "sent 1" in out  # the other rep still got theirs
    with Session(engine) as s:
        reasons = {p.slack_user_id: p.unreachable_reason for p in s.exec(select(Person))}
    unreachable = [u for u, r in reasons.items() if r == "account_inactive"]
    assert len(unreachable) == 1
    posts_before = len(slack.fake.calls_to("chat.postMessage"))
    dispatch(cli, "2026-11-16T15:00:00+00:00")
    dispatch(cli, "2026-11-19T15:00:00+00:00")
    rows = _rows(engine)
    assert all(r.status == "unreachable" for r in rows if r.rep_user_id == unreachable[0])
    # the unreachable rep gets no further attempts; the other rep gets nudge + closeout
    assert len(slack.fake.calls_to("chat.postMessage")) == posts_before + 2
    assert _commitment(engine, cid).status in ("missed", "met")  # closed all the same


def test_transient_errors_retry_with_backoff_then_send(cli, slack, engine, playbook, roster):
    seed.commitment(engine, playbook, seed.slack_user(REP), MANAGER, THU)
    slack.fake.fail_next("chat.postMessage", error="internal_error")
    out = dispatch(cli, "2026-11-15T15:00:00+00:00")
    assert "retrying 1" in out
    (row,) = _rows(engine)
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "internal_error")
    assert "sent 0" in dispatch(cli, "2026-11-15T15:00:30+00:00")  # still backing off
    assert "sent 1" in dispatch(cli, "2026-11-15T15:01:00+00:00")
    assert len(sent_keys(slack.fake)) == 1


def test_pause_skips_nudges_extends_the_window_and_resume_restores(harness, cli, slack, engine, playbook, roster):
    cid = seed.commitment(engine, playbook, seed.slack_user(REP), MANAGER, THU)
    harness.ctx.clock = lambda: datetime(2026, 11, 13, 18, 0, tzinfo=UTC)
    harness.command(REP, "pause 2026-11-20")
    assert "paused until 2026-11-20" in slack.fake.last_response_text()
    c = _commitment(engine, cid)
    assert (c.ends_on, c.window_days) == (date(2026, 11, 25), 14)  # extended by the 7 paused days
    dispatch(cli, "2026-11-15T15:00:00+00:00")
    dispatch(cli, "2026-11-16T15:00:00+00:00")
    dispatch(cli, "2026-11-19T15:00:00+00:00")
    assert sent_keys(slack.fake) == []
    assert _commitment(engine, cid).status == "active"  # not failed while paused
    # the rep is back early
    harness.ctx.clock = lambda: datetime(2026, 11, 19, 18, 0, tzinfo=UTC)
    harness.command(REP, "resume")
    assert "back on" in slack.fake.last_response_text()
    dispatch(cli, "2026-11-23T15:00:00+00:00")
    assert sent_keys(slack.fake)[-1] == f"T0TEAM:{REP}:nudge:2026-11-23"
    dispatch(cli, "2026-11-26T15:00:00+00:00")
    assert _commitment(engine, cid).status == "missed"


def test_pause_permissions_and_bad_dates(harness, roster):
    harness.ctx.clock = lambda: datetime(2026, 11, 13, 18, 0, tzinfo=UTC)
    harness.command(REP2, f"pause <@{REP}> 2026-11-20")
    assert "Only the rep, their manager or a Coachbot admin can pause" in harness.fake.last_response_text()
    harness.command(REP, "pause 2026-11-01")
    assert "after today" in harness.fake.last_response_text()
    harness.command(REP, "pause tomorrow")
    assert "isn't a date" in harness.fake.last_response_text()
    harness.command(MANAGER, f"pause <@{REP}> 2026-11-20")
    assert f"<@{REP}>'s commitments are paused until 2026-11-20" in harness.fake.last_response_text()


def test_workspace_schedule_settings(harness, engine, roster):
    harness.command(MANAGER, "settings nudge friday 16:30")
    assert "Only Coachbot admins" in harness.fake.last_response_text()
    from tests.conftest import ADMIN

    harness.command(ADMIN, "settings nudge fri 16:30")
    assert "*Friday* at *16:30*" in harness.fake.last_response_text()
    harness.command(ADMIN, "settings reminders off")
    harness.command(ADMIN, "settings nudge someday 25:00")
    assert "weekday and a 24-hour time" in harness.fake.last_response_text()
    with Session(engine) as s:
        ws = present(queries.get_workspace(s, "T0TEAM"))
    assert (ws.nudge_weekday, ws.nudge_hour, ws.nudge_minute, ws.reminders_enabled) == (4, 16, 30, False)


@pytest.mark.sqlite_only
def test_dispatch_rejects_a_bad_now(cli):
    code, _, err = cli("dispatch", "--now", "next tuesday")
    assert code == 2 and "is not an ISO-8601 time" in err


def test_uninstalled_workspace_gets_nothing_until_it_is_used_again(harness, cli, slack, engine, playbook, roster):
    seed.commitment(engine, playbook, seed.slack_user(REP), MANAGER, THU)
    harness.command(REP, "help")  # the workspace is known active in this process
    harness.event({"type": "app_uninstalled"}, event_id="EvGone")
    dispatch(cli, "2026-11-16T15:00:00+00:00")
    assert sent_keys(slack.fake) == [] and _rows(engine) == []
    harness.event({"type": "app_home_opened", "user": REP, "tab": "home"}, event_id="EvLate")  # a late retry
    with Session(engine) as s:
        assert present(queries.get_workspace(s, "T0TEAM")).active is False
    harness.command(REP, "help")  # reinstalled: a real command arrives
    with Session(engine) as s:
        assert present(queries.get_workspace(s, "T0TEAM")).active is True
    dispatch(cli, "2026-11-16T15:05:00+00:00")
    assert sent_keys(slack.fake) == [f"T0TEAM:{REP}:nudge:2026-11-16"]


def test_an_uninstall_handled_by_another_instance_is_noticed_within_a_minute(harness, slack, engine, playbook, roster):
    """Two instances behind a load balancer: B has lately seen the workspace installed; A handles its
    uninstall; once the workspace is used again, a command that reaches B switches sending back on
    (B looks at the database again after a minute, not never)."""
    from bot.context import ActiveTeams
    from tests.harness import Harness

    b = Harness(slack, harness.settings.database_url, engine, playbook)
    try:
        now = [1000.0]
        b.ctx.known_active_teams = ActiveTeams(clock=lambda: now[0])
        b.command(REP, "help")  # B: known active
        harness.event({"type": "app_uninstalled"}, event_id="EvGoneOnA")
        with Session(engine) as s:
            assert present(queries.get_workspace(s, "T0TEAM")).active is False
        now[0] += 61
        b.command(REP, "help")  # reinstalled; this command reaches B
        with Session(engine) as s:
            assert present(queries.get_workspace(s, "T0TEAM")).active is True
    finally:
        b.close()


def test_nudge_buttons_work(harness, cli, slack, engine, playbook, roster):
    cid = seed.commitment(engine, playbook, seed.slack_user(REP), MANAGER, THU)
    dispatch(cli, "2026-11-16T15:00:00+00:00")
    harness.ctx.clock = lambda: datetime(2026, 11, 16, 16, 0, tzinfo=UTC)
    harness.action(REP, "checkin_note_open", str(cid))
    view = opened_view(slack.fake)
    from tests.harness import num, txt

    harness.submit(REP, view, {"count": num("2"), "note": txt("Two calls, no pitch until minute 14")})
    assert "Logged 2. 2 of 3 so far" in slack.fake.calls_to("chat.postMessage")[-1].text_dump()
    harness.action(REP, "blocked_open", str(cid))
    view = opened_view(slack.fake)
    harness.submit(REP, view, {"note": txt("No first calls booked <!channel>")})
    to_manager = [c for c in slack.fake.calls_to("chat.postMessage") if c.args["channel"] == f"D{MANAGER}"][-1]
    assert "is blocked on" in to_manager.text_dump() and "&lt;!channel&gt;" in to_manager.text_dump()
    harness.command(REP, "1", command="/checkin")
    assert "That's the target" in slack.fake.last_response_text()
    harness.command(REP, "0", command="/checkin")
    assert "from 1 to 20" in slack.fake.last_response_text()
    harness.command(REP2, "2", command="/checkin")
    assert "don't have an active commitment" in slack.fake.last_response_text()
    dispatch(cli, "2026-11-19T15:00:00+00:00")
    assert _commitment(engine, cid).status == "met"
    harness.action(REP, "reflection_open", str(cid))
    view = opened_view(slack.fake)
    harness.submit(REP, view, {"note": txt("Waiting to pitch made the calls longer and better.")})
    assert present(_commitment(engine, cid).reflection).startswith("Waiting to pitch")


def test_checkin_asks_which_commitment_when_there_are_several(harness, engine, playbook, roster):
    a = seed.commitment(engine, playbook, seed.slack_user(REP), MANAGER, THU, gap="discovery", key="a")
    b = seed.commitment(engine, playbook, seed.slack_user(REP), MANAGER, THU, gap="closing", key="b")
    harness.ctx.clock = lambda: datetime(2026, 11, 13, 18, 0, tzinfo=UTC)
    harness.command(REP, "2 two calls", command="/checkin")
    pick = harness.fake.responses()[-1]
    buttons = [e for blk in pick.blocks if blk["type"] == "actions" for e in blk["elements"]]
    assert [json.loads(x["value"])["c"] for x in buttons] == [a, b]
    harness.action(REP, "checkin_pick", buttons[1]["value"])
    from bot.coaching.service import logged_count

    with Session(engine) as s:
        assert (logged_count(s, "T0TEAM", a), logged_count(s, "T0TEAM", b)) == (0, 2)
