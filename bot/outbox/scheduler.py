"""APScheduler as a clock only: it calls one dispatcher pass a minute (and once at start-up)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.outbox.dispatcher import Dispatcher

log = logging.getLogger("coachbot.scheduler")


def start_scheduler(dispatcher: Dispatcher, interval_seconds: int = 60) -> BackgroundScheduler:
    def tick() -> None:
        try:
            report = dispatcher.run_pass(datetime.now(UTC))
            if report.planned or report.sent or report.failed or report.resolved:
                log.info("%s", report.describe())
        except Exception as exc:  # the next tick tries again; the database keeps what is owed
            log.error("dispatch pass failed: %s", type(exc).__name__)

    scheduler = BackgroundScheduler(timezone=UTC)
    scheduler.add_job(
        tick,
        IntervalTrigger(seconds=interval_seconds),
        id="dispatch",
        max_instances=1,
        coalesce=True,
        next_run_time=datetime.now(UTC),
        misfire_grace_time=interval_seconds,
    )
    scheduler.start()
    return scheduler
