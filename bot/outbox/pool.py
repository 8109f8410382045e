"""A pass's sending: batches are claimed while earlier ones are still going out, and a bounded pool of
threads sends them across workspaces, each workspace in its own lane under its own rate budget
(bot.outbox.lanes). No thread makes a Slack call inside a database transaction: each row is read in
its batch before, and recorded in its own short transaction after."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

from bot.errors import describe_error
from bot.outbox.batch import BatchData
from bot.outbox.claiming import claim, release
from bot.outbox.delivery import deliver_one
from bot.outbox.lanes import Lanes
from bot.outbox.report import PassReport
from bot.outbox.rows import message_key
from bot.outbox.sending import Throttled
from bot.outbox.throttle import POST, hold_back
from bot.outbox.worker import Worker
from bot.outbox.writer import OutboxWriter
from storage.models import ScheduledMessage

log = logging.getLogger("coachbot.dispatch")
Job = tuple[ScheduledMessage, BatchData]


def send_due(worker: Worker, now: datetime, report: PassReport) -> None:
    """Claim and send every due row. Another batch is claimed once less than a batch waits, so the
    threads never run dry and rows do not sit claimed for long."""

    def hand_back(team_id: str, jobs: list[Job], seconds: float) -> None:
        # due again in the pass's own time (as a retry's backoff); the shared hold is in real time
        try:
            release(worker, [row for row, _ in jobs], now + timedelta(seconds=seconds))
        except Exception as exc:  # left claimed, never posted (no channel): crash resolution sends them again
            log.error("could not hand back team=%s (%d rows) error=%s", team_id, len(jobs), describe_error(exc))
            return
        log.warning("rate limited team=%s for %.0fs: %d message(s) back to the outbox", team_id, seconds, len(jobs))

    lanes: Lanes[Job] = Lanes(worker.budget, POST, hand_back)
    worker.writer = OutboxWriter(worker.ctx.engine, worker.worker_id)
    threads = [
        threading.Thread(target=_serve, args=(worker, lanes, now, report), name=f"coachbot-send-{i}", daemon=True)
        for i in range(worker.threads)
    ]
    for thread in threads:
        thread.start()
    try:
        while True:
            lanes.wait_below(max(1, worker.batch_size))
            batch = claim(worker, now)
            if not batch:
                break
            with worker.ctx.session() as session:
                data = BatchData.load(session, batch)
            for row in batch:
                lanes.add(row.team_id, (row, data))
    finally:
        lanes.close()
        for thread in threads:
            thread.join()
        worker.writer.close()
        worker.writer = None


def _serve(worker: Worker, lanes: Lanes[Job], now: datetime, report: PassReport) -> None:
    """One sending thread. Nothing a row raises ends it: a thread that died would leave its lanes'
    rows, and the feeder waiting for room, behind it."""
    while (job := lanes.next()) is not None:
        team_id, (row, data) = job
        wait: float | None = None
        try:
            deliver_one(worker, row, data, now, report)
        except Throttled as exc:
            wait = exc.seconds
            report.add("throttled")
            log.warning("rate limited team=%s key=%s retry after %.0fs", team_id, message_key(row), wait)
            try:  # every dispatcher holds the workspace back, not only this one
                hold_back(worker.ctx.engine, team_id, POST, datetime.now(UTC) + timedelta(seconds=wait))
            except Exception as db_exc:  # the lane still waits; the others learn from their own 429
                log.error("could not share the rate limit team=%s error=%s", team_id, type(db_exc).__name__)
        except Exception as exc:  # e.g. the database failed while recording a skip: the row stays claimed,
            # and crash resolution decides from its channel (none recorded: never posted, sent again)
            log.error("dispatch error key=%s error=%s", message_key(row), describe_error(exc))
            report.errors.append(message_key(row))
            report.add("unconfirmed")
        finally:  # a row that began no post gives its budget token back
            lanes.done(team_id, job[1], wait, posted=worker.writer.began(row.id))
