"""Recording what happened to a claimed row. Every write is conditional on this dispatcher still
holding the claim, and an unknown outcome is never written as a failure: it waits for the history."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import col

from bot.outbox.report import PassReport
from bot.outbox.rows import message_key
from bot.outbox.worker import Worker
from storage.db import session_scope
from storage.models import ScheduledMessage

log = logging.getLogger("coachbot.dispatch")

MAX_ATTEMPTS = 5
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1))


def unconfirmed(row: ScheduledMessage, report: PassReport, error: str) -> None:
    """Slack may or may not have posted it: leave the row claimed, so that once it is stale the
    DM's history decides between 'sent' and a resend. Never a blind second send."""
    log.warning(
        "outcome unknown rep=%s key=%s error=%s; will check Slack before any resend",
        row.rep_user_id,
        message_key(row),
        error,
    )
    report.add("unconfirmed")


def finish(worker: Worker, row: ScheduledMessage, now: datetime, report: PassReport, error: str) -> None:
    """A transient failure: retry later with backoff, or give up after MAX_ATTEMPTS."""
    if row.attempts >= MAX_ATTEMPTS:
        log.error(
            "giving up rep=%s key=%s after %d attempts error=%s",
            row.rep_user_id,
            message_key(row),
            row.attempts,
            error,
        )
        return mark(worker, row, "failed", now, report, error)
    delay = BACKOFF[min(row.attempts - 1, len(BACKOFF) - 1)]
    log.warning(
        "will retry rep=%s key=%s in %ss error=%s",
        row.rep_user_id,
        message_key(row),
        int(delay.total_seconds()),
        error,
    )
    with session_scope(worker.ctx.engine) as session:
        session.exec(
            update(ScheduledMessage)
            .where(col(ScheduledMessage.id) == row.id, col(ScheduledMessage.claimed_by) == worker.worker_id)
            .values(status="pending", next_attempt_at=now + delay, last_error=error[:200], claimed_by=None)
        )
    report.add("retrying")


def mark(
    worker: Worker,
    row: ScheduledMessage,
    status: str,
    now: datetime,
    report: PassReport,
    reason: str | None,
    channel: str | None = None,
    ts: str | None = None,
) -> None:
    if status == "sent" and worker.writer is not None:  # written with the other threads' outcomes
        worker.writer.sent(row.id, channel, ts, now)
        report.add(status)
        return
    values: dict[str, str | datetime | None] = {"status": status, "last_error": (reason or "")[:200] or None}
    if status == "sent":
        values.update(sent_at=now, slack_channel=channel, slack_ts=ts)
    with session_scope(worker.ctx.engine) as session:
        session.exec(
            update(ScheduledMessage)
            .where(col(ScheduledMessage.id) == row.id, col(ScheduledMessage.claimed_by) == worker.worker_id)
            .values(**values)
        )
    report.add(status)
