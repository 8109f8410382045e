"""What each claimed row becomes: a nudge, reminder or closeout for a rep, a manager's summary or
slip warning, or nothing (skipped) when it is no longer wanted. The message is built from data read before any
Slack call, and one bad row never stops the rest of the batch."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from slack_sdk.errors import SlackApiError
from sqlalchemy import func, update
from sqlmodel import col, select

from bot.errors import describe_error
from bot.learning.service import record_close
from bot.onboarding.rules import phase_of, plan_day
from bot.onboarding.service import settle_behavior
from bot.outbox.batch import BatchData
from bot.outbox.claiming import lost_claim, release
from bot.outbox.outcomes import finish, mark
from bot.outbox.planning import load_pace, slip_of
from bot.outbox.report import PassReport
from bot.outbox.rows import METADATA_EVENT, aware, message_key
from bot.outbox.sending import UNREACHABLE, Throttled, post_summary, send
from bot.outbox.worker import Worker
from bot.practice import views as rc
from bot.practice.pace import slip_message
from bot.practice.schedule import local_today, zone_for
from bot.slack import Message
from bot.slack.delivery import NO_ANSWER, failure_reason
from bot.slack.installs import NotInstalled, TokenUnavailable
from bot.team.home import publish_home
from bot.team.service import build_messages, summary_channel
from storage import queries
from storage.db import session_scope
from storage.models import Commitment, Person, ScheduledMessage

log = logging.getLogger("coachbot.dispatch")
# No client for the workspace just now (its token could not be rotated): nothing was sent, retry later.
NO_TOKEN: tuple[type[BaseException], ...] = (TokenUnavailable, *NO_ANSWER)


def deliver_batch(worker: Worker, batch: list[ScheduledMessage], now: datetime, report: PassReport) -> None:
    """One batch, row after row on this thread (the pass itself sends on lanes: bot.outbox.pool)."""
    with worker.ctx.session() as session:
        data = BatchData.load(session, batch)
    for row in batch:
        try:
            deliver_one(worker, row, data, now, report)
        except Throttled as exc:  # nothing posted: back to the outbox, due when Slack allows
            release(worker, [row], now + timedelta(seconds=exc.seconds))
            report.add("throttled")


def deliver_one(worker: Worker, row: ScheduledMessage, data: BatchData, now: datetime, report: PassReport) -> None:
    """What the row becomes; raises only Throttled (Slack's 429: nothing was posted)."""
    try:  # the workspace's client first: a token that cannot be had now means nothing was sent
        worker.client_for(row.team_id)
    except NotInstalled:
        return mark(worker, row, "skipped", now, report, "workspace not installed")
    except NO_TOKEN as exc:
        return finish(worker, row, now, report, error=f"no token: {type(exc).__name__}")
    try:
        _deliver(worker, row, data, now, report)
    except Throttled:
        raise
    except NotInstalled:  # no token for the workspace (uninstalled, revoked): nothing could be sent
        mark(worker, row, "skipped", now, report, "workspace not installed")
    except Exception as exc:  # one bad message never stops the pass
        # It may have failed after Slack posted it: left claimed, the history decides later.
        log.error("dispatch error key=%s error=%s", message_key(row), describe_error(exc))
        report.errors.append(message_key(row))
        report.add("unconfirmed")


def _deliver(worker: Worker, row: ScheduledMessage, data: BatchData, now: datetime, report: PassReport) -> None:
    if row.kind == "summary":
        return _deliver_summary(worker, row, data, now, report)
    if row.kind == "slip":
        return _deliver_slip(worker, row, data, now, report)
    ws = data.workspaces.get(row.team_id)
    person = data.people.get((row.team_id, row.rep_user_id))
    commitment = data.commitments.get(row.commitment_id or -1)
    if ws is None or not ws.active or person is None or commitment is None:
        return mark(worker, row, "skipped", now, report, "workspace inactive or rep/commitment gone")
    zone = zone_for(person.tz, worker.ctx.settings.default_tz)
    today = local_today(now, zone)
    late = now - aware(row.due_at) > worker.grace
    if row.kind == "closeout":
        logged = data.logged.get(commitment.id or -1, 0)
        if commitment.status == "active":
            _close(worker, commitment, logged, now)
            report.add("closed")
        if late:
            return mark(worker, row, "skipped", now, report, "missed: past the grace window")
        message = rc.closeout_message(commitment, logged)
        refresh = [row.rep_user_id, commitment.manager_user_id]
    else:
        if late:
            return mark(worker, row, "skipped", now, report, "missed: past the grace window")
        if commitment.status != "active" or (person.nudges_paused_until and person.nudges_paused_until > today):
            return mark(worker, row, "skipped", now, report, "not needed: closed or paused")
        if row.kind == "reminder":
            if data.logged.get(commitment.id or -1, 0) > 0:
                return mark(worker, row, "skipped", now, report, "not needed: already logged")
            message = rc.reminder_message(commitment, today)
        else:
            archetype = data.archetypes.get(person.id or -1)
            items = []
            for c in data.active_by_person.get(person.id or -1, [commitment]):
                gap = worker.ctx.for_team(row.team_id).playbook.gaps.get(c.gap)
                items.append((c, data.logged.get(c.id or -1, 0), gap.drill_for(archetype) if gap else None))
            message = rc.nudge_message(items, today, _phase_line(worker, data.plan_starts.get(person.id or -1), today))
    if person.unreachable_reason:
        return mark(worker, row, "unreachable", now, report, person.unreachable_reason)
    send(worker, row, person, message, now, report)
    if row.kind == "closeout":  # the Home tabs show the outcome now
        for user_id in refresh:
            publish_home(worker.ctx, worker.client_for(row.team_id), row.team_id, user_id)


def _phase_line(worker: Worker, start: date | None, today: date) -> str | None:
    """For a hire with a 30/60/90 plan: which phase this week is in, and what it is for."""
    phase = phase_of(plan_day(start, today)) if start else None
    if start is None or phase is None:
        return None
    spec = worker.ctx.playbook.onboarding.phases[phase - 1]
    return f"Onboarding, day {plan_day(start, today)} of 90 ({spec.name}): {spec.focus}"


def _deliver_summary(worker: Worker, row: ScheduledMessage, data: BatchData, now: datetime, report: PassReport) -> None:
    ws = data.workspaces.get(row.team_id)
    if ws is None or not ws.active:
        return mark(worker, row, "skipped", now, report, "workspace inactive")
    if now - aware(row.due_at) > worker.grace:
        return mark(worker, row, "skipped", now, report, "missed: past the grace window")
    manager = data.people.get((row.team_id, row.rep_user_id))
    zone = zone_for(manager.tz if manager else None, worker.ctx.settings.default_tz)
    playbook = worker.ctx.for_team(row.team_id).playbook  # the workspace's own, when it has one
    with worker.ctx.session() as session:
        messages = build_messages(session, playbook, row.team_id, row.rep_user_id, local_today(now, zone))
        channel = summary_channel(session, row.team_id, row.rep_user_id)
    if messages is None:
        return mark(worker, row, "skipped", now, report, "no reps")
    metadata = {"event_type": METADATA_EVENT, "event_payload": {"key": message_key(row)}}
    post_summary(worker, row, channel, messages, metadata, now, report)


def _close(worker: Worker, commitment: Commitment, logged: int, now: datetime) -> None:
    with session_scope(worker.ctx.engine) as session:
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
        record_close(session, current)  # the outcome ledger, in the same transaction as the close
        settle_behavior(session, current, now)
    commitment.status = current.status


def _deliver_slip(worker: Worker, row: ScheduledMessage, data: BatchData, now: datetime, report: PassReport) -> None:
    """The heads-up about a rep slipping behind their own pace. The row's key names the rep (one per
    window); the DM goes to the rep's manager. Everything is checked again from fresh data first:
    closed, paused, reminders off, no manager, back on pace or the window over means no message."""
    ws = data.workspaces.get(row.team_id)
    person = data.people.get((row.team_id, row.rep_user_id))
    commitment = data.commitments.get(row.commitment_id or -1)
    if ws is None or not ws.active or person is None or person.id is None or commitment is None:
        return mark(worker, row, "skipped", now, report, "workspace inactive or rep/commitment gone")
    if now - aware(row.due_at) > worker.grace:
        return mark(worker, row, "skipped", now, report, "missed: past the grace window")
    zone = zone_for(person.tz, worker.ctx.settings.default_tz)
    paused = person.nudges_paused_until is not None and person.nudges_paused_until > local_today(now, zone)
    if commitment.status != "active" or paused or not ws.reminders_enabled or not person.manager_user_id:
        return mark(worker, row, "skipped", now, report, "not needed: closed, paused, quiet or no manager")
    with worker.ctx.session() as session:
        past, checkins = load_pace(session, {commitment.id or -1: person.id}, now.date())
        manager = queries.get_person(session, row.team_id, person.manager_user_id)
    current = (commitment.id, person.id, commitment.starts_on, commitment.ends_on, commitment.target_count)
    slip = slip_of(
        current, past.get(person.id, []), checkins, zone, now, worker.ctx.for_team(row.team_id).playbook.coaching_debt
    )
    if slip is None:
        return mark(worker, row, "skipped", now, report, "not needed: back on pace or the window is over")
    if manager is not None and manager.unreachable_reason:
        return mark(worker, row, "unreachable", now, report, f"manager: {manager.unreachable_reason}")
    manager = manager or Person(team_id=row.team_id, slack_user_id=person.manager_user_id)
    message = slip_message(row.rep_user_id, commitment.behavior, slip, commitment.ends_on)
    _send_to_manager(worker, row, manager, message, now, report)


def _send_to_manager(
    worker: Worker, row: ScheduledMessage, manager: Person, message: Message, now: datetime, report: PassReport
) -> None:
    """`send` posts to the DM it is given and opens one for the row's user (here the rep), so the
    manager's DM is opened first, and written on the row before the post: crash recovery then looks
    for the message in the manager's DM, not the rep's."""
    channel = manager.dm_channel
    if not channel:
        try:
            opened = worker.client_for(row.team_id).conversations_open(users=manager.slack_user_id)
            channel = str(opened["channel"]["id"])
        except SlackApiError as exc:
            error = failure_reason(exc)
            if error in UNREACHABLE:
                return mark(worker, row, "unreachable", now, report, f"manager: {error}")
            return finish(worker, row, now, report, error=error)
        except NO_ANSWER as exc:  # opening a DM can be repeated safely: retry later
            return finish(worker, row, now, report, error=failure_reason(exc))
        manager.dm_channel = channel
        if manager.id is not None:
            with session_scope(worker.ctx.engine) as session:
                session.exec(update(Person).where(col(Person.id) == manager.id).values(dm_channel=channel))
    with session_scope(worker.ctx.engine) as session:
        pinned = session.exec(
            update(ScheduledMessage)
            .where(
                col(ScheduledMessage.id) == row.id,
                col(ScheduledMessage.status) == "sending",
                col(ScheduledMessage.claimed_by) == worker.worker_id,
            )
            .values(slack_channel=channel[:32])
            .execution_options(synchronize_session=False)
        ).rowcount
    if pinned != 1:
        return lost_claim(row, report)
    send(worker, row, manager, message, now, report)
