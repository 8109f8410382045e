"""`/coach pip @rep`: the readiness check, for the rep's manager and admins only."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.context import AppContext
from bot.pip import rules, views
from bot.pip.service import history_of
from bot.roster.access import may_coach
from bot.slack import Message
from storage import queries

NOT_YOURS = "Only a rep's manager or a Coachbot admin can check PIP readiness for them."


def readiness(
    ctx: AppContext, client: WebClient, team_id: str, caller: str, rep_id: str, gap: str | None = None
) -> Message | str:
    """The rule-by-rule readiness check, or why it cannot be shown."""
    with ctx.session() as session:
        person = queries.get_person(session, team_id, rep_id)
    if not may_coach(ctx.settings, client, caller, person, team_id):
        return NOT_YOURS
    if person is None:
        return f"<@{rep_id}> isn't on the Coachbot roster, so there is no coaching record to check."
    if gap is not None and gap not in ctx.playbook.gaps:
        found = ctx.playbook.find_gap(gap)
        if found is None:
            return f"`{gap[:40]}` isn't a gap in the playbook. Leave it out and I'll pick the stalled one."
        gap = found.key
    with ctx.session() as session:
        history = history_of(session, team_id, person)
    return views.readiness_message(rep_id, rules.check(history, ctx.playbook, gap))
