"""Who manages whom: `/coach profile|team|request|assign`, the rep's answer to a request, and
Slack's user changes (time zone, name, deactivation)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient

from bot.roster import flows
from bot.roster.access import user_is_admin
from bot.roster.views import text_message
from bot.slack.ids import Action
from bot.slack.users import SlackUser
from handlers.coach_command import Call, subcommand
from handlers.common import app_context, ids, int_or_none, replace_original, reply, resolve_mention, try_dm
from handlers.runner import Listeners


@subcommand("profile")
def show_profile(call: Call) -> None:
    if len(call.args) != 1:
        call.reply("Usage: `/coach profile @rep`")
        return
    rep, problem = resolve_mention(call.client, call.args[0], call.team_id)
    if rep is None:
        call.reply(problem or "")
        return
    call.reply(flows.wiring_card(call.ctx, call.client, call.team_id, call.user_id, rep.id))


@subcommand("team")
def show_team(call: Call) -> None:
    call.reply(flows.team_list(call.ctx, call.team_id, call.user_id))


@subcommand("request")
def request_rep(call: Call) -> None:
    if len(call.args) != 1:
        call.reply("Usage: `/coach request @rep`")
        return
    rep, problem = resolve_mention(call.client, call.args[0], call.team_id)
    if rep is None:
        call.reply(problem or "")
        return
    if rep.id == call.user_id:
        call.reply("You can't be your own manager in Coachbot.")
        return
    manager, problem = resolve_mention(call.client, f"<@{call.user_id}>", call.team_id, who="You")
    if manager is None:
        call.reply(problem or "")
        return
    call.reply(flows.request_to_manage(call.ctx, call.client, call.team_id, manager, rep))


@subcommand("assign")
def assign_manager(call: Call) -> None:
    if len(call.args) != 2:
        call.reply("Usage: `/coach assign @rep @manager` (admins only)")
        return
    if not user_is_admin(call.ctx.settings, call.client, call.user_id, call.team_id):
        call.reply("Only Coachbot admins can assign managers. Ask an admin, or use `/coach request @rep`.")
        return
    rep, problem = resolve_mention(call.client, call.args[0], call.team_id, who="The rep")
    if rep is None:
        call.reply(problem or "")
        return
    manager, problem = resolve_mention(call.client, call.args[1], call.team_id, who="The manager")
    if manager is None:
        call.reply(problem or "")
        return
    if rep.id == manager.id:
        call.reply("A rep can't be their own manager.")
        return
    previous = flows.assign(call.ctx, call.team_id, rep, manager)
    was = f" (replacing <@{previous}>)" if previous else ""
    call.reply(f"Done: <@{manager.id}> now coaches <@{rep.id}>{was}.")
    told = try_dm(
        call.client,
        rep.id,
        f"An admin made <@{manager.id}> your manager in Coachbot. They can now see your wiring "
        "profile and coaching history.",
    )
    if not told:
        call.reply(f"(I couldn't send <@{rep.id}> a direct message to let them know.)")


def _decide(body: dict[str, Any], client: WebClient, respond: Respond, context: BoltContext, accept: bool) -> None:
    team_id, rep_id = ids(context)
    request_id = int_or_none(body["actions"][0].get("value"))
    if request_id is None:
        reply(respond, "That button doesn't carry a request I understand.")
        return
    decision = flows.decide(app_context(context), client, body, team_id, rep_id, request_id, accept)
    if decision.ok:
        replace_original(respond, text_message(decision.message))
    else:
        reply(respond, decision.message)


def accept_request(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond, context: BoltContext) -> None:
    ack()
    _decide(body, client, respond, context, accept=True)


def decline_request(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond, context: BoltContext) -> None:
    ack()
    _decide(body, client, respond, context, accept=False)


def user_changed(event: dict[str, Any], context: BoltContext) -> None:
    # Reminders follow each rep's own time zone: keep it (and deactivations) current.
    user = SlackUser.from_api(event.get("user") or {"id": ""})
    if user.id:
        flows.update_person(app_context(context), str(context.team_id or ""), user)


def register(app: Listeners) -> None:
    app.action(Action.REQUEST_ACCEPT)(accept_request)
    app.action(Action.REQUEST_DECLINE)(decline_request)
    app.event("user_change")(user_changed)
