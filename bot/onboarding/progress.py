"""Where a hire stands in their plan today: the day and phase, due vs done, behind two weeks running,
the next open steps, and their ramp among earlier hires of the same archetype. Pure."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from bot.onboarding.rules import PlanStatus, phase_of, plan_day, plan_status, ramp_percentile

NEXT_STEPS = 3


@dataclass(frozen=True)
class StepRecord:
    id: int
    title: str
    due_day: int
    done_on: date | None


@dataclass(frozen=True)
class PeerRecord:
    """An earlier hire's plan: its start and the plan days on which a step was done or a commitment met."""

    start: date
    done_days: tuple[int, ...] = ()  # sorted

    @classmethod
    def of(cls, start: date, done_on: list[date]) -> PeerRecord:
        return cls(start, tuple(sorted(plan_day(start, d) for d in done_on)))


@dataclass(frozen=True)
class Progress:
    day: int
    phase: int | None  # None once past day 90 (or before the start)
    status: PlanStatus
    behind_two_weeks: bool
    next_steps: list[StepRecord]
    ramp: int | None  # percentile among earlier hires; None when too few
    peers: int
    value: int  # steps done and commitments met so far


def _status_on(steps: list[StepRecord], day: int, on: date) -> PlanStatus:
    return plan_status([(s.due_day, s.done_on is not None and s.done_on <= on) for s in steps], day)


def progress(
    start: date, today: date, steps: list[StepRecord], met_on: list[date], peers: Sequence[PeerRecord]
) -> Progress:
    """`peers`: the workspace's plans for the same archetype, sorted by start (this one may be among them)."""
    day = plan_day(start, today)
    status = _status_on(steps, day, today)
    week_ago = today - timedelta(days=7)
    behind_two_weeks = status.behind and day - 7 >= 1 and _status_on(steps, day - 7, week_ago).behind
    open_steps = sorted((s for s in steps if s.done_on is None), key=lambda s: (s.due_day, s.id))
    value = sum(1 for s in steps if s.done_on and s.done_on <= today) + sum(1 for d in met_on if d <= today)
    # Earlier hires (peers sorted by start) as they stood on the same plan day.
    earlier = peers[: bisect_left(peers, start, key=lambda p: p.start)]
    same_day = [bisect_right(peer.done_days, day) for peer in earlier]
    return Progress(
        day=day,
        phase=phase_of(day),
        status=status,
        behind_two_weeks=behind_two_weeks,
        next_steps=open_steps[:NEXT_STEPS],
        ramp=ramp_percentile(value, same_day),
        peers=len(same_day),
        value=value,
    )
