"""Crash recovery: a row left in `sending` may or may not have reached Slack. Slack's history (the
row's key is in the message metadata) decides, so a message is never sent twice and never lost."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.errors import describe_error
from bot.outbox.claiming import is_stale, take_over
from bot.outbox.outcomes import MAX_ATTEMPTS
from bot.outbox.report import PassReport
from bot.outbox.rows import METADATA_EVENT, aware, message_key
from bot.outbox.worker import Worker
from bot.slack.delivery import SLACK_FAILURES, Lookup, Search, failure_reason, find_message
from bot.slack.installs import NotInstalled
from bot.team.service import summary_channel
from storage.db import session_scope
from storage.models import Person, ScheduledMessage

log = logging.getLogger("coachbot.dispatch")


def resolve_stale(worker: Worker, now: datetime, report: PassReport) -> None:
    """Rows left in `sending` (a crash, or a send whose answer was lost): sent if Slack has them,
    sent again only if Slack's history shows they are not there. Each row is taken over with a
    conditional update, checked with Slack outside any transaction, then recorded; a row whose
    check fails stays "outcome unknown" for a later pass, and one that fails cannot stop the others.
    """
    with worker.ctx.session() as session:
        sending = session.exec(select(ScheduledMessage).where(ScheduledMessage.status == "sending")).all()
        stale = [r for r in sending if is_stale(worker, r, now)]
        channels = {r.id: _known_channels(session, r) for r in stale}
        session.expunge_all()
    for row in stale:
        try:
            if take_over(worker, row, now):
                _resolve_one(worker, row, channels.get(row.id) or [], now, report)
        except Exception as exc:  # one bad row never stops the pass
            log.error("could not resolve key=%s error=%s", message_key(row), describe_error(exc))
            report.errors.append(message_key(row))


def _known_channels(session: Session, row: ScheduledMessage) -> list[str | None]:
    """Where the message may have gone: a summary's channel (or its DM fallback), else the DM.
    None stands for a DM whose channel id was never stored."""
    dm = session.exec(
        select(Person.dm_channel).where(Person.team_id == row.team_id, Person.slack_user_id == row.rep_user_id)
    ).first()
    found: list[str | None] = [row.slack_channel] if row.slack_channel else []  # where the post went
    if row.kind == "summary" and (channel := summary_channel(session, row.team_id, row.rep_user_id)):
        found.append(channel)
    found.append(dm or None)
    return list(dict.fromkeys(found))


def _search(worker: Worker, row: ScheduledMessage, channels: list[str | None]) -> Search:
    oldest = (aware(row.claimed_at) - timedelta(minutes=5)).timestamp() if row.claimed_at else 0.0
    try:
        client = worker.client_for(row.team_id)
    except NotInstalled:
        return Search(Lookup.UNVERIFIED, reason="workspace not installed")
    unverified = ""
    for channel in channels:
        if channel is None:
            try:
                channel = str(client.conversations_open(users=row.rep_user_id)["channel"]["id"])
            except SLACK_FAILURES as exc:
                unverified = f"could not open the DM: {failure_reason(exc)}"
                continue
        search = find_message(client, channel, METADATA_EVENT, message_key(row), oldest)
        if search.result is Lookup.FOUND:
            return Search(Lookup.FOUND, ts=search.ts, reason=channel)
        if search.result is Lookup.UNVERIFIED:
            unverified = search.reason
    return Search(Lookup.UNVERIFIED, reason=unverified) if unverified else Search(Lookup.ABSENT)


def _resolve_one(
    worker: Worker, row: ScheduledMessage, channels: list[str | None], now: datetime, report: PassReport
) -> None:
    search = _search(worker, row, channels)
    key = message_key(row)
    if search.result is Lookup.FOUND:
        log.info("resolved key=%s: already delivered", key)
        _record(
            worker, row, report, "resolved", status="sent", sent_at=now, slack_channel=search.reason, slack_ts=search.ts
        )
    elif search.result is Lookup.ABSENT and row.attempts >= MAX_ATTEMPTS:
        log.error("giving up key=%s after %d attempts: not delivered", key, row.attempts)
        _record(worker, row, report, "failed", status="failed", last_error="not delivered after retries")
    elif search.result is Lookup.ABSENT:
        log.info("resolved key=%s: not delivered; will send", key)
        _record(worker, row, report, None, status="pending", claimed_by=None, next_attempt_at=None)
    elif now - aware(row.due_at) > worker.grace:
        # Past the grace window and still unknown: recorded as such, with the reason, never resent blind.
        log.error("outcome never verified key=%s reason=%s; not resending", key, search.reason)
        _record(worker, row, report, "unverified", status="unverified", last_error=search.reason[:200])
    else:
        log.warning("outcome still unknown key=%s reason=%s; will check again", key, search.reason)
        _record(worker, row, report, "unconfirmed", last_error=search.reason[:200])


def _record(
    worker: Worker, row: ScheduledMessage, report: PassReport, counter: str | None, **values: str | datetime | None
) -> None:
    with session_scope(worker.ctx.engine) as session:
        session.exec(
            update(ScheduledMessage)
            .where(col(ScheduledMessage.id) == row.id, col(ScheduledMessage.claimed_by) == worker.worker_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    if counter:
        setattr(report, counter, getattr(report, counter) + 1)
