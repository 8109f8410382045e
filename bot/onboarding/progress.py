"""Where a hire stands in their plan today: the day and phase, due vs done, behind two weeks running,
the next open steps, and their ramp among earlier hires of the same archetype. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
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
    """An earlier hire's plan: its start and the days its steps were done and commitments met."""

    start: date
    done_on: list[date] = field(default_factory=list)


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
    start: date, today: date, steps: list[StepRecord], met_on: list[date], peers: list[PeerRecord]
) -> Progress:
    day = plan_day(start, today)
    status = _status_on(steps, day, today)
    week_ago = today - timedelta(days=7)
    behind_two_weeks = status.behind and day - 7 >= 1 and _status_on(steps, day - 7, week_ago).behind
    open_steps = sorted((s for s in steps if s.done_on is None), key=lambda s: (s.due_day, s.id))
    value = sum(1 for s in steps if s.done_on and s.done_on <= today) + sum(1 for d in met_on if d <= today)
    # Earlier hires as they stood on the same plan day (only those who have reached it).
    same_day = [
        sum(1 for d in peer.done_on if d <= peer.start + timedelta(days=day - 1))
        for peer in peers
        if peer.start < start and plan_day(peer.start, today) >= day
    ]
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
