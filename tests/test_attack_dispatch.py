"""Attacks on "never twice, never lost" in the dispatcher: a second pass while a first is still
sending, and a crash resolution that looks for a message in the wrong conversation."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session, select

from bot.context import AppContext
from bot.outbox.dispatcher import Dispatcher
from bot.settings import Settings
from bot.slack.client import make_dispatch_client
from storage import queries
from storage.models import ManagerSetting, ScheduledMessage
from tests import seed
from tests.conftest import MANAGER, REP, REP2, STANDARD_ROWS
from tests.harness import BOT_TOKEN
from tests.rows import present
from tests.slack_fake import sent_keys

THU = date(2026, 11, 12)
NUDGE = datetime(2026, 11, 16, 15, 0, tzinfo=UTC)  # Monday 09:00 in Chicago
SUMMARY = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)  # Friday 16:00 in London (the manager's zone)


@pytest.fixture
def roster(import_csv):
    import_csv(*STANDARD_ROWS)


def _ctx(slack, engine, playbook, database_url) -> AppContext:
    settings = Settings(bot_token=BOT_TOKEN, database_url=database_url, slack_api_url=slack.api_url)
    return AppContext(settings=settings, engine=engine, playbook=playbook)


def _nudge_keys(fake) -> list[str]:
    return [k for k in sent_keys(fake) if ":nudge:" in k]


def test_a_second_pass_while_the_first_is_still_sending_does_not_double(slack, engine, playbook, database_url, roster):
    """Pass A claims its whole batch at once, stamped with the time the pass *started*, then sends
    row after row. A pass that starts more than `stale_after` (2 min) later — cron each minute,
    a second bot, a slow Slack with a 500-row batch — finds A's not-yet-sent rows "stale", checks
    the DM history (nothing there yet: A has not reached them), resets them to pending and sends
    them. A, which never re-checks that it still owns a row, then sends them too."""
    seed.commitment(engine, playbook, seed.slack_user(REP), MANAGER, THU, key="a")
    seed.commitment(engine, playbook, seed.slack_user(REP2), MANAGER, THU, key="b")
    fake = slack.fake
    ctx = _ctx(slack, engine, playbook, database_url)
    first = Dispatcher(ctx, make_dispatch_client(ctx.settings), worker_id="host-a:1:a")
    second = Dispatcher(ctx, make_dispatch_client(ctx.settings), worker_id="host-b:2:b")
    fake.delays["chat.postMessage"] = 1.0  # Slack is slow to answer (each message is posted at once)
    thread = threading.Thread(target=first.run_pass, args=(NUDGE,))
    thread.start()
    try:
        fake.wait_for("chat.postMessage", 1, timeout=10)  # A is in the middle of its first send
        second.run_pass(NUDGE + timedelta(minutes=3))  # a later pass, while A still works
    finally:
        thread.join(timeout=30)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and len(_nudge_keys(fake)) < 2:
        time.sleep(0.01)
    keys = _nudge_keys(fake)
    assert len(keys) == len(set(keys)), f"sent twice: {sorted(keys)}"
    assert set(keys) == {f"T0TEAM:{REP}:nudge:2026-11-16", f"T0TEAM:{REP2}:nudge:2026-11-16"}


def test_an_unconfirmed_summary_is_not_resent_after_the_manager_moves_it(cli, slack, engine, roster):
    """The summary is posted to the private channel, Slack's answer is lost. Before the next pass the
    manager switches summaries to DM. Crash resolution searches only where the summary would go
    *now* (the DM), does not find it, and posts it a second time."""
    fake = slack.fake
    fake.add_channel("G0COACH", "coaching", private=True, member=True)
    with Session(engine) as s:
        s.add(ManagerSetting(team_id="T0TEAM", manager_user_id=MANAGER, summary_channel="G0COACH"))
        s.commit()
    fake.lose_answer("chat.postMessage", status=500)
    code, out, err = cli("dispatch", "--now", SUMMARY.isoformat())
    assert code == 0, err
    assert "unconfirmed 1" in out, out
    seed.age_claims(engine, 5)
    with Session(engine) as s:  # the manager now wants the summary by DM
        setting = s.exec(select(ManagerSetting)).one()
        setting.summary_channel = None
        s.add(setting)
        s.commit()
    code, out, err = cli("dispatch", "--now", (SUMMARY + timedelta(minutes=5)).isoformat())
    assert code == 0, err
    summaries = [k for k in sent_keys(fake) if ":summary:" in k]
    assert len(summaries) == 1, f"the weekly summary was posted {len(summaries)} times: {out}"


def test_a_summary_channel_made_public_later_gets_no_wiring_data(cli, slack, engine, roster):
    """The channel was private when the manager chose it; someone converts it to public. The weekly
    summary is posted there anyway: privacy is checked only when the channel is configured."""
    fake = slack.fake
    fake.add_channel("G0COACH", "coaching", private=True, member=True)
    with Session(engine) as s:
        s.add(ManagerSetting(team_id="T0TEAM", manager_user_id=MANAGER, summary_channel="G0COACH"))
        s.commit()
    fake.channels["G0COACH"]["is_private"] = False
    code, out, err = cli("dispatch", "--now", SUMMARY.isoformat())
    assert code == 0, err
    posted = {c.args.get("channel") for c in fake.calls_to("chat.postMessage")}
    assert posted, out
    assert "G0COACH" not in posted, "the weekly summary (wiring data) went to a now-public channel"


# --- regression tests: attacks the dispatcher withstands today --------------------------------------


def test_a_crash_resolution_while_slack_history_times_out_never_resends(
    cli, slack, engine, playbook, roster, monkeypatch
):
    monkeypatch.setenv("COACHBOT_SLACK_TIMEOUT", "1")
    seed.commitment(engine, playbook, seed.slack_user(REP), MANAGER, THU)
    with Session(engine) as s:
        ws = present(queries.get_workspace(s, "T0TEAM"))
        ws.reminders_enabled = False
        s.add(ws)
        s.commit()
    fake = slack.fake
    fake.answer_late("chat.postMessage", 2.5)  # posted; the answer comes after the client gave up
    code, out, _ = cli("dispatch", "--now", NUDGE.isoformat())
    assert "unconfirmed 1" in out, out
    fake.answer_late("conversations.history", 2.5)
    seed.age_claims(engine, 3)
    cli("dispatch", "--now", (NUDGE + timedelta(minutes=3)).isoformat())
    seed.age_claims(engine, 3)
    cli("dispatch", "--now", (NUDGE + timedelta(minutes=6)).isoformat())
    assert _nudge_keys(fake) == [f"T0TEAM:{REP}:nudge:2026-11-16"]
    with Session(engine) as s:
        (row,) = s.exec(select(ScheduledMessage).where(ScheduledMessage.kind == "nudge")).all()
    assert row.status == "sent"
