"""What works for whom, in words: the prescribe form's section on the best-evidenced commitment
shapes and on sizing, and the sizing note in the manager's confirmation. Pure: values in, blocks and
text out. Every rate comes with the counts behind it; workspace figures never name a rep."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.learning.rules import Figure, LedgerCell, PastOutcome, Shape, Sizing, enough_reps, has_evidence
from bot.playbook.models import Playbook
from bot.slack.blocks import context, section
from bot.slack.text import escape_mrkdwn

SHOW_WINDOW = 7  # the form's default window: the section sizes targets per week


@dataclass(frozen=True)
class Advice:
    """What the prescribe form shows beside the fields, as the service read it."""

    archetype: str | None  # the rep's archetype key, None without a profile
    gap: str | None  # a playbook gap key, None for a general commitment
    shapes: list[Shape] = field(default_factory=list)
    cells: list[LedgerCell] = field(default_factory=list)
    history: list[PastOutcome] = field(default_factory=list)
    comfortable: tuple[int, int] | None = None
    sized: Sizing | None = None  # at the middle of the comfortable range, for the reason line


def _pct(x: float) -> str:
    return f"{round(x * 100)}%"


def _count(n: float) -> str:
    return str(int(n)) if float(n).is_integer() else f"{n:.1f}"


def figure_text(f: Figure) -> str:
    """ "met 7 of 9 (78%, likely 52–92%)": the counts first, the rate and its range after."""
    return f"met {f.met} of {f.closed} ({_pct(f.rate)}, likely {round(f.low * 100)}–{_pct(f.high)})"


def who(archetype: str | None, gap_key: str | None, playbook: Playbook) -> str:
    """Whom a workspace figure is about ("Engine reps on Discovery depth"): a kind of rep, never one."""
    arch = escape_mrkdwn(playbook.archetype_name(archetype)) + " reps" if archetype else "Reps"
    gap = playbook.gaps.get(gap_key or "")
    return f"{arch} on {escape_mrkdwn(gap.name) if gap else 'this gap'}"


def _shape_line(shape: Shape, playbook: Playbook) -> str:
    name = escape_mrkdwn(playbook.practice_formats.get(shape.practice_format, shape.practice_format))
    line = f"• *{name}*: {figure_text(shape.overall)}"
    if shape.band is not None and shape.in_band is not None and shape.in_band.closed < shape.overall.closed:
        line += f"; at {shape.band.label} a week: {figure_text(shape.in_band)}"
    return line


def what_works_text(advice: Advice, playbook: Playbook, floor: int) -> str:
    if advice.archetype is None or advice.gap is None:
        why = "the rep has no wiring profile" if advice.archetype is None else "this commitment has no specific gap"
        return f"*What has worked*: nothing to compare with, as {why}."
    head = f"*What has worked* for {who(advice.archetype, advice.gap, playbook)}, across the workspace"
    if not advice.shapes:
        return (
            f"{head}: not enough history yet. A figure needs at least {floor} closed commitments like these, "
            f"from {playbook.learning.min_reps} reps or more, so none is shown."
        )
    return head + ":\n" + "\n".join(_shape_line(s, playbook) for s in advice.shapes)


def _history_reason(history: list[PastOutcome], streak: int, usual: float | None) -> str:
    if not history:
        return "no closed commitments of their own yet"
    usual_text = f"usually logs about {_count(round(usual or 0, 1))} a week"
    run = f"met the last {streak} in a row" if streak else "missed the last one"
    plural = "s" if len(history) != 1 else ""
    return f"their last {len(history)} closed commitment{plural} ({run}; {usual_text})"


def sizing_text(advice: Advice, rep_id: str, playbook: Playbook) -> str:
    """One line: which weekly targets look right for this rep, and what that rests on."""
    sized = advice.sized
    if sized is None or not has_evidence(sized):
        return f"*Sizing*: not enough history yet to size a target for <@{rep_id}>."
    rules = playbook.learning
    base = _history_reason(advice.history, sized.streak, sized.usual)
    if enough_reps(advice.cells, rules):  # a count about fewer reps would be a figure about them
        base += f", and {sum(c.met + c.missed for c in advice.cells)} similar commitments in the workspace"
    if advice.comfortable is None:
        return f"*Sizing for <@{rep_id}>*: no target from 1 to 50 a week sits between the lines. From {base}."
    low, high = advice.comfortable
    span = str(low) if low == high else f"{low}–{high}"
    parts = [f"*Sizing for <@{rep_id}>*, per {SHOW_WINDOW}-day window: {span} looks right"]
    if low > 1:
        parts.append(f"under {low} is likely too easy (over {rules.too_easy}% met)")
    if high < 50:
        parts.append(f"over {high} is likely too big (under {rules.too_big}% met)")
    return "; ".join(parts) + f". From {base}."


def advice_blocks(advice: Advice, rep_id: str, playbook: Playbook) -> list[dict[str, Any]]:
    """The prescribe form's section: at most three blocks, whatever the history."""
    rules = playbook.learning
    return [
        section(what_works_text(advice, playbook, rules.min_closed)),
        context(sizing_text(advice, rep_id, playbook)),
        context(
            f"“Likely” is an {rules.interval}% credible range. Figures are counts of closed commitments across "
            f"the whole workspace, from {rules.min_closed} on and {rules.min_reps} reps on, and name no one. "
            "Advice only: you decide."
        ),
    ]


def sizing_note(sized: Sizing, history: list[PastOutcome], rep_id: str, who: str, playbook: Playbook) -> str:
    """For the manager's confirmation, only when the target sent looks likely too big or too easy.
    The commitment has gone out as written: this never stops a prescription."""
    if sized.verdict is None or not has_evidence(sized):
        return ""
    rules = playbook.learning
    pace = _count(round(sized.pace, 1))
    if sized.verdict == "too_big":
        head = f"Heads-up: at {pace} a week this looks likely too big (about {_pct(sized.chance)} chance it is met)."
    else:
        head = f"Heads-up: at {pace} a week this looks likely too easy (about {_pct(sized.chance)} chance it is met)."
    reasons = []
    if sized.own:
        reasons.append(
            f"<@{rep_id}> logged that pace in {sized.reached} of " + _history_reason(history, sized.streak, sized.usual)
        )
    if sized.similar is not None:
        reasons.append(f"{who} at {sized.band.label} a week {figure_text(sized.similar)} across the workspace")
    tail = f" (the lines are {rules.too_big}% and {rules.too_easy}%)"
    return (
        f"\n{head} " + "; ".join(reasons) + f"{tail}. It went out as you wrote it; to change it, prescribe again "
        "from the brief and tick the replace box."
    )
