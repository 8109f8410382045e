"""The plan form the manager edits, and the plan as the rep sees it (with a Done button per step). Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.onboarding.rules import PHASE_ENDS, PLAN_DAYS, Counting, MilestoneDraft, counted, phase_first_day, plan_day
from bot.slack import Message, View
from bot.slack.blocks import button, context, header, section
from bot.slack.forms import input_block, modal
from bot.slack.ids import Action, Form
from bot.slack.text import escape_mrkdwn, truncate

PHASE_TEXT_MAX = 1500  # eight milestones of up to 150 characters, one per line
PRIVACY = "Visible only to you, your manager and Coachbot admins."


def phase_days(phase: int) -> str:
    return f"Days {phase_first_day(phase)}–{PHASE_ENDS[phase - 1]}"


def plan_modal(rep_id: str, start: date, drafts: list[MilestoneDraft], phase_names: list[str]) -> View:
    blocks: list[dict[str, Any]] = [
        section(
            f"A 30/60/90 plan for <@{rep_id}>, starting {start.isoformat()}, drafted from the playbook and "
            "their wiring. Edit it freely: one milestone per line, up to eight per phase. A line that "
            "starts with a count, like `5× Lead a discovery call`, is a behavior: it becomes a commitment "
            "for its phase, counted by check-ins."
        )
    ]
    for phase, name in enumerate(phase_names, start=1):
        lines = "\n".join(d.title for d in drafts if d.phase == phase)
        element = {"type": "plain_text_input", "multiline": True, "max_length": PHASE_TEXT_MAX, "initial_value": lines}
        blocks.append(input_block(f"phase_{phase}", f"{phase_days(phase)}: {name}", element))
    return modal(Form.PLAN, "30/60/90 plan", "Start the plan", blocks, {"rep": rep_id})


@dataclass(frozen=True)
class Step:
    id: int
    phase: int
    title: str
    due_day: int
    done: bool
    counting: Counting | None = None  # the commitment behind a counted milestone


def _step_block(step: Step) -> dict[str, Any]:
    """A done step struck through; a counted one with its count (no button while check-ins count
    it); any other open step, or a counted one whose window closed short, with a Done button."""
    target, words = counted(step.title)
    title = escape_mrkdwn(truncate(words, 150))
    count = step.counting
    if step.done:
        return section(f":white_check_mark: ~{title} _(by day {step.due_day})_~")
    if count is not None and count.status == "waiting":
        return section(f":repeat: {title} _({target}× from day {phase_first_day(step.phase)} to day {step.due_day})_")
    if count is not None and count.status == "active":
        return section(f":repeat: {title} _({count.logged} of {count.target} by day {step.due_day})_")
    late = f"; {count.logged} of {count.target} when its window closed" if count is not None else ""
    shown = f"{target}× {title}" if target else title
    block = section(f":white_square: {shown} _(by day {step.due_day}{late})_")
    block["accessory"] = button("Done", Action.MILESTONE_DONE, str(step.id))
    return block


def plan_message(rep_id: str, manager_id: str, day: int, steps: list[Step], phase_names: list[str]) -> Message:
    """The whole plan, open steps with a Done button; used for the rep's DM and redrawn on each check-off."""
    done = sum(s.done for s in steps)
    blocks: list[dict[str, Any]] = [
        header("Your first 90 days"),
        section(
            f"<@{manager_id}> set up this plan with you. Check each step off when it is done; "
            f"either of you can. {done} of {len(steps)} done so far."
        ),
    ]
    for phase, name in enumerate(phase_names, start=1):
        blocks.append(section(f"*{phase_days(phase)}: {escape_mrkdwn(name)}*"))
        blocks += [_step_block(step) for step in steps if step.phase == phase]
    blocks.append(context(f"Day {day} of 90 for <@{rep_id}>. {PRIVACY}"))
    return {"text": f"Your 30/60/90 plan: {done} of {len(steps)} steps done", "blocks": blocks[:50]}


OFFER_BUTTONS_MAX = 40  # hires with their own button in one offer DM (50 blocks: header, intro, rest, footer)
OFFER_NAMES_MAX = 150  # further hires named in the last section (a mention is at most ~16 characters)


@dataclass(frozen=True)
class OfferedHire:
    """A hire in the offer DM: the button carries the roster id (a bounded int), the text the mention."""

    person_id: int
    rep_id: str
    start: date


def _offer_when(start: date, today: date) -> str:
    day = plan_day(start, today)
    if day < 1:
        wait = 1 - day
        return f"starts {start.isoformat()}, in {wait} day{'' if wait == 1 else 's'}"
    return f"started {start.isoformat()}, now on day {day} of {PLAN_DAYS}"


def plan_offer_message(hires: list[OfferedHire], today: date) -> Message:
    """One DM to a manager after a roster import: each hire with no plan yet, a button per hire that
    opens the plan form. Past `OFFER_BUTTONS_MAX` the rest are named in one section (and past
    `OFFER_NAMES_MAX` only counted), so any number of hires fits in one message."""
    shown, rest = hires[:OFFER_BUTTONS_MAX], hires[OFFER_BUTTONS_MAX:]
    count = f"{len(hires)} of your hires" if len(hires) != 1 else "One of your hires"
    blocks: list[dict[str, Any]] = [
        header("Onboarding plans to review"),
        section(
            f"{count} came in with the roster import in (or just before) their first {PLAN_DAYS} days, with "
            "no 30/60/90 plan yet. *Review the plan* opens a draft built from the playbook and the hire's "
            "wiring. Change what you like; nothing starts and the hire hears nothing until you press "
            "*Start the plan*."
        ),
    ]
    for hire in shown:
        text = f"<@{hire.rep_id}>: {_offer_when(hire.start, today)}"
        blocks.append(section(text, button("Review the plan", Action.PLAN_OFFER_REVIEW, str(hire.person_id))))
    if rest:
        named = ", ".join(f"<@{h.rep_id}>" for h in rest[:OFFER_NAMES_MAX])
        more = f" and {len(rest) - OFFER_NAMES_MAX} more" if len(rest) > OFFER_NAMES_MAX else ""
        blocks.append(
            section(
                f"No room for more buttons here. Also without a plan: {named}{more}. Use `/coach plan @rep` for them."
            )
        )
    blocks.append(context("Only you got this message. Your weekly summary keeps asking until each of them has a plan."))
    return {"text": f"Onboarding plans to review for {len(hires)} new hire(s)", "blocks": blocks}
