"""The workspace as a whole: its weekly schedule (`/coach settings`, the Home settings form). Slack's
lifecycle events (uninstall, revoked tokens) are handlers.install's."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from bot.practice.schedule import parse_time_of_day, parse_weekday
from bot.roster.access import user_is_admin
from bot.slack.ids import Action, Form
from bot.team import flows
from bot.team.home import refresh_home
from bot.team.views import settings_modal
from handlers.coach_command import Call, subcommand
from handlers.common import app_context, ids, int_or_none, open_modal, try_dm, view_value
from handlers.runner import Listeners

log = logging.getLogger("coachbot.events")
USAGE = (
    "Usage: `/coach settings`, `/coach settings nudge monday 09:00`, `/coach settings summary friday 16:00`, "
    "`/coach settings reminders on|off` (admins), or `/coach settings channel #private-channel`"
)


def _schedule_change(args: list[str]) -> flows.Schedule | str | None:
    """The change `/coach settings …` asks for (None: just show), or what is wrong with it."""
    what = args[0].lower() if args else ""
    if what in ("nudge", "summary") and len(args) == 3:
        weekday, moment = parse_weekday(args[1]), parse_time_of_day(args[2])
        if weekday is None or moment is None:
            return f"I need a weekday and a 24-hour time, like `{what} monday 09:00`. {USAGE}"
        return flows.Schedule(nudge=(weekday, moment)) if what == "nudge" else flows.Schedule(summary=(weekday, moment))
    if what == "reminders" and len(args) == 2 and args[1].lower() in ("on", "off"):
        return flows.Schedule(reminders=args[1].lower() == "on")
    return USAGE if args else None


@subcommand("settings")
def workspace_settings(call: Call) -> None:
    if not user_is_admin(call.ctx.settings, call.client, call.user_id, call.team_id):
        call.reply("Only Coachbot admins can see or change workspace settings.")
        return
    change = _schedule_change(call.args)
    if isinstance(change, str):
        call.reply(change)
        return
    ws = flows.change_schedule(call.ctx, call.team_id, change or flows.Schedule())
    call.reply(("Saved. " if change else "") + flows.describe_schedule(call.ctx, ws))


def open_settings(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    ack()
    ctx, (team_id, caller) = app_context(context), ids(context)
    if not user_is_admin(ctx.settings, client, caller, team_id):
        try_dm(client, caller, flows.ADMINS_ONLY)
        return
    open_modal(client, body["trigger_id"], settings_modal(flows.workspace(ctx, team_id)), None, caller)


def settings_submitted(ack: Ack, view: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for day_field, time_field in (("nudge_day", "nudge_time"), ("summary_day", "summary_time")):
        day = int_or_none(view_value(view, day_field))
        moment = parse_time_of_day(str(view_value(view, time_field) or ""))
        if day is None or not 0 <= day <= 6:
            errors[day_field] = "Pick a day."
        if moment is None:
            errors[time_field] = "Pick a time."
        values[day_field], values[time_field] = day, moment
    if errors:
        ack(response_action="errors", errors=errors)
        return
    ack()
    ctx, (team_id, caller) = app_context(context), ids(context)
    if not user_is_admin(ctx.settings, client, caller, team_id):
        try_dm(client, caller, flows.ADMINS_ONLY)
        return
    change = flows.Schedule(
        nudge=(values["nudge_day"], values["nudge_time"]),
        summary=(values["summary_day"], values["summary_time"]),
        reminders="on" in (view_value(view, "reminders") or []),
    )
    flows.change_schedule(ctx, team_id, change)
    refresh_home(ctx, client, team_id, caller)


def register(app: Listeners) -> None:
    app.action(Action.HOME_SETTINGS)(open_settings)
    app.view(Form.WORKSPACE_SETTINGS)(settings_submitted)
