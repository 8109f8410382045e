"""Leading beside lagging, per rep: are the coached behaviors showing up (commitments met over the
last 4, 8 and 12 weeks), and are the numbers that should follow them moving (quota attainment and
pipeline quality over the last quarter)? The reading applies the method's rule: behaviors that do
not show up are a diagnosis problem; behaviors that show up while the numbers stay flat for a full
quarter point at the environment or the seat; both rising is coaching that works. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

from bot.playbook.thresholds import LaggingRules

WINDOWS = (4, 8, 12)  # weeks of closed commitments shown side by side
QUARTER = timedelta(weeks=13)
REACH = timedelta(weeks=10)  # the oldest figure in the quarter must be at least this old to read a trend


# Where the reading draws its lines: the playbook's `lagging` section.
ReadingRules = LaggingRules


class Verdict(StrEnum):
    NOT_SHOWING_UP = "not_showing_up"  # re-diagnose: the rep has not bought into the change
    FLAT = "flat"  # behaviors show up, numbers flat a full quarter: environment or seat
    IMPROVING = "improving"  # both moving the right way
    FALLING = "falling"  # behaviors show up while the numbers fall
    TOO_EARLY = "too_early"  # behaviors show up; not a full quarter of numbers yet
    NO_HISTORY = "no_history"  # too few closed commitments


@dataclass(frozen=True)
class Figure:
    """One period's lagging numbers (None when the file did not give that figure)."""

    start: date
    attainment: float | None = None
    quality: float | None = None
    days: int = 7  # the period's length: 7 for a week, the month's days for a month


@dataclass(frozen=True)
class Reading:
    met: dict[int, tuple[int, int]]  # weeks → (met, closed) over that many weeks
    attainment_change: float | None  # points over the last quarter, from the trend line
    quality_change: float | None
    quarter_covered: bool
    verdict: Verdict

    @property
    def text(self) -> str:
        return READINGS[self.verdict]


READINGS = {
    Verdict.NOT_SHOWING_UP: (
        "The coached behaviors are not showing up. Treat it as a diagnosis problem: the rep may not have "
        "bought into the change. Re-diagnose before prescribing more."
    ),
    Verdict.FLAT: (
        "The behaviors are showing up, yet attainment and pipeline quality have been flat for a full quarter. "
        "Look at the environment (territory, leads, product, comp plan) or at the seat."
    ),
    Verdict.IMPROVING: "Both are moving: the coached behaviors show up and the numbers are rising.",
    Verdict.FALLING: (
        "The behaviors show up while the numbers fall. Check the environment first, then whether this "
        "behavior is the one that moves the result."
    ),
    Verdict.TOO_EARLY: "The behaviors are showing up; a full quarter of numbers is needed before reading the trend.",
    Verdict.NO_HISTORY: "Not enough closed commitments yet to tell whether the behaviors are showing up.",
}


def met_in(closed: Sequence[tuple[date, bool]], today: date, weeks: int) -> tuple[int, int]:
    """(met, closed) among commitments closed in the last `weeks` weeks."""
    since = today - timedelta(weeks=weeks)
    recent = [met for on, met in closed if since < on <= today]
    return sum(recent), len(recent)


def change_over_quarter(points: Sequence[tuple[date, float]]) -> float | None:
    """The least-squares trend of the points, as the change it makes over a quarter; None for fewer
    than two points (or all on one day)."""
    if len(points) < 2:
        return None
    xs = [(on - points[0][0]).days for on, _ in points]
    ys = [value for _, value in points]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0:
        return None
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread
    return round(slope * QUARTER.days, 1)


def _movement(changes: list[float], band: float) -> str:
    if any(c <= -band for c in changes):
        return "falling"
    if any(c >= band for c in changes):
        return "rising"
    return "flat"


def read(closed: Sequence[tuple[date, bool]], figures: Sequence[Figure], today: date, rules: ReadingRules) -> Reading:
    """The side-by-side reading for one rep: closed commitments as (closed on, met), figures by period."""
    met = {weeks: met_in(closed, today, weeks) for weeks in WINDOWS}
    # Periods that reach into the last quarter (a month that began before it still counts).
    quarter = sorted(
        (f for f in figures if today - QUARTER < f.start + timedelta(days=f.days) and f.start <= today),
        key=lambda f: f.start,
    )
    attainment = change_over_quarter([(f.start, f.attainment) for f in quarter if f.attainment is not None])
    quality = change_over_quarter([(f.start, f.quality) for f in quarter if f.quality is not None])
    covered = len(quarter) >= 3 and quarter[0].start <= today - REACH
    changes = [c for c in (attainment, quality) if c is not None]
    # The most recent window with enough closed commitments to judge: 8 weeks, else 12.
    shown, closed_n = met[8] if met[8][1] >= rules.min_closed else met[12]
    if closed_n < rules.min_closed:
        verdict = Verdict.NO_HISTORY
    elif 100 * shown < rules.showing_up * closed_n:
        verdict = Verdict.NOT_SHOWING_UP
    elif not covered or not changes:
        verdict = Verdict.TOO_EARLY
    else:
        movement = _movement(changes, rules.flat_band)
        verdict = {"flat": Verdict.FLAT, "rising": Verdict.IMPROVING, "falling": Verdict.FALLING}[movement]
    return Reading(met, attainment, quality, covered, verdict)


@dataclass
class RepRecord:
    """What the side-by-side view needs about one rep: closed commitments as (closed on, met) and
    the figures by period."""

    name: str
    closed: list[tuple[date, bool]] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)


@dataclass(frozen=True)
class TrendPoint:
    """The team over one window of weeks: share of commitments met and the average figures."""

    label: str
    met_share: float | None
    attainment: float | None
    quality: float | None


def _average(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def trend(records: Sequence[RepRecord], today: date, windows: int = 3) -> list[TrendPoint]:
    """The team over the last `windows` four-week windows, oldest first."""
    points = []
    for n in range(windows, 0, -1):
        start, end = today - timedelta(weeks=4 * n), today - timedelta(weeks=4 * (n - 1))
        closed = [float(met) for r in records for on, met in r.closed if start < on <= end]
        figures = [f for r in records for f in r.figures if start < f.start <= end]
        share = _average(closed)
        points.append(
            TrendPoint(
                f"{4 * n}-{4 * n - 3} wks ago" if n > 1 else "last 4 wks",
                None if share is None else round(100 * share, 1),
                _average([f.attainment for f in figures if f.attainment is not None]),
                _average([f.quality for f in figures if f.quality is not None]),
            )
        )
    return points
