"""Helpers the listeners share: ephemeral replies and turning a mention into a usable Slack user."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient

from bot.access import is_admin
from bot.context import AppContext
from bot.render import text_message
from bot.slack_users import SlackUser, coachable_problem, fetch_user
from bot.text import parse_user_mention

Respond = Callable[..., Any]


def reply(respond: Respond, message: dict[str, Any] | str) -> None:
    """An ephemeral answer to the person who asked; never visible to the channel."""
    msg = text_message(message) if isinstance(message, str) else message
    respond(response_type="ephemeral", replace_original=False, **msg)


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


def caller_is_admin(ctx: AppContext, client: WebClient, user_id: str) -> bool:
    if user_id in ctx.settings.admin_user_ids:
        return True
    return is_admin(ctx.settings, fetch_user(client, user_id), user_id)
