"""Every action_id and callback_id Coachbot puts in a message or modal, named once.

Views put them in and listeners match them, so a renamed button cannot leave a listener behind.
They are StrEnums: Slack and JSON see the plain string.
"""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    """Buttons (`action_id`)."""

    PRESCRIBE_OPEN = "prescribe_open"
    PROFILE_OPEN = "profile_open"
    BRIEF_LOG_SESSION = "brief_log_session"
    PAUSE_OPEN = "pause_open"
    CHECKIN_LOG = "checkin_log"
    CHECKIN_NOTE_OPEN = "checkin_note_open"
    BLOCKED_OPEN = "blocked_open"
    REFLECTION_OPEN = "reflection_open"
    CHECKIN_PICK = "checkin_pick"
    REQUEST_ACCEPT = "manager_request_accept"
    REQUEST_DECLINE = "manager_request_decline"
    MILESTONE_DONE = "milestone_done"
    HOME_DIAGNOSE = "home_diagnose"
    HOME_LOG_SESSION = "home_log_session"
    HOME_POST_SUMMARY = "home_post_summary"
    HOME_SUMMARY_CHANNEL = "home_summary_channel"
    HOME_SETTINGS = "home_settings"
    PIP_DRAFT = "pip_draft"
    PLAN_OFFER_REVIEW = "plan_offer_review"
    PIP_CANVAS = "pip_canvas"


class Form(StrEnum):
    """Modals (`callback_id` of the view submission)."""

    DIAGNOSE = "diagnose"
    DIAGNOSE_PICK = "diagnose_pick"
    PRESCRIBE = "prescribe"
    PROFILE = "profile_add"
    PAUSE = "pause"
    CHECKIN_NOTE = "checkin_note"
    BLOCKED = "blocked"
    REFLECTION = "reflection"
    LOG_SESSION = "log_session"
    SUMMARY_CHANNEL = "summary_channel"
    WORKSPACE_SETTINGS = "workspace_settings"
    PLAN = "onboarding_plan"
    PIP = "pip_plan"
    FIT_RISK = "fit_risk"


# Input elements inside Coachbot's modals all use this action_id; the block_id names the field.
FIELD = "value"

# Slash commands (manifest.yml declares the same).
COACH_COMMAND = "/coach"
DIAGNOSE_COMMAND = "/diagnose"
CHECKIN_COMMAND = "/checkin"
