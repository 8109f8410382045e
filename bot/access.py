"""Who may see and change whose coaching data. One place, so every handler asks the same way."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.settings import Settings
from bot.slack_users import SlackUser, fetch_user
from storage.models import Person

NOT_ALLOWED = "I can't show that. Coaching data is visible only to the rep, their manager and Coachbot admins."


def is_admin(settings: Settings, user: SlackUser | None, user_id: str) -> bool:
    """Admins are users named in COACHBOT_ADMINS plus Slack workspace admins and owners."""
    return user_id in settings.admin_user_ids or bool(user and user.is_admin)


def can_view_rep(viewer_id: str, rep: Person | None, viewer_is_admin: bool) -> bool:
    if viewer_is_admin:
        return True
    if rep is None:
        return False
    return viewer_id == rep.slack_user_id or (rep.manager_user_id is not None and viewer_id == rep.manager_user_id)


def user_is_admin(settings: Settings, client: WebClient, user_id: str) -> bool:
    """Config admins need no Slack call; everyone else is checked against Slack's admin/owner flags."""
    if user_id in settings.admin_user_ids:
        return True
    return is_admin(settings, fetch_user(client, user_id), user_id)
