"""Modals and messages for diagnose, prescribe, check-in and pause. Pure: values in, dicts out."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

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
)
from bot.coaching.service import HistoryItem
from bot.playbook.models import CAUSES, Playbook
from bot.playbook.wiring import onboarding_status, seat_fit_risk
from bot.roster.views import PRIVACY_NOTE, WiringCard
from bot.slack import limits as L
from bot.slack.blocks import actions, button, context, divider, header, plain, section
from bot.slack.text import escape_mrkdwn, truncate

View = dict[str, Any]
Message = dict[str, Any]


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": plain(text, L.OPTION_TEXT), "value": value}


def _input(
    block_id: str, label: str, element: dict[str, Any], optional: bool = False, hint: str | None = None
) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label),
        "element": {"action_id": "value", **element},
        "optional": optional,
    }
    if hint:
        block["hint"] = plain(hint)
    return block


def _modal(
    callback_id: str, title: str, submit: str | None, blocks: list[dict[str, Any]], metadata: dict[str, Any]
) -> View:
    view: View = {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain(title, L.MODAL_TITLE),
        "close": plain("Cancel", L.MODAL_BUTTON),
        "blocks": blocks[: L.MODAL_BLOCKS],
        "private_metadata": json.dumps(metadata)[: L.PRIVATE_METADATA],
    }
    if submit:
        view["submit"] = plain(submit, L.MODAL_BUTTON)
    return view


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
    rep_id: str, card: WiringCard | None, history: list[HistoryItem], playbook: Playbook, today: date, note: str = ""
) -> View:
    flagged = set(card.gaps) if card else set()
    gap_options = [_option(f"{g.name} (flagged)", g.key) for g in playbook.gaps.values() if g.key in flagged]
    gap_options += [_option(g.name, g.key) for g in playbook.gaps.values() if g.key not in flagged]
    blocks: list[dict[str, Any]] = [
        section(f"*Diagnosing <@{rep_id}>*\n{wiring_summary(card, playbook, today)}"),
        context("*Recent history*\n" + history_text(history)),
        divider(),
        _input(
            "cause",
            "Root cause",
            {
                "type": "radio_buttons",
                "options": [_option(playbook.causes[c].name, c) for c in CAUSES],
            },
            hint="Skill is the most common pick and the least common cause. Check the wiring above first.",
        ),
        _input(
            "gap",
            "Which gap does it concern?",
            {
                "type": "static_select",
                "placeholder": plain("Pick a gap"),
                "options": gap_options[: L.OPTIONS],
            },
            optional=True,
        ),
        _input(
            "drag",
            "If environmental drag: what is dragging?",
            {
                "type": "static_select",
                "placeholder": plain("Pick what is dragging"),
                "options": [_option(k.replace("_", " ").capitalize(), k) for k in playbook.escalation_owners][
                    : L.OPTIONS
                ],
            },
            optional=True,
        ),
        _input(
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
    return _modal("diagnose", "Diagnose", "Get the brief", blocks, {"rep": rep_id})


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
        buttons.append(button("Prescribe a commitment", "prescribe_open", str(diagnosis_id), style="primary"))
    if seat_first:
        buttons.append(button("Log the seat conversation", "brief_log_session", rep_id, style="primary"))
    if brief.fallback_step == "prescribe":  # secondary on purpose: the data points at the seat
        buttons.append(button("Prescribe anyway", "prescribe_open", str(diagnosis_id)))
    if brief.next_step == "conversation":
        buttons.append(button("Pause practice nudges", "pause_open", rep_id))
    if not has_profile:
        buttons.append(button("Add a wiring profile", "profile_open", rep_id))
    if not seat_first:
        buttons.append(button("Log a coaching session", "brief_log_session", rep_id))
    if buttons:
        blocks.append(actions(*buttons))
    blocks.append(context(PRIVACY_NOTE.replace("Only you can see this. ", "Sent only to you. ")))
    text = f"Coaching brief for <@{rep_id}>: {brief.cause_name}"
    if seat_first and brief.cause != "seat_fit":
        text += " (seat conversation first)"
    return {"text": text, "blocks": blocks}


def prescribe_modal(
    diagnosis_id: int,
    rep_id: str,
    gap_name: str,
    drill: str | None,
    current: Any,
    current_logged: int,
    playbook: Playbook,
) -> View:
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
            _input(
                "confirm",
                "Confirm",
                {
                    "type": "checkboxes",
                    "options": [_option("Replace the current commitment", "replace")],
                },
            )
        )
    blocks += [
        _input(
            "behavior",
            "Behavior",
            {
                "type": "plain_text_input",
                "max_length": BEHAVIOR_MAX,
                "placeholder": plain("e.g. Discovery calls with no pitch before minute 12"),
            },
        ),
        _input(
            "target",
            "How many times",
            {
                "type": "number_input",
                "is_decimal_allowed": False,
                "min_value": str(TARGET_MIN),
                "max_value": str(TARGET_MAX),
            },
        ),
        _input(
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
        _input(
            "format",
            "Practice format",
            {
                "type": "static_select",
                "placeholder": plain("How will they rehearse it?"),
                "options": [_option(name, key) for key, name in playbook.practice_formats.items()][: L.OPTIONS],
            },
        ),
        _input(
            "evidence",
            "How it will be evidenced",
            {
                "type": "plain_text_input",
                "max_length": HOW_MAX,
                "placeholder": plain("e.g. Recordings shared with me"),
            },
        ),
    ]
    return _modal("prescribe", "Prescribe", "Send to rep", blocks, {"diagnosis": diagnosis_id})


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
            button("Log one", "checkin_log", str(commitment.id), style="primary"), block_id=f"checkin_{commitment.id}"
        )
    )
    blocks.append(context(f"Logged {logged} of {commitment.target_count}. Tap *Log one* each time it shows up."))
    return {
        "text": f"Your commitment for the next {days} days: {escape_mrkdwn(truncate(commitment.behavior, 200))}",
        "blocks": blocks,
    }


def pause_modal(rep_id: str, today: date) -> View:
    blocks = [
        section(
            f"<@{rep_id}> will get no practice nudges until this date. Their commitment windows are "
            "extended, not failed."
        ),
        _input(
            "until", "Pause until", {"type": "datepicker", "initial_date": (today + timedelta(days=14)).isoformat()}
        ),
    ]
    return _modal("pause", "Pause nudges", "Pause", blocks, {"rep": rep_id})


def profile_modal(rep_id: str, playbook: Playbook) -> View:
    def score(block_id: str, label: str) -> dict[str, Any]:
        return _input(
            block_id, label, {"type": "number_input", "is_decimal_allowed": False, "min_value": "0", "max_value": "100"}
        )

    blocks = [
        section(f"Wiring profile for <@{rep_id}>, from their assessment report."),
        _input(
            "archetype",
            "Archetype",
            {
                "type": "static_select",
                "placeholder": plain("Pick the archetype"),
                "options": [_option(a.name, a.key) for a in playbook.archetypes.values()][: L.OPTIONS],
            },
        ),
        score("coachability", "Coachability (0–100)"),
        score("drive", "Drive (0–100)"),
        score("resilience", "Resilience (0–100)"),
        _input(
            "deal_killers",
            "Deal-killer flags",
            {
                "type": "multi_static_select",
                "placeholder": plain("None flagged"),
                "options": [_option(k.name, k.key) for k in playbook.deal_killers.values()][: L.OPTIONS],
            },
            optional=True,
        ),
        _input(
            "gaps",
            "Flagged coaching gaps",
            {
                "type": "multi_static_select",
                "placeholder": plain("None flagged"),
                "options": [_option(g.name, g.key) for g in playbook.gaps.values()][: L.OPTIONS],
            },
            optional=True,
        ),
    ]
    return _modal("profile_add", "Wiring profile", "Save", blocks, {"rep": rep_id})


def _days_left(ends_on: date, today: date) -> str:
    left = (ends_on - today).days + 1
    if left <= 0:
        return "window closed"
    return "last day" if left == 1 else f"{left} days left"


def _commitment_buttons(commitment_id: int) -> dict[str, Any]:
    return actions(
        button("Log one", "checkin_log", str(commitment_id), style="primary"),
        button("Log with a note", "checkin_note_open", str(commitment_id)),
        button("I'm blocked", "blocked_open", str(commitment_id)),
        block_id=f"practice_{commitment_id}",
    )


def nudge_message(items: list[tuple[Any, int, str | None]], today: date) -> Message:
    """The weekly practice DM. items: (commitment, logged so far, this week's drill or None)."""
    blocks: list[dict[str, Any]] = [header("This week's practice")]
    for commitment, logged, drill in items[:10]:
        assert commitment.id is not None
        blocks.append(
            section(
                f"*{escape_mrkdwn(truncate(commitment.behavior, 300))}*\n"
                f"Progress: *{logged} of {commitment.target_count}* · {_days_left(commitment.ends_on, today)}"
            )
        )
        if drill:
            blocks.append(context(f"Drill for this week: {escape_mrkdwn(drill)}"))
        blocks.append(_commitment_buttons(commitment.id))
    blocks.append(context("Log it each time it shows up. Fewer, better reps beat a busy week."))
    first = items[0][0]
    return {"text": f"This week's practice: {escape_mrkdwn(truncate(first.behavior, 150))}", "blocks": blocks}


def reminder_message(commitment: Any, today: date) -> Message:
    assert commitment.id is not None
    return {
        "text": "A gentle reminder about this week's practice",
        "blocks": [
            section(
                f"Halfway through: nothing logged yet for *{escape_mrkdwn(truncate(commitment.behavior, 300))}* "
                f"({_days_left(commitment.ends_on, today)}). One rep today keeps the week alive."
            ),
            _commitment_buttons(commitment.id),
        ],
    }


def closeout_message(commitment: Any, logged: int) -> Message:
    assert commitment.id is not None
    met = commitment.status == "met"
    verdict = (
        f":white_check_mark: *Met*: {logged} of {commitment.target_count}. It showed up; that is the point."
        if met
        else f"*Not met this time*: {logged} of {commitment.target_count}. That is useful data for your next 1:1."
    )
    return {
        "text": f"Your commitment closed: {'met' if met else 'missed'}",
        "blocks": [
            header("Week closed"),
            section(f"*{escape_mrkdwn(truncate(commitment.behavior, 300))}*\n{verdict}"),
            actions(button("Add a reflection", "reflection_open", str(commitment.id))),
        ],
    }


@dataclass(frozen=True)
class NoteForm:
    title: str
    label: str
    placeholder: str
    submit: str
    with_count: bool


# The rep's small forms on a commitment, by the callback id of their submission.
NOTE_FORMS = {
    "checkin_note": NoteForm("Log practice", "What happened?", "A line on how it went", "Log it", True),
    "blocked": NoteForm(
        "I'm blocked",
        "What's in the way? Your manager will see this.",
        "e.g. No first calls booked this week",
        "Tell my manager",
        False,
    ),
    "reflection": NoteForm(
        "Reflection", "What did you notice this week?", "What worked, what didn't, what you'd change", "Save", False
    ),
}


def note_modal(commitment_id: int, callback_id: str) -> View:
    form = NOTE_FORMS[callback_id]
    blocks: list[dict[str, Any]] = []
    if form.with_count:
        blocks.append(
            _input(
                "count",
                "How many times",
                {
                    "type": "number_input",
                    "is_decimal_allowed": False,
                    "initial_value": "1",
                    "min_value": "1",
                    "max_value": "20",
                },
            )
        )
    blocks.append(
        _input(
            "note",
            form.label,
            {"type": "plain_text_input", "multiline": True, "max_length": 500, "placeholder": plain(form.placeholder)},
        )
    )
    return _modal(callback_id, form.title, form.submit, blocks, {"commitment": commitment_id})


def pick_commitment_message(options: list[tuple[int, str]], count: int, note: str) -> Message:
    """Which commitment a /checkin is for, when a rep has several."""
    buttons = [
        button(truncate(behavior, 70), "checkin_pick", json.dumps({"c": cid, "n": count, "t": note[:500]}))
        for cid, behavior in options[:5]
    ]
    return {
        "text": "Which commitment is this check-in for?",
        "blocks": [section("You have more than one active commitment. Which one is this for?"), actions(*buttons)],
    }
