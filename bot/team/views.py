"""Modals for the manager's and admin's tools: pick a rep, log coaching time, workspace settings."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from bot.practice.schedule import WEEKDAYS
from bot.slack.blocks import plain, section
from bot.slack.forms import input_block, modal, option
from bot.slack.ids import Form
from bot.team.summary import KIND_NAMES, MINUTES_MAX, MINUTES_MIN

if TYPE_CHECKING:  # views only read its fields
    from storage.models import Workspace


def diagnose_pick_modal() -> dict[str, Any]:
    return modal(
        Form.DIAGNOSE_PICK,
        "Diagnose",
        "Next",
        [
            input_block("rep", "Which rep?", {"type": "users_select", "placeholder": plain("Pick a rep")}),
        ],
        {},
    )


def log_session_modal(today: date, rep_id: str | None = None) -> dict[str, Any]:
    reps: dict[str, Any] = {"type": "multi_users_select", "placeholder": plain("Who was there?")}
    if rep_id:
        reps["initial_users"] = [rep_id]
    return modal(
        Form.LOG_SESSION,
        "Log coaching",
        "Log it",
        [
            input_block(
                "kind",
                "Kind",
                {
                    "type": "static_select",
                    "placeholder": plain("What kind of session?"),
                    "options": [option(name, key) for key, name in KIND_NAMES.items()],
                },
            ),
            input_block(
                "minutes",
                "Minutes",
                {
                    "type": "number_input",
                    "is_decimal_allowed": False,
                    "min_value": str(MINUTES_MIN),
                    "max_value": str(MINUTES_MAX),
                },
            ),
            input_block("reps", "Reps", reps),
            input_block("day", "When", {"type": "datepicker", "initial_date": today.isoformat()}),
            input_block("note", "Note", {"type": "plain_text_input", "max_length": 500}, optional=True),
        ],
        {},
    )


def summary_channel_modal(current: str | None) -> dict[str, Any]:
    picker: dict[str, Any] = {
        "type": "conversations_select",
        "placeholder": plain("A private channel"),
        "filter": {"include": ["private"], "exclude_bot_users": True},
    }
    if current:
        picker["initial_conversation"] = current
    return modal(
        Form.SUMMARY_CHANNEL,
        "Summary channel",
        "Save",
        [
            section(
                "Your weekly summary carries wiring data, so it goes to a private channel with me in it, or "
                "to your DMs when none is set. Invite me first with `/invite @Coachbot`."
            ),
            input_block("channel", "Channel", picker, optional=True, hint="Leave empty to get the summary by DM."),
        ],
        {},
    )


def settings_modal(ws: Workspace) -> dict[str, Any]:
    days = [option(d.capitalize(), str(i)) for i, d in enumerate(WEEKDAYS)]

    def day_select(value: int) -> dict[str, Any]:
        return {"type": "static_select", "options": days, "initial_option": days[value]}

    reminders = option("Send one mid-window reminder when nothing is logged", "on")
    checkbox: dict[str, Any] = {"type": "checkboxes", "options": [reminders]}
    if ws.reminders_enabled:
        checkbox["initial_options"] = [reminders]
    return modal(
        Form.WORKSPACE_SETTINGS,
        "Settings",
        "Save",
        [
            section("Times are local: each rep's and each manager's own time zone from Slack."),
            input_block("nudge_day", "Weekly practice nudge: day", day_select(ws.nudge_weekday)),
            input_block(
                "nudge_time",
                "Weekly practice nudge: time",
                {"type": "timepicker", "initial_time": f"{ws.nudge_hour:02d}:{ws.nudge_minute:02d}"},
            ),
            input_block("reminders", "Reminders", checkbox, optional=True),
            input_block("summary_day", "Manager summary: day", day_select(ws.summary_weekday)),
            input_block(
                "summary_time",
                "Manager summary: time",
                {"type": "timepicker", "initial_time": f"{ws.summary_hour:02d}:{ws.summary_minute:02d}"},
            ),
        ],
        {},
    )
