"""The three levers: `/coach mix` (a manager's team make-up), `/coach org` (admins: every team, the
organisation's mix and retention), `/coach numbers` (coached behaviors beside the imported numbers,
per rep) and `/coach fitrisk [org]` (the ten-question Fit Risk Diagnostic, whose form comes back
here). Answers are ephemeral or DMs: only the person who asked sees them."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from bot.levers import flows
from bot.levers.fitrisk import REASON_BLOCK, block_id, check_answers
from bot.levers.fitrisk_views import read_metadata
from bot.slack.ids import Form
from handlers.coach_command import Call, subcommand
from handlers.common import app_context, ids, open_modal, try_dm, view_value
from handlers.runner import Listeners

FITRISK_USAGE = "Usage: `/coach fitrisk` for your team, or `/coach fitrisk org` for the whole organisation (admins)"


@subcommand("mix")
def composition_command(call: Call) -> None:
    call.reply(flows.team_view(call.ctx, call.client, call.team_id, call.user_id))


@subcommand("org")
def org_command(call: Call) -> None:
    call.reply(flows.org_view(call.ctx, call.client, call.team_id, call.user_id))


@subcommand("numbers")
def numbers_command(call: Call) -> None:
    call.reply(flows.numbers_view(call.ctx, call.client, call.team_id, call.user_id))


@subcommand("fitrisk")
def fitrisk_command(call: Call) -> None:
    org = [a.lower() for a in call.args] == ["org"]
    if call.args and not org:
        call.reply(FITRISK_USAGE)
        return
    form = flows.fitrisk_form(call.ctx, call.client, call.team_id, call.user_id, org)
    if isinstance(form, str):
        call.reply(form)
        return
    open_modal(call.client, call.trigger_id, form, call.respond, call.user_id)


def fitrisk_submitted(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    """Field errors go back with the acknowledgement (checked from the form alone, nothing written);
    the run is scored, kept and sent by DM after it."""
    ctx = app_context(context)
    meta = read_metadata(str(view.get("private_metadata") or ""))
    if meta is None:
        ack()
        try_dm(client, ids(context)[1], "That form could not be read. Run `/coach fitrisk` again.")
        return
    scope, prefilled = meta
    raw = {block_id(q.key): view_value(view, block_id(q.key)) for q in ctx.playbook.fit_risk.questions}
    answers, errors = check_answers(ctx.playbook, raw, prefilled, view_value(view, REASON_BLOCK))
    if answers is None:
        ack(response_action="errors", errors=errors)
        return
    ack()
    team_id, caller = ids(context)
    key = str(view.get("id") or body.get("trigger_id"))
    if problem := flows.fitrisk_result(ctx, client, team_id, caller, scope, answers, key):
        try_dm(client, caller, problem)


def register(app: Listeners) -> None:
    """The subcommands register themselves with `/coach` when this module is imported."""
    app.view(Form.FIT_RISK)(fitrisk_submitted)
