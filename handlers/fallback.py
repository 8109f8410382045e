"""Last-resort listeners: an old button, an unknown form, command, shortcut, menu search or event is
acknowledged politely, never a 404. Only app-defined identifiers are logged, never typed text."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import Ack, Respond

from bot.slack.request_info import safe_name
from handlers.common import reply
from handlers.runner import Listeners

log = logging.getLogger("coachbot.fallback")
ANYTHING = re.compile(".*")
NOT_HERE = "That isn't something I do. `/coach help` shows what I can do."


def unknown_action(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
    ack()
    log.info("unknown action=%s", safe_name((body.get("actions") or [{}])[0].get("action_id")))
    if body.get("response_url"):
        reply(respond, "That button isn't in use any more. `/coach help` shows what I can do now.")


def unknown_view(ack: Ack, view: dict[str, Any]) -> None:
    ack()
    log.info("unknown view callback=%s", safe_name(view.get("callback_id")))


def unknown_command(ack: Ack, respond: Respond) -> None:
    ack()
    reply(respond, "I don't know that command. `/coach help` shows what I can do.")


def unknown_event(body: dict[str, Any]) -> None:
    log.info("ignored event type=%s", safe_name((body.get("event") or {}).get("type")))


def unknown_shortcut(ack: Ack, body: dict[str, Any]) -> None:
    ack()
    log.info("unknown shortcut callback=%s", safe_name(body.get("callback_id")))


def closed_view(ack: Ack) -> None:
    ack()


def no_options(ack: Ack) -> None:
    ack(options=[])


def old_dialog(ack: Ack) -> None:
    ack()


def old_dialog_cancel(ack: Ack) -> None:
    ack()


def register(app: Listeners) -> None:
    app.action(ANYTHING)(unknown_action)
    app.view(ANYTHING)(unknown_view)
    app.command(ANYTHING)(unknown_command)
    app.event(ANYTHING)(unknown_event)
    # Kinds of request Coachbot defines no listener for: acknowledged at once on Bolt's thread, nothing else.
    raw: Any = getattr(app, "_app", app)
    raw.shortcut(ANYTHING)(unknown_shortcut)
    raw.view_closed(ANYTHING)(closed_view)
    raw.options(ANYTHING)(no_options)
    raw.dialog_submission(ANYTHING)(old_dialog)
    raw.dialog_cancellation(ANYTHING)(old_dialog_cancel)
