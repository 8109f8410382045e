"""Last-resort listeners: an old button, an unknown form, command, shortcut, menu search or event is
acknowledged politely, never a 404. Only app-defined identifiers are logged, never typed text."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import App

from bot.context import AppContext
from bot.slack.request_info import safe_name
from handlers.common import Respond, reply

log = logging.getLogger("coachbot.fallback")
ANYTHING = re.compile(".*")
NOT_HERE = "That isn't something I do. `/coach help` shows what I can do."


def register(app: App, ctx: AppContext) -> None:
    @app.action(ANYTHING)
    def unknown_action(ack: Any, body: dict[str, Any], respond: Respond) -> None:
        ack()
        log.info("unknown action=%s", safe_name((body.get("actions") or [{}])[0].get("action_id")))
        if body.get("response_url"):
            reply(respond, "That button isn't in use any more. `/coach help` shows what I can do now.")

    @app.view(ANYTHING)
    def unknown_view(ack: Any, view: dict[str, Any]) -> None:
        ack()
        log.info("unknown view callback=%s", safe_name(view.get("callback_id")))

    @app.command(ANYTHING)
    def unknown_command(ack: Any, respond: Respond) -> None:
        ack()
        reply(respond, "I don't know that command. `/coach help` shows what I can do.")

    @app.event(ANYTHING)
    def unknown_event(body: dict[str, Any]) -> None:
        log.info("ignored event type=%s", safe_name((body.get("event") or {}).get("type")))

    # Kinds of request Coachbot defines no listener for: acknowledged at once, nothing else.
    raw: Any = getattr(app, "_app", app)

    @raw.shortcut(ANYTHING)
    def unknown_shortcut(ack: Any, body: dict[str, Any]) -> None:
        ack()
        log.info("unknown shortcut callback=%s", safe_name(body.get("callback_id")))

    @raw.view_closed(ANYTHING)
    def closed_view(ack: Any) -> None:
        ack()

    @raw.options(ANYTHING)
    def no_options(ack: Any) -> None:
        ack(options=[])

    @raw.dialog_submission(ANYTHING)
    def old_dialog(ack: Any) -> None:
        ack()

    @raw.dialog_cancellation(ANYTHING)
    def old_dialog_cancel(ack: Any) -> None:
        ack()
