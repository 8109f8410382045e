"""Who may see and change whose coaching data. One place, so every handler asks the same way."""

from __future__ import annotations

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
