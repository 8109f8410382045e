"""Is a PIP the honest next step for this rep? Four rules, each with its reason, and the next move
when one fails. Then the plan's own rules: its terms, its review dates, where a running plan stands
and the evidence it rests on. Pure: plain values in, plain values out."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

from bot.coaching.rules import WINDOW_DEFAULT, check_commitment, coached_gap
from bot.playbook.models import Playbook
from bot.playbook.wiring import seat_fit_risk

BASELINE_MINUTES_PER_WEEK = 60  # coaching each rep should get in a week
MIN_CYCLES = 2  # more than one cycle without movement


@dataclass(frozen=True)
class Cycle:
    """One closed coaching cycle on a gap: its window and whether the behavior showed up."""

    gap: str
    starts_on: date
    ends_on: date
    met: bool


@dataclass(frozen=True)
class Read:
    """A diagnosis as the readiness check needs it."""

    on: date
    cause: str
    gap: str | None


@dataclass(frozen=True)
class Session:
    on: date
    minutes: int


@dataclass
class History:
    """What is on record for one rep, oldest first."""

    cycles: list[Cycle] = field(default_factory=list)
    diagnoses: list[Read] = field(default_factory=list)
    sessions: list[Session] = field(default_factory=list)
    archetype: str | None = None
    seat_archetype: str | None = None
    deal_killers: list[str] = field(default_factory=list)


class NextMove(StrEnum):
    PIP = "pip"  # every rule holds
    PRESCRIBE = "prescribe"  # never coached on a specific gap
    DIAGNOSE = "diagnose"  # stalled and coached, but the gap was never diagnosed
    KEEP_COACHING = "keep_coaching"  # one cycle so far, or it moved: not stalled
    COACH_MORE = "coach_more"  # stalled, but under-coached
    SEAT_CONVERSATION = "seat_conversation"  # seat fit, wiring or a deal-killer trait
    ESCALATE = "escalate"  # environmental drag
    CONVERSATION = "conversation"  # motivation or a life event


@dataclass(frozen=True)
class Rule:
    name: str
    holds: bool
    reason: str


@dataclass(frozen=True)
class Readiness:
    gap: str | None
    rules: list[Rule]
    move: NextMove
    minutes_owed: int = 0

    @property
    def ready(self) -> bool:
        return self.move is NextMove.PIP


def stalled_gap(cycles: list[Cycle]) -> str | None:
    """The specific gap with the most closed cycles and none met (latest first on a tie)."""
    best: tuple[int, str] | None = None
    for gap in dict.fromkeys(c.gap for c in reversed(cycles)):
        on_gap = [c for c in cycles if c.gap == gap]
        if not coached_gap(gap) or any(c.met for c in on_gap):
            continue
        if best is None or len(on_gap) > best[0]:
            best = (len(on_gap), gap)
    return best[1] if best else None


def _pick_gap(history: History, asked: str | None) -> str | None:
    if asked:
        return asked
    specific = [c.gap for c in history.cycles if coached_gap(c.gap)]
    return stalled_gap(history.cycles) or (specific[-1] if specific else None)


def _weeks(cycles: list[Cycle]) -> float:
    return sum((c.ends_on - c.starts_on).days + 1 for c in cycles) / 7


def check(history: History, playbook: Playbook, gap: str | None = None) -> Readiness:
    """The four rules in order; the first failing one decides the next move."""
    gap = _pick_gap(history, gap)
    name = playbook.gaps[gap].name if gap and gap in playbook.gaps else (gap or "no specific gap")
    cycles = [c for c in history.cycles if gap and c.gap == gap]
    met = sum(c.met for c in cycles)
    stalled = len(cycles) >= MIN_CYCLES and met == 0 and gap is not None and coached_gap(gap)
    rules = [
        Rule(
            "A specific gap, coached over two or more cycles with no cycle met",
            stalled,
            f"{name}: {len(cycles)} closed cycle{'s' if len(cycles) != 1 else ''}, {met} met"
            + ("" if stalled else f" (needs at least {MIN_CYCLES}, none met)"),
        )
    ]
    latest = next((d for d in reversed(history.diagnoses) if d.gap == gap), None)
    wiring_risk = seat_fit_risk(history.archetype, history.seat_archetype)
    cause_ok = latest is not None and latest.cause == "coaching_gap" and not wiring_risk
    cause_name = next((c.name for c in playbook.causes.values() if latest and c.key == latest.cause), None)
    if latest is None:
        cause_reason = "no diagnosis on record for this gap"
    elif wiring_risk:
        cause_reason = "the rep's wiring does not match the seat's archetype: a seat question first"
    else:
        cause_reason = f"latest diagnosis ({latest.on.isoformat()}): {cause_name or latest.cause}"
    rules.append(
        Rule("The latest diagnosis is a coaching gap, not seat fit, wiring or environment", cause_ok, cause_reason)
    )
    killers = [playbook.deal_killers[k].name if k in playbook.deal_killers else k for k in history.deal_killers]
    rules.append(
        Rule(
            "No deal-killer trait flagged",
            not killers,
            "none flagged" if not killers else "flagged: " + ", ".join(killers) + " (a seat conversation, not a PIP)",
        )
    )
    coached, owed, reason = _coached(cycles, history.sessions, playbook.pip_coached_share)
    rules.append(Rule("The manager actually coached it", coached, reason))
    return Readiness(gap, rules, _move(history, rules, latest, killers, wiring_risk, cycles), owed)


def _coached(cycles: list[Cycle], sessions: list[Session], share: int) -> tuple[bool, int, str]:
    """Coaching time over the cycles reached `share`% of the weekly baseline, with a session in each cycle."""
    if not cycles:
        return False, 0, "no closed cycles to measure coaching time over"
    expected = round(_weeks(cycles) * BASELINE_MINUTES_PER_WEEK * share / 100)
    inside = [s for s in sessions if any(c.starts_on <= s.on <= c.ends_on for c in cycles)]
    given = sum(s.minutes for s in inside)
    bare = sum(1 for c in cycles if not any(c.starts_on <= s.on <= c.ends_on for s in sessions))
    owed = max(expected - given, 0)
    reason = f"{given} of {expected} minutes logged over those cycles ({share}% of {BASELINE_MINUTES_PER_WEEK} a week)"
    if bare:
        reason += f"; {bare} cycle{'s' if bare != 1 else ''} with no session logged"
    return owed == 0 and bare == 0, owed, reason


def _move(
    history: History, rules: list[Rule], latest: Read | None, killers: list[str], wiring_risk: bool, cycles: list[Cycle]
) -> NextMove:
    if killers or wiring_risk or (latest is not None and latest.cause == "seat_fit"):
        return NextMove.SEAT_CONVERSATION
    if latest is not None and latest.cause == "environmental_drag":
        return NextMove.ESCALATE
    if latest is not None and latest.cause == "motivation":
        return NextMove.CONVERSATION
    if not cycles:
        return NextMove.PRESCRIBE
    if not rules[0].holds:
        return NextMove.KEEP_COACHING
    if not rules[3].holds:
        return NextMove.COACH_MORE
    if not rules[1].holds:  # stalled and coached, but no diagnosis of this gap on record yet
        return NextMove.DIAGNOSE
    return NextMove.PIP


# --- the plan itself ------------------------------------------------------------------------------

REVIEW_EVERY_DAYS = 14
LENGTHS = (4, 6, 8)  # weeks: two, three or four reviews
DEFAULT_WEEKS = 6
SESSIONS_MIN, SESSIONS_MAX, DEFAULT_SESSIONS = 1, 5, 2
NOTE_MAX = 500
OUTCOMES = {
    "closed": "the gap closed and the plan is done",
    "reseated": "moved to a seat that suits their wiring",
    "separated": "left the team",
}


@dataclass(frozen=True)
class Terms:
    """What the form commits both sides to: a countable weekly target and the manager's sessions."""

    behavior: str
    weekly_count: int
    sessions_per_week: int
    weeks: int


def _whole(value: object) -> int | None:
    text = str(value if value is not None else "").strip()
    return int(text) if re.fullmatch(r"-?[0-9]{1,6}", text) else None


def check_terms(
    playbook: Playbook, behavior: str | None, count: object, sessions: object, weeks: object
) -> tuple[Terms | None, dict[str, str]]:
    """The weekly target goes through the prescription's own checks (countable, never vague, 1-50 a
    week), so a PIP can ask for nothing a normal commitment could not. Errors are keyed by field."""
    practice = next(iter(playbook.practice_formats), None)
    _, found = check_commitment(
        playbook, behavior, "" if count is None else str(count), str(WINDOW_DEFAULT), practice, "weekly count"
    )
    errors = {key: reason for key, reason in found.items() if key in ("behavior", "target")}
    per_week, length = _whole(sessions), _whole(weeks)
    if per_week is None or not SESSIONS_MIN <= per_week <= SESSIONS_MAX:
        errors["sessions"] = f"Commit to between {SESSIONS_MIN} and {SESSIONS_MAX} coaching sessions a week."
    if length not in LENGTHS:
        errors["weeks"] = "Pick 4, 6 or 8 weeks: long enough for two reviews, short enough to stay honest."
    target = _whole(count)
    if errors or per_week is None or length is None or target is None:
        return None, errors
    return Terms(" ".join((behavior or "").split()), target, per_week, length), {}


def review_dates(starts_on: date, weeks: int) -> list[date]:
    """A review every two weeks; the last one is the plan's end."""
    return [starts_on + timedelta(days=REVIEW_EVERY_DAYS * n) for n in range(1, weeks * 7 // REVIEW_EVERY_DAYS + 1)]


def ends_on(starts_on: date, weeks: int) -> date:
    return starts_on + timedelta(days=7 * weeks)


@dataclass(frozen=True)
class Running:
    """An active plan as its weekly status needs it; `session_days` are the rep's coaching sessions since it started."""

    gap: str
    starts_on: date
    ends_on: date
    weeks: int
    sessions_per_week: int
    session_days: list[date] = field(default_factory=list)


@dataclass(frozen=True)
class Status:
    week: int  # 1 in the plan's first seven days
    weeks: int
    met: int  # commitments on the gap closed since the plan started
    missed: int
    sessions_this_week: int
    sessions_promised: int  # a week
    sessions_so_far: int
    promised_so_far: int
    next_review: date | None
    overdue: bool  # past the final review and still not closed

    @property
    def short_this_week(self) -> bool:
        return self.sessions_this_week < self.sessions_promised


def running_status(plan: Running, outcomes: list[tuple[str, date, str]], week_start: date, today: date) -> Status:
    """Where a plan stands on `today`. `outcomes` are closed commitments as (gap, closed on, met|missed);
    this week is `week_start`..`today`, never earlier than the plan's start."""
    week = max((today - plan.starts_on).days // 7 + 1, 1)
    since = [o for gap, closed, o in outcomes if gap == plan.gap and closed >= plan.starts_on]
    inside = [d for d in plan.session_days if plan.starts_on <= d <= today]
    this_week = [d for d in inside if d >= week_start]
    upcoming = [d for d in review_dates(plan.starts_on, plan.weeks) if d >= today]
    return Status(
        week=week,
        weeks=plan.weeks,
        met=since.count("met"),
        missed=since.count("missed"),
        sessions_this_week=len(this_week),
        sessions_promised=plan.sessions_per_week,
        sessions_so_far=len(inside),
        promised_so_far=plan.sessions_per_week * min(week, plan.weeks),
        next_review=upcoming[0] if upcoming else None,
        overdue=today > plan.ends_on,
    )


# --- the evidence pack ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Diagnosed:
    """A diagnosis as it was made: the cause key, what the manager saw and the push-back Coachbot showed."""

    on: date
    gap: str | None
    cause: str
    evidence: str
    pushback: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Logged:
    on: date
    count: int
    note: str
    blocked: bool = False


@dataclass(frozen=True)
class Committed:
    gap: str
    behavior: str
    target: int
    starts_on: date
    ends_on: date
    status: str  # active | met | missed | replaced
    check_ins: list[Logged] = field(default_factory=list)

    @property
    def logged(self) -> int:
        return sum(c.count for c in self.check_ins if not c.blocked)


@dataclass(frozen=True)
class Week:
    starts_on: date
    minutes: int


@dataclass(frozen=True)
class EvidencePack:
    gap: str
    diagnoses: list[Diagnosed]
    commitments: list[Committed]
    weeks: list[Week]  # coaching minutes a week over the closed cycles on the gap

    @property
    def met(self) -> int:
        return sum(c.status == "met" for c in self.commitments)

    @property
    def missed(self) -> int:
        return sum(c.status == "missed" for c in self.commitments)


def evidence_pack(
    gap: str, diagnoses: list[Diagnosed], commitments: list[Committed], sessions: list[Session]
) -> EvidencePack:
    """Everything on record for one gap, oldest first: the pack a PIP rests on and the export writes."""
    on_gap = sorted((c for c in commitments if c.gap == gap), key=lambda c: (c.starts_on, c.ends_on))
    closed = [c for c in on_gap if c.status in ("met", "missed")]
    weeks: list[Week] = []
    if closed:
        first, last = min(c.starts_on for c in closed), max(c.ends_on for c in closed)
        day = first
        while day <= last:
            end = day + timedelta(days=6)
            weeks.append(Week(day, sum(s.minutes for s in sessions if day <= s.on <= end)))
            day += timedelta(days=7)
    return EvidencePack(
        gap=gap,
        diagnoses=sorted((d for d in diagnoses if d.gap == gap), key=lambda d: d.on),
        commitments=on_gap,
        weeks=weeks,
    )
