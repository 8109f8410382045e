"""All due scheduled work in one pass: weekly nudges, mid-window reminders, closeouts.

The database is the source of truth; APScheduler (or cron, or `coachbot dispatch`) only decides
when a pass runs. Each message is a row keyed by (team, rep, kind, period) and moves
pending -> sending -> sent. Claiming happens in a transaction (FOR UPDATE SKIP LOCKED on
PostgreSQL, BEGIN IMMEDIATE on SQLite), so two dispatchers never take the same row. Every message
carries its key in Slack message metadata: a row left in `sending` by a crash is resolved by
looking for that key in the DM's history, so it is marked sent instead of being sent again.

The steps live in planning, claiming, delivery/sending, recovery and housekeeping; this module
only runs them in order.
"""

from __future__ import annotations

from datetime import datetime

from bot.outbox import claiming, delivery, housekeeping, planning, pool, recovery
from bot.outbox.report import PassReport
from bot.outbox.rows import aware
from bot.outbox.worker import Worker
from storage.models import ScheduledMessage

__all__ = ["Dispatcher", "PassReport"]


class Dispatcher(Worker):
    """A Worker that runs the steps in order, so every claim and outcome it writes carries its id."""

    def run_pass(self, now: datetime | None = None) -> PassReport:
        now = aware(now or self.ctx.clock())
        report = PassReport()
        self.plan(now, report)
        self.resolve_stale(now, report)
        self.send_due(now, report)
        self.prune(now, report)
        return report

    def plan(self, now: datetime, report: PassReport) -> None:
        planning.plan(self.ctx, now, report)

    def resolve_stale(self, now: datetime, report: PassReport) -> None:
        recovery.resolve_stale(self, now, report)

    def send_due(self, now: datetime, report: PassReport) -> None:
        pool.send_due(self, now, report)

    def claim(self, now: datetime) -> list[ScheduledMessage]:
        return claiming.claim(self, now)

    def deliver_batch(self, batch: list[ScheduledMessage], now: datetime, report: PassReport) -> None:
        delivery.deliver_batch(self, batch, now, report)

    def prune(self, now: datetime, report: PassReport) -> None:
        housekeeping.prune(self, now, report)
