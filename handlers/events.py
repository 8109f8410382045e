"""Workspace lifecycle events: an uninstall or revoked token stops all sending for that team."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App

from bot.context import AppContext
from bot.slack.users import SlackUser
from storage import queries
from storage.db import session_scope

log = logging.getLogger("coachbot.events")


def register(app: App, ctx: AppContext) -> None:
    def deactivate(body: dict[str, Any], reason: str) -> None:
        team_id = body.get("team_id", "")
        with session_scope(ctx.engine) as session:
            changed = queries.deactivate_workspace(session, team_id)
        ctx.known_active_teams.discard(team_id)
        log.warning("workspace team=%s marked inactive (%s)%s", team_id, reason, "" if changed else ", already")

    @app.event("app_uninstalled")
    def on_uninstalled(ack: Any, body: dict[str, Any]) -> None:
        ack()
        deactivate(body, "app uninstalled")

    @app.event("user_change")
    def on_user_change(event: dict[str, Any], body: dict[str, Any]) -> None:
        # Reminders follow each rep's own time zone: keep it (and deactivations) current.
        user = SlackUser.from_api(event.get("user") or {"id": ""})
        if not user.id:
            return
        with session_scope(ctx.engine) as session:
            queries.update_person_from_slack(
                session, body.get("team_id", ""), user.id, user.tz, user.name, user.deleted
            )

    @app.event("tokens_revoked")
    def on_tokens_revoked(ack: Any, body: dict[str, Any]) -> None:
        ack()
        deactivate(body, "tokens revoked")
