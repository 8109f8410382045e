"""Who a Slack user id (or email) is, from the Web API, with the reasons one cannot be coached."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError


@dataclass(frozen=True)
class SlackUser:
    id: str
    team_id: str
    name: str
    tz: str
    email: str
    is_bot: bool
    deleted: bool
    is_admin: bool

    @classmethod
    def from_api(cls, u: dict[str, Any]) -> SlackUser:
        profile = u.get("profile") or {}
        name = profile.get("display_name") or profile.get("real_name") or u.get("real_name") or u.get("name", "")
        return cls(
            id=u["id"],
            team_id=u.get("team_id", ""),
            name=name,
            tz=u.get("tz") or "",
            email=profile.get("email") or "",
            is_bot=bool(u.get("is_bot")) or u.get("id") == "USLACKBOT",
            deleted=bool(u.get("deleted")),
            is_admin=bool(u.get("is_admin") or u.get("is_owner") or u.get("is_primary_owner")),
        )


# Within one request, Slack's record of a user is read once: the own-team check, the role check and
# the rest of the listener share it (handlers.runner opens the scope; outside one nothing is kept).
_SEEN: ContextVar[dict[str, SlackUser | None] | None] = ContextVar("slack_users_seen", default=None)


@contextmanager
def one_request() -> Iterator[None]:
    token = _SEEN.set({})
    try:
        yield
    finally:
        _SEEN.reset(token)


def fetch_user(client: WebClient, user_id: str) -> SlackUser | None:
    """None when Slack does not know the id (or it belongs to a workspace we cannot see)."""
    seen = _SEEN.get()
    if seen is not None and user_id in seen:
        return seen[user_id]
    try:
        resp = client.users_info(user=user_id)
    except SlackApiError as exc:
        if exc.response.get("error") not in ("user_not_found", "user_not_visible"):
            raise
        user = None
    else:
        user = SlackUser.from_api(resp["user"])
    if seen is not None:
        seen[user_id] = user
    return user


def fetch_user_by_email(client: WebClient, email: str) -> SlackUser | None:
    try:
        resp = client.users_lookupByEmail(email=email)
    except SlackApiError as exc:
        if exc.response.get("error") in ("users_not_found", "user_not_found"):
            return None
        raise
    return SlackUser.from_api(resp["user"])


def coachable_problem(user: SlackUser | None, team_id: str, who: str = "That person") -> str | None:
    """Why this user cannot be a rep or manager here, in words for the caller; None when fine."""
    if user is None:
        return f"{who} isn't a member of this workspace as far as Slack tells me."
    if user.is_bot:
        return f"{who} is a bot, and bots don't get coached."
    if user.deleted:
        return f"{who} has been deactivated in this workspace."
    if team_id and user.team_id and user.team_id != team_id:
        return f"{who} belongs to another workspace, and Coachbot only works within this one."
    return None
