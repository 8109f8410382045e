"""`/coach` and its subcommands. Ack first; every answer is ephemeral to the caller."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.context import AppContext
from bot.practice.schedule import WEEKDAYS, parse_time_of_day, parse_weekday
from bot.roster import service as roster_service
from bot.roster import views as render
from bot.roster.access import NOT_ALLOWED, can_view_rep, in_workspace, is_admin
from bot.slack.delivery import NotSent, OutcomeUnknown, dm_once, failure_reason
from bot.slack.text import MAX_COMMAND_TEXT, escape_mrkdwn, parse_user_mention, truncate
from bot.slack.users import fetch_user
from bot.team.service import SESSION_KINDS
from handlers.checkins import apply_pause, pause_problem
from handlers.common import Respond, caller_is_admin, reply, resolve_mention, try_dm
from handlers.manager import log_coaching, manager_today, post_summary_now, set_channel
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
        elif sub in ("pause", "resume"):
            pause_or_resume(ctx, client, respond, team_id, user_id, sub, rest)
        elif sub == "settings" and rest and rest[0].lower() == "channel":
            summary_channel_setting(ctx, client, respond, team_id, user_id, rest[1:])
        elif sub == "settings":
            workspace_settings(ctx, client, respond, team_id, user_id, rest)
        elif sub == "log":
            log_session_command(ctx, client, respond, team_id, user_id, rest)
        elif sub == "summary":
            reply(respond, post_summary_now(ctx, client, team_id, user_id))
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
        card = roster_service.load_wiring_card(session, team_id, rep.id)
    me = fetch_user(client, caller)
    allowed = in_workspace(me, team_id) and (
        can_view_rep(caller, person, viewer_is_admin=False) or is_admin(ctx.settings, me, caller, team_id)
    )
    if not allowed:
        reply(respond, NOT_ALLOWED)
        return
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
        already = person is not None and person.manager_user_id == caller
        outcome = None if already else roster_service.request_to_manage(session, team_id, manager, rep)
    if outcome is None:
        reply(respond, f"You already coach <@{rep.id}>.")
        return
    if not outcome.created:
        reply(respond, f"You already asked <@{rep.id}>; they haven't answered yet.")
        return
    message = render.manager_request_dm(outcome.request_id, caller, outcome.current_manager)
    try:
        dm_once(client, rep.id, message, f"request:{team_id}:{outcome.request_id}")
    except (SlackApiError, NotSent) as exc:
        with session_scope(ctx.engine) as session:
            roster_service.withdraw_request(session, team_id, outcome.request_id)
        reply(
            respond,
            f"I couldn't send <@{rep.id}> a direct message ({failure_reason(exc)}), so I didn't create the request.",
        )
        return
    except OutcomeUnknown:
        reply(respond, f"I've asked <@{rep.id}>, but Slack did not confirm the message arrived. Check with them.")
        return
    reply(respond, f"I've asked <@{rep.id}> to accept you as their manager. I'll let you know their answer.")


def assign_manager(
    ctx: AppContext, client: WebClient, respond: Respond, team_id: str, caller: str, args: list[str]
) -> None:
    if len(args) != 2:
        reply(respond, "Usage: `/coach assign @rep @manager` (admins only)")
        return
    if not caller_is_admin(ctx, client, caller, team_id):
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
    told = try_dm(
        client,
        rep.id,
        f"An admin made <@{manager.id}> your manager in Coachbot. They can now see your wiring "
        "profile and coaching history.",
    )
    if not told:
        reply(respond, f"(I couldn't send <@{rep.id}> a direct message to let them know.)")


def pause_or_resume(
    ctx: AppContext, client: WebClient, respond: Respond, team_id: str, caller: str, sub: str, args: list[str]
) -> None:
    usage = "Usage: `/coach pause [@rep] YYYY-MM-DD` or `/coach resume [@rep]`"
    rep_id = caller
    if args and args[0].startswith(("<", "@")):
        rep, problem = resolve_mention(client, args[0], team_id)
        if rep is None:
            reply(respond, problem or "")
            return
        rep_id, args = rep.id, args[1:]
    until = None
    if sub == "pause":
        if len(args) != 1:
            reply(respond, usage)
            return
        try:
            until = date.fromisoformat(args[0])
        except ValueError:
            reply(respond, f"`{escape_mrkdwn(truncate(args[0], 20))}` isn't a date like 2026-12-24. {usage}")
            return
        if problem := pause_problem(until, ctx.clock().date()):
            reply(respond, problem)
            return
    elif args:
        reply(respond, usage)
        return
    reply(respond, apply_pause(ctx, client, team_id, caller, rep_id, until))


def workspace_settings(
    ctx: AppContext, client: WebClient, respond: Respond, team_id: str, caller: str, args: list[str]
) -> None:
    usage = (
        "Usage: `/coach settings`, `/coach settings nudge monday 09:00`, `/coach settings summary friday 16:00`, "
        "`/coach settings reminders on|off` (admins), or `/coach settings channel #private-channel`"
    )
    if not caller_is_admin(ctx, client, caller, team_id):
        reply(respond, "Only Coachbot admins can see or change workspace settings.")
        return
    what = args[0].lower() if args else ""
    weekday, moment = (parse_weekday(args[1]), parse_time_of_day(args[2])) if len(args) == 3 else (None, None)
    if what in ("nudge", "summary") and len(args) == 3 and (weekday is None or moment is None):
        reply(respond, f"I need a weekday and a 24-hour time, like `{what} monday 09:00`. {usage}")
        return
    reminders = what == "reminders" and len(args) == 2 and args[1].lower() in ("on", "off")
    if args and not reminders and not (what in ("nudge", "summary") and len(args) == 3):
        reply(respond, usage)
        return
    with session_scope(ctx.engine) as session:
        ws = queries.ensure_workspace(session, team_id)
        if weekday is not None and moment is not None and what == "nudge":
            ws.nudge_weekday, (ws.nudge_hour, ws.nudge_minute) = weekday, moment
        elif weekday is not None and moment is not None:
            ws.summary_weekday, (ws.summary_hour, ws.summary_minute) = weekday, moment
        elif reminders:
            ws.reminders_enabled = args[1].lower() == "on"
        session.add(ws)
        summary = (
            f"Weekly practice nudges go out on *{WEEKDAYS[ws.nudge_weekday].capitalize()}* at "
            f"*{ws.nudge_hour:02d}:{ws.nudge_minute:02d}* in each rep's own time zone "
            f"(default zone {ctx.settings.default_tz}). Mid-window reminders are "
            f"*{'on' if ws.reminders_enabled else 'off'}*. Manager summaries go out on "
            f"*{WEEKDAYS[ws.summary_weekday].capitalize()}* at *{ws.summary_hour:02d}:{ws.summary_minute:02d}* "
            "in each manager's own time zone."
        )
    reply(respond, ("Saved. " if args else "") + summary)


def summary_channel_setting(
    ctx: AppContext, client: WebClient, respond: Respond, team_id: str, caller: str, args: list[str]
) -> None:
    usage = "Usage: `/coach settings channel #private-channel [@manager]` or `/coach settings channel dm`"
    if not 1 <= len(args) <= 2:
        reply(respond, usage)
        return
    manager_id = caller
    if len(args) == 2:
        manager, problem = resolve_mention(client, args[1], team_id, who="The manager")
        if manager is None:
            reply(respond, problem or "")
            return
        manager_id = manager.id
    reply(respond, set_channel(ctx, client, team_id, caller, args[0], manager_id))


def log_session_command(
    ctx: AppContext, client: WebClient, respond: Respond, team_id: str, caller: str, args: list[str]
) -> None:
    usage = "Usage: `/coach log MINUTES KIND @rep [@rep…]`, KIND is 1:1, call-review, role-play or group"
    if len(args) < 3:
        reply(respond, usage)
        return
    minutes = int(args[0]) if args[0].isdigit() else None
    kind = SESSION_KINDS.get(args[1].lower())
    rep_ids = []
    for token in args[2:]:
        mention = parse_user_mention(token)
        if mention.user_id is None:
            reply(respond, mention.problem or usage)
            return
        rep_ids.append(mention.user_id)
    if minutes is None:
        reply(respond, f"`{escape_mrkdwn(truncate(args[0], 20))}` isn't a number of minutes. {usage}")
        return
    answer = log_coaching(ctx, client, team_id, caller, kind, minutes, rep_ids, manager_today(ctx, team_id, caller))
    reply(respond, answer)
