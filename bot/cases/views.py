"""How similar cases and a second opinion read in the diagnose form and the weekly summary. Pure."""

from __future__ import annotations

from typing import Any

from bot.cases.opinion import Pattern, SecondOpinion
from bot.cases.rules import SimilarCase
from bot.playbook.models import Playbook
from bot.slack.blocks import context, section
from bot.slack.text import escape_mrkdwn, truncate

TRAIL_SHOWN = 4  # cycles listed under a second opinion; the summary line gives the count


def gap_name(gap: str | None, playbook: Playbook) -> str:
    if gap is None:
        return "no gap named"
    spec = playbook.gaps.get(gap)
    return spec.name if spec else ("no specific gap" if gap == "general" else gap)


def _trail_line(cycle: Any) -> str:
    return (
        f"• {cycle.closed_on.isoformat()} · “{escape_mrkdwn(truncate(cycle.behavior, 90))}”: "
        f"{cycle.status}, {cycle.logged}/{cycle.target} logged"
    )


def _what(opinion: SecondOpinion, playbook: Playbook) -> str:
    n = len(opinion.trail)
    gap = escape_mrkdwn(gap_name(opinion.gap, playbook))
    if opinion.pattern == Pattern.EFFORT_WITHOUT_MOVEMENT:
        return f"the last {n} cycles on {gap} (diagnosed as a coaching gap) were missed, with check-ins in each"
    if opinion.pattern == Pattern.NOT_BOUGHT_IN:
        return f"the last {n} cycles on {gap} (diagnosed as a coaching gap) were missed with nothing logged"
    return f"the last {n} commitments were met while attainment and pipeline quality stayed flat for a quarter"


def second_opinion_blocks(opinion: SecondOpinion, playbook: Playbook) -> list[dict[str, Any]]:
    """The section at the top of the diagnose form: what happened, the evidence, the reading."""
    words = playbook.second_opinion.patterns.of(opinion.pattern)
    trail = "\n".join(_trail_line(c) for c in opinion.trail[-TRAIL_SHOWN:])
    return [
        section(
            f":mag: *Second opinion: {escape_mrkdwn(words.label)}*\nThe outcomes do not fit the diagnosis: "
            f"{_what(opinion, playbook)}.\n{trail}"
        ),
        context(f"*How to read it:* {escape_mrkdwn(words.reading)} Worth diagnosing again below."),
    ]


def second_opinion_flag(opinion: SecondOpinion, rep_user_id: str, playbook: Playbook) -> str:
    """One line in the weekly summary's flags."""
    reading = playbook.second_opinion.patterns.of(opinion.pattern).reading
    return (
        f":mag: *Second opinion* <@{rep_user_id}>: {_what(opinion, playbook)}. "
        f"{escape_mrkdwn(reading)} `/diagnose <@{rep_user_id}>` shows the trail."
    )


def _case_text(n: int, case: SimilarCase, playbook: Playbook) -> str:
    cause = playbook.causes[case.cause].name if case.cause in playbook.causes else case.cause
    alike = ", ".join(case.reasons) or "little beyond being a past case"
    return (
        f"*{n}.* <@{case.rep_user_id}> · {escape_mrkdwn(cause)}, {escape_mrkdwn(gap_name(case.gap, playbook))} · "
        f"{case.diagnosed_on.isoformat()}\n>{escape_mrkdwn(truncate(case.evidence, 160))}\n"
        f"Tried “{escape_mrkdwn(truncate(case.behavior, 100))}” ({case.target}×): *{case.status}*, "
        f"{case.logged}/{case.target} logged · {case.met} of {case.closed} commitments met on this diagnosis\n"
        f"_Alike in: {escape_mrkdwn(alike)}_"
    )


def similar_blocks(cases: list[SimilarCase], playbook: Playbook, everyone: bool) -> list[dict[str, Any]]:
    """Up to three past cases with what was tried and how it ended; says where they come from."""
    scope = "across the workspace" if everyone else "among your own reps"
    if not cases:
        return [context(f"*Similar past cases*: none yet {scope} with a closed commitment to learn from.")]
    blocks: list[dict[str, Any]] = [
        context(f"*Similar past cases* {scope}, by wiring and by the words of the evidence:")
    ]
    blocks += [section(_case_text(n, case, playbook)) for n, case in enumerate(cases, start=1)]
    return blocks
