"""A second opinion: when what happened after a diagnosis does not fit it, say so and suggest a new look.

Three patterns; the playbook's `second_opinion.patterns` gives each its label and reading:

- effort without movement: a gap diagnosed as a coaching gap, its last cycles all missed although
  the rep logged check-ins in every one. Effort is there, so this is not motivation: look at the
  seat (wiring) or the environment.
- missed without trying: the same streak with no check-in logged at all. The behaviors are not
  showing up: the rep has not bought into the change, and more drills will not fix that.
- met but flat: commitments keep being met while the lagging numbers stay flat for a quarter
  (bot.levers.lagging's FLAT verdict). The behavior shows up and the result does not follow:
  environment or seat.

A streak with check-ins in some cycles and not others says neither, and is left alone. A diagnosis
of the gap made after the streak's last cycle closed means the manager has already looked again.
Pure: the diagnose form and the weekly summary call the same function.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from bot.levers.lagging import Verdict
from bot.playbook.thresholds import SecondOpinionRules

COACHING_GAP = "coaching_gap"
GENERAL = "general"  # the gap of a commitment whose diagnosis named none (bot.coaching.rules.GENERAL_GAP)
PLAN_PREFIX = "onboarding:"  # plan steps are not coaching cycles on a diagnosed gap


class Pattern(StrEnum):
    """The keys of the playbook's `second_opinion.patterns` (bot.playbook.thresholds.OpinionPatterns)."""

    EFFORT_WITHOUT_MOVEMENT = "effort_without_movement"
    NOT_BOUGHT_IN = "not_bought_in"
    MET_BUT_FLAT = "met_but_flat"


@dataclass(frozen=True)
class Cycle:
    """One closed commitment: what was asked, what was logged, how it ended."""

    commitment_id: int
    gap: str
    behavior: str
    status: str  # met | missed
    logged: int
    target: int
    closed_on: date


@dataclass(frozen=True)
class Diagnosed:
    gap: str  # GENERAL when the diagnosis named no gap
    cause: str
    on: date


@dataclass(frozen=True)
class SecondOpinion:
    pattern: Pattern
    gap: str | None  # the gap of the streak; None for met-but-flat, which is about the numbers
    trail: tuple[Cycle, ...]  # the cycles behind it, oldest first


def _latest_on(diagnoses: Sequence[Diagnosed], gap: str) -> Diagnosed | None:
    on_gap = [d for d in diagnoses if d.gap == gap]
    return max(on_gap, key=lambda d: d.on) if on_gap else None


def _missed_streak(cycles: Sequence[Cycle], gap: str) -> list[Cycle]:
    """The latest closed cycles on the gap that were all missed, oldest first."""
    streak: list[Cycle] = []
    for cycle in reversed([c for c in cycles if c.gap == gap]):
        if cycle.status != "missed":
            break
        streak.append(cycle)
    return streak[::-1]


def _streak_opinion(
    cycles: Sequence[Cycle], diagnoses: Sequence[Diagnosed], gap: str, rules: SecondOpinionRules
) -> SecondOpinion | None:
    streak = _missed_streak(cycles, gap)
    if len(streak) < rules.missed_cycles:
        return None
    latest = _latest_on(diagnoses, gap)
    if latest is None or latest.cause != COACHING_GAP or latest.on > streak[-1].closed_on:
        return None
    trail = tuple(streak[-rules.missed_cycles :])
    if all(c.logged > 0 for c in trail):
        return SecondOpinion(Pattern.EFFORT_WITHOUT_MOVEMENT, gap, trail)
    if all(c.logged == 0 for c in trail):
        return SecondOpinion(Pattern.NOT_BOUGHT_IN, gap, trail)
    return None


def second_opinion(
    cycles: Sequence[Cycle],
    diagnoses: Sequence[Diagnosed],
    verdict: Verdict | None,
    rules: SecondOpinionRules,
) -> SecondOpinion | None:
    """At most one second opinion for a rep: the missed streak on the gap closed most recently,
    otherwise met-but-flat. `cycles` are closed commitments oldest first; `verdict` is the reading
    of behaviors beside the numbers (None without figures)."""
    coached = sorted(
        (c for c in cycles if c.status in ("met", "missed") and not c.gap.startswith(PLAN_PREFIX)),
        key=lambda c: (c.closed_on, c.commitment_id),
    )
    gaps = list(dict.fromkeys(c.gap for c in reversed(coached)))  # most recently closed first
    for gap in gaps:
        if (opinion := _streak_opinion(coached, diagnoses, gap, rules)) is not None:
            return opinion
    recent = coached[-rules.met_cycles :]
    if verdict == Verdict.FLAT and len(recent) == rules.met_cycles and all(c.status == "met" for c in recent):
        return SecondOpinion(Pattern.MET_BUT_FLAT, None, tuple(recent))
    return None
