"""The manager's week: the Home tab, coaching time (`/coach log`, the Home form), the weekly
summary on demand (`/coach summary`, Home) and where it goes (`/coach settings channel`, Home)."""

from __future__ import annotations

from datetime import date
from typing import Any

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from bot.slack.ids import Action, Form
from bot.slack.text import escape_mrkdwn, parse_user_mention, truncate
from bot.team import flows
from bot.team import views as team_views
from bot.team.home import publish_home, refresh_home
from bot.team.service import session_problem
from bot.team.summary import KIND_NAMES, SESSION_KINDS
from handlers.coach_command import Call, subcommand
from handlers.common import app_context, ids, int_or_none, open_modal, resolve_mention, try_dm, view_value
from handlers.runner import Listeners

LOG_USAGE = "Usage: `/coach log MINUTES KIND @rep [@rep…]`, KIND is 1:1, call-review, role-play or group"
CHANNEL_USAGE = "Usage: `/coach settings channel #private-channel [@manager]` or `/coach settings channel dm`"


def home_opened(event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    if event.get("tab", "home") == "home":
        team_id, user_id = ids(context)
        publish_home(app_context(context), client, team_id, user_id)


@subcommand("log")
def log_session_command(call: Call) -> None:
    args = call.args
    if len(args) < 3:
        call.reply(LOG_USAGE)
        return
    minutes = int(args[0]) if args[0].isdigit() else None
    kind = SESSION_KINDS.get(args[1].lower())
    rep_ids = []
    for token in args[2:]:
        mention = parse_user_mention(token)
        if mention.user_id is None:
            call.reply(mention.problem or LOG_USAGE)
            return
        rep_ids.append(mention.user_id)
    if minutes is None:
        call.reply(f"`{escape_mrkdwn(truncate(args[0], 20))}` isn't a number of minutes. {LOG_USAGE}")
        return
    today = flows.manager_today(call.ctx, call.team_id, call.user_id)
    call.reply(flows.log_coaching(call.ctx, call.client, call.team_id, call.user_id, kind, minutes, rep_ids, today))


def open_log_session(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    ack()
    ctx, (team_id, caller) = app_context(context), ids(context)
    rep_id = (body.get("actions") or [{}])[0].get("value") or None
    today = flows.manager_today(ctx, team_id, caller)
    open_modal(client, body["trigger_id"], team_views.log_session_modal(today, rep_id), None, caller)


def log_session_submitted(ack: Ack, view: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    kind = view_value(view, "kind")
    minutes = int_or_none(view_value(view, "minutes"))
    reps = view_value(view, "reps") or []
    try:
        day = date.fromisoformat(str(view_value(view, "day")))
    except ValueError:
        ack(response_action="errors", errors={"day": "Pick the date of the session."})
        return
    if problem := session_problem(kind if kind in KIND_NAMES else None, minutes, len(set(reps))):
        ack(response_action="errors", errors={problem.field: problem.text})
        return
    ack()
    ctx, (team_id, caller) = app_context(context), ids(context)
    note = str(view_value(view, "note") or "")
    try_dm(client, caller, flows.log_coaching(ctx, client, team_id, caller, kind, minutes, reps, day, note))
    refresh_home(ctx, client, team_id, caller)


@subcommand("summary")
def summary_now(call: Call) -> None:
    call.reply(flows.post_summary_now(call.ctx, call.client, call.team_id, call.user_id).text)


def home_post_summary(ack: Ack, client: WebClient, context: BoltContext) -> None:
    ack()
    team_id, caller = ids(context)
    posted = flows.post_summary_now(app_context(context), client, team_id, caller)
    if not posted.in_dm:  # a summary in the DM is its own answer
        try_dm(client, caller, posted.text)


@subcommand("settings channel")
def summary_channel_setting(call: Call) -> None:
    if not 1 <= len(call.args) <= 2:
        call.reply(CHANNEL_USAGE)
        return
    manager_id = call.user_id
    if len(call.args) == 2:
        manager, problem = resolve_mention(call.client, call.args[1], call.team_id, who="The manager")
        if manager is None:
            call.reply(problem or "")
            return
        manager_id = manager.id
    call.reply(flows.set_channel(call.ctx, call.client, call.team_id, call.user_id, call.args[0], manager_id))


def open_summary_channel(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    ack()
    ctx, (team_id, caller) = app_context(context), ids(context)
    view = team_views.summary_channel_modal(flows.current_channel(ctx, team_id, caller))
    open_modal(client, body["trigger_id"], view, None, caller)


def summary_channel_submitted(ack: Ack, view: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    ctx, (team_id, caller) = app_context(context), ids(context)
    channel = str(view_value(view, "channel") or "") or None
    if problem := flows.channel_problem(client, channel):
        ack(response_action="errors", errors={"channel": problem})
        return
    ack()
    flows.store_channel(ctx, team_id, caller, channel)
    try_dm(
        client,
        caller,
        f"Your weekly summary will go to <#{channel}>." if channel else "Your weekly summary will come by DM.",
    )
    refresh_home(ctx, client, team_id, caller)


def register(app: Listeners) -> None:
    app.event("app_home_opened")(home_opened)
    app.action(Action.HOME_LOG_SESSION)(open_log_session)
    app.action(Action.BRIEF_LOG_SESSION)(open_log_session)
    app.view(Form.LOG_SESSION)(log_session_submitted)
    app.action(Action.HOME_POST_SUMMARY)(home_post_summary)
    app.action(Action.HOME_SUMMARY_CHANNEL)(open_summary_channel)
    app.view(Form.SUMMARY_CHANNEL)(summary_channel_submitted)
