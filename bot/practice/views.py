"""The rep's messages and small forms: weekly nudge, reminder, closeout, check-in notes, pause. Pure."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from bot.slack import Message, View
from bot.slack.blocks import actions, button, context, header, plain, section
from bot.slack.forms import input_block, modal
from bot.slack.ids import Action, Form
from bot.slack.text import escape_mrkdwn, truncate


def pause_modal(rep_id: str, today: date) -> View:
    blocks = [
        section(
            f"<@{rep_id}> will get no practice nudges until this date. Their commitment windows are "
            "extended, not failed."
        ),
        input_block(
            "until", "Pause until", {"type": "datepicker", "initial_date": (today + timedelta(days=14)).isoformat()}
        ),
    ]
    return modal(Form.PAUSE, "Pause nudges", "Pause", blocks, {"rep": rep_id})


def _days_left(ends_on: date, today: date) -> str:
    left = (ends_on - today).days + 1
    if left <= 0:
        return "window closed"
    return "last day" if left == 1 else f"{left} days left"


def _commitment_buttons(commitment_id: int) -> dict[str, Any]:
    return actions(
        button("Log one", Action.CHECKIN_LOG, str(commitment_id), style="primary"),
        button("Log with a note", Action.CHECKIN_NOTE_OPEN, str(commitment_id)),
        button("I'm blocked", Action.BLOCKED_OPEN, str(commitment_id)),
        block_id=f"practice_{commitment_id}",
    )


def nudge_message(items: list[tuple[Any, int, str | None]], today: date, phase_line: str | None = None) -> Message:
    """The weekly practice DM. items: (commitment, logged so far, this week's drill or None); a hire
    with an onboarding plan also gets a line on their current phase."""
    blocks: list[dict[str, Any]] = [header("This week's practice")]
    if phase_line:
        blocks.append(context(escape_mrkdwn(phase_line)))
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
            actions(button("Add a reflection", Action.REFLECTION_OPEN, str(commitment.id))),
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
    Form.CHECKIN_NOTE: NoteForm("Log practice", "What happened?", "A line on how it went", "Log it", True),
    Form.BLOCKED: NoteForm(
        "I'm blocked",
        "What's in the way? Your manager will see this.",
        "e.g. No first calls booked this week",
        "Tell my manager",
        False,
    ),
    Form.REFLECTION: NoteForm(
        "Reflection", "What did you notice this week?", "What worked, what didn't, what you'd change", "Save", False
    ),
}


def note_modal(commitment_id: int, callback_id: Form) -> View:
    form = NOTE_FORMS[callback_id]
    blocks: list[dict[str, Any]] = []
    if form.with_count:
        blocks.append(
            input_block(
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
        input_block(
            "note",
            form.label,
            {"type": "plain_text_input", "multiline": True, "max_length": 500, "placeholder": plain(form.placeholder)},
        )
    )
    return modal(callback_id, form.title, form.submit, blocks, {"commitment": commitment_id})


def pick_commitment_message(options: list[tuple[int, str]], count: int, note: str) -> Message:
    """Which commitment a /checkin is for, when a rep has several."""
    buttons = [
        button(truncate(behavior, 70), Action.CHECKIN_PICK, json.dumps({"c": cid, "n": count, "t": note[:500]}))
        for cid, behavior in options[:5]
    ]
    return {
        "text": "Which commitment is this check-in for?",
        "blocks": [section("You have more than one active commitment. Which one is this for?"), actions(*buttons)],
    }
