"""All due scheduled work in one pass: weekly nudges, mid-window reminders, closeouts.

The database is the source of truth; APScheduler (or cron, or `coachbot dispatch`) only decides
when a pass runs. Each message is a row keyed by (team, rep, kind, period) and moves
pending -> sending -> sent. Claiming happens in a transaction (FOR UPDATE SKIP LOCKED on
PostgreSQL, BEGIN IMMEDIATE on SQLite), so two dispatchers never take the same row. Every message
carries its key in Slack message metadata: a row left in `sending` by a crash is resolved by
looking for that key in the DM's history, so it is marked sent instead of being sent again.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import delete, func, or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from bot.context import AppContext
from bot.errors import describe_error
from bot.practice import views as rc
from bot.practice.schedule import latest_weekly, local_moment, local_today, zone_for
from bot.slack.blocks import context as context_block
from bot.slack.delivery import UNKNOWN_OUTCOME, Lookup, Search, failure_reason, find_message
from bot.team.home import publish_home
from bot.team.service import build_messages, channel_privacy_problem, post_messages, summary_channel
from storage.db import session_scope
from storage.models import (
    CheckIn,
    Commitment,
    Person,
    ProcessedDelivery,
    ScheduledMessage,
    WiringProfile,
    Workspace,
)

log = logging.getLogger("coachbot.dispatch")

METADATA_EVENT = "coachbot_scheduled"
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
MAX_ATTEMPTS = 5
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1))
PLAN_CHUNK = 1000
FINISHED = ("sent", "skipped", "failed", "unreachable", "unverified")
OUTBOX_RETENTION = timedelta(days=90)
DELIVERY_KEY_RETENTION = timedelta(days=7)
PRUNE_EVERY = timedelta(hours=1)
REMINDER_MIN_WINDOW = 3  # a reminder only makes sense when there is a middle to the window


@dataclass
class PassReport:
    planned: int = 0
    sent: int = 0
    skipped: int = 0
    unreachable: int = 0
    retrying: int = 0
    failed: int = 0
    resolved: int = 0
    unconfirmed: int = 0
    unverified: int = 0
    closed: int = 0
    pruned: int = 0
    errors: list[str] = field(default_factory=list)

    def describe(self) -> str:
        return (
            f"dispatch: planned {self.planned}, sent {self.sent}, skipped {self.skipped}, "
            f"unreachable {self.unreachable}, retrying {self.retrying}, failed {self.failed}, "
            f"resolved after a crash {self.resolved}, unconfirmed {self.unconfirmed}, "
            f"never verified {self.unverified}, "
            f"commitments closed {self.closed}, old rows pruned {self.pruned}"
        )


def _claimed_by_dead_process(claimed_by: str | None) -> bool:
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


def message_key(row: ScheduledMessage) -> str:
    return f"{row.team_id}:{row.rep_user_id}:{row.kind}:{row.period}"


def _insert(session: Session) -> Any:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Dispatcher:
    def __init__(
        self,
        ctx: AppContext,
        client: WebClient,
        *,
        grace: timedelta = timedelta(hours=12),
        stale_after: timedelta | None = None,
        batch_size: int = 500,
        worker_id: str | None = None,
    ):
        self.ctx = ctx
        self.client = client
        self.grace = grace
        self.stale_after = stale_after or timedelta(seconds=ctx.settings.stale_after_seconds)
        self.batch_size = batch_size
        self._pruned_at: datetime | None = None
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"

    # --- one pass ------------------------------------------------------------------------------
    def run_pass(self, now: datetime | None = None) -> PassReport:
        now = _aware(now or self.ctx.clock())
        report = PassReport()
        self.plan(now, report)
        self.resolve_stale(now, report)
        while True:
            batch = self.claim(now)
            if not batch:
                break
            self.deliver_batch(batch, now, report)
        self.prune(now, report)
        return report

    # --- housekeeping --------------------------------------------------------------------------
    def prune(self, now: datetime, report: PassReport) -> None:
        """Old finished outbox rows and old delivery keys go, at most once an hour per process.

        A finished row is kept OUTBOX_RETENTION, and always while its commitment is active (planning
        looks at those rows). A delivery key is kept DELIVERY_KEY_RETENTION: Slack retries within
        minutes, and a replay needs a signature under five minutes old.
        """
        wall = datetime.now(UTC)
        if self._pruned_at is not None and wall - self._pruned_at < PRUNE_EVERY:
            return
        self._pruned_at = wall
        active = select(Commitment.id).where(Commitment.status == "active")
        with session_scope(self.ctx.engine) as session:
            outbox = session.exec(  # type: ignore[call-overload]
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
            keys = session.exec(  # type: ignore[call-overload]
                delete(ProcessedDelivery)
                .where(col(ProcessedDelivery.seen_at) < wall - DELIVERY_KEY_RETENTION)
                .execution_options(synchronize_session=False)
            )
        report.pruned += int(outbox.rowcount or 0) + int(keys.rowcount or 0)

    # --- planning: which (rep, kind, period) rows should exist by now ------------------------
    def plan(self, now: datetime, report: PassReport) -> None:
        default_tz = self.ctx.settings.default_tz
        with session_scope(self.ctx.engine) as session:
            workspaces = {w.team_id: w for w in session.exec(select(Workspace).where(Workspace.active))}
            if not workspaces:
                return
            # Narrow column tuples, not ORM objects: this reads every active commitment each pass.
            active = session.exec(
                select(
                    Commitment.id,
                    Commitment.team_id,
                    Commitment.starts_on,
                    Commitment.ends_on,
                    Commitment.window_days,
                    Commitment.created_at,
                    Person.slack_user_id,
                    Person.tz,
                    Person.nudges_paused_until,
                )
                .join(Person, col(Person.id) == col(Commitment.person_id))
                .where(Commitment.status == "active", col(Commitment.team_id).in_(list(workspaces)), Person.active)
            ).all()
            existing = {
                (r[0], r[1], r[2], r[3])
                for r in session.exec(
                    select(
                        ScheduledMessage.team_id,
                        ScheduledMessage.rep_user_id,
                        ScheduledMessage.kind,
                        ScheduledMessage.period,
                    )
                    .join(Commitment, col(Commitment.id) == col(ScheduledMessage.commitment_id))
                    .where(Commitment.status == "active")
                )
            }
            rows: list[dict[str, Any]] = []
            for cid, team_id, starts_on, ends_on, window_days, created_at, rep_id, tz, paused_until in active:
                ws = workspaces[team_id]
                zone = zone_for(tz, default_tz)
                today = local_today(now, zone)
                if paused_until and paused_until > today:
                    continue
                wanted: list[tuple[str, str, datetime]] = []
                day, due = latest_weekly(now, zone, ws.nudge_weekday, ws.nudge_hour, ws.nudge_minute)
                if starts_on <= day <= ends_on and due >= _aware(created_at):
                    wanted.append(("nudge", day.isoformat(), due))
                if ws.reminders_enabled and window_days >= REMINDER_MIN_WINDOW:
                    mid = starts_on + timedelta(days=window_days // 2)
                    due = local_moment(mid, ws.nudge_hour, ws.nudge_minute, zone)
                    if due <= now:
                        wanted.append(("reminder", str(cid), due))
                close_due = local_moment(ends_on + timedelta(days=1), ws.nudge_hour, ws.nudge_minute, zone)
                if close_due <= now:
                    wanted.append(("closeout", str(cid), close_due))
                for kind, period, due in wanted:
                    key = (team_id, rep_id, kind, period)
                    if key not in existing:
                        existing.add(key)
                        rows.append(
                            {
                                "team_id": key[0],
                                "rep_user_id": key[1],
                                "kind": kind,
                                "period": period,
                                "commitment_id": cid,
                                "due_at": due,
                                "status": "pending",
                                "attempts": 0,
                                "created_at": now,
                            }
                        )
            rows += self._plan_summaries(session, workspaces, now)
            stmt = _insert(session)(ScheduledMessage).on_conflict_do_nothing(
                index_elements=["team_id", "rep_user_id", "kind", "period"]
            )
            for start in range(0, len(rows), PLAN_CHUNK):
                session.exec(stmt, params=rows[start : start + PLAN_CHUNK])  # type: ignore[call-overload]
            report.planned += len(rows)

    def _plan_summaries(
        self, session: Session, workspaces: dict[str, Workspace], now: datetime
    ) -> list[dict[str, Any]]:
        """One weekly summary per manager with reps, at the workspace's summary time in the manager's zone."""
        recent = {
            (r[0], r[1], r[2])
            for r in session.exec(
                select(ScheduledMessage.team_id, ScheduledMessage.rep_user_id, ScheduledMessage.period).where(
                    ScheduledMessage.kind == "summary", col(ScheduledMessage.due_at) >= now - timedelta(days=8)
                )
            )
        }
        managers = session.exec(
            select(Person.team_id, Person.manager_user_id)
            .where(col(Person.team_id).in_(list(workspaces)), Person.active, col(Person.manager_user_id).is_not(None))
            .distinct()
        ).all()
        tz_of = {
            (t, u): tz
            for t, u, tz in session.exec(
                select(Person.team_id, Person.slack_user_id, Person.tz).where(
                    col(Person.team_id).in_(list(workspaces)), Person.role == "manager"
                )
            )
        }
        rows = []
        for team_id, manager_id in managers:
            ws = workspaces[team_id]
            zone = zone_for(tz_of.get((team_id, manager_id)), self.ctx.settings.default_tz)
            day, due = latest_weekly(now, zone, ws.summary_weekday, ws.summary_hour, ws.summary_minute)
            if (team_id, manager_id, day.isoformat()) not in recent:
                rows.append(
                    {
                        "team_id": team_id,
                        "rep_user_id": manager_id,
                        "kind": "summary",
                        "period": day.isoformat(),
                        "commitment_id": None,
                        "due_at": due,
                        "status": "pending",
                        "attempts": 0,
                        "created_at": now,
                    }
                )
        return rows

    # --- crash recovery ------------------------------------------------------------------------
    def resolve_stale(self, now: datetime, report: PassReport) -> None:
        """Rows left in `sending` (a crash, or a send whose answer was lost): sent if Slack has them,
        sent again only if Slack's history shows they are not there. Each row is taken over with a
        conditional update, checked with Slack outside any transaction, then recorded; a row whose
        check fails stays "outcome unknown" for a later pass, and one that fails cannot stop the others.
        """
        with self.ctx.session() as session:
            sending = session.exec(select(ScheduledMessage).where(ScheduledMessage.status == "sending")).all()
            stale = [r for r in sending if self._is_stale(r, now)]
            channels = {r.id: self._known_channels(session, r) for r in stale}
            session.expunge_all()
        for row in stale:
            try:
                if self._take_over(row, now):
                    self._resolve_one(row, channels.get(row.id) or [], now, report)
            except Exception as exc:  # one bad row never stops the pass
                log.error("could not resolve key=%s error=%s", message_key(row), describe_error(exc))
                report.errors.append(message_key(row))

    def _is_stale(self, row: ScheduledMessage, now: datetime) -> bool:
        if row.next_attempt_at is not None and _aware(row.next_attempt_at) > datetime.now(UTC):
            return False  # checked recently, and the check could not tell: not yet
        # Whether a claim is alive is a matter of real time (the pass's `now` may be a catch-up time).
        wall = datetime.now(UTC)
        return _aware(row.claimed_at or wall) < wall - self.stale_after or _claimed_by_dead_process(row.claimed_by)

    def _known_channels(self, session: Session, row: ScheduledMessage) -> list[str | None]:
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

    def _take_over(self, row: ScheduledMessage, now: datetime) -> bool:
        """Only one dispatcher checks a row at a time; while it does, others skip it."""
        with session_scope(self.ctx.engine) as session:
            result = session.exec(  # type: ignore[call-overload]
                update(ScheduledMessage)
                .where(
                    col(ScheduledMessage.id) == row.id,
                    ScheduledMessage.status == "sending",
                    col(ScheduledMessage.claimed_by) == row.claimed_by
                    if row.claimed_by
                    else col(ScheduledMessage.claimed_by).is_(None),
                    col(ScheduledMessage.claimed_at) == row.claimed_at
                    if row.claimed_at
                    else col(ScheduledMessage.claimed_at).is_(None),
                )
                .values(claimed_by=self.worker_id, next_attempt_at=datetime.now(UTC) + self.stale_after)
                .execution_options(synchronize_session=False)
            )
            taken = result.rowcount == 1
        row.claimed_by = self.worker_id
        return taken

    def _search(self, row: ScheduledMessage, channels: list[str | None]) -> Search:
        oldest = (_aware(row.claimed_at) - timedelta(minutes=5)).timestamp() if row.claimed_at else 0.0
        unverified = ""
        for channel in channels:
            if channel is None:
                try:
                    channel = str(self.client.conversations_open(users=row.rep_user_id)["channel"]["id"])
                except (SlackApiError, URLError, *UNKNOWN_OUTCOME) as exc:
                    unverified = f"could not open the DM: {failure_reason(exc)}"
                    continue
            search = find_message(self.client, channel, METADATA_EVENT, message_key(row), oldest)
            if search.result is Lookup.FOUND:
                return Search(Lookup.FOUND, ts=search.ts, reason=channel)
            if search.result is Lookup.UNVERIFIED:
                unverified = search.reason
        return Search(Lookup.UNVERIFIED, reason=unverified) if unverified else Search(Lookup.ABSENT)

    def _resolve_one(
        self, row: ScheduledMessage, channels: list[str | None], now: datetime, report: PassReport
    ) -> None:
        search = self._search(row, channels)
        key = message_key(row)
        if search.result is Lookup.FOUND:
            log.info("resolved key=%s: already delivered", key)
            self._record(
                row, report, "resolved", status="sent", sent_at=now, slack_channel=search.reason, slack_ts=search.ts
            )
        elif search.result is Lookup.ABSENT and row.attempts >= MAX_ATTEMPTS:
            log.error("giving up key=%s after %d attempts: not delivered", key, row.attempts)
            self._record(row, report, "failed", status="failed", last_error="not delivered after retries")
        elif search.result is Lookup.ABSENT:
            log.info("resolved key=%s: not delivered; will send", key)
            self._record(row, report, None, status="pending", claimed_by=None, next_attempt_at=None)
        elif now - _aware(row.due_at) > self.grace:
            # Past the grace window and still unknown: recorded as such, with the reason, never resent blind.
            log.error("outcome never verified key=%s reason=%s; not resending", key, search.reason)
            self._record(row, report, "unverified", status="unverified", last_error=search.reason[:200])
        else:
            log.warning("outcome still unknown key=%s reason=%s; will check again", key, search.reason)
            self._record(row, report, "unconfirmed", last_error=search.reason[:200])

    def _record(self, row: ScheduledMessage, report: PassReport, counter: str | None, **values: Any) -> None:
        with session_scope(self.ctx.engine) as session:
            session.exec(  # type: ignore[call-overload]
                update(ScheduledMessage)
                .where(col(ScheduledMessage.id) == row.id, col(ScheduledMessage.claimed_by) == self.worker_id)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
        if counter:
            setattr(report, counter, getattr(report, counter) + 1)

    # --- claiming ------------------------------------------------------------------------------
    def claim(self, now: datetime) -> list[ScheduledMessage]:
        with session_scope(self.ctx.engine) as session:
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
                    )
                    .order_by(col(ScheduledMessage.due_at))
                    .limit(self.batch_size)
                    .with_for_update(skip_locked=True)
                )
            )
            if not rows:
                return []
            session.exec(  # type: ignore[call-overload]
                update(ScheduledMessage)
                .where(col(ScheduledMessage.id).in_([r.id for r in rows]), ScheduledMessage.status == "pending")
                .values(
                    status="sending",
                    claimed_by=self.worker_id,
                    claimed_at=datetime.now(UTC),
                    attempts=ScheduledMessage.attempts + 1,
                )
                .execution_options(synchronize_session=False)
            )
            for r in rows:
                r.status, r.claimed_by, r.claimed_at, r.attempts = (
                    "sending",
                    self.worker_id,
                    datetime.now(UTC),
                    r.attempts + 1,
                )
            session.expunge_all()
            return rows

    # --- delivery ------------------------------------------------------------------------------
    def deliver_batch(self, batch: list[ScheduledMessage], now: datetime, report: PassReport) -> None:
        with self.ctx.session() as session:
            data = _BatchData.load(session, batch)
        for row in batch:
            try:
                self._deliver(row, data, now, report)
            except Exception as exc:  # one bad message never stops the pass
                # It may have failed after Slack posted it: left claimed, the history decides later.
                log.error("dispatch error key=%s error=%s", message_key(row), describe_error(exc))
                report.errors.append(message_key(row))
                report.unconfirmed += 1

    def _deliver(self, row: ScheduledMessage, data: _BatchData, now: datetime, report: PassReport) -> None:
        if row.kind == "summary":
            return self._deliver_summary(row, data, now, report)
        ws = data.workspaces.get(row.team_id)
        person = data.people.get((row.team_id, row.rep_user_id))
        commitment = data.commitments.get(row.commitment_id or -1)
        if ws is None or not ws.active or person is None or commitment is None:
            return self._mark(row, "skipped", now, report, "workspace inactive or rep/commitment gone")
        zone = zone_for(person.tz, self.ctx.settings.default_tz)
        today = local_today(now, zone)
        late = now - _aware(row.due_at) > self.grace
        if row.kind == "closeout":
            logged = data.logged.get(commitment.id or -1, 0)
            if commitment.status == "active":
                self._close(commitment, logged, now)
                report.closed += 1
            if late:
                return self._mark(row, "skipped", now, report, "missed: past the grace window")
            message = rc.closeout_message(commitment, logged)
            refresh = [row.rep_user_id, commitment.manager_user_id]
        else:
            if late:
                return self._mark(row, "skipped", now, report, "missed: past the grace window")
            if commitment.status != "active" or (person.nudges_paused_until and person.nudges_paused_until > today):
                return self._mark(row, "skipped", now, report, "not needed: closed or paused")
            if row.kind == "reminder":
                if data.logged.get(commitment.id or -1, 0) > 0:
                    return self._mark(row, "skipped", now, report, "not needed: already logged")
                message = rc.reminder_message(commitment, today)
            else:
                archetype = data.archetypes.get(person.id or -1)
                items = []
                for c in data.active_by_person.get(person.id or -1, [commitment]):
                    gap = self.ctx.playbook.gaps.get(c.gap)
                    items.append((c, data.logged.get(c.id or -1, 0), gap.drill_for(archetype) if gap else None))
                message = rc.nudge_message(items, today)
        if person.unreachable_reason:
            return self._mark(row, "unreachable", now, report, person.unreachable_reason)
        self._send(row, person, message, now, report)
        if row.kind == "closeout":  # the Home tabs show the outcome now
            for user_id in refresh:
                publish_home(self.ctx, self.client, row.team_id, user_id)

    def _deliver_summary(self, row: ScheduledMessage, data: _BatchData, now: datetime, report: PassReport) -> None:
        ws = data.workspaces.get(row.team_id)
        if ws is None or not ws.active:
            return self._mark(row, "skipped", now, report, "workspace inactive")
        if now - _aware(row.due_at) > self.grace:
            return self._mark(row, "skipped", now, report, "missed: past the grace window")
        manager = data.people.get((row.team_id, row.rep_user_id))
        zone = zone_for(manager.tz if manager else None, self.ctx.settings.default_tz)
        with self.ctx.session() as session:
            messages = build_messages(session, self.ctx.playbook, row.team_id, row.rep_user_id, local_today(now, zone))
            channel = summary_channel(session, row.team_id, row.rep_user_id)
        if messages is None:
            return self._mark(row, "skipped", now, report, "no reps")
        metadata = {"event_type": METADATA_EVENT, "event_payload": {"key": message_key(row)}}
        note = ""
        if channel and (problem := self._channel_problem(channel)):
            # Made public, shared or left since it was set: wiring data goes to the manager's DM instead.
            note = f"I couldn't post your summary to <#{channel}>: {problem} So here it is in a DM."
            log.warning("summary channel refused manager=%s key=%s", row.rep_user_id, message_key(row))
            channel = None
        try:
            if channel:
                try:
                    if not self._heartbeat(row, channel):
                        return self._lost_claim(row, report)
                    ts = post_messages(self.client, channel, messages, metadata)
                    return self._mark(row, "sent", now, report, None, channel=channel, ts=ts)
                except SlackApiError as exc:
                    error = str(exc.response.get("error"))
                    if error not in ("not_in_channel", "channel_not_found", "is_archived"):
                        raise
                    note = f"I couldn't post your summary to <#{channel}> ({error}), so here it is in a DM."
                    log.warning(
                        "summary channel unusable manager=%s key=%s error=%s", row.rep_user_id, message_key(row), error
                    )
            dm = self.client.conversations_open(users=row.rep_user_id)["channel"]["id"]
            if note:
                messages[0] = {**messages[0], "blocks": [context_block(note), *messages[0]["blocks"][:49]]}
            if not self._heartbeat(row, dm):
                return self._lost_claim(row, report)
            ts = post_messages(self.client, dm, messages, metadata)
            self._mark(row, "sent", now, report, None, channel=dm, ts=ts)
        except SlackApiError as exc:
            error = str(exc.response.get("error") or exc.response.status_code)
            if exc.response.status_code >= 500:
                return self._unconfirmed(row, report, f"http {exc.response.status_code}")
            if error in UNREACHABLE:
                return self._mark(row, "unreachable", now, report, error)
            self._finish(row, now, report, error=error)
        except URLError:
            self._finish(row, now, report, error="connection failed")
        except UNKNOWN_OUTCOME as exc:
            self._unconfirmed(row, report, type(exc).__name__)

    def _send(
        self, row: ScheduledMessage, person: Person, message: dict[str, Any], now: datetime, report: PassReport
    ) -> None:
        try:
            channel = person.dm_channel
            if not channel:
                channel = self.client.conversations_open(users=row.rep_user_id)["channel"]["id"]
                self._remember_channel(person, channel)
            if not self._heartbeat(row, channel):
                return self._lost_claim(row, report)
            resp = self.client.chat_postMessage(
                channel=channel,
                **message,
                metadata={"event_type": METADATA_EVENT, "event_payload": {"key": message_key(row)}},
            )
        except SlackApiError as exc:
            error = str(exc.response.get("error") or exc.response.status_code)
            if exc.response.status_code >= 500:
                return self._unconfirmed(row, report, f"http {exc.response.status_code}")
            if error in UNREACHABLE:
                self._mark_unreachable(person, error)
                self._mark(row, "unreachable", now, report, error)
                log.warning("unreachable rep=%s key=%s error=%s", row.rep_user_id, message_key(row), error)
            else:
                self._finish(row, now, report, error=error)
            return
        except URLError:  # never reached Slack (the client already retried): safe to send again later
            return self._finish(row, now, report, error="connection failed")
        except UNKNOWN_OUTCOME as exc:
            return self._unconfirmed(row, report, type(exc).__name__)
        self._mark(row, "sent", now, report, None, channel=channel, ts=str(resp.get("ts")))

    def _heartbeat(self, row: ScheduledMessage, channel: str) -> bool:
        """Right before a post: this dispatcher still holds the row (it was not taken over as stale),
        its claim is fresh again, and the row says where the message goes (crash resolution looks there).

        A DM whose claim this dispatcher made moments ago needs no write: nobody may take a claim over
        before it is `stale_after` old, and crash resolution finds a DM through the rep's DM channel.
        """
        moment = datetime.now(UTC)
        fresh = row.claimed_at is not None and moment - _aware(row.claimed_at) < self.stale_after / 4
        if fresh and row.kind != "summary" and row.claimed_by == self.worker_id:
            return True
        with session_scope(self.ctx.engine) as session:
            result = session.exec(  # type: ignore[call-overload]
                update(ScheduledMessage)
                .where(
                    col(ScheduledMessage.id) == row.id,
                    ScheduledMessage.status == "sending",
                    col(ScheduledMessage.claimed_by) == self.worker_id,
                )
                .values(claimed_at=moment, slack_channel=channel[:32])
                .execution_options(synchronize_session=False)
            )
            return bool(result.rowcount == 1)

    def _lost_claim(self, row: ScheduledMessage, report: PassReport) -> None:
        log.warning("claim taken over before sending key=%s; left to the dispatcher that holds it", message_key(row))
        report.errors.append(message_key(row))

    def _channel_problem(self, channel: str) -> str | None:
        try:
            return channel_privacy_problem(self.client, channel)
        except (SlackApiError, URLError, *UNKNOWN_OUTCOME) as exc:
            return f"I couldn't check that it is still private ({failure_reason(exc)})."

    def _unconfirmed(self, row: ScheduledMessage, report: PassReport, error: str) -> None:
        """Slack may or may not have posted it: leave the row claimed, so that once it is stale the
        DM's history decides between 'sent' and a resend. Never a blind second send."""
        log.warning(
            "outcome unknown rep=%s key=%s error=%s; will check Slack before any resend",
            row.rep_user_id,
            message_key(row),
            error,
        )
        report.unconfirmed += 1

    def _finish(self, row: ScheduledMessage, now: datetime, report: PassReport, error: str) -> None:
        """A transient failure: retry later with backoff, or give up after MAX_ATTEMPTS."""
        if row.attempts >= MAX_ATTEMPTS:
            log.error(
                "giving up rep=%s key=%s after %d attempts error=%s",
                row.rep_user_id,
                message_key(row),
                row.attempts,
                error,
            )
            return self._mark(row, "failed", now, report, error)
        delay = BACKOFF[min(row.attempts - 1, len(BACKOFF) - 1)]
        log.warning(
            "will retry rep=%s key=%s in %ss error=%s",
            row.rep_user_id,
            message_key(row),
            int(delay.total_seconds()),
            error,
        )
        with session_scope(self.ctx.engine) as session:
            session.exec(
                update(ScheduledMessage)
                .where(col(ScheduledMessage.id) == row.id, col(ScheduledMessage.claimed_by) == self.worker_id)
                .values(  # type: ignore[call-overload]
                    status="pending", next_attempt_at=now + delay, last_error=error[:200], claimed_by=None
                )
            )
        report.retrying += 1

    def _mark(
        self,
        row: ScheduledMessage,
        status: str,
        now: datetime,
        report: PassReport,
        reason: str | None,
        channel: str | None = None,
        ts: str | None = None,
    ) -> None:
        values: dict[str, Any] = {"status": status, "last_error": (reason or "")[:200] or None}
        if status == "sent":
            values.update(sent_at=now, slack_channel=channel, slack_ts=ts)
        with session_scope(self.ctx.engine) as session:
            session.exec(  # type: ignore[call-overload]
                update(ScheduledMessage)
                .where(col(ScheduledMessage.id) == row.id, col(ScheduledMessage.claimed_by) == self.worker_id)
                .values(**values)
            )
        setattr(report, status, getattr(report, status) + 1)

    def _close(self, commitment: Commitment, logged: int, now: datetime) -> None:
        with session_scope(self.ctx.engine) as session:
            current = session.get(Commitment, commitment.id)
            if current is None or current.status != "active":
                return
            previous = session.exec(
                select(func.count())
                .select_from(Commitment)
                .where(
                    Commitment.team_id == current.team_id,
                    Commitment.person_id == current.person_id,
                    Commitment.gap == current.gap,
                    col(Commitment.cycle_number).is_not(None),
                )
            ).one()
            current.status = "met" if logged >= current.target_count else "missed"
            current.closed_at, current.cycle_number = now, int(previous) + 1
            session.add(current)
        commitment.status = current.status

    def _remember_channel(self, person: Person, channel: str) -> None:
        person.dm_channel = channel
        with session_scope(self.ctx.engine) as session:
            session.exec(update(Person).where(col(Person.id) == person.id).values(dm_channel=channel))  # type: ignore[call-overload]

    def _mark_unreachable(self, person: Person, error: str) -> None:
        person.unreachable_reason = error
        with session_scope(self.ctx.engine) as session:
            session.exec(update(Person).where(col(Person.id) == person.id).values(unreachable_reason=error[:64]))  # type: ignore[call-overload]


@dataclass
class _BatchData:
    """Everything a batch of messages needs, read with a handful of queries instead of per message."""

    workspaces: dict[str, Workspace]
    people: dict[tuple[str, str], Person]
    commitments: dict[int, Commitment]
    active_by_person: dict[int, list[Commitment]]
    logged: dict[int, int]
    archetypes: dict[int, str]

    @classmethod
    def load(cls, session: Session, batch: list[ScheduledMessage]) -> _BatchData:
        teams = {r.team_id for r in batch}
        workspaces = {w.team_id: w for w in session.exec(select(Workspace).where(col(Workspace.team_id).in_(teams)))}
        reps = {r.rep_user_id for r in batch}
        people = {
            (p.team_id, p.slack_user_id): p
            for p in session.exec(
                select(Person).where(col(Person.team_id).in_(teams), col(Person.slack_user_id).in_(reps))
            )
        }
        person_ids = [p.id for p in people.values()]
        referenced = {r.commitment_id for r in batch if r.commitment_id}
        commitments = {
            c.id: c
            for c in session.exec(
                select(Commitment).where(
                    or_(
                        col(Commitment.id).in_(referenced),
                        (col(Commitment.person_id).in_(person_ids)) & (Commitment.status == "active"),
                    )
                )
            )
        }
        active_by_person: dict[int, list[Commitment]] = defaultdict(list)
        for c in sorted(commitments.values(), key=lambda c: c.id or 0):
            if c.status == "active":
                active_by_person[c.person_id].append(c)
        logged = {
            cid: int(total)
            for cid, total in session.exec(
                select(CheckIn.commitment_id, func.sum(CheckIn.count))
                .where(col(CheckIn.commitment_id).in_(list(commitments)))
                .group_by(CheckIn.commitment_id)
            )
        }
        archetypes: dict[int, str] = {}
        versions: dict[int, int] = {}
        for pid, version, archetype in session.exec(
            select(WiringProfile.person_id, WiringProfile.version, WiringProfile.archetype).where(
                col(WiringProfile.person_id).in_(person_ids)
            )
        ):
            if version > versions.get(pid, 0):
                versions[pid], archetypes[pid] = version, archetype
        return cls(
            workspaces,
            people,
            {k: v for k, v in commitments.items() if k is not None},
            active_by_person,
            logged,
            archetypes,
        )
