"""PIPs: `/coach pip @rep [gap]` checks readiness (shown only to the person who asked) and, when every
rule holds, offers *Draft the PIP*; the form starts the plan once; `/coach pip close @rep OUTCOME
[note]` records how it ended, once; *Share as canvas* (on the manager's word that the plan started)
or `/coach pip canvas @rep` shares its evidence pack as a canvas, once."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient

from bot.pip import canvas, flows
from bot.pip.rules import check_terms
from bot.slack.ids import Action, Form
from bot.slack.text import parse_user_mention
from handlers.coach_command import Call, subcommand
from handlers.common import (
    app_context,
    ids,
    int_or_none,
    open_modal,
    reply,
    resolve_mention,
    try_dm,
    view_metadata,
    view_value,
)
from handlers.runner import Listeners

USAGE = (
    "Usage: `/coach pip @rep [gap]` to check readiness, "
    "`/coach pip close @rep closed|reseated|separated [note]` to record how it ended, or "
    "`/coach pip canvas @rep` to share its evidence pack as a canvas (the rep's manager or an admin)"
)
CANVAS_BUTTON_LOST = "That button doesn't say which PIP it is for. Run `/coach pip canvas @rep` instead."


@subcommand("pip")
def pip_command(call: Call) -> None:
    if call.args and call.args[0].lower() == "close":
        close_pip(call)
        return
    if call.args and call.args[0].lower() == "canvas":
        pip_canvas(call)
        return
    if not 1 <= len(call.args) <= 2:
        call.reply(USAGE)
        return
    rep, problem = resolve_mention(call.client, call.args[0], call.team_id)
    if rep is None:
        call.reply(problem or "")
        return
    gap = call.args[1].lower() if len(call.args) == 2 else None
    call.reply(flows.readiness(call.ctx, call.client, call.team_id, call.user_id, rep.id, gap))


def close_pip(call: Call) -> None:
    if len(call.args) < 3:
        call.reply(USAGE)
        return
    # A rep who has left (deactivated) still has a PIP to close: only a mention is needed, and the
    # flow finds the rep on this workspace's roster (no one from another organisation is on it).
    mention = parse_user_mention(call.args[1])
    if mention.user_id is None:
        call.reply(mention.problem or USAGE)
        return
    closing = flows.Closing(mention.user_id, call.args[2].lower(), " ".join(call.args[3:]).strip())
    call.reply(flows.close(call.ctx, call.client, call.team_id, call.user_id, closing))


def pip_canvas(call: Call) -> None:
    if len(call.args) != 2:
        call.reply(USAGE)
        return
    # Like close: a rep who has left still has a record; the flow looks only at this workspace's roster.
    mention = parse_user_mention(call.args[1])
    if mention.user_id is None:
        call.reply(mention.problem or USAGE)
        return
    call.reply(canvas.share_for_rep(call.ctx, call.client, call.team_id, call.user_id, mention.user_id))


def share_canvas(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond, context: BoltContext) -> None:
    ack()
    team_id, caller = ids(context)
    pip_id = int_or_none(body["actions"][0].get("value"))
    if pip_id is None:
        reply(respond, CANVAS_BUTTON_LOST)
        return
    reply(respond, canvas.share(app_context(context), client, team_id, caller, pip_id))


def open_draft(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond, context: BoltContext) -> None:
    ack()
    team_id, caller = ids(context)
    value = str(body["actions"][0].get("value") or "")
    form = flows.draft_form(app_context(context), client, team_id, caller, value)
    if isinstance(form, str):
        reply(respond, form)
        return
    open_modal(client, body["trigger_id"], form, respond, caller)


def pip_submitted(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    ctx = app_context(context)
    terms, errors = check_terms(
        ctx.playbook,
        view_value(view, "behavior"),
        view_value(view, "target"),
        view_value(view, "sessions"),
        view_value(view, "weeks"),
    )
    meta = view_metadata(view)
    rep_id, gap = str(meta.get("rep") or ""), str(meta.get("gap") or "")
    if not rep_id or not gap:
        errors["behavior"] = "This form lost track of its rep. Please run `/coach pip @rep` again."
    if errors or terms is None:
        ack(response_action="errors", errors=errors)
        return
    ack()
    team_id, caller = ids(context)
    key = str(view.get("id") or body.get("trigger_id"))
    outcome = flows.start(ctx, client, team_id, caller, rep_id, gap, terms, key)
    if outcome is not None:
        try_dm(client, caller, outcome)


def register(app: Listeners) -> None:
    app.action(Action.PIP_DRAFT)(open_draft)
    app.view(Form.PIP)(pip_submitted)
    app.action(Action.PIP_CANVAS)(share_canvas)
