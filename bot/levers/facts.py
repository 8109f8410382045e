"""What Coachbot already knows for the Fit Risk Diagnostic, for one manager's team or (scope None) the
whole workspace, each figure with the words saying where it came from. Group figures only: no
person's answer is ever shown. A fixed number of column queries, however large the organisation."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from bot.levers.fitrisk import Fact, Facts
from bot.levers.service import RosterRow, active_reps, load_roster
from bot.onboarding.rules import PLAN_DAYS
from storage.models import (
    CoachingSession,
    Commitment,
    Diagnosis,
    EmploymentEvent,
    Milestone,
    OnboardingPlan,
    SessionAttendee,
)

WEEKS = 4  # coaching time: the last four weeks, as in the weekly summary
YEAR = timedelta(days=365)


def _share(part: int, whole: int) -> float:
    return round(100 * part / whole, 1)


def _plural(n: int, word: str, many: str = "") -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"


def _fraction(part: int, whole: int, source: str) -> Fact:
    """A percentage with its source, or no data when there is nothing to divide by."""
    return Fact(_share(part, whole), source) if whole else Fact.missing()


def _starts(session: Session, team_id: str, reps: list[RosterRow]) -> tuple[dict[int, date], dict[int, date]]:
    """Each rep's start (the earliest start event, else the roster's start date) and exit, if any."""
    starts = {r.person_id: r.start for r in reps if r.start}
    exits: dict[int, date] = {}
    ids = {r.person_id for r in reps}
    for person_id, kind, on in session.execute(
        sa_select(col(EmploymentEvent.person_id), col(EmploymentEvent.kind), col(EmploymentEvent.occurred_on)).where(
            col(EmploymentEvent.team_id) == team_id
        )
    ):
        if person_id not in ids:
            continue
        if kind == "start":
            starts[person_id] = min(on, starts.get(person_id, on))
        else:
            exits[person_id] = max(on, exits.get(person_id, on))
    return starts, exits


def _seat_and_hiring(reps: list[RosterRow], all_reps: list[RosterRow], starts: dict[int, date], today: date) -> Facts:
    seated = [r for r in reps if r.archetype and r.seat_archetype]
    misfit = sum(1 for r in seated if r.archetype != r.seat_archetype)
    hires = [r for r in all_reps if (s := starts.get(r.person_id)) and today - YEAR <= s <= today and r.archetype]
    flagged = sum(1 for r in hires if r.deal_killers)
    return {
        "seat_misfit_share": _fraction(misfit, len(seated), f"from {_plural(len(seated), 'rep')}' wiring and seats"),
        "deal_killer_hire_share": _fraction(
            flagged, len(hires), f"from {_plural(len(hires), 'hire')} of the last year"
        ),
    }


def _coaching(session: Session, team_id: str, reps: list[RosterRow], managers: set[str], today: date) -> Facts:
    """Minutes per rep per week over four weeks (a group session counts for every rep in it), and the
    share of the managers' own minutes given one to one."""
    since = today - timedelta(weeks=WEEKS)
    sessions = {
        sid: (kind, minutes)
        for sid, manager, kind, minutes in session.execute(
            sa_select(
                col(CoachingSession.id),
                col(CoachingSession.manager_user_id),
                col(CoachingSession.kind),
                col(CoachingSession.minutes),
            ).where(col(CoachingSession.team_id) == team_id, col(CoachingSession.occurred_on) > since)
        )
        if manager in managers
    }
    if not sessions or not reps:
        return {"coaching_minutes_per_rep": Fact.missing(), "one_to_one_share": Fact.missing()}
    ids = {r.person_id for r in reps}
    per_rep: dict[int, int] = defaultdict(int)
    for sid, person_id in session.execute(
        sa_select(col(SessionAttendee.session_id), col(SessionAttendee.person_id)).where(
            col(SessionAttendee.team_id) == team_id, col(SessionAttendee.session_id).in_(list(sessions))
        )
    ):
        if person_id in ids:
            per_rep[person_id] += sessions[sid][1]
    total = sum(minutes for _, minutes in sessions.values())
    solo = sum(minutes for kind, minutes in sessions.values() if kind != "group")
    weekly = round(sum(per_rep.values()) / len(reps) / WEEKS)
    source = f"from {_plural(len(sessions), 'session')} logged in the last {WEEKS} weeks"
    return {
        "coaching_minutes_per_rep": Fact(weekly, f"{source}, over {_plural(len(reps), 'rep')}"),
        "one_to_one_share": _fraction(solo, total, source),
    }


def _cycles(session: Session, team_id: str, ids: list[int], today: date) -> Facts:
    """Share of diagnoses (last 12 months) that found a coaching gap; share of commitments met (12 weeks)."""
    year_ago = datetime.combine(today - YEAR, time.min, UTC)
    causes = [
        cause
        for (cause,) in session.execute(
            sa_select(col(Diagnosis.cause)).where(
                col(Diagnosis.team_id) == team_id,
                col(Diagnosis.person_id).in_(ids),
                col(Diagnosis.created_at) >= year_ago,
            )
        )
    ]
    since = datetime.combine(today - timedelta(weeks=12), time.min, UTC)
    outcomes = [
        status
        for (status,) in session.execute(
            sa_select(col(Commitment.status)).where(
                col(Commitment.team_id) == team_id,
                col(Commitment.person_id).in_(ids),
                col(Commitment.status).in_(("met", "missed")),
                col(Commitment.closed_at) >= since,
            )
        )
    ]
    skill = sum(1 for c in causes if c == "coaching_gap")
    met = sum(1 for s in outcomes if s == "met")
    diagnoses = _plural(len(causes), "diagnosis", "diagnoses")
    closed = _plural(len(outcomes), "commitment")
    return {
        "skill_diagnosis_share": _fraction(skill, len(causes), f"from {diagnoses} in the last 12 months"),
        "commitments_met_share": _fraction(met, len(outcomes), f"from {closed} closed in the last 12 weeks"),
    }


def _ramp(session: Session, team_id: str, ids: list[int], today: date) -> Fact:
    """Share of plans started in the last year and already past day 90 that ended behind: a step due
    by day 90 was not done by then."""
    plans = {
        pid: start
        for pid, start in session.execute(
            sa_select(col(OnboardingPlan.id), col(OnboardingPlan.start_date)).where(
                col(OnboardingPlan.team_id) == team_id,
                col(OnboardingPlan.person_id).in_(ids),
                col(OnboardingPlan.start_date) >= today - YEAR,
                col(OnboardingPlan.start_date) <= today - timedelta(days=PLAN_DAYS),
            )
        )
    }
    if not plans:
        return Fact.missing()
    behind: set[int] = set()
    for plan_id, due_day, done_at in session.execute(
        sa_select(col(Milestone.plan_id), col(Milestone.due_day), col(Milestone.done_at)).where(
            col(Milestone.team_id) == team_id, col(Milestone.plan_id).in_(list(plans))
        )
    ):
        end = plans[plan_id] + timedelta(days=PLAN_DAYS - 1)
        if due_day <= PLAN_DAYS and (done_at is None or done_at.date() > end):
            behind.add(plan_id)
    return Fact(_share(len(behind), len(plans)), f"from {_plural(len(plans), 'finished plan')} of the last 12 months")


def _first_year_exits(reps: list[RosterRow], starts: dict[int, date], exits: dict[int, date], today: date) -> Fact:
    """Of the hires who started one to two years ago (a full first year behind them), the share who left
    within it."""
    cohort = [r.person_id for r in reps if (s := starts.get(r.person_id)) and today - 2 * YEAR <= s <= today - YEAR]
    if not cohort:
        return Fact.missing()
    left = sum(1 for pid in cohort if (e := exits.get(pid)) and e - starts[pid] < YEAR)
    return Fact(_share(left, len(cohort)), f"from {_plural(len(cohort), 'hire')} who started one to two years ago")


def facts_of(session: Session, team_id: str, manager_id: str | None, today: date) -> Facts:
    """The facts for one manager's team, or for the workspace with `manager_id` None."""
    roster = load_roster(session, team_id)
    reps = active_reps(roster, manager_id)
    everyone = [r for r in roster if r.role == "rep" and (manager_id is None or r.manager == manager_id)]
    ids = [r.person_id for r in everyone]
    starts, exits = _starts(session, team_id, everyone)
    managers = {manager_id} if manager_id else {r.manager for r in reps if r.manager}
    facts: Facts = {
        **_seat_and_hiring(reps, everyone, starts, today),
        **_coaching(session, team_id, reps, managers, today),
        **_cycles(session, team_id, ids, today),
        "ramp_behind_share": _ramp(session, team_id, ids, today),
        "first_year_exit_share": _first_year_exits(everyone, starts, exits, today),
    }
    if manager_id is not None:
        span = Fact(len(reps), "your active reps on the roster") if reps else Fact.missing()
    elif managers:
        span = Fact(round(len(reps) / len(managers), 1), f"{len(reps)} reps over {_plural(len(managers), 'manager')}")
    else:
        span = Fact.missing()
    facts["reps_per_manager"] = span
    return facts
