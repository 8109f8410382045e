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
        if not self.shown and self.people < MIN_GROUP:
            return f"{self.label}: fewer than {MIN_GROUP} people, not shown"
        if not self.shown:  # withheld with a small group, so that its figures cannot be worked out
            return f"{self.label}: not shown, as it would give a smaller group's figures away"
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


def _withhold_more(groups: list[Group]) -> list[Group]:
    """Withhold the smallest shown groups as well, until what is withheld covers five people or more
    together (or nothing is shown)."""
    hidden = sum(g.people for g in groups if not g.shown)
    for group in sorted((g for g in groups if g.shown), key=lambda g: (g.people, g.label)):
        if hidden == 0 or hidden >= MIN_GROUP:
            break
        groups = [Group(g.label, g.people, shown=False) if g is group else g for g in groups]
        hidden += group.people
    return groups


def _no_differencing(found: dict[str, list[Group]], covered: dict[str, int]) -> dict[str, list[Group]]:
    """A breakdown shown whole gives the figures of everyone it covers; another breakdown of the same
    people that withholds fewer than five would then give those few away (the whole minus the shown
    groups). Such a breakdown withholds more. (Seat fit covers those with a seat and a profile: the
    same people as the others exactly when it covers as many.)"""
    known = {covered[kind] for kind, groups in found.items() if groups and all(g.shown for g in groups)}
    return {kind: _withhold_more(groups) if covered[kind] in known else groups for kind, groups in found.items()}


def retention(people: Sequence[Tenure], today: date) -> dict[str, list[Group]]:
    """Groups by archetype, by seat fit and by deal-killer flags, each withheld under five people (and
    with it enough others that nothing withheld can be worked out from what is shown)."""
    by: dict[str, dict[str, list[Tenure]]] = {"archetype": defaultdict(list), "seat fit": defaultdict(list)}
    by["deal-killer flags"] = defaultdict(list)
    for p in people:
        by["archetype"][p.archetype].append(p)
        if p.fits_seat is not None:
            by["seat fit"]["in a seat that fits" if p.fits_seat else "in a seat that does not fit"].append(p)
        by["deal-killer flags"]["flagged" if p.flagged else "no flags"].append(p)
    found = {
        kind: [_group(label, group, today) for label, group in sorted(groups.items())] for kind, groups in by.items()
    }
    return _no_differencing(found, {kind: sum(map(len, groups.values())) for kind, groups in by.items()})
