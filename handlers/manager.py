"""The manager's tools: App Home, coaching time, the weekly summary on demand, workspace settings."""

from __future__ import annotations

import logging
import re
from datetime import date
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.coaching import service as svc
from bot.coaching import views as rc
from bot.context import AppContext
from bot.practice.schedule import local_today, parse_time_of_day, zone_for
from bot.roster import service as roster_service
from bot.roster.access import in_workspace, is_admin
from bot.slack.blocks import context as context_block
from bot.slack.users import coachable_problem, fetch_user
from bot.team import service as summaries
from bot.team import views as rm
from bot.team.home import publish_home, refresh_home
from handlers.common import (
    body_team,
    caller_is_admin,
    int_or_none,
    may_coach,
    try_dm,
    view_value,
)
from handlers.diagnose import FORM_FAILED, NOT_YOUR_REP
from storage import queries
from storage.db import session_scope

log = logging.getLogger("coachbot.manager")
CHANNEL_RE = re.compile(r"^<#([A-Z][A-Z0-9]{2,})(?:\|[^>]*)?>$")


def manager_today(ctx: AppContext, team_id: str, user_id: str) -> date:
    with ctx.session() as session:
        person = queries.get_person(session, team_id, user_id)
    return local_today(ctx.clock(), zone_for(person.tz if person else None, ctx.settings.default_tz))


def log_coaching(
    ctx: AppContext,
    client: WebClient,
    team_id: str,
    caller: str,
    kind: str | None,
    minutes: int | None,
    rep_ids: list[str],
    day: date,
    note: str = "",
) -> str:
    """Validate and store one coaching session; returns the answer for the caller."""
    if problem := summaries.session_problem(kind, minutes, len(set(rep_ids))):
        return problem
    assert kind is not None and minutes is not None
    if day > manager_today(ctx, team_id, caller):
        return "That date is in the future. Log sessions once they have happened."
    unique = list(dict.fromkeys(rep_ids))
    with ctx.session() as session:
        found = {rep_id: queries.get_person(session, team_id, rep_id) for rep_id in unique}
    me = fetch_user(client, caller)
    if not in_workspace(me, team_id):
        return "Only managers of this workspace can log coaching time here."
    admin: bool | None = None
    for rep_id, person in found.items():
        if person is None or person.manager_user_id != caller:
            admin = is_admin(ctx.settings, me, caller, team_id) if admin is None else admin
            if person is None or not admin:
                return f"<@{rep_id}> isn't one of your reps, so I didn't log anything."
    with session_scope(ctx.engine) as session:
        people = [queries.get_person(session, team_id, rep_id) for rep_id in unique]
        if any(p is None for p in people):
            return "One of those reps just left the roster, so I didn't log anything."
        logged = summaries.log_session(session, team_id, caller, kind, minutes, [p for p in people if p], day, note)
    names = ", ".join(f"<@{r}>" for r in logged.reps)
    return f"Logged a {minutes}-minute {summaries.KIND_NAMES[kind]} with {names} on {day.isoformat()}."


def post_summary_now(ctx: AppContext, client: WebClient, team_id: str, manager_id: str) -> str:
    today = manager_today(ctx, team_id, manager_id)
    with ctx.session() as session:
        messages = summaries.build_messages(session, ctx.playbook, team_id, manager_id, today)
        channel = summaries.summary_channel(session, team_id, manager_id)
    if messages is None:
        return "You don't have any reps in Coachbot yet, so there is nothing to summarize."
    note = ""
    if channel:
        try:
            problem = summaries.channel_privacy_problem(client, channel)
        except SlackApiError as exc:
            problem = f"I couldn't check that it is still private ({exc.response.get('error')})."
        if problem:  # made public or shared since it was set: the wiring data goes to your DM instead
            note = f"I couldn't post your summary to <#{channel}>: {problem} So here it is in a DM."
    if channel and not note:
        try:
            summaries.post_messages(client, channel, messages)
            return f"Posted your summary to <#{channel}>."
        except SlackApiError as exc:
            error = str(exc.response.get("error"))
            if error not in summaries.CHANNEL_GONE:
                return f"I couldn't post the summary ({error})."
            note = f"I couldn't post your summary to <#{channel}> ({error}), so here it is in a DM."
    if note:
        messages[0] = {**messages[0], "blocks": [context_block(note), *messages[0]["blocks"][:49]]}
    try:
        target = client.conversations_open(users=manager_id)["channel"]["id"]
        summaries.post_messages(client, target, messages)
    except SlackApiError as exc:
        return f"I couldn't post the summary ({exc.response.get('error')})."
    if channel:
        return f"I couldn't post to <#{channel}> (I may have been removed), so I sent your summary by DM."
    return "Sent your summary to you by DM."


def set_channel(
    ctx: AppContext, client: WebClient, team_id: str, caller: str, channel_token: str, manager_id: str
) -> str:
    if manager_id != caller and not caller_is_admin(ctx, client, caller, team_id):
        return "Only admins can set another manager's summary channel."
    if channel_token.lower() in ("dm", "none", "off"):
        with session_scope(ctx.engine) as session:
            summaries.set_summary_channel(session, team_id, manager_id, None)
        return f"<@{manager_id}>'s weekly summary will come by DM."
    match = CHANNEL_RE.match(channel_token)
    if not match:
        return "Name the channel like `#coaching-team`, or `dm` to get the summary by direct message."
    channel = match.group(1)
    if problem := summaries.channel_privacy_problem(client, channel):
        return problem
    with session_scope(ctx.engine) as session:
        summaries.set_summary_channel(session, team_id, manager_id, channel)
    return f"<@{manager_id}>'s weekly summary will go to <#{channel}>."


def register(app: App, ctx: AppContext) -> None:
    @app.event("app_home_opened")
    def home_opened(event: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") == "home":
            publish_home(ctx, client, body.get("team_id", ""), event["user"])

    @app.action("home_diagnose")
    def home_diagnose(ack: Any, body: dict[str, Any], client: WebClient) -> None:
        ack()
        try:
            client.views_open(trigger_id=body["trigger_id"], view=rm.diagnose_pick_modal())
        except SlackApiError as exc:
            try_dm(client, body["user"]["id"], FORM_FAILED.format(error=exc.response.get("error")))

    @app.view("diagnose_pick")
    def on_diagnose_pick(ack: Any, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        team_id, caller = body_team(body), body["user"]["id"]
        rep_id = str(view_value(view, "rep") or "")
        rep = fetch_user(client, rep_id) if rep_id else None
        if problem := coachable_problem(rep, team_id):
            ack(response_action="errors", errors={"rep": problem})
            return
        with ctx.session() as session:
            person = queries.get_person(session, team_id, rep_id)
        if not may_coach(ctx, client, caller, person, team_id):
            ack(response_action="errors", errors={"rep": NOT_YOUR_REP})
            return
        with ctx.session() as session:
            card = roster_service.load_wiring_card(session, team_id, rep_id)
            history = svc.recent_history(session, team_id, person.id, ctx.playbook) if person and person.id else []
        ack(response_action="update", view=rc.diagnose_modal(rep_id, card, history, ctx.playbook, ctx.clock().date()))

    @app.action("home_log_session")
    @app.action("brief_log_session")
    def open_log_session(ack: Any, body: dict[str, Any], client: WebClient) -> None:
        ack()
        rep_id = (body.get("actions") or [{}])[0].get("value") or None
        today = manager_today(ctx, body_team(body), body["user"]["id"])
        try:
            client.views_open(trigger_id=body["trigger_id"], view=rm.log_session_modal(today, rep_id))
        except SlackApiError as exc:
            try_dm(client, body["user"]["id"], FORM_FAILED.format(error=exc.response.get("error")))

    @app.view("log_session")
    def on_log_session(ack: Any, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        team_id, caller = body_team(body), body["user"]["id"]
        kind = view_value(view, "kind")
        minutes = int_or_none(view_value(view, "minutes"))
        reps = view_value(view, "reps") or []
        try:
            day = date.fromisoformat(str(view_value(view, "day")))
        except ValueError:
            ack(response_action="errors", errors={"day": "Pick the date of the session."})
            return
        problem = summaries.session_problem(kind if kind in summaries.KIND_NAMES else None, minutes, len(set(reps)))
        if problem:
            field = "kind" if "Kind" in problem else "minutes" if "Minutes" in problem else "reps"
            ack(response_action="errors", errors={field: problem})
            return
        ack()
        answer = log_coaching(
            ctx, client, team_id, caller, kind, minutes, reps, day, str(view_value(view, "note") or "")
        )
        try_dm(client, caller, answer)
        refresh_home(ctx, client, team_id, caller)

    @app.action("home_post_summary")
    def home_post_summary(ack: Any, body: dict[str, Any], client: WebClient) -> None:
        ack()
        answer = post_summary_now(ctx, client, body_team(body), body["user"]["id"])
        if "Sent your summary to you by DM" not in answer:
            try_dm(client, body["user"]["id"], answer)

    @app.action("home_summary_channel")
    def home_summary_channel(ack: Any, body: dict[str, Any], client: WebClient) -> None:
        ack()
        team_id, caller = body_team(body), body["user"]["id"]
        with ctx.session() as session:
            current = summaries.summary_channel(session, team_id, caller)
        try:
            client.views_open(trigger_id=body["trigger_id"], view=rm.summary_channel_modal(current))
        except SlackApiError as exc:
            try_dm(client, caller, FORM_FAILED.format(error=exc.response.get("error")))

    @app.view("summary_channel")
    def on_summary_channel(ack: Any, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        team_id, caller = body_team(body), body["user"]["id"]
        channel = view_value(view, "channel")
        if channel and (problem := summaries.channel_privacy_problem(client, str(channel))):
            ack(response_action="errors", errors={"channel": problem})
            return
        ack()
        with session_scope(ctx.engine) as session:
            summaries.set_summary_channel(session, team_id, caller, str(channel) if channel else None)
        try_dm(
            client,
            caller,
            f"Your weekly summary will go to <#{channel}>." if channel else "Your weekly summary will come by DM.",
        )
        refresh_home(ctx, client, team_id, caller)

    @app.action("home_settings")
    def home_settings(ack: Any, body: dict[str, Any], client: WebClient) -> None:
        ack()
        team_id, caller = body_team(body), body["user"]["id"]
        if not caller_is_admin(ctx, client, caller, team_id):
            try_dm(client, caller, "Only Coachbot admins can change workspace settings.")
            return
        with session_scope(ctx.engine) as session:
            ws = queries.ensure_workspace(session, team_id)
        try:
            client.views_open(trigger_id=body["trigger_id"], view=rm.settings_modal(ws))
        except SlackApiError as exc:
            try_dm(client, caller, FORM_FAILED.format(error=exc.response.get("error")))

    @app.view("workspace_settings")
    def on_settings(ack: Any, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        team_id, caller = body_team(body), body["user"]["id"]
        values = {}
        errors = {}
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
        if not caller_is_admin(ctx, client, caller, team_id):
            try_dm(client, caller, "Only Coachbot admins can change workspace settings.")
            return
        with session_scope(ctx.engine) as session:
            ws = queries.ensure_workspace(session, team_id)
            ws.nudge_weekday, (ws.nudge_hour, ws.nudge_minute) = values["nudge_day"], values["nudge_time"]
            ws.summary_weekday, (ws.summary_hour, ws.summary_minute) = values["summary_day"], values["summary_time"]
            ws.reminders_enabled = "on" in (view_value(view, "reminders") or [])
            session.add(ws)
        refresh_home(ctx, client, team_id, caller)
