"""`/diagnose @rep`, the coaching brief, prescribing a commitment, and adding a wiring profile.

Everything here carries wiring data, so it goes only to the manager: modals and DMs, never a
visible message in the channel where the command was typed.
"""

from __future__ import annotations

import contextlib
import logging
import re
from datetime import UTC, datetime
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.coaching import service as svc
from bot.coaching import views as rc
from bot.coaching.rules import CommitmentDraft, check_commitment, check_evidence
from bot.context import AppContext
from bot.playbook.models import CAUSES
from bot.roster import service as roster_service
from bot.slack import deliveries
from bot.slack.delivery import UNKNOWN_OUTCOME, NotSent, OutcomeUnknown, dm_if_absent, dm_once, failure_reason
from bot.slack.text import MAX_COMMAND_TEXT, USER_ID_IN_TEXT
from bot.slack.users import SlackUser, coachable_problem, fetch_user
from bot.team.home import refresh_home
from handlers.common import (
    Respond,
    body_team,
    int_or_none,
    may_coach,
    reply,
    resolve_mention,
    try_dm,
    view_metadata,
    view_value,
)
from storage import queries
from storage.db import session_scope
from storage.models import Person

log = logging.getLogger("coachbot.diagnose")
FIRST_TOKEN_RE = re.compile(r"\s*(<[^>]*>|\S+)\s*(.*)", re.S)
NOTE_MAX = 1000
NOT_YOUR_REP = "Only a rep's manager or a Coachbot admin can diagnose or prescribe for them."
FORM_FAILED = "I couldn't open the form ({error}). Slack only allows a few seconds for that, so please try again."


def rep_for_submission(
    ctx: AppContext, client: WebClient, team_id: str, caller: str, rep_id: str, failed: str
) -> SlackUser | None:
    """Re-check after a form was submitted (things change while it is open): the rep is still
    coachable and the caller may coach them. Tells the caller why not and returns None."""
    rep = fetch_user(client, rep_id)
    if problem := coachable_problem(rep, team_id, f"<@{rep_id}>"):
        try_dm(client, caller, f"{failed}: {problem}")
        return None
    with ctx.session() as session:
        person = queries.get_person(session, team_id, rep_id)
    if not may_coach(ctx, client, caller, person, team_id):
        try_dm(client, caller, NOT_YOUR_REP)
        return None
    return rep


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def prescribe_and_send(
    ctx: AppContext,
    client: WebClient,
    team_id: str,
    caller: str,
    diagnosis_id: int,
    draft: CommitmentDraft,
    confirm_replace: bool,
    view: dict[str, Any],
    body: dict[str, Any],
) -> str | None:
    """Draft the commitment, DM the rep (outside any transaction), then activate it; returns the
    answer for the manager (None for a repeated form)."""
    with ctx.session() as session:
        diagnosis = svc.get_diagnosis(session, team_id, diagnosis_id)
        person = session.get(Person, diagnosis.person_id) if diagnosis else None
    if diagnosis is None or person is None or person.team_id != team_id:
        return "I couldn't find that diagnosis any more, so nothing was sent."
    rep_id = person.slack_user_id
    if not may_coach(ctx, client, caller, person, team_id):
        return NOT_YOUR_REP
    if problem := coachable_problem(fetch_user(client, rep_id), team_id, f"<@{rep_id}>"):
        return f"Nothing was sent: {problem}"
    now = ctx.clock()
    with session_scope(ctx.engine) as session:
        result = svc.prescribe(
            session,
            team_id,
            diagnosis,
            caller,
            draft,
            now.date(),
            confirm_replace,
            submission_key=str(view.get("id") or body.get("trigger_id")),
            now=now,
        )
        wiring, _ = svc.wiring_of(session, team_id, person)
    if result.status == "duplicate":
        return None
    if result.status == "needs_confirmation":
        return (
            f"<@{rep_id}> got another active commitment for this gap while the form was open. "
            "Nothing was changed; prescribe again to replace it."
        )
    commitment = result.commitment
    assert commitment is not None and commitment.id is not None
    archetype = ctx.playbook.archetypes.get(wiring.archetype or "")
    gap_spec = ctx.playbook.gaps.get(commitment.gap)
    message = rc.commitment_dm(
        commitment,
        caller,
        archetype.first_practice_step if archetype else None,
        gap_spec.drill_for(wiring.archetype) if gap_spec else None,
        0,
        ctx.playbook,
    )
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
    return f"Sent to <@{rep_id}>: {draft.target_count}× by {commitment.ends_on.isoformat()}.{was}{opened}{unconfirmed}"


def register(app: App, ctx: AppContext) -> None:
    @app.command("/diagnose")
    def diagnose(ack: Any, command: dict[str, Any], respond: Respond, client: WebClient) -> None:
        ack()
        team_id, caller = command["team_id"], command["user_id"]
        text = (command.get("text") or "").strip()
        if len(text) > MAX_COMMAND_TEXT:
            reply(respond, f"That's too long for me ({len(text)} characters; the limit is {MAX_COMMAND_TEXT}).")
            return
        match = FIRST_TOKEN_RE.match(text)
        if not text or match is None:
            reply(respond, "Usage: `/diagnose @rep [what you noticed]`")
            return
        rep, problem = resolve_mention(client, match.group(1), team_id)
        if rep is None:
            reply(respond, problem or "")
            return
        note = match.group(2).strip()
        if len(note) > NOTE_MAX:
            reply(respond, f"Keep the note under {NOTE_MAX} characters; you can add detail in the form.")
            return
        with ctx.session() as session:
            person = queries.get_person(session, team_id, rep.id)
        if not may_coach(ctx, client, caller, person, team_id):
            reply(respond, NOT_YOUR_REP)
            return
        with ctx.session() as session:
            card = roster_service.load_wiring_card(session, team_id, rep.id)
            history = svc.recent_history(session, team_id, person.id, ctx.playbook) if person and person.id else []
        view = rc.diagnose_modal(rep.id, card, history, ctx.playbook, ctx.clock().date(), note)
        try:
            client.views_open(trigger_id=command["trigger_id"], view=view)
        except SlackApiError as exc:
            reply(respond, FORM_FAILED.format(error=exc.response.get("error")))

    @app.view("diagnose")
    def on_diagnose(ack: Any, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        rep_id = str(view_metadata(view).get("rep", ""))
        cause, evidence = view_value(view, "cause"), view_value(view, "evidence")
        errors: dict[str, str] = {}
        if cause not in CAUSES:
            errors["cause"] = "Pick the root cause you think is behind the gap."
        if problem := check_evidence(evidence):
            errors["evidence"] = problem
        if not USER_ID_IN_TEXT.fullmatch(rep_id):
            errors["evidence"] = "This form is missing who it is about. Please run /diagnose again."
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack()
        team_id, caller = body_team(body), body["user"]["id"]
        rep = rep_for_submission(ctx, client, team_id, caller, rep_id, "I didn't record the diagnosis")
        if rep is None:
            return
        with session_scope(ctx.engine) as session:
            result = svc.record_diagnosis(
                session,
                ctx.playbook,
                team_id,
                rep,
                caller,
                cause,
                view_value(view, "gap"),
                view_value(view, "drag"),
                evidence,
                submission_key=str(view.get("id") or body.get("trigger_id")),
                now=ctx.clock(),
            )
            has_profile = result.diagnosis.profile_version is not None
        assert result.diagnosis.id is not None
        brief = rc.brief_message(rep.id, result.brief, result.diagnosis.id, evidence, has_profile)
        key = f"brief:{team_id}:{result.diagnosis.id}"
        try:
            if result.created:
                dm_once(client, caller, brief, key)
            else:  # the same form again: its brief may never have gone out; the history decides
                since = _aware(result.diagnosis.created_at).timestamp() - 300
                dm_if_absent(client, caller, brief, key, since)
        except NotSent as exc:  # certainly not delivered: the same form may come again and deliver it
            log.error("brief not delivered team=%s diagnosis=%s error=%s", team_id, result.diagnosis.id, exc.reason)
            deliveries.release(ctx, body)
        except (SlackApiError, OutcomeUnknown) as exc:
            reason = failure_reason(exc)
            log.error("brief not delivered team=%s diagnosis=%s error=%s", team_id, result.diagnosis.id, reason)

    @app.action("prescribe_open")
    def prescribe_open(ack: Any, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        team_id, caller = body_team(body), body["user"]["id"]
        diagnosis_id = int_or_none(body["actions"][0].get("value"))
        with ctx.session() as session:
            diagnosis = svc.get_diagnosis(session, team_id, diagnosis_id) if diagnosis_id else None
            person = session.get(Person, diagnosis.person_id) if diagnosis else None
        if diagnosis is None or person is None or person.team_id != team_id:
            reply(respond, "I couldn't find that diagnosis any more.")
            return
        if not may_coach(ctx, client, caller, person, team_id):
            reply(respond, NOT_YOUR_REP)
            return
        with ctx.session() as session:
            assert person.id is not None
            gap = diagnosis.gap or svc.GENERAL_GAP
            current = svc.active_commitment(session, team_id, person.id, gap)
            logged = svc.logged_count(session, team_id, current.id) if current and current.id else 0
            wiring, _ = svc.wiring_of(session, team_id, person)
        gap_spec = ctx.playbook.gaps.get(gap)
        view = rc.prescribe_modal(
            diagnosis.id or 0,
            person.slack_user_id,
            gap_spec.name if gap_spec else "this week's focus",
            gap_spec.drill_for(wiring.archetype) if gap_spec else None,
            current,
            logged,
            ctx.playbook,
        )
        try:
            client.views_open(trigger_id=body["trigger_id"], view=view)
        except SlackApiError as exc:
            reply(respond, FORM_FAILED.format(error=exc.response.get("error")))

    @app.view("prescribe")
    def on_prescribe(ack: Any, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        diagnosis_id = int_or_none(view_metadata(view).get("diagnosis"))
        draft, errors = check_commitment(
            ctx.playbook,
            view_value(view, "behavior"),
            view_value(view, "target"),
            view_value(view, "window"),
            view_value(view, "format"),
            view_value(view, "evidence"),
        )
        has_confirm = "confirm" in ((view.get("state") or {}).get("values") or {})
        confirmed = "replace" in (view_value(view, "confirm") or [])
        if has_confirm and not confirmed:
            errors["confirm"] = "Tick this to replace the current commitment, or cancel to keep it."
        if diagnosis_id is None:
            errors["behavior"] = "This form lost track of its diagnosis. Please open it again from the brief."
        if errors or draft is None:
            ack(response_action="errors", errors=errors)
            return
        ack()
        team_id, caller = body_team(body), body["user"]["id"]
        confirm = has_confirm and confirmed
        outcome = prescribe_and_send(ctx, client, team_id, caller, diagnosis_id, draft, confirm, view, body)
        if outcome is not None:
            try_dm(client, caller, outcome)

    @app.action("profile_open")
    def profile_open(ack: Any, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        team_id, caller = body_team(body), body["user"]["id"]
        rep_id = str(body["actions"][0].get("value", ""))
        if not USER_ID_IN_TEXT.fullmatch(rep_id):
            reply(respond, "That button doesn't say whose profile to add.")
            return
        with ctx.session() as session:
            person = queries.get_person(session, team_id, rep_id)
        if not may_coach(ctx, client, caller, person, team_id):
            reply(respond, NOT_YOUR_REP)
            return
        try:
            client.views_open(trigger_id=body["trigger_id"], view=rc.profile_modal(rep_id, ctx.playbook))
        except SlackApiError as exc:
            reply(respond, FORM_FAILED.format(error=exc.response.get("error")))

    @app.view("profile_add")
    def on_profile(ack: Any, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        rep_id = str(view_metadata(view).get("rep", ""))
        errors: dict[str, str] = {}
        archetype = view_value(view, "archetype")
        if archetype not in ctx.playbook.archetypes:
            errors["archetype"] = "Pick the archetype from the assessment report."
        scores = []
        for name in ("coachability", "drive", "resilience"):
            value = int_or_none(view_value(view, name))
            if value is None or not 0 <= value <= 100:
                errors[name] = "A whole number from 0 to 100."
            scores.append(value or 0)
        killers = [k for k in view_value(view, "deal_killers") or [] if k in ctx.playbook.deal_killers]
        gaps = [g for g in view_value(view, "gaps") or [] if g in ctx.playbook.gaps]
        if not USER_ID_IN_TEXT.fullmatch(rep_id):
            errors["archetype"] = "This form is missing who it is about. Please open it again."
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack()
        team_id, caller = body_team(body), body["user"]["id"]
        rep = rep_for_submission(ctx, client, team_id, caller, rep_id, "I didn't save the profile")
        if rep is None:
            return
        with session_scope(ctx.engine) as session:
            profile = svc.add_profile(
                session, team_id, rep, archetype, (scores[0], scores[1], scores[2]), killers, gaps, ctx.clock().date()
            )
        try_dm(
            client,
            caller,
            f"Saved wiring profile version {profile.version} for <@{rep_id}>. "
            f"Run `/diagnose <@{rep_id}>` again for a brief built on it.",
        )
