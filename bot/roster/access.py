"""Who may see and change whose coaching data. One place, so every handler asks the same way."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient

from bot.settings import Settings
from bot.slack.users import SlackUser, fetch_user
from storage.models import Person

NOT_ALLOWED = "I can't show that. Coaching data is visible only to the rep, their manager and Coachbot admins."


def in_workspace(user: SlackUser | None, team_id: str) -> bool:
    """The user's own team is this workspace (Slack Connect and Grid siblings deliver other orgs' users)."""
    return user is not None and bool(team_id) and user.team_id == team_id


def is_admin(settings: Settings, user: SlackUser | None, user_id: str, team_id: str) -> bool:
    """Admins are users named in COACHBOT_ADMINS plus Slack admins and owners, of *this* workspace."""
    if not in_workspace(user, team_id):
        return False
    return user_id in settings.admin_user_ids or bool(user and user.is_admin)


def can_view_rep(viewer_id: str, rep: Person | None, viewer_is_admin: bool) -> bool:
    if viewer_is_admin:
        return True
    if rep is None:
        return False
    return viewer_id == rep.slack_user_id or (rep.manager_user_id is not None and viewer_id == rep.manager_user_id)


def user_is_admin(settings: Settings, client: WebClient, user_id: str, team_id: str) -> bool:
    """Checked with Slack each time: the user's own team, then the config list or Slack's admin/owner flags."""
    return is_admin(settings, fetch_user(client, user_id), user_id, team_id)


def may_coach(settings: Settings, client: WebClient, caller: str, rep: Person | None, team_id: str) -> bool:
    """The rep's manager or an admin, both of this workspace, may diagnose and prescribe (rep is None
    when not on the roster). Asks Slack: call it outside any database transaction."""
    user = fetch_user(client, caller)
    if not in_workspace(user, team_id):
        return False
    if rep is not None and rep.manager_user_id == caller:
        return True
    return is_admin(settings, user, caller, team_id)


def is_own_member(client: WebClient, body: dict[str, Any], user_id: str, team_id: str) -> bool:
    """The user's own team is this workspace. A payload that names another team settles it at once;
    otherwise Slack's own record decides (the same source as the admin flags)."""
    user = body.get("user")
    named = user.get("team_id") if isinstance(user, dict) and user.get("id") == user_id else None
    if isinstance(named, str) and named != team_id:
        return False
    return in_workspace(fetch_user(client, user_id), team_id)
