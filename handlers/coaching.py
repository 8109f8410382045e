"""`/diagnose @rep`, the coaching brief, prescribing a commitment, and adding a wiring profile.

Everything here carries wiring data, so it goes only to the manager: modals and DMs, never a
visible message in the channel where the command was typed.
"""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient

from bot.coaching import flows
from bot.coaching.flows import NOT_YOUR_REP, Refused
from bot.coaching.rules import check_commitment, check_evidence
from bot.coaching.views import profile_modal
from bot.playbook.models import CAUSES
from bot.slack import deliveries
from bot.slack.ids import DIAGNOSE_COMMAND, Action, Form
from bot.slack.text import USER_ID_IN_TEXT
from bot.slack.users import coachable_problem, fetch_user
from bot.team.views import diagnose_pick_modal
from handlers.common import (
    app_context,
    ids,
    int_or_none,
    open_modal,
    reply,
    resolve_mention,
    too_long,
    try_dm,
    view_metadata,
    view_value,
)
from handlers.runner import Listeners

FIRST_TOKEN_RE = re.compile(r"\s*(<[^>]*>|\S+)\s*(.*)", re.S)
NOTE_MAX = 1000


def diagnose_command(
    ack: Ack, command: dict[str, Any], respond: Respond, client: WebClient, context: BoltContext
) -> None:
    ack()
    text = (command.get("text") or "").strip()
    if problem := too_long(text):
        reply(respond, problem)
        return
    match = FIRST_TOKEN_RE.match(text)
    if not text or match is None:
        reply(respond, "Usage: `/diagnose @rep [what you noticed]`")
        return
    team_id, caller = ids(context)
    rep, problem = resolve_mention(client, match.group(1), team_id)
    if rep is None:
        reply(respond, problem or "")
        return
    note = match.group(2).strip()
    if len(note) > NOTE_MAX:
        reply(respond, f"Keep the note under {NOTE_MAX} characters; you can add detail in the form.")
        return
    form = flows.diagnose_form(app_context(context), client, team_id, caller, rep.id, note)
    if isinstance(form, Refused):
        reply(respond, form.text)
        return
    open_modal(client, command["trigger_id"], form, respond, caller)


def diagnose_submitted(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
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
    ctx, (team_id, caller) = app_context(context), ids(context)
    rep = flows.rep_for_submission(ctx, client, team_id, caller, rep_id, "I didn't record the diagnosis")
    if isinstance(rep, Refused):
        try_dm(client, caller, rep.text)
        return
    answers = (cause, view_value(view, "gap"), view_value(view, "drag"), evidence)
    key = str(view.get("id") or body.get("trigger_id"))
    if flows.record_and_brief(ctx, client, team_id, caller, rep, answers, key).retry:
        deliveries.release(ctx, body)  # certainly not delivered: the same form may come again and deliver it


def open_diagnose_pick(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    ack()
    open_modal(client, body["trigger_id"], diagnose_pick_modal(), None, ids(context)[1])


def diagnose_pick_submitted(ack: Ack, view: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    ctx, (team_id, caller) = app_context(context), ids(context)
    rep_id = str(view_value(view, "rep") or "")
    rep = fetch_user(client, rep_id) if rep_id else None
    if problem := coachable_problem(rep, team_id):
        ack(response_action="errors", errors={"rep": problem})
        return
    form = flows.diagnose_form(ctx, client, team_id, caller, rep_id)
    if isinstance(form, Refused):
        ack(response_action="errors", errors={"rep": form.text})
        return
    ack(response_action="update", view=form)


def open_prescribe(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond, context: BoltContext) -> None:
    ack()
    team_id, caller = ids(context)
    diagnosis_id = int_or_none(body["actions"][0].get("value"))
    form = flows.prescribe_form(app_context(context), client, team_id, caller, diagnosis_id)
    if isinstance(form, Refused):
        reply(respond, form.text)
        return
    open_modal(client, body["trigger_id"], form, respond, caller)


def prescribe_submitted(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    ctx = app_context(context)
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
    if errors or draft is None or diagnosis_id is None:
        ack(response_action="errors", errors=errors)
        return
    ack()
    team_id, caller = ids(context)
    key = str(view.get("id") or body.get("trigger_id"))
    outcome = flows.prescribe_and_send(ctx, client, team_id, caller, diagnosis_id, draft, has_confirm, key)
    if outcome is not None:
        try_dm(client, caller, outcome)


def open_profile(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond, context: BoltContext) -> None:
    ack()
    rep_id = str(body["actions"][0].get("value", ""))
    if not USER_ID_IN_TEXT.fullmatch(rep_id):
        reply(respond, "That button doesn't say whose profile to add.")
        return
    ctx, (team_id, caller) = app_context(context), ids(context)
    if not flows.may_coach_rep(ctx, client, team_id, caller, rep_id):
        reply(respond, NOT_YOUR_REP)
        return
    open_modal(client, body["trigger_id"], profile_modal(rep_id, ctx.playbook), respond, caller)


def profile_submitted(ack: Ack, view: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    ctx = app_context(context)
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
    team_id, caller = ids(context)
    rep = flows.rep_for_submission(ctx, client, team_id, caller, rep_id, "I didn't save the profile")
    if isinstance(rep, Refused):
        try_dm(client, caller, rep.text)
        return
    scored = (scores[0], scores[1], scores[2])
    try_dm(client, caller, flows.save_profile(ctx, rep, team_id, archetype, scored, killers, gaps))


def register(app: Listeners) -> None:
    app.command(DIAGNOSE_COMMAND)(diagnose_command)
    app.view(Form.DIAGNOSE)(diagnose_submitted)
    app.action(Action.HOME_DIAGNOSE)(open_diagnose_pick)
    app.view(Form.DIAGNOSE_PICK)(diagnose_pick_submitted)
    app.action(Action.PRESCRIBE_OPEN)(open_prescribe)
    app.view(Form.PRESCRIBE)(prescribe_submitted)
    app.action(Action.PROFILE_OPEN)(open_profile)
    app.view(Form.PROFILE)(profile_submitted)
