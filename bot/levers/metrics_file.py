"""A metrics file: the lagging numbers per rep and period (quota attainment, pipeline created and
its quality) and employment events (start, exit). The same file checks as the roster import, every
row checked and every problem listed, so a file is stored whole or not at all."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.roster.import_rows import EXTRA, ImportRejected, Layout, single_value, subject

COLUMNS = (
    "rep",
    "period",
    "quota_attainment",
    "pipeline_created",
    "pipeline_quality",
    "event",
    "event_date",
    "exit_type",
)
LAYOUT = Layout(COLUMNS, ("rep",), "metrics")
FIGURES = ("quota_attainment", "pipeline_created", "pipeline_quality")
# quota attainment in percent (250 = two and a half times quota), pipeline quality in percent
# (e.g. the share of pipeline with a dated next step), pipeline created in the team's currency
RANGES = {"quota_attainment": (0.0, 1000.0), "pipeline_quality": (0.0, 100.0), "pipeline_created": (0.0, 1e12)}
EVENTS = ("start", "exit")
EXIT_TYPES = ("voluntary", "involuntary")
# ASCII digits only (no "８０" or "٥٠" read as numbers), matched whole (no trailing newline)
WEEK_RE = re.compile(r"([0-9]{4})-W([0-9]{2})")
MONTH_RE = re.compile(r"([0-9]{4})-([0-9]{2})")
NUMBER_RE = re.compile(r"[0-9]{1,13}(?:\.[0-9]{1,4})?")

# A rep cell (Slack user id or email) → the person id on this workspace's roster, or None.
Resolver = Callable[[str], int | None]


@dataclass(frozen=True, order=True)
class Period:
    """A week (starting Monday, written 2026-W45) or a calendar month (2026-11)."""

    kind: str  # week | month
    start: date

    @property
    def label(self) -> str:
        if self.kind == "month":
            return f"{self.start.year}-{self.start.month:02d}"
        year, week, _ = self.start.isocalendar()
        return f"{year}-W{week:02d}"


def parse_period(text: str) -> Period | None:
    """The period a cell names, or None when it names none (a week 54, a month 13, a year 0)."""
    try:
        if week := WEEK_RE.fullmatch(text):
            return Period("week", date.fromisocalendar(int(week[1]), int(week[2]), 1))
        if month := MONTH_RE.fullmatch(text):
            return Period("month", date(int(month[1]), int(month[2]), 1))
    except ValueError:
        return None
    return None


@dataclass(frozen=True)
class MetricRow:
    number: int
    person_id: int
    period: Period | None
    figures: dict[str, float]  # only the figures the row gives
    event: str | None = None
    event_date: date | None = None
    exit_type: str | None = None


def _text(row: dict[str, Any], column: str, errs: list[str]) -> str | None:
    """A cell as stripped text ("" when absent), or None with the reason in errs (the roster's rule)."""
    text = single_value(row, column)
    if text is None:
        errs.append(f"{column} must be a single value")
    return text


def _figure(row: dict[str, Any], column: str, errs: list[str]) -> float | None:
    value = row.get(column)
    low, high = RANGES[column]
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:  # a JSON integer of hundreds of digits
            number = math.inf
    else:
        text = _text(row, column, errs)
        if not text:
            return None
        if not NUMBER_RE.fullmatch(text):
            errs.append(f"{subject(column, text)} is not a plain number like 87.5")
            return None
        number = float(text)
    if not math.isfinite(number) or not low <= number <= high:
        errs.append(f"{column} must be between {low:g} and {high:g}")
        return None
    return number + 0.0  # -0.0 is kept as 0.0


def _event(row: dict[str, Any], errs: list[str]) -> tuple[str | None, date | None, str | None]:
    kind, on, exit_type = (_text(row, c, errs) or "" for c in ("event", "event_date", "exit_type"))
    kind, exit_type = kind.lower(), exit_type.lower()
    if not kind:
        if on or exit_type:
            errs.append("event_date and exit_type need an event (start or exit)")
        return None, None, None
    if kind not in EVENTS:
        errs.append(f"{subject('event', kind)} is not one of: {', '.join(EVENTS)}")
        return None, None, None
    try:
        when = date.fromisoformat(on) if on else None
    except ValueError:
        errs.append(f"{subject('event_date', on)} is not a date like 2026-01-31")
        return None, None, None
    if when is None:
        errs.append(f"a {kind} event needs its event_date")
    if kind == "exit" and exit_type not in EXIT_TYPES:
        errs.append(f"an exit needs exit_type {' or '.join(EXIT_TYPES)}")
    if kind == "start" and exit_type:
        errs.append("exit_type belongs to exit events only")
    return kind, when, exit_type or None


def _check_row(number: int, row: dict[str, Any], resolve: Resolver, today: date) -> tuple[list[str], MetricRow | None]:
    errs: list[str] = []
    if row.get(EXTRA):
        errs.append("more values than the first line has columns")
    ref = _text(row, "rep", errs)
    person_id = resolve(ref) if ref else None
    if ref == "":
        errs.append("rep is empty")
    elif ref is not None and person_id is None:
        errs.append(
            f"{subject('rep', ref, limit=60, quote=False)} is not on this workspace's roster; import the roster first"
        )
    period_text = _text(row, "period", errs) or ""
    period = parse_period(period_text) if period_text else None
    if period_text and period is None:
        errs.append(f"{subject('period', period_text)} is not a week like 2026-W45 or a month like 2026-11")
    elif period is not None and period.start > today:
        errs.append(f"period {period.label} has not started yet")
    figures = {c: v for c in FIGURES if (v := _figure(row, c, errs)) is not None}
    if figures and not period_text:
        errs.append("figures need the period they are for")
    if period and not figures and not any(row.get(c) not in (None, "") for c in FIGURES):
        errs.append(f"period {period.label} has no figures: give at least one of {', '.join(FIGURES)}")
    event, when, exit_type = _event(row, errs)
    if not period_text and event is None and not errs:
        errs.append("nothing to import: give a period with figures, an event, or both")
    if errs or person_id is None:
        return errs, None
    return [], MetricRow(number, person_id, period, figures, event, when, exit_type)


def check_rows(rows: list[dict[str, Any]], resolve: Resolver, today: date) -> list[MetricRow]:
    """Every row checked; ImportRejected lists all problems (row by row), or the clean rows come back.
    A rep's period or event given twice in one file is a problem too: which one should win?"""
    errors: list[str] = []
    clean: list[MetricRow] = []
    seen: dict[tuple[Any, ...], int] = {}
    for number, row in enumerate(rows, start=1):
        errs, checked = _check_row(number, row, resolve, today)
        if checked is not None:
            keys: list[tuple[Any, ...]] = []
            if checked.period:
                keys.append((checked.person_id, checked.period))
            if checked.event:
                keys.append((checked.person_id, checked.event, checked.event_date))
            for key in keys:
                if key in seen:
                    errs.append(f"repeats row {seen[key]} (same rep and {'period' if len(key) == 2 else 'event'})")
                seen.setdefault(key, number)
        if errs:
            errors.append(f"row {number}: " + "; ".join(errs))
        elif checked is not None:
            clean.append(checked)
    if errors:
        raise ImportRejected(errors)
    return clean
