"""Block Kit rendering: pure functions from plain values to message and view dicts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.playbook.models import Playbook
from bot.playbook.wiring import onboarding_status, seat_fit_risk
from bot.slack.blocks import actions, button, context, divider, fields, header, section
from bot.slack.ids import Action
from bot.slack.text import escape_mrkdwn

Message = dict[str, Any]

PRIVACY_NOTE = "Only you can see this. Wiring data is visible to the rep, their manager and admins."


@dataclass(frozen=True)
class WiringCard:
    """What the card needs, already read from storage (so rendering stays pure)."""

    rep_user_id: str
    rep_name: str
    manager_user_id: str | None
    archetype: str | None
    seat_name: str | None
    seat_archetype: str | None
    coachability: int | None
    drive: int | None
    resilience: int | None
    deal_killers: list[str]
    gaps: list[str]
    start_date: date | None
    version: int | None
    assessed_on: date | None
    versions: int


def _score_bar(score: int | None) -> str:
    if score is None:
        return "—"
    filled = round(score / 10)
    return f"`{'█' * filled}{'░' * (10 - filled)}` {score}"


def wiring_card(card: WiringCard, playbook: Playbook, today: date) -> Message:
    name = escape_mrkdwn(card.rep_name) or f"<@{card.rep_user_id}>"
    blocks = [header(f"Wiring card: {card.rep_name or card.rep_user_id}")]
    if card.archetype is None:
        blocks.append(
            section(
                f"<@{card.rep_user_id}> has no wiring profile yet. An admin can add one "
                "with `coachbot import` (see the README for the columns)."
            )
        )
    else:
        arch = playbook.archetypes.get(card.archetype)
        seat_line = "no seat recorded"
        if card.seat_archetype:
            seat_line = (
                f"{escape_mrkdwn(card.seat_name or '')} needs "
                f"*{escape_mrkdwn(playbook.archetype_name(card.seat_archetype))}*"
            )
            if seat_fit_risk(card.archetype, card.seat_archetype):
                seat_line += "\n:warning: Seat-fit risk: wiring and seat differ"
            else:
                seat_line += "\n:white_check_mark: Wiring fits the seat"
        onboarding = onboarding_status(card.start_date, today)
        blocks += fields(
            [
                ("Archetype", f"*{escape_mrkdwn(playbook.archetype_name(card.archetype))}*"),
                ("Seat", seat_line),
                ("Manager", f"<@{card.manager_user_id}>" if card.manager_user_id else "none assigned"),
                ("Onboarding", onboarding.label.capitalize()),
            ]
        )
        if arch:
            blocks.append(context(escape_mrkdwn(arch.summary)))
        blocks.append(
            section(
                "*Sales DNA*\n"
                f"Coachability  {_score_bar(card.coachability)}\n"
                f"Drive         {_score_bar(card.drive)}\n"
                f"Resilience    {_score_bar(card.resilience)}"
            )
        )
        killers = [playbook.deal_killers[k] for k in card.deal_killers if k in playbook.deal_killers]
        if killers:
            lines = "\n".join(f":red_circle: *{escape_mrkdwn(k.name)}*: {escape_mrkdwn(k.guidance)}" for k in killers)
            blocks.append(section(f"*Deal-killer flags*\n{lines}"))
        else:
            blocks.append(section("*Deal-killer flags*\nNone flagged."))
        gaps = [playbook.gaps[g] for g in card.gaps if g in playbook.gaps]
        if gaps:
            lines = "\n".join(f"• *{escape_mrkdwn(g.name)}*: {escape_mrkdwn(g.description)}" for g in gaps)
            blocks.append(section(f"*Flagged coaching gaps*\n{lines}"))
        else:
            blocks.append(section("*Flagged coaching gaps*\nNone flagged."))
        assessed = f" from {card.assessed_on.isoformat()}" if card.assessed_on else ""
        history = f" ({card.versions} on file)" if card.versions > 1 else ""
        blocks.append(context(f"Assessment version {card.version}{assessed}{history}. {PRIVACY_NOTE}"))
    return {"text": f"Wiring card for {name}", "blocks": blocks}


HELP_COMMANDS = [
    (
        "/coach profile @rep",
        "Show a rep's wiring card: archetype vs seat, Sales DNA scores, "
        "deal-killer flags, flagged gaps and onboarding day. Visible to the rep, their manager and admins.",
    ),
    ("/coach team", "List the reps you coach."),
    ("/coach request @rep", "Ask to become a rep's manager in Coachbot. The rep accepts or declines in a DM."),
    ("/coach assign @rep @manager", "Admins: make someone a rep's manager right away."),
    ("/diagnose @rep [note]", "Managers: diagnose a rep's gap, get a coaching brief, prescribe one behavior."),
    ("/checkin [count] [note]", "Reps: log that this week's behavior showed up."),
    (
        "/coach pause [@rep] YYYY-MM-DD",
        "Pause practice nudges until a date (vacation, life event). `/coach resume [@rep]` turns them back on.",
    ),
    ("/coach log MINUTES KIND @rep…", "Managers: log coaching time (1:1, call-review, role-play, group)."),
    ("/coach summary", "Managers: post your weekly team summary now."),
    ("/coach plan @rep", "Managers: draft, edit and start a new hire's 30/60/90 onboarding plan."),
    (
        "/coach pip @rep [gap]",
        "Managers: is a PIP the honest next step? Checks four rules and says the next move if not; when "
        "all hold, drafts the plan. `/coach pip close @rep closed|reseated|separated [note]` ends it; "
        "`/coach pip canvas @rep` shares its evidence pack as a canvas only the rep, manager and admins see.",
    ),
    ("/coach mix", "Managers: your team's make-up: archetypes against seats, Sales DNA, span, next hire."),
    ("/coach numbers", "Managers: each rep's coached behaviors beside their imported numbers, with a reading."),
    ("/coach org", "Admins: every team's make-up and retention across the organisation."),
    (
        "/coach fitrisk [org]",
        "Managers (admins with `org`): ten questions that show whether hiring, coaching or team "
        "composition leaks most, pre-filled where Coachbot has the data.",
    ),
    ("/coach settings channel #private-channel", "Managers: where your weekly summary goes (private only)."),
    ("/coach settings", "Admins: nudge and summary day and time, and mid-window reminders."),
    ("/coach help", "This message."),
]


def help_message() -> Message:
    lines = "\n".join(f"`{cmd}`\n{escape_mrkdwn(desc)}" for cmd, desc in HELP_COMMANDS)
    return {
        "text": "Coachbot help",
        "blocks": [
            header("Coachbot"),
            section(
                "Coachbot helps managers coach each rep from their wiring, one measurable behavior "
                "a week: diagnose the gap, prescribe a behavior, practise it, measure it."
            ),
            divider(),
            section(lines),
            context(
                "Admins load the roster and assessments with `coachbot import FILE` (CSV or JSON; see the README)."
            ),
        ],
    }


def team_list(manager_id: str, reps: list[tuple[str, str | None]], playbook: Playbook) -> Message:
    """reps: (user id, archetype key or None)."""
    if not reps:
        return text_message(
            "You don't have any reps in Coachbot yet. An admin can assign them, or use `/coach request @rep`."
        )
    lines = [
        f"• <@{uid}>: {escape_mrkdwn(playbook.archetype_name(a)) if a else 'no wiring profile'}"
        for uid, a in reps[:200]
    ]
    more = f"\n…and {len(reps) - 200} more" if len(reps) > 200 else ""
    return {"text": "Your reps", "blocks": [header("Your reps"), section("\n".join(lines) + more)]}


def manager_request_dm(request_id: int, manager_id: str, current_manager: str | None) -> Message:
    note = f"\nThis would replace <@{current_manager}> as your manager in Coachbot." if current_manager else ""
    text = (
        f"<@{manager_id}> would like to coach you in Coachbot. If you accept, they will see your "
        f"wiring profile, diagnoses and commitments.{note}"
    )
    return {
        "text": f"Coaching request from <@{manager_id}>",
        "blocks": [
            section(text),
            actions(
                button("Accept", Action.REQUEST_ACCEPT, str(request_id), style="primary"),
                button("Decline", Action.REQUEST_DECLINE, str(request_id)),
                block_id=f"manager_request_{request_id}",
            ),
        ],
    }


def text_message(text: str) -> Message:
    """A short reply. `text` must already be safe mrkdwn (escape user input first)."""
    return {"text": text, "blocks": [section(text)]}
