"""The PIP as people see it: the readiness check (with a draft button when every rule holds), the
draft form with its evidence pack, the plan in the rep's DM and Home, its line in the manager's
summary, and the word that it ended. Pure: plain values in, Block Kit out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.pip.rules import (
    DEFAULT_SESSIONS,
    DEFAULT_WEEKS,
    LENGTHS,
    SESSIONS_MAX,
    SESSIONS_MIN,
    EvidencePack,
    NextMove,
    Readiness,
    Status,
    review_dates,
)
from bot.playbook.models import Playbook
from bot.slack import Message, View
from bot.slack.blocks import actions, button, context, divider, fields, header, section
from bot.slack.forms import input_block, modal, option
from bot.slack.ids import Action, Form
from bot.slack.text import escape_mrkdwn, truncate

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
SHARED = "Only the rep, their manager and Coachbot admins can see this plan."
DIAGNOSES_SHOWN, COMMITMENTS_SHOWN = 5, 6
TOLD_REP = {
    "closed": "the gap is closed. Well done",
    "reseated": "you are moving to a seat that suits your wiring better",
    "separated": "you are leaving the team, and your manager will talk you through what comes next",
}


def _day(on: date) -> str:
    return on.strftime("%a %d %b")


@dataclass(frozen=True)
class Card:
    """A plan as its views need it (user text not yet escaped)."""

    id: int
    rep_id: str
    manager_id: str
    gap_name: str
    behavior: str
    weekly_count: int
    sessions_per_week: int
    weeks: int
    starts_on: date
    ends_on: date


def readiness_message(rep_id: str, result: Readiness, running: Card | None = None) -> Message:
    lines = [
        f"{':white_check_mark:' if rule.holds else ':x:'} *{rule.name}*\n{escape_mrkdwn(rule.reason)}"
        for rule in result.rules
    ]
    move = NEXT_MOVES[result.move]
    if result.move is NextMove.COACH_MORE and result.minutes_owed:
        move += f" About {result.minutes_owed} minutes are owed over those cycles."
    verdict = "ready" if result.ready else "not ready"
    blocks = [
        header(f"PIP readiness: {verdict}"),
        section(f"<@{rep_id}>, rule by rule:"),
        *(section(line) for line in lines),
        section(f"*Next move:* {move}"),
    ]
    if running is not None:
        blocks.append(
            section(
                f":memo: A PIP on *{escape_mrkdwn(running.gap_name)}* is already running for <@{rep_id}> "
                f"({_day(running.starts_on)} to {_day(running.ends_on)}). Close it before drafting another."
            )
        )
    elif result.ready and result.gap:
        blocks.append(actions(button("Draft the PIP", Action.PIP_DRAFT, f"{rep_id}|{result.gap}", style="primary")))
    blocks.append(context(PRIVACY))
    return {"text": f"PIP readiness for <@{rep_id}>: {verdict}", "blocks": blocks}


def _cause(playbook: Playbook, key: str) -> str:
    return playbook.causes[key].name if key in playbook.causes else key


def evidence_lines(pack: EvidencePack, playbook: Playbook) -> list[str]:
    """The pack in brief, newest diagnoses and commitments last, each user text escaped."""
    said = [
        f"• {_day(d.on)} · {escape_mrkdwn(_cause(playbook, d.cause))}: {escape_mrkdwn(truncate(d.evidence, 160))}"
        + (f"\n   _push-back shown: {escape_mrkdwn(truncate(' '.join(d.pushback), 160))}_" if d.pushback else "")
        for d in pack.diagnoses[-DIAGNOSES_SHOWN:]
    ]
    done = [
        f"• {_day(c.starts_on)}–{_day(c.ends_on)}: “{escape_mrkdwn(truncate(c.behavior, 90))}” "
        f"{c.logged}/{c.target} · {c.status} · {len(c.check_ins)} check-in{'s' if len(c.check_ins) != 1 else ''}"
        for c in pack.commitments[-COMMITMENTS_SHOWN:]
    ]
    minutes = " · ".join(f"{w.starts_on.strftime('%d %b')}: {w.minutes}" for w in pack.weeks) or "none logged"
    return [
        f"*Diagnoses of this gap* ({len(pack.diagnoses)})\n" + ("\n".join(said) or "none on record"),
        f"*Commitments on it* ({len(pack.commitments)}: {pack.met} met, {pack.missed} missed)\n"
        + ("\n".join(done) or "none on record"),
        f"*Coaching minutes a week over those cycles*\n{minutes}",
    ]


def _length_option(weeks: int, today: date) -> dict[str, Any]:
    reviews = ", ".join(d.strftime("%d %b") for d in review_dates(today, weeks))
    return option(f"{weeks} weeks (reviews {reviews})", str(weeks))


def draft_modal(
    rep_id: str, gap: str, gap_name: str, behavior: str, count: int, pack: EvidencePack, playbook: Playbook, today: date
) -> View:
    """The PIP form, drafted from the gap's history; the gap is fixed, the evidence read-only."""
    number = {"type": "number_input", "is_decimal_allowed": False}
    lengths = [_length_option(weeks, today) for weeks in LENGTHS]
    blocks: list[dict[str, Any]] = [
        section(
            f"A plan for <@{rep_id}> on *{escape_mrkdwn(gap_name)}*, the gap their record shows stalled. "
            "Write it so both of you can tell each week whether it is working: one behavior to count, "
            "the coaching you will give, and a review every two weeks."
        ),
        input_block(
            "behavior",
            "Behavior to show each week",
            {"type": "plain_text_input", "max_length": 300, **({"initial_value": behavior[:300]} if behavior else {})},
        ),
        input_block(
            "target", "Times a week", {**number, "min_value": "1", "max_value": "50", "initial_value": str(count)}
        ),
        input_block(
            "sessions",
            "Coaching sessions you will hold with them each week",
            {
                **number,
                "min_value": str(SESSIONS_MIN),
                "max_value": str(SESSIONS_MAX),
                "initial_value": str(DEFAULT_SESSIONS),
            },
        ),
        input_block(
            "weeks",
            "Length",
            {"type": "radio_buttons", "options": lengths, "initial_option": lengths[LENGTHS.index(DEFAULT_WEEKS)]},
            hint="Starts today; a review every two weeks, the last one ends the plan.",
        ),
        divider(),
        header("Evidence pack"),
        *(section(line) for line in evidence_lines(pack, playbook)),
        context(PRIVACY),
    ]
    return modal(Form.PIP, "Draft the PIP", "Start the PIP", blocks, {"rep": rep_id, "gap": gap})


def _terms(card: Card) -> list[tuple[str, str]]:
    reviews = ", ".join(_day(d) for d in review_dates(card.starts_on, card.weeks))
    return [
        ("Each week", f"“{escape_mrkdwn(truncate(card.behavior, 300))}”, {card.weekly_count} times"),
        (
            "Your support",
            f"<@{card.manager_id}> will hold {card.sessions_per_week} coaching "
            f"session{'s' if card.sessions_per_week != 1 else ''} with you every week",
        ),
        ("Runs", f"{_day(card.starts_on)} to {_day(card.ends_on)} ({card.weeks} weeks)"),
        ("Reviews", reviews),
    ]


def plan_message(card: Card) -> Message:
    """The plan as the rep receives it: what is asked, what they are promised, when it is reviewed."""
    return {
        "text": f"Your performance improvement plan on {escape_mrkdwn(card.gap_name)}",
        "blocks": [
            header("Your performance improvement plan"),
            section(
                f"<@{card.manager_id}> has written a plan with you on *{escape_mrkdwn(card.gap_name)}*. "
                "It is there to close the gap, not to build a file: one behavior to show every week, "
                "coaching from your manager to help you show it, and an honest look at progress every two weeks."
            ),
            *fields(_terms(card)),
            context(SHARED),
        ],
    }


def home_blocks(card: Card, today: date) -> list[dict[str, Any]]:
    week = max((today - card.starts_on).days // 7 + 1, 1)
    upcoming = [d for d in review_dates(card.starts_on, card.weeks) if d >= today]
    where = f"Week {min(week, card.weeks)} of {card.weeks}" + (
        f" · next review {_day(upcoming[0])}" if upcoming else " · the final review is due"
    )
    return [
        header("Your PIP"),
        section(f"*{escape_mrkdwn(card.gap_name)}* · {where}"),
        *fields(_terms(card)),
    ]


def status_lines(rep_id: str, gap_name: str, status: Status) -> list[str]:
    """A running plan's week in the manager's summary, and a plain line when promised sessions are missing."""
    when = (
        "past its final review: close it with `/coach pip close @rep closed|reseated|separated`"
        if status.overdue
        else f"next review {_day(status.next_review)}"
        if status.next_review
        else "final review due"
    )
    lines = [
        f":memo: *PIP* <@{rep_id}> on {escape_mrkdwn(gap_name)}: week {min(status.week, status.weeks)} of "
        f"{status.weeks} · since it started: {status.met} met, {status.missed} missed · coaching sessions "
        f"{status.sessions_this_week} of {status.sessions_promised} promised this week "
        f"({status.sessions_so_far} of {status.promised_so_far} so far) · {when}"
    ]
    if status.short_this_week and not status.overdue:  # the promise ends with the final review
        owed = status.sessions_promised - status.sessions_this_week
        lines.append(
            f":warning: You promised <@{rep_id}> {status.sessions_promised} coaching "
            f"session{'s' if status.sessions_promised != 1 else ''} a week under their PIP and logged "
            f"{status.sessions_this_week} this week: {owed} short. Hold them and log them (`/coach log`); "
            "a plan whose support is missing is not a fair test."
        )
    return lines


def shared_channel_lines(running: int, short: int) -> list[str]:
    """What a summary posted to a channel says about PIPs: counts only, no names."""
    line = (
        f":memo: You have {running} running PIP{'s' if running != 1 else ''}. Their status stays out of "
        "shared channels: see your Coachbot Home tab."
    )
    if short:
        line += f" This week you logged fewer coaching sessions than you promised under {short} of them."
    return [line]


def closed_message(card: Card, outcome: str, by: str, note: str) -> Message:
    """The rep is told how their plan ended, with the note as written (escaped)."""
    said = f"\n>{escape_mrkdwn(truncate(note, 500))}" if note else ""
    return {
        "text": f"Your PIP on {escape_mrkdwn(card.gap_name)} has ended",
        "blocks": [
            section(
                f"Your PIP on *{escape_mrkdwn(card.gap_name)}* has ended: {TOLD_REP[outcome]}. "
                f"Recorded by <@{by}>.{said}"
            ),
            context(SHARED),
        ],
    }


CANVAS_SHARED = "Only the rep, their manager and Coachbot admins can open this canvas."
CANVAS_HINT = (
    "*Share as canvas* puts the evidence pack in a Slack canvas that only the rep, their manager and "
    "Coachbot admins can open."
)


def started_message(text: str, pip_id: int) -> Message:
    """The word to the manager that the plan started, with the button that shares its evidence pack."""
    return {
        "text": text,
        "blocks": [
            section(text),
            actions(button("Share as canvas", Action.PIP_CANVAS, str(pip_id))),
            context(CANVAS_HINT),
        ],
    }


def canvas_message(gap_name: str, link: str, for_rep: bool) -> Message:
    """The canvas link, sent once to the rep and (when someone else shared it) to the manager."""
    whose = "your PIP" if for_rep else "the PIP"
    text = f"The evidence pack for {whose} on {escape_mrkdwn(gap_name)} is now a canvas"
    return {
        "text": text,
        "blocks": [
            section(
                f"The evidence pack for {whose} on *{escape_mrkdwn(gap_name)}* is now a Slack canvas: "
                f"<{link}|open it>. It holds the diagnoses, every commitment with its check-ins, and the "
                "coaching time logged, read-only."
            ),
            context(CANVAS_SHARED),
        ],
    }
