"""Pruning, so the outbox and the delivery-key table stay small however long the bot runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, or_
from sqlmodel import col, select

from bot.install.flows import purge_expired
from bot.outbox.report import PassReport
from bot.outbox.worker import Worker
from storage.db import session_scope
from storage.models import Commitment, ProcessedDelivery, ScheduledMessage

FINISHED = ("sent", "skipped", "failed", "unreachable", "unverified")
OUTBOX_RETENTION = timedelta(days=90)
DELIVERY_KEY_RETENTION = timedelta(days=7)
PRUNE_EVERY = timedelta(hours=1)


def prune(worker: Worker, now: datetime, report: PassReport) -> None:
    """Old finished outbox rows and old delivery keys go, at most once an hour per process.

    A finished row is kept OUTBOX_RETENTION, and always while its commitment is active (planning
    looks at those rows). A delivery key is kept DELIVERY_KEY_RETENTION: Slack retries within
    minutes, and a replay needs a signature under five minutes old. Workspaces uninstalled more than
    COACHBOT_RETENTION_DAYS ago lose all their data (bot.install.flows).
    """
    wall = datetime.now(UTC)
    if worker.pruned_at is not None and wall - worker.pruned_at < PRUNE_EVERY:
        return
    worker.pruned_at = wall
    active = select(Commitment.id).where(Commitment.status == "active")
    with session_scope(worker.ctx.engine) as session:
        outbox = session.exec(
            delete(ScheduledMessage)
            .where(
                col(ScheduledMessage.status).in_(FINISHED),
                col(ScheduledMessage.created_at) < now - OUTBOX_RETENTION,
                or_(
                    col(ScheduledMessage.commitment_id).is_(None),
                    col(ScheduledMessage.commitment_id).not_in(active),
                ),
            )
            .execution_options(synchronize_session=False)
        )
        keys = session.exec(
            delete(ProcessedDelivery)
            .where(col(ProcessedDelivery.seen_at) < wall - DELIVERY_KEY_RETENTION)
            .execution_options(synchronize_session=False)
        )
    report.pruned += int(outbox.rowcount or 0) + int(keys.rowcount or 0)
    purge_expired(worker.ctx.engine, worker.ctx.settings.retention_days, wall)  # uninstalled past retention
