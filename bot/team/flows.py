"""The manager's tools as use cases: log coaching time, post the summary now, choose where it goes,
and the workspace's schedule. Slack is asked only between transactions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.context import AppContext
from bot.practice.schedule import WEEKDAYS, local_today, zone_for
from bot.roster.access import in_workspace, is_admin, user_is_admin
from bot.slack.users import fetch_user
from bot.team import service as summaries
from bot.team.summary import KIND_NAMES
from storage import queries
from storage.db import session_scope
from storage.models import Workspace

CHANNEL_RE = re.compile(r"^<#([A-Z][A-Z0-9]{2,})(?:\|[^>]*)?>$")
ADMINS_ONLY = "Only Coachbot admins can change workspace settings."


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
        return problem.text
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
    return f"Logged a {minutes}-minute {KIND_NAMES[kind]} with {names} on {day.isoformat()}."


@dataclass(frozen=True)
class Posted:
    """Where the summary went: `in_dm` when it went to the manager's own DM (which is then its own answer)."""

    text: str
    in_dm: bool = False


def post_summary_now(ctx: AppContext, client: WebClient, team_id: str, manager_id: str) -> Posted:
    today = manager_today(ctx, team_id, manager_id)
    with ctx.session() as session:
        messages = summaries.build_messages(session, ctx.playbook, team_id, manager_id, today)
        channel = summaries.summary_channel(session, team_id, manager_id)
    if messages is None:
        return Posted("You don't have any reps in Coachbot yet, so there is nothing to summarize.")
    try:
        delivery = summaries.deliver_summary(client, manager_id, channel, messages)
    except SlackApiError as exc:
        return Posted(f"I couldn't post the summary ({exc.response.get('error')}).")
    if delivery.channel == channel and channel:
        return Posted(f"Posted your summary to <#{channel}>.")
    if channel:
        return Posted(f"I couldn't post to <#{channel}> (I may have been removed), so I sent your summary by DM.")
    return Posted("Sent your summary to you by DM.", in_dm=True)


def set_channel(
    ctx: AppContext, client: WebClient, team_id: str, caller: str, channel_token: str, manager_id: str
) -> str:
    if manager_id != caller and not user_is_admin(ctx.settings, client, caller, team_id):
        return "Only admins can set another manager's summary channel."
    if channel_token.lower() in ("dm", "none", "off"):
        store_channel(ctx, team_id, manager_id, None)
        return f"<@{manager_id}>'s weekly summary will come by DM."
    match = CHANNEL_RE.match(channel_token)
    if not match:
        return "Name the channel like `#coaching-team`, or `dm` to get the summary by direct message."
    channel = match.group(1)
    if problem := summaries.channel_privacy_problem(client, channel):
        return problem
    store_channel(ctx, team_id, manager_id, channel)
    return f"<@{manager_id}>'s weekly summary will go to <#{channel}>."


def channel_problem(client: WebClient, channel: str | None) -> str | None:
    """Why a channel cannot hold a manager's summary (None: it can, or it is their DM)."""
    return summaries.channel_privacy_problem(client, channel) if channel else None


def store_channel(ctx: AppContext, team_id: str, manager_id: str, channel: str | None) -> None:
    """Where a manager's summary goes from now on (None: their own DM)."""
    with session_scope(ctx.engine) as session:
        summaries.set_summary_channel(session, team_id, manager_id, channel)


def current_channel(ctx: AppContext, team_id: str, manager_id: str) -> str | None:
    with ctx.session() as session:
        return summaries.summary_channel(session, team_id, manager_id)


@dataclass(frozen=True)
class Schedule:
    """A change to the workspace's weekly rhythm; None leaves a part as it is."""

    nudge: tuple[int, tuple[int, int]] | None = None
    summary: tuple[int, tuple[int, int]] | None = None
    reminders: bool | None = None


def workspace(ctx: AppContext, team_id: str) -> Workspace:
    with session_scope(ctx.engine) as session:
        return queries.ensure_workspace(session, team_id)


def change_schedule(ctx: AppContext, team_id: str, change: Schedule) -> Workspace:
    with session_scope(ctx.engine) as session:
        ws = queries.ensure_workspace(session, team_id)
        if change.nudge is not None:
            ws.nudge_weekday, (ws.nudge_hour, ws.nudge_minute) = change.nudge
        if change.summary is not None:
            ws.summary_weekday, (ws.summary_hour, ws.summary_minute) = change.summary
        if change.reminders is not None:
            ws.reminders_enabled = change.reminders
        session.add(ws)
    return ws


def describe_schedule(ctx: AppContext, ws: Workspace) -> str:
    return (
        f"Weekly practice nudges go out on *{WEEKDAYS[ws.nudge_weekday].capitalize()}* at "
        f"*{ws.nudge_hour:02d}:{ws.nudge_minute:02d}* in each rep's own time zone "
        f"(default zone {ctx.settings.default_tz}). Mid-window reminders are "
        f"*{'on' if ws.reminders_enabled else 'off'}*. Manager summaries go out on "
        f"*{WEEKDAYS[ws.summary_weekday].capitalize()}* at *{ws.summary_hour:02d}:{ws.summary_minute:02d}* "
        "in each manager's own time zone."
    )
