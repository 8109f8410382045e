"""The 30/60/90 plan's rules: which phase a day is in, the draft plan from the playbook and the
hire's wiring, the manager's edits, progress against due dates and where a ramp stands among
earlier hires. Pure: plain values and the playbook in, plain values out."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from bot.playbook.file import COUNT_MAX, COUNTED, DEFAULT, MILESTONE_MAX, MILESTONES_MAX
from bot.playbook.models import Playbook

PLAN_DAYS = 90
PHASE_ENDS = (30, 60, 90)
MIN_PEERS = 3  # fewer earlier hires than this say more about luck than about the ramp

_BULLET = re.compile(r"^[-•](\s+|$)")


@dataclass(frozen=True)
class MilestoneDraft:
    """A milestone before it is stored: its phase (1-3), a one-line title and the plan day it is due."""

    phase: int
    title: str
    due_day: int


@dataclass(frozen=True)
class Counting:
    """A counted milestone's commitment as the plan shows it."""

    status: str  # waiting | active | met | missed
    logged: int
    target: int


@dataclass(frozen=True)
class PlanStatus:
    """How many milestones are due by a day, how many of those are done, and whether that is short."""

    due: int
    done: int
    behind: bool


def counted(title: str) -> tuple[int | None, str]:
    """How many times a milestone that is a behavior asks for ("5× Lead a discovery call..."), and
    its words; (None, title) for a step that is simply checked off."""
    match = COUNTED.match(title)
    return (int(match.group(1)), title[match.end() :]) if match else (None, title)


def phase_first_day(phase: int) -> int:
    return 1 if phase == 1 else PHASE_ENDS[phase - 2] + 1


def behavior_window(start: date, phase: int, due_day: int, today: date) -> tuple[date, date] | None:
    """The dates a counted milestone is a commitment for: from its phase's first day (or today, for a
    plan started mid-phase) to its due day. None when the due day has passed: it cannot be counted."""
    first = start + timedelta(days=phase_first_day(phase) - 1)
    due = start + timedelta(days=due_day - 1)
    if due < today:
        return None
    return max(first, today), due


def phase_of(day: int) -> int | None:
    """The phase (1-3) a plan day falls in; None before the plan starts or once it is over."""
    if not 1 <= day <= PLAN_DAYS:
        return None
    return next(phase for phase, end in enumerate(PHASE_ENDS, start=1) if day <= end)


def plan_day(start: date, today: date) -> int:
    """Day 1 is the start date itself; earlier dates give 0 or less, later ones may pass 90."""
    return (today - start).days + 1


def _spread(phase: int, titles: list[str]) -> list[MilestoneDraft]:
    """Due days evenly spaced through the phase, the last on its final day (3 in phase 1: 10, 20, 30)."""
    first = PHASE_ENDS[phase - 2] if phase > 1 else 0
    span, count = PHASE_ENDS[phase - 1] - first, len(titles)
    return [
        MilestoneDraft(phase=phase, title=title, due_day=first - (-span * n // count))
        for n, title in enumerate(titles, start=1)
    ]


def _same(title: str) -> str:
    return " ".join(title.split()).casefold()


def _trimmed(generic: list[str], specific: list[str]) -> list[str]:
    """Generic titles then gap-specific ones, each once, at most 8. When there are too many, the
    gap-specific ones stay (the plan exists to close this hire's gaps) and generic ones go from the end."""
    ordered: dict[str, str] = {}
    for title in (*generic, *specific):
        ordered.setdefault(_same(title), title)
    own = {_same(title) for title in specific}
    kept = [key for key in ordered if key in own][:MILESTONES_MAX]
    kept += [key for key in ordered if key not in own][: MILESTONES_MAX - len(kept)]
    return [title for key, title in ordered.items() if key in kept]


def draft_plan(playbook: Playbook, archetype: str | None, gaps: list[str]) -> list[MilestoneDraft]:
    """The plan Coachbot proposes for a new hire, phase by phase: every hire's milestones, then the
    archetype's extras (or `default`'s), then each flagged gap's in the order given. Gaps the
    playbook has no extras for are skipped; the manager edits the result before it starts."""
    content = playbook.onboarding
    by_archetype = content.by_archetype.get(archetype or "", content.by_archetype.get(DEFAULT, {}))
    drafts: list[MilestoneDraft] = []
    for phase, entry in enumerate(content.phases, start=1):
        generic = [*entry.milestones, *by_archetype.get(phase, [])]
        specific = [title for gap in gaps for title in content.by_gap.get(gap, {}).get(phase, [])]
        drafts += _spread(phase, _trimmed(generic, specific))
    return drafts


def parse_milestones(text: str, phase: int) -> tuple[list[MilestoneDraft], str | None]:
    """A phase as the manager typed it in the plan form, one milestone per line: blank lines and
    bullets ("- ", "• ") are dropped. Returns the drafts, or no drafts and the one-line reason."""
    if phase not in (1, 2, 3):
        raise ValueError(f"phase must be 1, 2 or 3, not {phase}")
    titles = [" ".join(_BULLET.sub("", line.strip()).split()) for line in text.splitlines()]
    titles = [title for title in titles if title]
    if not titles:
        return [], f"Phase {phase} needs at least one milestone, one per line."
    if len(titles) > MILESTONES_MAX:
        return [], f"Phase {phase} has {len(titles)} milestones; keep it to {MILESTONES_MAX} or fewer."
    seen: dict[str, int] = {}
    for number, title in enumerate(titles, start=1):
        count, words = counted(title)
        if count is not None and not 1 <= count <= COUNT_MAX:
            return [], f"Phase {phase}, milestone {number} asks for {count} times; pick 1 to {COUNT_MAX}."
        if count is not None:  # one spelling for "5x" and "5 ×"
            titles[number - 1] = title = f"{count}× {words}"
        if not title.isprintable():
            return [], f"Phase {phase}, milestone {number} has a character that can't be shown; retype it."
        if len(title) > MILESTONE_MAX:
            return [], (
                f"Phase {phase}, milestone {number} is {len(title)} characters; shorten it to {MILESTONE_MAX} or fewer."
            )
        if _same(title) in seen:
            return [], f"Phase {phase}, milestone {number} repeats milestone {seen[_same(title)]}."
        seen[_same(title)] = number
    return _spread(phase, titles), None


def plan_status(milestones: list[tuple[int, bool]], day: int) -> PlanStatus:
    """Progress on a plan day from (due_day, done) pairs: only milestones already due count."""
    due = [done for due_day, done in milestones if due_day <= day]
    done = sum(due)
    return PlanStatus(due=len(due), done=done, behind=done < len(due))


def behind_reason(cause_of_latest_diagnosis: str | None, seat_fit_risk: bool, deal_killers: list[str]) -> str:
    """Why a hire who has been behind two weeks running most likely is, and what to do instead of
    piling on milestones. Wiring on record comes first: no drill fixes a seat that does not fit."""
    if seat_fit_risk or cause_of_latest_diagnosis == "seat_fit":
        return (
            "Their wiring does not match what this seat asks for, so extra drills will not close the gap. "
            "Talk about the seat before adding to the plan."
        )
    if deal_killers:
        return (
            "Their assessment flags a trait that weekly coaching rarely shifts. Treat the slip as a question "
            "about the seat, not a reason for more drills."
        )
    if cause_of_latest_diagnosis == "environmental_drag":
        return (
            "The last diagnosis found something outside their control holding them back. Escalate it to the "
            "leader who owns it rather than adding milestones."
        )
    if cause_of_latest_diagnosis == "motivation":
        return (
            "The last diagnosis pointed to something personal. Make time for an honest conversation before "
            "asking for more."
        )
    if cause_of_latest_diagnosis == "coaching_gap":
        return (
            "A skill is still missing. Narrow the next commitment to one small behavior they can show "
            "this week, and practise it first."
        )
    return "Nothing on record explains it yet. Diagnose them before changing the plan."


def ramp_percentile(value: int, peers: list[int]) -> int | None:
    """Where a hire stands among earlier hires at the same plan day: the percent of peers strictly
    below, plus half of those level, rounded half up. None with fewer than three peers: not enough
    history yet for the number to mean anything."""
    if len(peers) < MIN_PEERS:
        return None
    below = sum(peer < value for peer in peers)
    level = sum(peer == value for peer in peers)
    # 100 * (below + level / 2) / len(peers), rounded half up, in whole numbers
    return (100 * (2 * below + level) + len(peers)) // (2 * len(peers))
