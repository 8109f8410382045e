"""Diagnose and prescribe as use cases: who may, what the forms show, and sending the results.

Slack is asked (who someone is, a DM) only between transactions. Every flow returns plain values
or the text to tell the manager; listeners only parse the request and show the answer.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.cases import service as cases
from bot.coaching import service as svc
from bot.coaching import views
from bot.coaching.rules import CommitmentDraft
from bot.context import AppContext
from bot.learning import service as learning
from bot.learning import views as learning_views
from bot.roster import service as roster_service
from bot.roster.access import may_coach, user_is_admin
from bot.slack import Message, View
from bot.slack.delivery import UNKNOWN_OUTCOME, NotSent, OutcomeUnknown, dm_if_absent, dm_once, failure_reason
from bot.slack.users import SlackUser, coachable_problem, fetch_user
from bot.team.home import refresh_home
from storage import queries
from storage.db import session_scope
from storage.models import Commitment, Person

log = logging.getLogger("coachbot.diagnose")
NOT_YOUR_REP = "Only a rep's manager or a Coachbot admin can diagnose or prescribe for them."


@dataclass(frozen=True)
class Refused:
    """Why a flow did nothing, in words fit for the person who asked."""

    text: str


def may_coach_rep(ctx: AppContext, client: WebClient, team_id: str, caller: str, rep_id: str) -> bool:
    with ctx.session() as session:
        person = queries.get_person(session, team_id, rep_id)
    return may_coach(ctx.settings, client, caller, person, team_id)


def diagnose_form(
    ctx: AppContext, client: WebClient, team_id: str, caller: str, rep_id: str, note: str = ""
) -> View | Refused:
    """The diagnose modal for a rep the caller may coach."""
    with ctx.session() as session:
        person = queries.get_person(session, team_id, rep_id)
    if not may_coach(ctx.settings, client, caller, person, team_id):
        return Refused(NOT_YOUR_REP)
    viewer = None if user_is_admin(ctx.settings, client, caller, team_id) else caller  # Slack's record, read once
    with ctx.session() as session:
        card = roster_service.load_wiring_card(session, team_id, rep_id)
        history = svc.recent_history(session, team_id, person.id, ctx.playbook) if person and person.id else []
        advice = None
        if person is not None and person.id is not None and card is not None:
            advice = cases.advice_for(session, ctx.playbook, team_id, person.id, card, note, viewer, ctx.clock().date())
    return views.diagnose_modal(rep_id, card, history, ctx.playbook, ctx.clock().date(), note, advice)


def rep_for_submission(
    ctx: AppContext, client: WebClient, team_id: str, caller: str, rep_id: str, failed: str
) -> SlackUser | Refused:
    """Re-check after a form was submitted (things change while it is open): the rep is still
    coachable and the caller may coach them."""
    rep = fetch_user(client, rep_id)
    if problem := coachable_problem(rep, team_id, f"<@{rep_id}>"):
        return Refused(f"{failed}: {problem}")
    if rep is None or not may_coach_rep(ctx, client, team_id, caller, rep_id):
        return Refused(NOT_YOUR_REP)
    return rep


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Diagnosed:
    """The brief went out (or could not): `retry` when it certainly did not, so the same form may
    come again and deliver it."""

    retry: bool = False


def record_and_brief(
    ctx: AppContext,
    client: WebClient,
    team_id: str,
    caller: str,
    rep: SlackUser,
    answers: tuple[str, str | None, str | None, str],
    submission_key: str,
) -> Diagnosed:
    """Store the diagnosis once per form and DM the manager the brief once."""
    cause, gap, drag, evidence = answers
    with session_scope(ctx.engine) as session:
        result = svc.record_diagnosis(
            session, ctx.playbook, team_id, rep, caller, cause, gap, drag, evidence,
            submission_key=submission_key, now=ctx.clock(),
        )  # fmt: skip
        if result.created:  # indexed in the same transaction: a case is never half recorded
            cases.index_case(session, result.diagnosis)
        has_profile = result.diagnosis.profile_version is not None
    assert result.diagnosis.id is not None
    brief = views.brief_message(rep.id, result.brief, result.diagnosis.id, evidence, has_profile)
    key = f"brief:{team_id}:{result.diagnosis.id}"
    try:
        if result.created:
            dm_once(client, caller, brief, key)
        else:  # the same form again: its brief may never have gone out; the history decides
            since = _aware(result.diagnosis.created_at).timestamp() - 300
            dm_if_absent(client, caller, brief, key, since)
    except NotSent as exc:
        log.error("brief not delivered team=%s diagnosis=%s error=%s", team_id, result.diagnosis.id, exc.reason)
        return Diagnosed(retry=True)
    except (SlackApiError, OutcomeUnknown) as exc:
        reason = failure_reason(exc)
        log.error("brief not delivered team=%s diagnosis=%s error=%s", team_id, result.diagnosis.id, reason)
    return Diagnosed()


def prescribe_form(
    ctx: AppContext, client: WebClient, team_id: str, caller: str, diagnosis_id: int | None
) -> View | Refused:
    with ctx.session() as session:
        diagnosis = svc.get_diagnosis(session, team_id, diagnosis_id) if diagnosis_id else None
        person = session.get(Person, diagnosis.person_id) if diagnosis else None
    if diagnosis is None or person is None or person.team_id != team_id:
        return Refused("I couldn't find that diagnosis any more.")
    if not may_coach(ctx.settings, client, caller, person, team_id):
        return Refused(NOT_YOUR_REP)
    with ctx.session() as session:
        assert person.id is not None
        gap = diagnosis.gap or svc.GENERAL_GAP
        current = svc.active_commitment(session, team_id, person.id, gap)
        logged = svc.logged_count(session, team_id, current.id) if current and current.id else 0
        wiring, _ = svc.wiring_of(session, team_id, person)
        advice = learning.advice_for(session, ctx.playbook, team_id, person.id, wiring.archetype, gap)
    gap_spec = ctx.playbook.gaps.get(gap)
    return views.prescribe_modal(
        diagnosis.id or 0,
        person.slack_user_id,
        gap_spec.name if gap_spec else "this week's focus",
        gap_spec.drill_for(wiring.archetype) if gap_spec else None,
        current,
        logged,
        ctx.playbook,
        advice,
    )


def _commitment_message(ctx: AppContext, team_id: str, person: Person, commitment: Commitment, caller: str) -> Message:
    with ctx.session() as session:
        wiring, _ = svc.wiring_of(session, team_id, person)
    archetype = ctx.playbook.archetypes.get(wiring.archetype or "")
    gap_spec = ctx.playbook.gaps.get(commitment.gap)
    return views.commitment_dm(
        commitment,
        caller,
        archetype.first_practice_step if archetype else None,
        gap_spec.drill_for(wiring.archetype) if gap_spec else None,
        0,
        ctx.playbook,
    )


def prescribe_and_send(
    ctx: AppContext,
    client: WebClient,
    team_id: str,
    caller: str,
    diagnosis_id: int,
    draft: CommitmentDraft,
    confirm_replace: bool,
    submission_key: str,
) -> str | None:
    """Draft the commitment, DM the rep (outside any transaction), then activate it; returns the
    answer for the manager (None for a repeated form)."""
    with ctx.session() as session:
        diagnosis = svc.get_diagnosis(session, team_id, diagnosis_id)
        person = session.get(Person, diagnosis.person_id) if diagnosis else None
    if diagnosis is None or person is None or person.team_id != team_id:
        return "I couldn't find that diagnosis any more, so nothing was sent."
    rep_id = person.slack_user_id
    if not may_coach(ctx.settings, client, caller, person, team_id):
        return NOT_YOUR_REP
    if problem := coachable_problem(fetch_user(client, rep_id), team_id, f"<@{rep_id}>"):
        return f"Nothing was sent: {problem}"
    now = ctx.clock()
    with session_scope(ctx.engine) as session:
        result = svc.prescribe(
            session, team_id, diagnosis, caller, draft, now.date(), confirm_replace,
            submission_key=submission_key, now=now,
        )  # fmt: skip
    if result.status == svc.PrescribeStatus.DUPLICATE:
        return None
    if result.status == svc.PrescribeStatus.NEEDS_CONFIRMATION:
        return (
            f"<@{rep_id}> got another active commitment for this gap while the form was open. "
            "Nothing was changed; prescribe again to replace it."
        )
    commitment = result.commitment
    assert commitment is not None and commitment.id is not None
    message = _commitment_message(ctx, team_id, person, commitment, caller)
    channel: str | None = None
    ts: str | None = None
    unconfirmed = ""
    try:
        channel, ts = dm_once(client, rep_id, message, f"commitment:{team_id}:{commitment.id}")
    except (SlackApiError, NotSent) as exc:
        with session_scope(ctx.engine) as session:
            svc.discard_draft(session, team_id, commitment.id)
        return (
            f"I couldn't send <@{rep_id}> a direct message ({failure_reason(exc)}), so the commitment was not created."
        )
    except OutcomeUnknown as exc:
        log.warning("commitment DM unconfirmed team=%s commitment=%s error=%s", team_id, commitment.id, exc.reason)
        unconfirmed = " Slack did not confirm that the message arrived, so check with them that they have it."
    with session_scope(ctx.engine) as session:
        replaced = svc.activate(session, team_id, commitment.id, channel, ts, ctx.clock())
    link = ""
    if channel and ts:
        with contextlib.suppress(SlackApiError, *UNKNOWN_OUTCOME):
            link = client.chat_getPermalink(channel=channel, message_ts=ts).get("permalink") or ""
    refresh_home(ctx, client, team_id, rep_id)
    refresh_home(ctx, client, team_id, caller)
    was = " It replaces the previous commitment for this gap." if replaced else ""
    opened = f" <{link}|Open the message>" if link else ""
    sizing = _sizing_note(ctx, team_id, person, commitment)
    return (
        f"Sent to <@{rep_id}>: {draft.target_count}× by {commitment.ends_on.isoformat()}."
        f"{was}{opened}{unconfirmed}{sizing}"
    )


def _sizing_note(ctx: AppContext, team_id: str, person: Person, commitment: Commitment) -> str:
    """After sending, never before: a target that looks likely too big or too easy gets a heads-up
    with its reasons in the manager's confirmation, and the manager decides (a form error would
    block the prescription instead)."""
    with ctx.session() as session:
        wiring, _ = svc.wiring_of(session, team_id, person)
        sized, history = learning.sizing_for(session, ctx.playbook, commitment, wiring.archetype)
    who = learning_views.who(wiring.archetype, commitment.gap, ctx.playbook)
    return learning_views.sizing_note(sized, history, person.slack_user_id, who, ctx.playbook)


def save_profile(
    ctx: AppContext,
    rep: SlackUser,
    team_id: str,
    archetype: str,
    scores: tuple[int, int, int],
    killers: list[str],
    gaps: list[str],
) -> str:
    with session_scope(ctx.engine) as session:
        profile = svc.add_profile(session, team_id, rep, archetype, scores, killers, gaps, ctx.clock().date())
    return (
        f"Saved wiring profile version {profile.version} for <@{rep.id}>. "
        f"Run `/diagnose <@{rep.id}>` again for a brief built on it."
    )
