"""30/60/90 onboarding: `/coach plan @rep` opens the drafted plan, the form starts it, and Done
buttons check a step off (once). A roster import's offer DM opens the same form from its buttons."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient

from bot.onboarding import flows, offer
from bot.onboarding.rules import MilestoneDraft, parse_milestones
from bot.slack.ids import Action, Form
from handlers.coach_command import Call, subcommand
from handlers.common import (
    answer,
    app_context,
    ids,
    int_or_none,
    open_modal,
    replace_original,
    reply,
    resolve_mention,
    try_dm,
    view_metadata,
    view_value,
)
from handlers.runner import Listeners

USAGE = "Usage: `/coach plan @rep` (the rep's manager or an admin)"
PHASES = (1, 2, 3)


@subcommand("plan")
def open_plan(call: Call) -> None:
    if len(call.args) != 1:
        call.reply(USAGE)
        return
    rep, problem = resolve_mention(call.client, call.args[0], call.team_id)
    if rep is None:
        call.reply(problem or "")
        return
    form = flows.plan_form(call.ctx, call.client, call.team_id, call.user_id, rep.id)
    if isinstance(form, str):
        call.reply(form)
        return
    open_modal(call.client, call.trigger_id, form, call.respond, call.user_id)


def plan_submitted(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    drafts: list[MilestoneDraft] = []
    errors: dict[str, str] = {}
    for phase in PHASES:
        parsed, problem = parse_milestones(str(view_value(view, f"phase_{phase}") or ""), phase)
        if problem:
            errors[f"phase_{phase}"] = problem
        drafts += parsed
    if errors:
        ack(response_action="errors", errors=errors)
        return
    ack()
    ctx, (team_id, caller) = app_context(context), ids(context)
    rep_id = str(view_metadata(view).get("rep", ""))
    key = str(view.get("id") or body.get("trigger_id"))
    outcome = flows.start_plan(ctx, client, team_id, caller, rep_id, drafts, key)
    if outcome is not None:
        try_dm(client, caller, outcome)


def step_done(ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient, context: BoltContext) -> None:
    ack()
    team_id, user_id = ids(context)
    in_message = bool(body.get("response_url")) and (body.get("container") or {}).get("type") == "message"
    milestone_id = int_or_none(body["actions"][0].get("value"))
    if milestone_id is None:
        answer(respond if in_message else None, client, user_id, "That button doesn't point at a step.")
        return
    checked = flows.milestone_done(app_context(context), client, team_id, user_id, milestone_id)
    if in_message:
        if checked.redrawn is not None:
            replace_original(respond, checked.redrawn)
        reply(respond, checked.text)
    elif not checked.done:  # a click in the Home tab: the refreshed tab is the answer, unless nothing changed
        try_dm(client, user_id, checked.text)


def review_offered_plan(
    ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient, context: BoltContext
) -> None:
    """An import's offer DM: the button opens the plan form for that hire (their manager or an admin)."""
    ack()
    team_id, user_id = ids(context)
    where = respond if body.get("response_url") else None
    person_id = int_or_none(body["actions"][0].get("value"))
    if person_id is None:
        answer(where, client, user_id, "That button doesn't point at a hire.")
        return
    form = offer.review_form(app_context(context), client, team_id, user_id, person_id)
    if isinstance(form, str):
        answer(where, client, user_id, form)
        return
    open_modal(client, str(body.get("trigger_id") or ""), form, where, user_id)


def register(app: Listeners) -> None:
    app.view(Form.PLAN)(plan_submitted)
    app.action(Action.MILESTONE_DONE)(step_done)
    app.action(Action.PLAN_OFFER_REVIEW)(review_offered_plan)
