"""Team composition, the third lever: who is on a team against what its seats need. The archetype mix,
seat-fit mismatches and where they sit, the spread of Sales DNA scores, deal-killer flags, the
manager's span against six to eight reps, single points of failure (the only rep wired for a kind of
seat), and the profile the next hire should have. Pure: plain values and the playbook in."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import median

from bot.playbook.models import Playbook, with_article
from bot.playbook.wiring import seat_fit_risk

SPAN = (6, 8)  # reps per frontline manager the method calls right for weekly coaching
DNA_MIN_PROFILES = 5  # a spread over fewer profiles would give away someone's scores
SCORES = ("coachability", "drive", "resilience")
NO_PROFILE = "no profile"


@dataclass(frozen=True)
class Member:
    """One rep as composition sees them; `name` is shown only where the viewer may see the rep."""

    name: str
    archetype: str | None  # None: no wiring profile yet
    seat_archetype: str | None  # None: no seat on record
    scores: tuple[int, int, int] | None = None  # coachability, drive, resilience
    deal_killers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Spread:
    """A Sales DNA score across the team: its median and the width from lowest to highest. Neither
    end is shown on its own: either would be one person's score."""

    middle: float
    width: int


@dataclass
class Composition:
    size: int
    mix: Counter[str] = field(default_factory=Counter)  # archetype name (or "no profile") → reps
    seats: Counter[str] = field(default_factory=Counter)  # seat archetype name → seats
    mismatches: list[tuple[str, str, str]] = field(default_factory=list)  # (rep, wired as, seat needs)
    unknown_seats: int = 0  # seats whose archetype this playbook does not know
    dna: dict[str, Spread] = field(default_factory=dict)
    flagged: int = 0  # reps with at least one deal-killer flag
    span_note: str | None = None
    single_points: list[tuple[str, str]] = field(default_factory=list)  # (seat archetype, the one rep who fits)
    next_hire: str = ""


def _name(playbook: Playbook, key: str | None) -> str:
    if key is None:
        return NO_PROFILE
    found = playbook.archetypes.get(key)
    return found.name if found else key


def span_note(reps: int) -> str | None:
    """Why a span is outside six to eight reps, or None when it is inside."""
    low, high = SPAN
    if reps > high:
        return f"{reps} reps: more than {high} leaves under an hour a week of coaching for each"
    if 0 < reps < low:
        return f"{reps} reps: fewer than {low}; the manager may be selling more than coaching"
    return None


def _single_points(playbook: Playbook, members: Sequence[Member]) -> list[tuple[str, str]]:
    """Seat kinds this team needs that exactly one rep is wired for: lose them and nobody fits."""
    needed = {m.seat_archetype for m in members if m.seat_archetype in playbook.archetypes}
    found = []
    wired: dict[str | None, list[str]] = {}
    for m in members:
        wired.setdefault(m.archetype, []).append(m.name)
    for seat in sorted(n for n in needed if n is not None):
        if len(fits := wired.get(seat, [])) == 1:
            found.append((_name(playbook, seat), fits[0]))
    return found


def _next_hire(playbook: Playbook, members: Sequence[Member], dna: dict[str, Spread]) -> str:
    """The seat kind short of fitting reps (mismatched seats, then a single point of failure), with the
    Sales DNA score where the team is thinnest and no deal-killer flags."""
    short: Counter[str] = Counter()
    for m in members:
        if m.seat_archetype in playbook.archetypes and seat_fit_risk(m.archetype, m.seat_archetype):
            short[m.seat_archetype or ""] += 2
    wired = Counter(m.archetype for m in members)
    for m in members:
        if m.seat_archetype in playbook.archetypes and wired[m.seat_archetype] == 1:
            short[m.seat_archetype or ""] += 1
    seats = Counter(m.seat_archetype or "" for m in members if m.seat_archetype in playbook.archetypes)
    if short:
        target, why = max(short.items(), key=lambda kv: (kv[1], kv[0]))[0], "where the team is short of fitting reps"
    elif seats:
        target, why = max(seats.items(), key=lambda kv: (kv[1], kv[0]))[0], "for depth in its most common seat"
    else:
        return "Record seats (`seat_archetype` in the roster import) to get a target profile for the next hire."
    weakest = min(dna, key=lambda s: (dna[s].middle, s)) if dna else None
    scores = f", above the team's middle {weakest} score ({dna[weakest].middle:g})" if weakest else ""
    profile = with_article(_name(playbook, target))
    return f"{profile[0].upper()}{profile[1:]} {why}{scores}, with no deal-killer flags."


def compose(playbook: Playbook, members: Sequence[Member], manager_reps: int | None = None) -> Composition:
    """The make-up of one team (or, for admins, of the whole organisation with `manager_reps` None)."""
    result = Composition(size=len(members))
    result.mix = Counter(_name(playbook, m.archetype) for m in members)
    result.seats = Counter(_name(playbook, m.seat_archetype) for m in members if m.seat_archetype)
    result.unknown_seats = sum(1 for m in members if m.seat_archetype and m.seat_archetype not in playbook.archetypes)
    result.mismatches = [
        (m.name, _name(playbook, m.archetype), _name(playbook, m.seat_archetype))
        for m in members
        if m.seat_archetype in playbook.archetypes and seat_fit_risk(m.archetype, m.seat_archetype)
    ]
    profiled = [m.scores for m in members if m.scores is not None]
    for i, score in enumerate(SCORES):
        values = sorted(s[i] for s in profiled)
        if len(values) >= DNA_MIN_PROFILES:
            result.dna[score] = Spread(median(values), values[-1] - values[0])
    result.flagged = sum(1 for m in members if m.deal_killers)
    result.span_note = span_note(manager_reps) if manager_reps is not None else None
    result.single_points = _single_points(playbook, members)
    result.next_hire = _next_hire(playbook, members, result.dna) if members else "No reps on this team yet."
    return result
