"""Last-resort listeners: an old button, an unknown form or command is acknowledged politely, never a 404."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import App

from bot.context import AppContext
from handlers.common import Respond, reply

log = logging.getLogger("coachbot.fallback")
ANYTHING = re.compile(".*")


def register(app: App, ctx: AppContext) -> None:
    @app.action(ANYTHING)
    def unknown_action(ack: Any, body: dict[str, Any], respond: Respond) -> None:
        ack()
        log.info("unknown action=%s", str((body.get("actions") or [{}])[0].get("action_id"))[:60])
        if body.get("response_url"):
            reply(respond, "That button isn't in use any more. `/coach help` shows what I can do now.")

    @app.view(ANYTHING)
    def unknown_view(ack: Any, view: dict[str, Any]) -> None:
        ack()
        log.info("unknown view callback=%s", str(view.get("callback_id"))[:60])

    @app.command(ANYTHING)
    def unknown_command(ack: Any, respond: Respond) -> None:
        ack()
        reply(respond, "I don't know that command. `/coach help` shows what I can do.")
