"""Taking rows, and keeping them: a claim is a conditional update in a transaction (FOR UPDATE SKIP
LOCKED on PostgreSQL, BEGIN IMMEDIATE on SQLite), so two dispatchers never take the same row, and a
claim that is too old, or held by a process that died, can be taken over by exactly one other."""

from __future__ import annotations

import logging
import os
import socket
from datetime import UTC, datetime

from sqlalchemy import or_, update
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select

from bot.outbox.report import PassReport
from bot.outbox.rows import aware, message_key
from bot.outbox.throttle import not_held_back
from bot.outbox.worker import Worker
from storage.db import session_scope
from storage.models import ScheduledMessage

log = logging.getLogger("coachbot.dispatch")


def claim(worker: Worker, now: datetime) -> list[ScheduledMessage]:
    with session_scope(worker.ctx.engine) as session:
        rows = list(
            session.exec(
                select(ScheduledMessage)
                .where(
                    ScheduledMessage.status == "pending",
                    col(ScheduledMessage.due_at) <= now,
                    or_(
                        col(ScheduledMessage.next_attempt_at).is_(None),
                        col(ScheduledMessage.next_attempt_at) <= now,
                    ),
                    not_held_back(datetime.now(UTC)),  # a workspace Slack answered 429 waits for Retry-After
                )
                .order_by(col(ScheduledMessage.due_at))
                .limit(worker.batch_size)
                .with_for_update(skip_locked=True)
            )
        )
        if not rows:
            return []
        session.exec(
            update(ScheduledMessage)
            .where(col(ScheduledMessage.id).in_([r.id for r in rows]), col(ScheduledMessage.status) == "pending")
            .values(
                status="sending",
                claimed_by=worker.worker_id,
                claimed_at=datetime.now(UTC),
                attempts=ScheduledMessage.attempts + 1,
                slack_channel=None,  # set again right before the post (`heartbeat`): no channel, no post
            )
            .execution_options(synchronize_session=False)
        )
        for r in rows:
            r.status, r.claimed_by, r.claimed_at, r.attempts, r.slack_channel = (
                "sending",
                worker.worker_id,
                datetime.now(UTC),
                r.attempts + 1,
                None,
            )
        session.expunge_all()
        return rows


def claimed_by_dead_process(claimed_by: str | None) -> bool:
    """A claim by a process on this host that no longer exists (killed, crashed) is stale at once."""
    if not claimed_by:
        return False
    host, _, rest = claimed_by.partition(":")
    pid_text = rest.split(":", 1)[0]
    if host != socket.gethostname() or not pid_text.isdigit() or int(pid_text) == os.getpid():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def is_stale(worker: Worker, row: ScheduledMessage, now: datetime) -> bool:
    if row.next_attempt_at is not None and aware(row.next_attempt_at) > datetime.now(UTC):
        return False  # checked recently, and the check could not tell: not yet
    # Whether a claim is alive is a matter of real time (the pass's `now` may be a catch-up time).
    wall = datetime.now(UTC)
    return aware(row.claimed_at or wall) < wall - worker.stale_after or claimed_by_dead_process(row.claimed_by)


def claim_as_seen(row: ScheduledMessage) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """The row is still claimed by whom, and since when, it was when read: no other dispatcher has
    taken it over or claimed it again since."""
    return (
        col(ScheduledMessage.claimed_by) == row.claimed_by
        if row.claimed_by
        else col(ScheduledMessage.claimed_by).is_(None),
        col(ScheduledMessage.claimed_at) == row.claimed_at
        if row.claimed_at
        else col(ScheduledMessage.claimed_at).is_(None),
    )


def take_over(worker: Worker, row: ScheduledMessage, now: datetime) -> bool:
    """Only one dispatcher checks a row at a time; while it does, others skip it."""
    with session_scope(worker.ctx.engine) as session:
        result = session.exec(
            update(ScheduledMessage)
            .where(col(ScheduledMessage.id) == row.id, col(ScheduledMessage.status) == "sending", *claim_as_seen(row))
            .values(claimed_by=worker.worker_id, next_attempt_at=datetime.now(UTC) + worker.stale_after)
            .execution_options(synchronize_session=False)
        )
        taken = result.rowcount == 1
    row.claimed_by = worker.worker_id
    return taken


def heartbeat(worker: Worker, row: ScheduledMessage, channel: str) -> bool:
    """Right before a post: this dispatcher still holds the row (it was not taken over as stale),
    its claim is fresh again, and the row says where the message goes. That channel is also the
    row's record that a post may have begun: a claimed row without one certainly never reached
    Slack, so crash resolution sends it again without reading any history (a claim clears it).
    """
    if worker.writer is not None:  # grouped with the other sending threads' writes (bot.outbox.writer)
        return bool(worker.writer.heartbeat(row.id, channel))
    with session_scope(worker.ctx.engine) as session:
        result = session.exec(
            update(ScheduledMessage)
            .where(
                col(ScheduledMessage.id) == row.id,
                col(ScheduledMessage.status) == "sending",
                col(ScheduledMessage.claimed_by) == worker.worker_id,
            )
            .values(claimed_at=datetime.now(UTC), slack_channel=channel[:32])
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount == 1)


def release(worker: Worker, rows: list[ScheduledMessage], until: datetime) -> None:
    """Rows claimed but not sent (their workspace is held back by a 429): pending again, due when Slack
    allows, and the claim's attempt is not counted."""
    with session_scope(worker.ctx.engine) as session:
        session.exec(
            update(ScheduledMessage)
            .where(
                col(ScheduledMessage.id).in_([r.id for r in rows]),
                col(ScheduledMessage.status) == "sending",
                col(ScheduledMessage.claimed_by) == worker.worker_id,
            )
            .values(
                status="pending",
                claimed_by=None,
                next_attempt_at=until,
                attempts=ScheduledMessage.attempts - 1,
                slack_channel=None,
            )
            .execution_options(synchronize_session=False)
        )


def lost_claim(row: ScheduledMessage, report: PassReport) -> None:
    log.warning("claim taken over before sending key=%s; left to the dispatcher that holds it", message_key(row))
    report.errors.append(message_key(row))
