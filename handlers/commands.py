"""`/coach` and its subcommands. Ack first; every answer is ephemeral to the caller."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import render, roster_service
from bot.access import NOT_ALLOWED, can_view_rep
from bot.context import AppContext
from bot.text import MAX_COMMAND_TEXT, escape_mrkdwn, truncate
from handlers.common import Respond, caller_is_admin, reply, resolve_mention
from storage import queries
from storage.db import session_scope

TOKEN_RE = re.compile(r"<[^>]*>|\S+")
UNKNOWN = "I don't know `{sub}`. Try `/coach help` to see what I can do."


def register(app: App, ctx: AppContext) -> None:
    @app.command("/coach")
    def coach(ack: Any, command: dict[str, Any], respond: Respond, client: WebClient) -> None:
        ack()
        text = (command.get("text") or "").strip()
        team_id, user_id = command["team_id"], command["user_id"]
        if len(text) > MAX_COMMAND_TEXT:
            reply(respond, f"That's too long for me ({len(text)} characters; the limit is {MAX_COMMAND_TEXT}).")
            return
        args = TOKEN_RE.findall(text)
        sub = args[0].lower() if args else "help"
        rest = args[1:]
        if sub == "help":
            reply(respond, render.help_message())
        elif sub == "profile":
            show_profile(ctx, client, respond, team_id, user_id, rest)
        elif sub == "team":
            show_team(ctx, respond, team_id, user_id)
        elif sub == "request":
            request_rep(ctx, client, respond, team_id, user_id, rest)
        elif sub == "assign":
            assign_manager(ctx, client, respond, team_id, user_id, rest)
        else:
            reply(respond, UNKNOWN.format(sub=escape_mrkdwn(truncate(args[0], 30))))


def show_profile(
    ctx: AppContext, client: WebClient, respond: Respond, team_id: str, caller: str, args: list[str]
) -> None:
    if len(args) != 1:
        reply(respond, "Usage: `/coach profile @rep`")
        return
    rep, problem = resolve_mention(client, args[0], team_id)
    if rep is None:
        reply(respond, problem or "")
        return
    with ctx.session() as session:
        person = queries.get_person(session, team_id, rep.id)
        allowed = can_view_rep(caller, person, viewer_is_admin=False) or caller_is_admin(ctx, client, caller)
        if not allowed:
            reply(respond, NOT_ALLOWED)
            return
        card = roster_service.load_wiring_card(session, team_id, rep.id)
    if card is None:
        reply(
            respond,
            f"<@{rep.id}> isn't on the Coachbot roster yet. An admin can add them with "
            "`coachbot import` or `/coach assign`.",
        )
        return
    reply(respond, render.wiring_card(card, ctx.playbook, ctx.clock().date()))


def show_team(ctx: AppContext, respond: Respond, team_id: str, caller: str) -> None:
    with ctx.session() as session:
        reps = roster_service.team_of(session, team_id, caller)
    reply(respond, render.team_list(caller, reps, ctx.playbook))


def request_rep(
    ctx: AppContext, client: WebClient, respond: Respond, team_id: str, caller: str, args: list[str]
) -> None:
    if len(args) != 1:
        reply(respond, "Usage: `/coach request @rep`")
        return
    rep, problem = resolve_mention(client, args[0], team_id)
    if rep is None:
        reply(respond, problem or "")
        return
    if rep.id == caller:
        reply(respond, "You can't be your own manager in Coachbot.")
        return
    manager, problem = resolve_mention(client, f"<@{caller}>", team_id, who="You")
    if manager is None:
        reply(respond, problem or "")
        return
    with session_scope(ctx.engine) as session:
        person = queries.get_person(session, team_id, rep.id)
        if person is not None and person.manager_user_id == caller:
            reply(respond, f"You already coach <@{rep.id}>.")
            return
        outcome = roster_service.request_to_manage(session, team_id, manager, rep)
        if not outcome.created:
            reply(respond, f"You already asked <@{rep.id}>; they haven't answered yet.")
            return
        try:
            dm = client.conversations_open(users=rep.id)["channel"]["id"]
            client.chat_postMessage(
                channel=dm, **render.manager_request_dm(outcome.request_id, caller, outcome.current_manager)
            )
        except SlackApiError as exc:
            session.rollback()
            reply(
                respond,
                f"I couldn't send <@{rep.id}> a direct message ({exc.response.get('error')}), "
                "so I didn't create the request.",
            )
            return
    reply(respond, f"I've asked <@{rep.id}> to accept you as their manager. I'll let you know their answer.")


def assign_manager(
    ctx: AppContext, client: WebClient, respond: Respond, team_id: str, caller: str, args: list[str]
) -> None:
    if len(args) != 2:
        reply(respond, "Usage: `/coach assign @rep @manager` (admins only)")
        return
    if not caller_is_admin(ctx, client, caller):
        reply(respond, "Only Coachbot admins can assign managers. Ask an admin, or use `/coach request @rep`.")
        return
    rep, problem = resolve_mention(client, args[0], team_id, who="The rep")
    if rep is None:
        reply(respond, problem or "")
        return
    manager, problem = resolve_mention(client, args[1], team_id, who="The manager")
    if manager is None:
        reply(respond, problem or "")
        return
    if rep.id == manager.id:
        reply(respond, "A rep can't be their own manager.")
        return
    with session_scope(ctx.engine) as session:
        previous = roster_service.set_manager(session, team_id, rep, manager)
    was = f" (replacing <@{previous}>)" if previous and previous != manager.id else ""
    reply(respond, f"Done: <@{manager.id}> now coaches <@{rep.id}>{was}.")
    try:
        dm = client.conversations_open(users=rep.id)["channel"]["id"]
        client.chat_postMessage(
            channel=dm,
            **render.text_message(
                f"An admin made <@{manager.id}> your manager in Coachbot. They can now see your wiring "
                "profile and coaching history."
            ),
        )
    except SlackApiError:
        reply(respond, f"(I couldn't send <@{rep.id}> a direct message to let them know.)")
