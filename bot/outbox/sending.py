"""Posting a claimed row to Slack exactly once. The claim is refreshed right before each post, no
Slack call happens inside a database transaction, and an answer that may have been lost (a 5xx,
a timeout) leaves the row claimed for crash recovery instead of scheduling a blind resend."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from urllib.error import URLError

from slack_sdk.errors import SlackApiError
from sqlalchemy import update
from sqlmodel import col

from bot.outbox.claiming import heartbeat, lost_claim
from bot.outbox.outcomes import finish, mark, unconfirmed
from bot.outbox.report import PassReport
from bot.outbox.rows import METADATA_EVENT, message_key
from bot.outbox.worker import Worker
from bot.slack import Message
from bot.slack.budget import retry_after
from bot.slack.client import rate_limits_raised
from bot.slack.delivery import UNKNOWN_OUTCOME
from bot.team.service import deliver_summary
from storage.db import session_scope
from storage.models import Person, ScheduledMessage

log = logging.getLogger("coachbot.dispatch")

UNREACHABLE = {
    "account_inactive",
    "user_not_found",
    "user_disabled",
    "cannot_dm_bot",
    "channel_not_found",
    "is_archived",
    "messages_tab_disabled",
    "not_allowed_token_type",
    "invalid_users",
}


class Throttled(Exception):
    """Slack answered 429: nothing was posted. The row stays claimed and goes back to its workspace's
    lane (bot.outbox.lanes), which waits `seconds` while the other workspaces go on."""

    def __init__(self, seconds: float):
        super().__init__(f"rate limited for {seconds:.0f}s")
        self.seconds = seconds


def send(
    worker: Worker, row: ScheduledMessage, person: Person, message: Message, now: datetime, report: PassReport
) -> None:
    try:
        with rate_limits_raised():  # a 429 is the lane's to wait out, not this thread's
            channel = person.dm_channel
            if not channel:
                channel = worker.client_for(row.team_id).conversations_open(users=row.rep_user_id)["channel"]["id"]
                _remember_channel(worker, person, channel)
            if not heartbeat(worker, row, channel):
                return lost_claim(row, report)
            resp = worker.client_for(row.team_id).chat_postMessage(
                channel=channel,
                **message,
                metadata={"event_type": METADATA_EVENT, "event_payload": {"key": message_key(row)}},
            )
    except SlackApiError as exc:
        wait = retry_after(exc)
        if wait is not None:
            raise Throttled(wait) from None
        error = str(exc.response.get("error") or exc.response.status_code)
        if exc.response.status_code >= 500:
            return unconfirmed(row, report, f"http {exc.response.status_code}")
        if error in UNREACHABLE:
            _mark_unreachable(worker, person, error)
            mark(worker, row, "unreachable", now, report, error)
            log.warning("unreachable rep=%s key=%s error=%s", row.rep_user_id, message_key(row), error)
        else:
            finish(worker, row, now, report, error=error)
        return
    except URLError:  # never reached Slack (the client already retried): safe to send again later
        return finish(worker, row, now, report, error="connection failed")
    except UNKNOWN_OUTCOME as exc:
        return unconfirmed(row, report, type(exc).__name__)
    mark(worker, row, "sent", now, report, None, channel=channel, ts=str(resp.get("ts")))


def post_summary(
    worker: Worker,
    row: ScheduledMessage,
    channel: str | None,
    messages: list[Message],
    metadata: dict[str, Any],
    now: datetime,
    report: PassReport,
) -> None:
    """To the manager's summary channel if it is usable, else to the manager's DM with a note saying
    why (`deliver_summary`, shared with the on-demand summary). The claim is renewed before each post."""
    try:
        delivery = deliver_summary(
            worker.client_for(row.team_id),
            row.rep_user_id,
            channel,
            messages,
            metadata,
            lambda target: heartbeat(worker, row, target),
        )
        if delivery.channel is None:
            return lost_claim(row, report)
        mark(worker, row, "sent", now, report, None, channel=delivery.channel, ts=delivery.ts)
    except SlackApiError as exc:
        error = str(exc.response.get("error") or exc.response.status_code)
        if exc.response.status_code >= 500:
            return unconfirmed(row, report, f"http {exc.response.status_code}")
        if error in UNREACHABLE:
            return mark(worker, row, "unreachable", now, report, error)
        finish(worker, row, now, report, error=error)
    except URLError:
        finish(worker, row, now, report, error="connection failed")
    except UNKNOWN_OUTCOME as exc:
        unconfirmed(row, report, type(exc).__name__)


def _remember_channel(worker: Worker, person: Person, channel: str) -> None:
    person.dm_channel = channel
    with session_scope(worker.ctx.engine) as session:
        session.exec(update(Person).where(col(Person.id) == person.id).values(dm_channel=channel))


def _mark_unreachable(worker: Worker, person: Person, error: str) -> None:
    person.unreachable_reason = error
    with session_scope(worker.ctx.engine) as session:
        session.exec(update(Person).where(col(Person.id) == person.id).values(unreachable_reason=error[:64]))
