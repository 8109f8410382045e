"""Helpers the listeners share: ephemeral replies and turning a mention into a usable Slack user."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.context import AppContext
from bot.roster.access import in_workspace, is_admin, user_is_admin
from bot.roster.views import text_message
from bot.slack.text import parse_user_mention
from bot.slack.users import SlackUser, coachable_problem, fetch_user

Respond = Callable[..., Any]
log = logging.getLogger("coachbot.handlers")


def reply(respond: Respond, message: dict[str, Any] | str) -> None:
    """An ephemeral answer to the person who asked; never visible to the channel. Best effort: what
    was done is done, and an answer lost on the way must not make it look undone."""
    msg = text_message(message) if isinstance(message, str) else message
    try:
        respond(response_type="ephemeral", replace_original=False, **msg)
    except Exception as exc:
        log.warning("could not answer the user (%s)", type(exc).__name__)


def replace_original(respond: Respond, message: dict[str, Any]) -> None:
    """Update the message whose button was clicked; best effort, like `reply`."""
    try:
        respond(replace_original=True, **message)
    except Exception as exc:
        log.warning("could not update the message (%s)", type(exc).__name__)


def resolve_mention(
    client: WebClient, token: str, team_id: str, who: str = "That person"
) -> tuple[SlackUser | None, str | None]:
    """(user, None) for a coachable person, or (None, a polite reason)."""
    mention = parse_user_mention(token)
    if mention.user_id is None:
        return None, mention.problem
    user = fetch_user(client, mention.user_id)
    problem = coachable_problem(user, team_id, who)
    return (None, problem) if problem else (user, None)


def caller_is_admin(ctx: AppContext, client: WebClient, user_id: str, team_id: str) -> bool:
    """Asks Slack: call it outside any database transaction."""
    return user_is_admin(ctx.settings, client, user_id, team_id)


def may_coach(ctx: AppContext, client: WebClient, caller: str, rep: Any, team_id: str) -> bool:
    """The rep's manager or an admin, both of this workspace, may diagnose and prescribe (rep is a
    Person or None). Asks Slack: call it outside any database transaction."""
    user = fetch_user(client, caller)
    if not in_workspace(user, team_id):
        return False
    if rep is not None and rep.manager_user_id == caller:
        return True
    return is_admin(ctx.settings, user, caller, team_id)


def is_own_member(client: WebClient, body: dict[str, Any], user_id: str, team_id: str) -> bool:
    """The user's own team is this workspace. A payload that names another team settles it at once;
    otherwise Slack's own record decides (the same source as the admin flags)."""
    user = body.get("user")
    named = user.get("team_id") if isinstance(user, dict) and user.get("id") == user_id else None
    if isinstance(named, str) and named != team_id:
        return False
    return in_workspace(fetch_user(client, user_id), team_id)


def send_dm(client: WebClient, user_id: str, message: dict[str, Any]) -> tuple[str, str]:
    """Post a DM; returns (channel, ts). Raises SlackApiError when the user cannot be reached."""
    channel = client.conversations_open(users=user_id)["channel"]["id"]
    resp = client.chat_postMessage(channel=channel, **message)
    return channel, resp["ts"]


def try_dm(client: WebClient, user_id: str, message: dict[str, Any] | str) -> bool:
    """A DM that may fail without consequence (the caller has nothing else to undo)."""
    msg = text_message(message) if isinstance(message, str) else message
    try:
        send_dm(client, user_id, msg)
        return True
    except SlackApiError as exc:
        log.warning("could not DM user=%s error=%s", user_id, exc.response.get("error"))
        return False
    except Exception as exc:  # a reset or timeout: never retried blindly, and never fatal here
        log.warning("could not DM user=%s error=%s", user_id, type(exc).__name__)
        return False


def view_value(view: dict[str, Any], block_id: str) -> Any:
    """The value of an input block in a submitted view, whatever its element type (None when empty)."""
    element = ((view.get("state") or {}).get("values") or {}).get(block_id, {}).get("value") or {}
    kind = element.get("type")
    if kind in ("static_select", "radio_buttons"):
        return (element.get("selected_option") or {}).get("value")
    if kind in ("checkboxes", "multi_static_select"):
        return [o.get("value") for o in element.get("selected_options") or []]
    if kind == "datepicker":
        return element.get("selected_date")
    if kind == "timepicker":
        return element.get("selected_time")
    if kind == "users_select":
        return element.get("selected_user")
    if kind == "conversations_select":
        return element.get("selected_conversation")
    if kind == "multi_users_select":
        return list(element.get("selected_users") or [])
    return element.get("value")


def view_metadata(view: dict[str, Any]) -> dict[str, Any]:
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return {}
    return meta if isinstance(meta, dict) else {}


def body_team(body: dict[str, Any]) -> str:
    """The team id of an interactive payload (request_guard made sure team and user are objects)."""
    team, user = body.get("team"), body.get("user")
    found = (team.get("id") if isinstance(team, dict) else None) or (
        user.get("team_id") if isinstance(user, dict) else None
    )
    return found if isinstance(found, str) else ""


def int_or_none(value: Any) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None
