"""Slack's lifecycle events: an uninstall or a revoked bot token stops all sending for that workspace at
once, and in OAuth mode deletes its installation and tokens at once (its data stays for the retention
period, see bot.install.flows). A revocation of user tokens only (Coachbot uses none) changes nothing;
an event older than the workspace's newest install (Slack delivered it late) removes only what it
was about."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from slack_bolt import Ack, BoltContext

from bot.install import flows
from handlers.common import CONTEXT_KEY, app_context
from handlers.runner import AckFirstApp, Listeners

log = logging.getLogger("coachbot.installs")


def _event_time(body: dict[str, Any]) -> datetime | None:
    """When Slack says it happened (None: now)."""
    value = body.get("event_time")
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**37:
        return datetime.fromtimestamp(value, UTC)
    return None


def uninstalled(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    ack()
    flows.uninstalled(app_context(context), str(context.team_id or ""), "app uninstalled", _event_time(body))


def tokens_revoked(ack: Ack, body: dict[str, Any], event: dict[str, Any], context: BoltContext) -> None:
    ack()
    tokens = event.get("tokens")
    bots = tokens.get("bot") if isinstance(tokens, dict) else None
    if not bots:  # user tokens only: the bot token, the one Coachbot works with, is untouched
        log.info("tokens revoked team=%s: no bot token among them; nothing to do", context.team_id)
        return
    flows.uninstalled(app_context(context), str(context.team_id or ""), "tokens revoked", _event_time(body))


def _not_installed(context: BoltContext) -> bool:
    """Slack's (late or repeated) word about a workspace that is not installed here: never installed,
    uninstalled already, or purged. A read, before the acknowledgement; such an event is acknowledged
    and nothing is written, not even its claim."""
    return not flows.is_installed(context[CONTEXT_KEY], str(context.team_id or ""))


def _nothing_to_do(ack: Ack, context: BoltContext) -> None:
    ack()
    log.info("lifecycle event for team=%s, which is not installed here: nothing to do", context.team_id)


def register(app: Listeners) -> None:
    raw: Any = app._app if isinstance(app, AckFirstApp) else app  # Bolt's own: on its thread, unclaimed
    for kind in ("app_uninstalled", "tokens_revoked"):
        raw.event(kind, matchers=[_not_installed])(_nothing_to_do)
    app.event("app_uninstalled")(uninstalled)
    app.event("tokens_revoked")(tokens_revoked)
