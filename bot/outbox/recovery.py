"""Crash recovery: a row left in `sending` may or may not have reached Slack. Slack's history (the
row's key is in the message metadata) decides, so a message is never sent twice and never lost.

History is read sparingly, because Slack allows a commercially distributed app outside its
Marketplace about one conversations.history call a minute per workspace:

- a claimed row records its channel right before its post (`claiming.heartbeat`); a stale row with
  no channel never reached Slack and is sent again with no look-up at all (a crash mid-pass leaves
  mostly those: rows claimed but not yet sent);
- the rows that may have been posted are checked per conversation: one history read answers every
  row of that conversation (a rep's nudge, reminder and closeout share their DM);
- with `Worker.history_interval` set (OAuth mode), each read takes a slot of the workspace's shared
  budget (bot.outbox.throttle, one per interval across every process); rows left without a slot
  wait, untouched, for a later pass.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.errors import describe_error
from bot.outbox.claiming import claim_as_seen, is_stale, take_over
from bot.outbox.outcomes import MAX_ATTEMPTS
from bot.outbox.report import PassReport
from bot.outbox.rows import METADATA_EVENT, aware, message_key
from bot.outbox.throttle import HISTORY, take_slot
from bot.outbox.worker import Worker
from bot.slack.delivery import SLACK_FAILURES, Lookup, Search, failure_reason, find_messages
from bot.slack.installs import NotInstalled
from bot.team.service import summary_channel
from storage.db import session_scope
from storage.models import Person, ScheduledMessage

log = logging.getLogger("coachbot.dispatch")
Channels = tuple[str | None, ...]
NOT_RECORDED = "-"  # migration 0015: a row left claimed by an older version, channel unknown (look in the DM)


def resolve_stale(worker: Worker, now: datetime, report: PassReport) -> None:
    """Rows left in `sending` (a crash, or a send whose answer was lost): sent if Slack has them,
    sent again only if they certainly are not there. Each row is taken over with a conditional update,
    checked with Slack outside any transaction, then recorded; a row whose check fails stays "outcome
    unknown" for a later pass, and one that fails cannot stop the others.
    """
    with worker.ctx.session() as session:
        sending = session.exec(select(ScheduledMessage).where(ScheduledMessage.status == "sending")).all()
        stale = [r for r in sending if is_stale(worker, r, now)]
        groups: dict[str, dict[Channels, list[ScheduledMessage]]] = defaultdict(lambda: defaultdict(list))
        for r in stale:
            if r.slack_channel:
                groups[r.team_id][_known_channels(session, r)].append(r)
        session.expunge_all()
    for row in stale:
        if not row.slack_channel:
            _never_posted(worker, row, report)
    for team_id, by_channels in groups.items():
        for channels, rows in by_channels.items():
            if worker.history_interval and not take_slot(
                worker.ctx.engine, team_id, HISTORY, worker.history_interval, datetime.now(UTC)
            ):
                waiting = sum(len(r) for r in by_channels.values())
                log.info("history budget: %d row(s) of team=%s wait for a later pass", waiting, team_id)
                break
            try:
                mine = [r for r in rows if take_over(worker, r, now)]
                if mine:
                    _resolve(worker, mine, list(channels), now, report)
            except Exception as exc:  # one bad conversation never stops the pass
                log.error("could not resolve team=%s error=%s", team_id, describe_error(exc))
                report.errors.extend(message_key(r) for r in rows)


def _never_posted(worker: Worker, row: ScheduledMessage, report: PassReport) -> None:
    """Claimed, never reached its post (no channel recorded): pending again (or failed after too many
    attempts), with the same conditions as a take-over, so only one dispatcher does it."""
    values: dict[str, object] = (
        {"status": "failed", "last_error": "not delivered after retries"}
        if row.attempts >= MAX_ATTEMPTS
        else {"status": "pending", "claimed_by": None, "next_attempt_at": None}
    )
    with session_scope(worker.ctx.engine) as session:
        done = session.exec(
            update(ScheduledMessage)
            .where(
                col(ScheduledMessage.id) == row.id,
                col(ScheduledMessage.status) == "sending",
                col(ScheduledMessage.slack_channel).is_(None),
                *claim_as_seen(row),
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        ).rowcount
    if done == 1:
        log.info("resolved key=%s: claimed but never posted; %s", message_key(row), values["status"])
        if values["status"] == "failed":
            report.add("failed")


def _known_channels(session: Session, row: ScheduledMessage) -> Channels:
    """Where the message may have gone: where its post went, a summary's channel (or its DM fallback),
    else the DM. None stands for a DM whose channel id was never stored."""
    dm = session.exec(
        select(Person.dm_channel).where(Person.team_id == row.team_id, Person.slack_user_id == row.rep_user_id)
    ).first()
    recorded = row.slack_channel if row.slack_channel != NOT_RECORDED else None
    found: list[str | None] = [recorded] if recorded else []  # where the post went
    if row.kind == "summary" and (channel := summary_channel(session, row.team_id, row.rep_user_id)):
        found.append(channel)
    found.append(dm or None)
    return tuple(dict.fromkeys(found))


def _search(worker: Worker, rows: list[ScheduledMessage], channels: list[str | None]) -> dict[int, Search]:
    """One search of the conversation(s) for all `rows` (one workspace, one destination)."""
    claimed = [aware(r.claimed_at) for r in rows if r.claimed_at]
    oldest = (min(claimed) - timedelta(minutes=5)).timestamp() if claimed else 0.0
    keys = {message_key(r): r for r in rows}
    try:
        client = worker.client_for(rows[0].team_id)
    except NotInstalled:
        return {r.id or 0: Search(Lookup.UNVERIFIED, reason="workspace not installed") for r in rows}
    found: dict[str, tuple[str, str]] = {}
    unverified = ""
    for channel in channels:
        if channel is None:
            try:
                channel = str(client.conversations_open(users=rows[0].rep_user_id)["channel"]["id"])
            except SLACK_FAILURES as exc:
                unverified = f"could not open the DM: {failure_reason(exc)}"
                continue
        hits, reason = find_messages(client, channel, METADATA_EVENT, set(keys) - set(found), oldest)
        found.update({key: (ts, channel) for key, ts in hits.items()})
        unverified = reason or unverified
        if found.keys() >= keys.keys():
            break
    results: dict[int, Search] = {}
    for key, row in keys.items():
        if key in found:
            results[row.id or 0] = Search(Lookup.FOUND, ts=found[key][0], reason=found[key][1])
        else:
            results[row.id or 0] = Search(Lookup.UNVERIFIED, reason=unverified) if unverified else Search(Lookup.ABSENT)
    return results


def _resolve(
    worker: Worker, rows: list[ScheduledMessage], channels: list[str | None], now: datetime, report: PassReport
) -> None:
    searches = _search(worker, rows, channels)
    for row in rows:
        _resolve_one(worker, row, searches[row.id or 0], now, report)


def _resolve_one(worker: Worker, row: ScheduledMessage, search: Search, now: datetime, report: PassReport) -> None:
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
        report.add(counter)
