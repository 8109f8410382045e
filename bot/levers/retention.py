"""Retention, the slowest lagging indicator: tenure and exits grouped by archetype, by seat fit and by
deal-killer flags. Only groups of at least five people are shown, and never a name: a group of two
exits would point at individuals. Pure."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from statistics import median

MIN_GROUP = 5  # no figure about fewer people than this leaves the people who may see them
FIRST_YEAR = 365


@dataclass(frozen=True)
class Tenure:
    """One person's time with the company: start (if known) and exit (if they left)."""

    archetype: str  # display name, or "no profile"
    fits_seat: bool | None  # None: no seat or no profile on record
    flagged: bool  # a deal-killer flag on their latest profile
    start: date | None
    exit_on: date | None = None
    voluntary: bool | None = None


@dataclass(frozen=True)
class Group:
    label: str
    people: int
    exits: int = 0
    voluntary: int = 0
    first_year_exits: int = 0
    median_months: float | None = None  # tenure so far (or at exit) of those with a start date
    shown: bool = True  # False: fewer than MIN_GROUP people, figures withheld

    @property
    def line(self) -> str:
        if not self.shown:
            return f"{self.label}: fewer than {MIN_GROUP} people, not shown"
        tenure = f", median tenure {self.median_months:g} months" if self.median_months is not None else ""
        return (
            f"{self.label}: {self.people} people, {self.exits} left ({self.voluntary} by choice, "
            f"{self.first_year_exits} in their first year){tenure}"
        )


def _months(person: Tenure, today: date) -> float | None:
    if person.start is None:
        return None
    return round(((person.exit_on or today) - person.start).days / 30.44, 1)


def _group(label: str, people: Sequence[Tenure], today: date) -> Group:
    if len(people) < MIN_GROUP:
        return Group(label, len(people), shown=False)
    left = [p for p in people if p.exit_on is not None]
    months = [m for p in people if (m := _months(p, today)) is not None]
    first_year = sum(1 for p in left if p.start and p.exit_on and (p.exit_on - p.start).days < FIRST_YEAR)
    return Group(
        label,
        len(people),
        exits=len(left),
        voluntary=sum(1 for p in left if p.voluntary),
        first_year_exits=first_year,
        median_months=round(median(months), 1) if months else None,
    )


def retention(people: Sequence[Tenure], today: date) -> dict[str, list[Group]]:
    """Groups by archetype, by seat fit and by deal-killer flags, each withheld under five people."""
    by: dict[str, dict[str, list[Tenure]]] = {"archetype": defaultdict(list), "seat fit": defaultdict(list)}
    by["deal-killer flags"] = defaultdict(list)
    for p in people:
        by["archetype"][p.archetype].append(p)
        if p.fits_seat is not None:
            by["seat fit"]["in a seat that fits" if p.fits_seat else "in a seat that does not fit"].append(p)
        by["deal-killer flags"]["flagged" if p.flagged else "no flags"].append(p)
    return {
        kind: [_group(label, group, today) for label, group in sorted(groups.items())] for kind, groups in by.items()
    }
