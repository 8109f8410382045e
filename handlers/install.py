"""Slack's lifecycle events: an uninstall or a revoked token stops all sending for that workspace at
once, and in OAuth mode deletes its installation and tokens at once (its data stays for the retention
period, see bot.install.flows)."""

from __future__ import annotations

from slack_bolt import Ack, BoltContext

from bot.install import flows
from handlers.common import app_context
from handlers.runner import Listeners


def uninstalled(ack: Ack, context: BoltContext) -> None:
    ack()
    flows.uninstalled(app_context(context), str(context.team_id or ""), "app uninstalled")


def tokens_revoked(ack: Ack, context: BoltContext) -> None:
    ack()
    flows.uninstalled(app_context(context), str(context.team_id or ""), "tokens revoked")


def register(app: Listeners) -> None:
    app.event("app_uninstalled")(uninstalled)
    app.event("tokens_revoked")(tokens_revoked)
