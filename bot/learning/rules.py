"""What works for whom, as arithmetic: which commitments count, their weekly target and band, a met
rate with its credible range, the best-evidenced shapes for an archetype and gap, and how likely a
draft target is to be met. Pure and deterministic: no database, no Slack, no randomness."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.coaching.rules import TARGET_MAX, coached_gap
from bot.playbook.learning import LearningRules

NONE = "none"  # an archetype or root cause that is not known
CLOSED = ("met", "missed")
WEEK = 7
NEUTRAL = 2.0  # with nothing to go on, a sizing starts from Beta(2, 2): even odds, easily moved


def counts_in_ledger(gap: str, status: str) -> bool:
    """Only closed commitments on a diagnosed playbook gap teach anything about what works: plan
    milestones have no diagnosis, and "general" commitments share no gap to compare on."""
    return status in CLOSED and coached_gap(gap)


def practice_days(window_days: int, paused_days: int) -> int:
    """The window as prescribed: pauses extend a window without adding practice."""
    return max(1, window_days - paused_days)


def weekly_pace(target: int, days: int) -> int:
    """The target per seven days, rounded half up, at least 1. Integer arithmetic on purpose: the
    migration's backfill computes the same figure in SQL."""
    days = max(1, days)
    return max(1, (2 * WEEK * target + days) // (2 * days))


@dataclass(frozen=True)
class Band:
    low: int
    high: int | None  # None: open-ended

    @property
    def label(self) -> str:
        if self.high is None:
            return f"{self.low}+"
        return str(self.low) if self.low == self.high else f"{self.low}–{self.high}"

    def holds(self, pace: int) -> bool:
        return pace >= self.low and (self.high is None or pace <= self.high)


def bands(rules: LearningRules) -> list[Band]:
    lows = (1, *(high + 1 for high in rules.size_bands))
    return [Band(low, high) for low, high in zip(lows, (*rules.size_bands, None), strict=True)]


def band_of(pace: int, rules: LearningRules) -> Band:
    return next(b for b in bands(rules) if b.holds(pace))


# --- the credible range ------------------------------------------------------------------------


def _beta_fraction(x: float, a: float, b: float) -> float:
    """The continued fraction of the incomplete beta function (modified Lentz's method)."""
    tiny, qab, qap, qam = 1e-300, a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        for aa in (m * (b - m) * x / ((qam + m2) * (a + m2)), -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + aa / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return h


def beta_cdf(x: float, a: float, b: float) -> float:
    """The regularized incomplete beta function I_x(a, b): P(X <= x) for X ~ Beta(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_fraction(x, a, b) / a
    return 1.0 - math.exp(log_front) * _beta_fraction(1.0 - x, b, a) / b


def beta_quantile(p: float, a: float, b: float) -> float:
    """The x with I_x(a, b) = p, by bisection: slow-ish but exact to 1e-10 and always the same."""
    low, high = 0.0, 1.0
    for _ in range(60):
        mid = (low + high) / 2
        if beta_cdf(mid, a, b) < p:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def credible_range(met: int, missed: int, level: int) -> tuple[float, float]:
    """The equal-tailed `level`% credible interval of the met rate under a uniform prior:
    Beta(1 + met, 1 + missed). Honest at the edges: 0 of 5 met still allows a little, 5 of 5 is not
    certainty."""
    tail = (1 - level / 100) / 2
    a, b = 1.0 + met, 1.0 + missed
    return beta_quantile(tail, a, b), beta_quantile(1 - tail, a, b)


# --- the best-evidenced shapes -----------------------------------------------------------------


@dataclass(frozen=True)
class LedgerCell:
    """One ledger row as read for an archetype and gap, with the reps whose closed commitments have
    that format and weekly target (ids only, never shown: a figure must come from enough of them)."""

    cause: str
    practice_format: str
    weekly_pace: int
    met: int
    missed: int
    reps: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Figure:
    """A met rate with the counts behind it and its credible range."""

    met: int
    closed: int
    low: float
    high: float

    @property
    def rate(self) -> float:
        return self.met / self.closed


def figure(met: int, missed: int, rules: LearningRules, reps: int) -> Figure | None:
    """None below the floor: nothing is shown from fewer than `min_closed` closed commitments, nor from
    fewer than `min_reps` distinct reps (five commitments of one rep are a figure about that rep)."""
    if met + missed < rules.min_closed or reps < rules.min_reps:
        return None
    low, high = credible_range(met, missed, rules.interval)
    return Figure(met, met + missed, low, high)


@dataclass(frozen=True)
class Shape:
    """A practice format's record, and its best-evidenced weekly band when one clears the floor."""

    practice_format: str
    overall: Figure
    band: Band | None = None
    in_band: Figure | None = None


def _tally(cells: Iterable[LedgerCell]) -> tuple[int, int, int]:
    """Met, missed and how many distinct reps they come from."""
    met = missed = 0
    reps: set[int] = set()
    for cell in cells:
        met, missed = met + cell.met, missed + cell.missed
        reps |= cell.reps
    return met, missed, len(reps)


def figure_of(cells: Iterable[LedgerCell], rules: LearningRules) -> Figure | None:
    """The figure over these cells, or None below either floor."""
    met, missed, reps = _tally(cells)
    return figure(met, missed, rules, reps)


def enough_reps(cells: Iterable[LedgerCell], rules: LearningRules) -> bool:
    """Whether a count over these cells may be shown at all: the same floors as a figure's."""
    met, missed, reps = _tally(cells)
    return met + missed >= rules.min_closed and reps >= rules.min_reps


def best_shapes(cells: Sequence[LedgerCell], rules: LearningRules, limit: int = 5) -> list[Shape]:
    """Practice formats that clear the floor, best evidenced first: ranked by the low end of the
    credible range (a rate that is both high and well counted), ties by more closed, then by name."""
    shapes: list[Shape] = []
    for fmt in sorted({c.practice_format for c in cells}):
        mine = [c for c in cells if c.practice_format == fmt]
        overall = figure_of(mine, rules)
        if overall is None:
            continue
        banded = [(b, figure_of((c for c in mine if b.holds(c.weekly_pace)), rules)) for b in bands(rules)]
        cleared = [(b, f) for b, f in banded if f is not None]
        best = max(cleared, key=lambda bf: (bf[1].low, bf[1].closed), default=None)
        shapes.append(Shape(fmt, overall, *(best or (None, None))))
    shapes.sort(key=lambda s: (-s.overall.low, -s.overall.closed, s.practice_format))
    return shapes[:limit]


# --- sizing a draft target ---------------------------------------------------------------------


@dataclass(frozen=True)
class PastOutcome:
    """One of the rep's own closed commitments: its weekly target, what was logged per week, met?"""

    target_pace: float
    logged_pace: float
    met: bool


def past_outcome(target: int, logged: int, days: int, met: bool) -> PastOutcome:
    days = max(1, days)
    return PastOutcome(target * WEEK / days, logged * WEEK / days, met)


@dataclass(frozen=True)
class Sizing:
    """How likely a weekly target is to be met, and why."""

    pace: float
    chance: float
    verdict: str | None  # "too_big" | "too_easy" | None
    reached: int  # of the rep's own recent commitments, how many logged at least this pace
    own: int
    streak: int  # the rep's most recent commitments met in a row
    usual: float | None  # the rep's median logged count per week
    band: Band
    similar: Figure | None  # the workspace's record at this band for the archetype and gap


def streak_of(history: Sequence[PastOutcome]) -> int:
    """Met in a row, most recent first (history is newest first)."""
    run = 0
    for past in history:
        if not past.met:
            break
        run += 1
    return run


def usual_pace(history: Sequence[PastOutcome]) -> float | None:
    paces = sorted(p.logged_pace for p in history)
    if not paces:
        return None
    mid = len(paces) // 2
    return paces[mid] if len(paces) % 2 else (paces[mid - 1] + paces[mid]) / 2


def band_records(cells: Sequence[LedgerCell], rules: LearningRules) -> dict[Band, Figure | None]:
    """The workspace's record per weekly band for an archetype and gap (None below the floor)."""
    return {b: figure_of((c for c in cells if b.holds(c.weekly_pace)), rules) for b in bands(rules)}


def size(
    pace: float,
    history: Sequence[PastOutcome],
    records: dict[Band, Figure | None],
    rules: LearningRules,
    streak: int = 0,
) -> Sizing:
    """P(met) for a weekly target: a Beta prior from the workspace's record for this archetype and
    gap at the target's band (when it clears the floor; scaled to at most `ledger_weight`
    commitments so the rep's own history still counts), updated with the rep's own last commitments:
    each one counts as a success when they logged at least this pace in it. Without a record, the
    prior is Beta(2, 2). The met streak is reported with the reason; the counts already carry it."""
    band = band_of(max(1, math.floor(pace + 0.5)), rules)
    similar = records.get(band)
    if similar is None:
        a0 = b0 = NEUTRAL
    else:
        a0, b0 = 1.0 + similar.met, 1.0 + similar.closed - similar.met
        scale = min(1.0, rules.ledger_weight / (a0 + b0))
        a0, b0 = a0 * scale, b0 * scale
    reached = sum(1 for past in history if past.logged_pace + 1e-9 >= pace)
    chance = (a0 + reached) / (a0 + b0 + len(history))
    verdict = "too_big" if chance * 100 < rules.too_big else "too_easy" if chance * 100 > rules.too_easy else None
    return Sizing(pace, chance, verdict, reached, len(history), streak, usual_pace(history), band, similar)


def has_evidence(sizing: Sizing) -> bool:
    """A sizing says something only when the rep has history or the workspace's record clears the floor."""
    return sizing.own > 0 or sizing.similar is not None


def comfortable_targets(
    history: Sequence[PastOutcome], cells: Sequence[LedgerCell], rules: LearningRules, days: int = WEEK
) -> tuple[int, int] | None:
    """The smallest target over `days` that is not likely too easy and the largest that is not likely
    too big; None when no target from 1 to 50 sits between the lines."""
    streak, records = streak_of(history), band_records(cells, rules)
    fine = [
        t for t in range(1, TARGET_MAX + 1) if size(t * WEEK / days, history, records, rules, streak).verdict is None
    ]
    return (fine[0], fine[-1]) if fine else None
