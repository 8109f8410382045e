"""The rep's week as use cases: log a check-in, report a block, reflect, pause or resume nudges.

Each flow reads and writes in short transactions and talks to Slack only between them; it returns
what to tell the person, and the listener decides how (an ephemeral reply or a DM).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.coaching import service as svc
from bot.coaching.views import commitment_dm
from bot.context import AppContext
from bot.practice.schedule import local_today, zone_for
from bot.roster.access import in_workspace, is_own_member, may_coach
from bot.roster.views import text_message
from bot.slack import Message
from bot.slack.delivery import NotSent, OutcomeUnknown, dm_once, failure_reason
from bot.slack.text import USER_ID_IN_TEXT, escape_mrkdwn, truncate
from bot.slack.users import fetch_user
from storage import queries
from storage.db import session_scope
from storage.models import Commitment, Person

log = logging.getLogger("coachbot.checkins")
PAUSE_MAX_DAYS = 180
CHECKIN_MAX = 20
NOTE_MAX = 500
NOT_MAY_PAUSE = "Only the rep, their manager or a Coachbot admin can pause or resume a rep's practice nudges."
OUTSIDE = "Check-ins are for reps of this workspace."


@dataclass
class CheckInOutcome:
    """What to tell the rep, the commitment DM redrawn with the new count (when the click came from
    it), and whose Home tabs to refresh afterwards."""

    text: str
    redrawn: Message | None = None
    refresh: list[str] = field(default_factory=list)


def _redraw(ctx: AppContext, commitment: Commitment, person: Person | None, logged: int, team_id: str) -> Message:
    with ctx.session() as session:
        wiring, _ = svc.wiring_of(session, team_id, person)
    archetype = ctx.playbook.archetypes.get(wiring.archetype or "")
    gap = ctx.playbook.gaps.get(commitment.gap)
    return commitment_dm(
        commitment,
        commitment.manager_user_id,
        archetype.first_practice_step if archetype else None,
        gap.drill_for(wiring.archetype) if gap else None,
        logged,
        ctx.playbook,
    )


def check_in(
    ctx: AppContext,
    client: WebClient,
    body: dict[str, Any],
    team_id: str,
    user_id: str,
    commitment_id: int,
    count: int,
    note: str,
    source: str,
    container_ts: str | None = None,
) -> CheckInOutcome:
    if not is_own_member(client, body, user_id, team_id):
        return CheckInOutcome(OUTSIDE)
    with session_scope(ctx.engine) as session:
        result = svc.log_check_in(
            session, team_id, commitment_id, user_id, count, note, source, ctx.clock(), ctx.settings.default_tz
        )
        commitment = svc.get_commitment(session, team_id, commitment_id) if result.ok else None
        person = session.get(Person, commitment.person_id) if commitment else None
    if not result.ok or commitment is None:
        return CheckInOutcome(result.message)
    redrawn = None
    if container_ts and container_ts == commitment.dm_ts:
        redrawn = _redraw(ctx, commitment, person, result.logged, team_id)
    done = " That's the target. Nice work." if result.logged >= result.target > result.logged - count else ""
    text = f"Logged {count}. {result.logged} of {result.target} so far.{done}"
    return CheckInOutcome(text, redrawn, [user_id, commitment.manager_user_id])


def own_commitment(ctx: AppContext, team_id: str, user_id: str, commitment_id: int) -> bool:
    """The commitment is this rep's own (only they log against it)."""
    with ctx.session() as session:
        commitment = svc.get_commitment(session, team_id, commitment_id)
        person = session.get(Person, commitment.person_id) if commitment else None
    return person is not None and person.slack_user_id == user_id


def active_commitments(ctx: AppContext, team_id: str, user_id: str) -> list[Commitment]:
    with ctx.session() as session:
        return svc.active_commitments_of(session, team_id, user_id)


def report_blocked(
    ctx: AppContext,
    client: WebClient,
    body: dict[str, Any],
    team_id: str,
    user_id: str,
    commitment_id: int,
    reason: str,
) -> str:
    """Store what is in the way and tell the manager once; returns what to tell the rep."""
    if not is_own_member(client, body, user_id, team_id):
        return OUTSIDE
    with session_scope(ctx.engine) as session:
        result = svc.log_check_in(
            session, team_id, commitment_id, user_id, 0, reason, "blocked", ctx.clock(), ctx.settings.default_tz
        )
        commitment = svc.get_commitment(session, team_id, commitment_id)
    if not result.ok or commitment is None:
        return result.message
    told = f"<@{user_id}> is blocked on “{escape_mrkdwn(truncate(commitment.behavior, 200))}”: {escape_mrkdwn(reason)}"
    try:
        dm_once(client, commitment.manager_user_id, text_message(told), f"blocked:{team_id}:{result.check_in_id}")
    except (SlackApiError, NotSent, OutcomeUnknown) as exc:
        log.warning("blocked reason not confirmed to the manager error=%s", failure_reason(exc))
        return "I saved what's in the way, but I couldn't confirm your manager got it."
    return "Thanks. I've told your manager what's in the way."


def save_reflection(ctx: AppContext, team_id: str, user_id: str, commitment_id: int, text: str) -> str:
    with session_scope(ctx.engine) as session:
        saved = svc.set_reflection(session, team_id, commitment_id, user_id, text)
    return (
        "Reflection saved. Bring it to your next 1:1."
        if saved
        else "I couldn't find that commitment, so nothing was saved."
    )


def pause_problem(until: date | None, today: date) -> str | None:
    if until is None or until <= today:
        return "Pick a date after today."
    if until > today + timedelta(days=PAUSE_MAX_DAYS):
        return f"Pause for at most {PAUSE_MAX_DAYS} days at a time."
    return None


def pause_form_day(ctx: AppContext, client: WebClient, team_id: str, caller: str, rep_id: str) -> date | str:
    """The rep's own today, for the pause form; or why the caller may not open it."""
    with ctx.session() as session:
        person = queries.get_person(session, team_id, rep_id)
    if person is None:
        return f"<@{rep_id}> isn't on the Coachbot roster, so there is nothing to pause."
    if caller != rep_id and not may_coach(ctx.settings, client, caller, person, team_id):
        return NOT_MAY_PAUSE
    return local_today(ctx.clock(), zone_for(person.tz, ctx.settings.default_tz))


def apply_pause(ctx: AppContext, client: WebClient, team_id: str, caller: str, rep_id: str, until: date | None) -> str:
    """Pause or resume a rep's nudges (the rep, their manager or an admin); returns the answer."""
    with ctx.session() as session:
        person = queries.get_person(session, team_id, rep_id) if USER_ID_IN_TEXT.fullmatch(rep_id) else None
    if person is None:
        return NOT_MAY_PAUSE
    if caller == rep_id:
        allowed = in_workspace(fetch_user(client, caller), team_id)
    else:
        allowed = may_coach(ctx.settings, client, caller, person, team_id)
    if not allowed:
        return NOT_MAY_PAUSE
    today = local_today(ctx.clock(), zone_for(person.tz, ctx.settings.default_tz))
    with session_scope(ctx.engine) as session:
        svc.pause_nudges(session, team_id, rep_id, until, today)
    who = "your" if caller == rep_id else f"<@{rep_id}>'s"
    if until is None:
        return f"Practice nudges for {who} commitments are back on."
    return (
        f"Practice nudges for {who} commitments are paused until {until.isoformat()}. "
        "Commitment windows are extended by the paused days, not failed."
    )
