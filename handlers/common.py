"""Helpers the listeners share: the app context, ephemeral replies, form values, and mentions."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from slack_bolt import BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.context import AppContext
from bot.roster.views import text_message
from bot.slack.text import MAX_COMMAND_TEXT, parse_user_mention
from bot.slack.users import SlackUser, coachable_problem, fetch_user

CONTEXT_KEY = "coachbot"  # where the app context sits in Bolt's context (handlers.register_all)
FORM_FAILED = "I couldn't open the form ({error}). Slack only allows a few seconds for that, so please try again."
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


ID_MAX = 2**31 - 1  # a database id: PostgreSQL's INTEGER, well inside SQLite's range


def int_or_none(value: Any) -> int | None:
    """A positive id from a button or form, or None: digits only, never past what the database holds."""
    text = str(value) if isinstance(value, str | int) and not isinstance(value, bool) else ""
    if not re.fullmatch(r"[0-9]{1,10}", text):
        return None
    number = int(text)
    return number if 0 < number <= ID_MAX else None


def app_context(context: BoltContext) -> AppContext:
    """The app's context, put into Bolt's context for every request by `handlers.register_all`, with the
    workspace's own playbook when it has one."""
    ctx = context[CONTEXT_KEY]
    assert isinstance(ctx, AppContext)
    return ctx.for_team(context.team_id)


def ids(context: BoltContext) -> tuple[str, str]:
    """(workspace team id, acting user id) as Bolt found them in the request."""
    return str(context.team_id or ""), str(context.user_id or "")


def answer(respond: Respond | None, client: WebClient, user_id: str, text: str) -> None:
    """An ephemeral reply where the request came with a response_url, else a DM."""
    if respond is not None:
        reply(respond, text)
    else:
        try_dm(client, user_id, text)


def open_modal(client: WebClient, trigger_id: str, view: dict[str, Any], respond: Respond | None, user_id: str) -> None:
    """views.open, with a polite word (ephemeral or DM) when Slack refuses it."""
    try:
        client.views_open(trigger_id=trigger_id, view=view)
    except SlackApiError as exc:
        answer(respond, client, user_id, FORM_FAILED.format(error=exc.response.get("error")))


def too_long(text: str) -> str | None:
    if len(text) > MAX_COMMAND_TEXT:
        return f"That's too long for me ({len(text)} characters; the limit is {MAX_COMMAND_TEXT})."
    return None
