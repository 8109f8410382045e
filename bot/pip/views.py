"""The readiness check as the manager sees it: each rule with its reason, then the honest next move."""

from __future__ import annotations

from bot.pip.rules import NextMove, Readiness
from bot.slack import Message
from bot.slack.blocks import context, header, section
from bot.slack.text import escape_mrkdwn

NEXT_MOVES = {
    NextMove.PIP: "Every rule holds. A PIP here is a coaching document: one measurable gap, weekly targets, "
    "and the support you commit to.",
    NextMove.PRESCRIBE: "Not a PIP: this gap has not been coached yet. Prescribe one countable behavior for it "
    "(`/diagnose @rep`, then *Prescribe*).",
    NextMove.DIAGNOSE: "Not yet: the gap has been coached but never diagnosed. Run `/diagnose @rep` so the "
    "record says why it is a coaching gap.",
    NextMove.KEEP_COACHING: "Not a PIP: the gap has not stalled (fewer than two closed cycles, or one was met). "
    "Keep the weekly cycle going.",
    NextMove.COACH_MORE: "Not yet: the gap stalled, but it was under-coached. Log the coaching you owe first.",
    NextMove.SEAT_CONVERSATION: "Not a PIP: this is a seat question (seat fit, wiring or a deal-killer trait). "
    "A PIP cannot fix wiring; have the seat conversation instead.",
    NextMove.ESCALATE: "Not a PIP: the latest diagnosis is environmental drag. Escalate it to whoever owns it.",
    NextMove.CONVERSATION: "Not a PIP: the latest diagnosis is motivation or a life event. Have a real "
    "conversation and give it time.",
}
PRIVACY = "Only you see this. PIP records are visible only to the rep, their manager and Coachbot admins."


def readiness_message(rep_id: str, result: Readiness) -> Message:
    lines = [
        f"{':white_check_mark:' if rule.holds else ':x:'} *{rule.name}*\n{escape_mrkdwn(rule.reason)}"
        for rule in result.rules
    ]
    move = NEXT_MOVES[result.move]
    if result.move is NextMove.COACH_MORE and result.minutes_owed:
        move += f" About {result.minutes_owed} minutes are owed over those cycles."
    verdict = "ready" if result.ready else "not ready"
    return {
        "text": f"PIP readiness for <@{rep_id}>: {verdict}",
        "blocks": [
            header(f"PIP readiness: {verdict}"),
            section(f"<@{rep_id}>, rule by rule:"),
            *(section(line) for line in lines),
            section(f"*Next move:* {move}"),
            context(PRIVACY),
        ],
    }
