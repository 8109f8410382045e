"""The Fit Risk Diagnostic in Slack: one form with the ten questions (Coachbot's figures filled in,
each saying where it came from) and a reason box for changed figures; then the result: the leak,
points per lever, the evidence, the first move and what changed since the last run. The points
chart always has its figures in the text as well, for notifications and clients that draw no
charts. Pure: values in, Block Kit out."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bot.levers.fitrisk import ANSWER_MAX, LEVERS, ORG, REASON_BLOCK, REASON_MAX, Prefilled, Result, block_id, with_unit
from bot.playbook.models import Playbook
from bot.slack import Message, View
from bot.slack import limits as L
from bot.slack.blocks import chart, context, header, section
from bot.slack.forms import input_block, modal
from bot.slack.ids import Form
from bot.slack.text import escape_mrkdwn, truncate

TITLE = "Fit Risk Diagnostic"
PLACEHOLDERS = {
    "percent": "A percentage, e.g. 35",
    "minutes": "Minutes, e.g. 45",
    "count": "A whole number, e.g. 7",
    "number": "A number, e.g. 7.5",
}
PRIVACY = "Only figures for the whole group, never a person's, go into this diagnostic or its result."


def scope_label(scope: str) -> str:
    """Whom a run covers: the whole workspace for an admin's run, else the manager's own team."""
    return "the whole organization" if scope == ORG else f"<@{scope}>'s team"


def fitrisk_modal(playbook: Playbook, prefilled: Sequence[Prefilled], scope: str) -> View:
    """The form: one input per question, pre-filled where Coachbot knows the figure. The metadata
    carries the scope and the pre-filled figures, so a changed one is noticed when it is submitted."""
    filled = {p.key: p for p in prefilled}
    blocks: list[dict[str, Any]] = [
        section(
            f"Ten questions about {scope_label(scope)}; about five minutes. The answers show which lever "
            "leaks most: hiring, coaching or team composition. Where Coachbot has the data it filled the "
            "answer in and says where it came from; change any figure you know to be wrong, and say why "
            "in the last box."
        )
    ]
    for q in playbook.fit_risk.questions:
        shown = filled.get(q.key)
        element: dict[str, Any] = {
            "type": "plain_text_input",
            "max_length": ANSWER_MAX,
            "placeholder": {"type": "plain_text", "text": PLACEHOLDERS[q.unit]},
        }
        if shown is not None and shown.value is not None:
            element["initial_value"] = shown.value
        where = shown.source if shown is not None else "No data in Coachbot; your best estimate."
        hint = f"{where} Answers run {with_unit(q.min, q.unit)} to {with_unit(q.max, q.unit)}."
        blocks.append(input_block(block_id(q.key), q.text, element, hint=truncate(hint, L.PLACEHOLDER)))
    reason = {"type": "plain_text_input", "multiline": True, "max_length": REASON_MAX}
    blocks.append(
        input_block(
            REASON_BLOCK,
            "Why did you change Coachbot's figures?",
            reason,
            optional=True,
            hint="Needed only if you changed a pre-filled answer: a sentence on what Coachbot's data misses.",
        )
    )
    blocks.append(context(PRIVACY))
    return modal(Form.FIT_RISK, TITLE, "See the result", blocks, metadata(scope, prefilled))


def metadata(scope: str, prefilled: Sequence[Prefilled]) -> dict[str, Any]:
    """The modal's private_metadata: the scope (a manager's user id, or "org") and the pre-filled figures."""
    return {"scope": scope, "prefilled": {p.key: p.value for p in prefilled if p.value is not None}}


def read_metadata(private_metadata: str) -> tuple[str, dict[str, str]] | None:
    """(scope, pre-filled figures by question key) from a submitted form, or None when it is not ours."""
    try:
        data = json.loads(private_metadata or "")
    except ValueError:
        return None
    scope, filled = (data.get("scope"), data.get("prefilled")) if isinstance(data, dict) else (None, None)
    if not isinstance(scope, str) or not scope or not isinstance(filled, dict):
        return None
    return scope, {str(k): v for k, v in filled.items() if isinstance(v, str)}


def _figures(result: Result) -> str:
    return ", ".join(f"{result.names[lever]} {result.points[lever]}" for lever in LEVERS)


def _points_chart(result: Result) -> dict[str, Any]:
    names = [result.names[lever] for lever in LEVERS]
    return chart(
        "bar",
        "Fit risk points per lever",
        names,
        {"Points": [float(result.points[lever]) for lever in LEVERS]},
        "points",
    )


def result_message(result: Result, change: str | None, scope: str) -> Message:
    """The result for whoever ran it: the leak and what it means, the points per lever (chart and
    text), the answers that put the leak on top, the first move, and the change since the last run."""
    name = escape_mrkdwn(result.names[result.leak])
    move = escape_mrkdwn(result.first_move)
    leak = "no lever stands out" if result.clear else f"the biggest leak is {result.names[result.leak]}"
    blocks: list[dict[str, Any]] = [
        header(f"Fit Risk: {leak}"),
        section(f"For {scope_label(scope)}. *Points per lever*: {escape_mrkdwn(_figures(result))}."),
    ]
    if result.clear:
        blocks.append(
            section(
                f"No answer passed a threshold, so no lever leaks clearly. The first move below is for {name}, "
                "the lever looked at first when points are level."
            )
        )
    else:
        blocks.append(_points_chart(result))
        blocks.append(section(f"*What this means*: {escape_mrkdwn(result.meaning)}"))
        lines = "\n".join(f"• {escape_mrkdwn(line)}" for line in result.evidence)
        blocks.append(section(f"*Why {name}*\n{lines}"))
    blocks.append(section(f"*First move this quarter*: {move}"))
    blocks.append(context(escape_mrkdwn(change) if change else "First run: the next one will show what changed."))
    text = f"Fit Risk Diagnostic for {scope_label(scope)}: {leak} ({_figures(result)}). First move: {result.first_move}"
    if change:
        text += f" {change}"
    return {"text": truncate(text, L.MESSAGE_TEXT), "blocks": blocks}
