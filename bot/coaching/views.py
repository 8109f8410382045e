"""Modals and messages for diagnose and prescribe, and the commitment DM. Pure: values in, dicts out."""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.cases.rules import CaseAdvice
from bot.cases.views import second_opinion_blocks, similar_blocks
from bot.coaching.rules import (
    BEHAVIOR_MAX,
    EVIDENCE_MAX,
    HOW_MAX,
    TARGET_MAX,
    TARGET_MIN,
    WINDOW_DEFAULT,
    WINDOW_MAX,
    WINDOW_MIN,
    Brief,
    HistoryItem,
)
from bot.learning.views import Advice, advice_blocks
from bot.playbook.models import CAUSES, Playbook
from bot.playbook.wiring import onboarding_status, seat_fit_risk
from bot.roster.views import PRIVACY_NOTE, WiringCard
from bot.slack import Message, View
from bot.slack import limits as L
from bot.slack.blocks import actions, button, context, divider, header, plain, section
from bot.slack.forms import input_block, modal, option
from bot.slack.ids import Action, Form
from bot.slack.text import escape_mrkdwn, truncate


def wiring_summary(card: WiringCard | None, playbook: Playbook, today: date) -> str:
    """A compact, escaped summary of a rep's wiring for modals and briefs."""
    if card is None or card.archetype is None:
        onboarding = onboarding_status(card.start_date, today).label if card else "not on the roster"
        return f"No wiring profile yet. Onboarding: {onboarding}."
    arch = escape_mrkdwn(playbook.archetype_name(card.archetype))
    seat = escape_mrkdwn(playbook.archetype_name(card.seat_archetype)) if card.seat_archetype else "no seat recorded"
    risk = " :warning: seat-fit risk" if seat_fit_risk(card.archetype, card.seat_archetype) else ""
    killers = (
        ", ".join(escape_mrkdwn(playbook.deal_killers[k].name) for k in card.deal_killers if k in playbook.deal_killers)
        or "none"
    )
    gaps = ", ".join(escape_mrkdwn(playbook.gaps[g].name) for g in card.gaps if g in playbook.gaps) or "none"
    return (
        f"*{arch}* in a seat that needs *{seat}*{risk}\n"
        f"Coachability {card.coachability} · Drive {card.drive} · Resilience {card.resilience}\n"
        f"Deal-killer flags: {killers}\nFlagged gaps: {gaps}\n"
        f"Onboarding: {onboarding_status(card.start_date, today).label}"
    )


def history_text(history: list[HistoryItem]) -> str:
    if not history:
        return "No diagnoses or commitments yet."
    return "\n".join(
        f"{h.when.isoformat()} · {h.kind}: {escape_mrkdwn(truncate(h.summary, 120))}"
        + (f" ({escape_mrkdwn(h.outcome)})" if h.outcome else "")
        for h in history
    )


def diagnose_modal(
    rep_id: str,
    card: WiringCard | None,
    history: list[HistoryItem],
    playbook: Playbook,
    today: date,
    note: str = "",
    cases: CaseAdvice | None = None,
) -> View:
    flagged = set(card.gaps) if card else set()
    gap_options = [option(f"{g.name} (flagged)", g.key) for g in playbook.gaps.values() if g.key in flagged]
    gap_options += [option(g.name, g.key) for g in playbook.gaps.values() if g.key not in flagged]
    blocks: list[dict[str, Any]] = [
        section(f"*Diagnosing <@{rep_id}>*\n{wiring_summary(card, playbook, today)}"),
        context("*Recent history*\n" + history_text(history)),
        divider(),
        input_block(
            "cause",
            "Root cause",
            {
                "type": "radio_buttons",
                "options": [option(playbook.causes[c].name, c) for c in CAUSES],
            },
            hint="Skill is the most common pick and the least common cause. Check the wiring above first.",
        ),
        input_block(
            "gap",
            "Which gap does it concern?",
            {
                "type": "static_select",
                "placeholder": plain("Pick a gap"),
                "options": gap_options[: L.OPTIONS],
            },
            optional=True,
        ),
        input_block(
            "drag",
            "If environmental drag: what is dragging?",
            {
                "type": "static_select",
                "placeholder": plain("Pick what is dragging"),
                "options": [option(k.replace("_", " ").capitalize(), k) for k in playbook.escalation_owners][
                    : L.OPTIONS
                ],
            },
            optional=True,
        ),
        input_block(
            "evidence",
            "Evidence",
            {
                "type": "plain_text_input",
                "multiline": True,
                "max_length": EVIDENCE_MAX,
                "placeholder": plain("What did you see? Calls, numbers, deals."),
                **({"initial_value": note[:EVIDENCE_MAX]} if note else {}),
            },
        ),
    ]
    if cases is not None:  # similar past cases after the history; a second opinion at the very top
        blocks[2:2] = similar_blocks(cases.similar, playbook, cases.everyone)
        if cases.opinion is not None:
            blocks[:0] = second_opinion_blocks(cases.opinion, playbook)
    return modal(Form.DIAGNOSE, "Diagnose", "Get the brief", blocks, {"rep": rep_id})


def brief_message(rep_id: str, brief: Brief, diagnosis_id: int, evidence: str, has_profile: bool) -> Message:
    seat_first = brief.next_step == "seat_conversation"
    blocks: list[dict[str, Any]] = [
        header(f"Coaching brief: {brief.cause_name}"),
        section(f"*Rep:* <@{rep_id}>"),
    ]
    if brief.pushback:
        blocks.append(section(":warning: *Check the pick*\n" + "\n".join(escape_mrkdwn(p) for p in brief.pushback)))
    blocks.append(section(f"*Hypothesis to test*\n{escape_mrkdwn(brief.hypothesis)}"))
    label = "*Open with the data* (coaching resistance is flagged)" if brief.data_first else "*Open with*"
    blocks.append(section(f"{label}\n{escape_mrkdwn(brief.opening_question)}"))
    move_label = "*Recommended move: a seat conversation*" if seat_first else "*Recommended move*"
    blocks.append(section(f"{move_label}\n{escape_mrkdwn(brief.move)}"))
    if brief.drill:
        blocks.append(section(f"*Drill to practise*\n{escape_mrkdwn(brief.drill)}"))
    if brief.escalate_to:
        owners = "\n".join(f"• {escape_mrkdwn(o)}" for o in brief.escalate_to)
        blocks.append(
            section(f"*Escalate to*\n{owners}\nBring the evidence below. This is marked for your weekly summary.")
        )
    for note in brief.notes:
        blocks.append(context(escape_mrkdwn(note)))
    if brief.fallback_step == "prescribe":
        blocks.append(
            context("Still sure it is a skill gap (the assessment may be out of date)? *Prescribe anyway* is below.")
        )
    blocks.append(section(f"*Your evidence*\n>{escape_mrkdwn(truncate(evidence, 600))}"))
    buttons = []
    if brief.next_step == "prescribe":
        buttons.append(button("Prescribe a commitment", Action.PRESCRIBE_OPEN, str(diagnosis_id), style="primary"))
    if seat_first:
        buttons.append(button("Log the seat conversation", Action.BRIEF_LOG_SESSION, rep_id, style="primary"))
    if brief.fallback_step == "prescribe":  # secondary on purpose: the data points at the seat
        buttons.append(button("Prescribe anyway", Action.PRESCRIBE_OPEN, str(diagnosis_id)))
    if brief.next_step == "conversation":
        buttons.append(button("Pause practice nudges", Action.PAUSE_OPEN, rep_id))
    if not has_profile:
        buttons.append(button("Add a wiring profile", Action.PROFILE_OPEN, rep_id))
    if not seat_first:
        buttons.append(button("Log a coaching session", Action.BRIEF_LOG_SESSION, rep_id))
    if buttons:
        blocks.append(actions(*buttons))
    blocks.append(context(PRIVACY_NOTE.replace("Only you can see this. ", "Sent only to you. ")))
    text = f"Coaching brief for <@{rep_id}>: {brief.cause_name}"
    if seat_first and brief.cause != "seat_fit":
        text += " (seat conversation first)"
    return {"text": text, "blocks": blocks}


def _commitment_fields(playbook: Playbook) -> list[dict[str, Any]]:
    """The five answers a commitment needs: behavior, count, window, practice format, evidence."""
    return [
        input_block(
            "behavior",
            "Behavior",
            {
                "type": "plain_text_input",
                "max_length": BEHAVIOR_MAX,
                "placeholder": plain("e.g. Discovery calls with no pitch before minute 12"),
            },
        ),
        input_block(
            "target",
            "How many times",
            {
                "type": "number_input",
                "is_decimal_allowed": False,
                "min_value": str(TARGET_MIN),
                "max_value": str(TARGET_MAX),
            },
        ),
        input_block(
            "window",
            "Window in days",
            {
                "type": "number_input",
                "is_decimal_allowed": False,
                "initial_value": str(WINDOW_DEFAULT),
                "min_value": str(WINDOW_MIN),
                "max_value": str(WINDOW_MAX),
            },
        ),
        input_block(
            "format",
            "Practice format",
            {
                "type": "static_select",
                "placeholder": plain("How will they rehearse it?"),
                "options": [option(name, key) for key, name in playbook.practice_formats.items()][: L.OPTIONS],
            },
        ),
        input_block(
            "evidence",
            "How it will be evidenced",
            {
                "type": "plain_text_input",
                "max_length": HOW_MAX,
                "placeholder": plain("e.g. Recordings shared with me"),
            },
        ),
    ]


def prescribe_modal(
    diagnosis_id: int,
    rep_id: str,
    gap_name: str,
    drill: str | None,
    current: Any,
    current_logged: int,
    playbook: Playbook,
    advice: Advice | None = None,
) -> View:
    """The prescribe form; `advice` adds what has worked for the rep's archetype and gap, and sizing."""
    blocks: list[dict[str, Any]] = [
        section(
            f"One behavior <@{rep_id}> will practise for *{escape_mrkdwn(gap_name)}*, "
            'specific enough to count. Not "work harder": something that shows up in a call or a deal.'
        ),
    ]
    if drill:
        blocks.append(context(f"Suggested drill: {escape_mrkdwn(drill)}"))
    if current is not None:
        blocks.append(
            section(
                f":warning: <@{rep_id}> already has an active commitment for this gap: "
                f"“{escape_mrkdwn(truncate(current.behavior, 200))}” ({current_logged}/{current.target_count} logged, "
                f"until {current.ends_on.isoformat()}). Submitting replaces it."
            )
        )
        blocks.append(
            input_block(
                "confirm",
                "Confirm",
                {
                    "type": "checkboxes",
                    "options": [option("Replace the current commitment", "replace")],
                },
            )
        )
    if advice is not None:
        blocks += advice_blocks(advice, rep_id, playbook)
    blocks += _commitment_fields(playbook)
    return modal(Form.PRESCRIBE, "Prescribe", "Send to rep", blocks, {"diagnosis": diagnosis_id})


def commitment_dm(
    commitment: Any, manager_id: str, first_step: str | None, drill: str | None, logged: int, playbook: Playbook
) -> Message:
    ends = commitment.ends_on
    days = commitment.window_days
    fmt = playbook.practice_formats.get(commitment.practice_format, commitment.practice_format)
    blocks: list[dict[str, Any]] = [
        header(f"Your focus for the next {days} day{'s' if days != 1 else ''}"),
        section(
            f"You and <@{manager_id}> agreed on one behavior: *{escape_mrkdwn(commitment.behavior)}*, "
            f"*{commitment.target_count} time{'s' if commitment.target_count != 1 else ''}* by "
            f"{ends.strftime('%A')} {ends.isoformat()}."
        ),
        section(f"*Practise it by:* {escape_mrkdwn(fmt)}\n*Evidence:* {escape_mrkdwn(commitment.evidence)}"),
    ]
    if first_step:
        blocks.append(section(f"*First step*\n{escape_mrkdwn(first_step)}"))
    if drill:
        blocks.append(section(f"*Drill*\n{escape_mrkdwn(drill)}"))
    blocks.append(
        actions(
            button("Log one", Action.CHECKIN_LOG, str(commitment.id), style="primary"),
            block_id=f"checkin_{commitment.id}",
        )
    )
    blocks.append(context(f"Logged {logged} of {commitment.target_count}. Tap *Log one* each time it shows up."))
    return {
        "text": f"Your commitment for the next {days} days: {escape_mrkdwn(truncate(commitment.behavior, 200))}",
        "blocks": blocks,
    }


def profile_modal(rep_id: str, playbook: Playbook) -> View:
    def score(block_id: str, label: str) -> dict[str, Any]:
        return input_block(
            block_id, label, {"type": "number_input", "is_decimal_allowed": False, "min_value": "0", "max_value": "100"}
        )

    blocks = [
        section(f"Wiring profile for <@{rep_id}>, from their assessment report."),
        input_block(
            "archetype",
            "Archetype",
            {
                "type": "static_select",
                "placeholder": plain("Pick the archetype"),
                "options": [option(a.name, a.key) for a in playbook.archetypes.values()][: L.OPTIONS],
            },
        ),
        score("coachability", "Coachability (0–100)"),
        score("drive", "Drive (0–100)"),
        score("resilience", "Resilience (0–100)"),
        input_block(
            "deal_killers",
            "Deal-killer flags",
            {
                "type": "multi_static_select",
                "placeholder": plain("None flagged"),
                "options": [option(k.name, k.key) for k in playbook.deal_killers.values()][: L.OPTIONS],
            },
            optional=True,
        ),
        input_block(
            "gaps",
            "Flagged coaching gaps",
            {
                "type": "multi_static_select",
                "placeholder": plain("None flagged"),
                "options": [option(g.name, g.key) for g in playbook.gaps.values()][: L.OPTIONS],
            },
            optional=True,
        ),
    ]
    return modal(Form.PROFILE, "Wiring profile", "Save", blocks, {"rep": rep_id})
