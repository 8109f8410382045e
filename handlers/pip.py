"""`/coach pip @rep [gap]`: is a PIP the honest next step? Shown only to the person who asked."""

from __future__ import annotations

from bot.pip import flows
from handlers.coach_command import Call, subcommand
from handlers.common import resolve_mention
from handlers.runner import Listeners

USAGE = "Usage: `/coach pip @rep [gap]` (the rep's manager or an admin)"


@subcommand("pip")
def pip_readiness(call: Call) -> None:
    if not 1 <= len(call.args) <= 2:
        call.reply(USAGE)
        return
    rep, problem = resolve_mention(call.client, call.args[0], call.team_id)
    if rep is None:
        call.reply(problem or "")
        return
    gap = call.args[1].lower() if len(call.args) == 2 else None
    call.reply(flows.readiness(call.ctx, call.client, call.team_id, call.user_id, rep.id, gap))


def register(app: Listeners) -> None:
    """Only a `/coach` subcommand: registered when this module is imported."""
