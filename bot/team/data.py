"""Everything a manager's summary and dashboard need, read with a fixed number of queries.

The number of statements does not grow with team size (the summary tests assert it for 5 and
200 reps); the rows do, which is what `IN (...)` and GROUP BY are for.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import Session, col, func, select
from sqlmodel.sql.expression import Select

from bot.onboarding.progress import Progress
from bot.onboarding.service import progress_of
from bot.pip.rules import Running
from bot.pip.service import running_pips
from bot.team.debt import DEBT_WEEKS
from storage.models import (
    CheckIn,
    CoachingSession,
    Commitment,
    Diagnosis,
    ManagerSetting,
    Person,
    Seat,
    SessionAttendee,
    WiringProfile,
)

HISTORY_DAYS = 120  # cycles older than this no longer drive flags


@dataclass
class RepData:
    person: Person
    profile: WiringProfile | None = None
    seat: Seat | None = None
    active: list[Commitment] = field(default_factory=list)
    closed: list[Commitment] = field(default_factory=list)  # oldest first
    logged: dict[int, int] = field(default_factory=dict)  # commitment id -> logged
    minutes_individual: int = 0
    minutes_group: int = 0
    minutes_4w: int = 0  # every session of the last four weeks, a group one for each attendee (coaching debt)
    diagnoses: list[Diagnosis] = field(default_factory=list)  # newest first
    blocked: list[str] = field(default_factory=list)
    onboarding: Progress | None = None  # a 30/60/90 plan, when the rep has one
    pip: Running | None = None  # a running PIP, when the rep has one


@dataclass
class TeamData:
    team_id: str
    manager_id: str
    week_start: date
    today: date
    reps: list[RepData]
    # The manager's own coaching time this week: each session once, however many reps attended
    # (a rep's minutes_* count a group session for every attendee instead).
    minutes_individual: int = 0
    minutes_group: int = 0
    own_minutes_4w: tuple[int, int] = (0, 0)  # the manager's 1:1 and group minutes over four weeks, each once
    # PIPs are for the rep, their manager and admins: named only where the manager alone reads it.
    pip_detail: bool = True


def _add_profiles_and_seats(session: Session, team_id: str, reps: dict[int, RepData]) -> None:
    """Each rep's latest wiring profile and their seat."""
    ids = list(reps)
    for profile in session.exec(
        select(WiringProfile).where(WiringProfile.team_id == team_id, col(WiringProfile.person_id).in_(ids))
    ):
        current = reps[profile.person_id].profile
        if current is None or profile.version > current.version:
            reps[profile.person_id].profile = profile
    seats = {s.id: s for s in session.exec(select(Seat).where(Seat.team_id == team_id))}
    for rep in reps.values():
        rep.seat = seats.get(rep.person.seat_id)


def load_team(session: Session, team_id: str, manager_id: str, today: date) -> TeamData:
    week_start = today - timedelta(days=6)
    since = datetime.combine(today - timedelta(days=HISTORY_DAYS), time(0), tzinfo=UTC)
    week_since = datetime.combine(week_start, time(0), tzinfo=UTC)
    people = list(
        session.exec(
            select(Person)
            .where(Person.team_id == team_id, Person.manager_user_id == manager_id, Person.active)
            .order_by(Person.display_name, Person.slack_user_id)
        )
    )
    reps = {p.id: RepData(person=p) for p in people if p.id is not None}
    ids = list(reps)
    if not ids:
        return TeamData(team_id, manager_id, week_start, today, [])
    _add_profiles_and_seats(session, team_id, reps)
    commitments = session.exec(
        select(Commitment)
        .where(
            Commitment.team_id == team_id,
            col(Commitment.person_id).in_(ids),
            (col(Commitment.status) == "active") | (col(Commitment.closed_at) >= since),
        )
        .order_by(col(Commitment.closed_at), col(Commitment.id))
    ).all()
    for c in commitments:
        (reps[c.person_id].active if c.status == "active" else reps[c.person_id].closed).append(c)
    owner = {c.id: c.person_id for c in commitments}
    for cid, total in session.exec(
        select(CheckIn.commitment_id, func.sum(CheckIn.count))
        .where(CheckIn.team_id == team_id, col(CheckIn.commitment_id).in_(list(owner)))
        .group_by(col(CheckIn.commitment_id))
    ):
        reps[owner[cid]].logged[cid] = int(total or 0)
    for cid, note in session.exec(
        select(CheckIn.commitment_id, CheckIn.note).where(
            CheckIn.team_id == team_id,
            CheckIn.source == "blocked",
            col(CheckIn.created_at) >= week_since,
            col(CheckIn.commitment_id).in_(list(owner)),
        )
    ):
        reps[owner[cid]].blocked.append(note)
    own_week, own_month = _add_sessions(session, team_id, reps, week_start, today)
    by_person: dict[int, list[Diagnosis]] = defaultdict(list)
    for d in session.exec(
        select(Diagnosis)
        .where(Diagnosis.team_id == team_id, col(Diagnosis.person_id).in_(ids), col(Diagnosis.created_at) >= since)
        .order_by(col(Diagnosis.created_at).desc())
    ):
        by_person[d.person_id].append(d)
    for pid, items in by_person.items():
        reps[pid].diagnoses = items
    for pid, plan_progress in progress_of(session, team_id, people, today).items():
        reps[pid].onboarding = plan_progress
    return TeamData(
        team_id,
        manager_id,
        week_start,
        today,
        list(reps.values()),
        minutes_individual=own_week[0],
        minutes_group=own_week[1],
        own_minutes_4w=own_month,
        pip_detail=_add_pips(session, team_id, manager_id, reps),
    )


def _add_sessions(
    session: Session, team_id: str, reps: dict[int, RepData], week_start: date, today: date
) -> tuple[tuple[int, int], tuple[int, int]]:
    """Each rep's coaching minutes this week (1:1 and group) and over four weeks (coaching debt), a group
    session counting for every attendee; returns the manager's own (1:1, group) minutes for the week and
    for the four weeks, each session once. One query for both spans."""
    sessions: dict[int, tuple[str, int]] = {}
    month: dict[int, tuple[str, int]] = {}  # four weeks, read by the same query (coaching debt)
    attended: Select[int, int, str, int, date] = Select(  # sqlmodel's select() is typed up to four columns
        col(SessionAttendee.session_id),
        col(SessionAttendee.person_id),
        col(CoachingSession.kind),
        col(CoachingSession.minutes),
        col(CoachingSession.occurred_on),
    )
    for session_id, person_id, kind, minutes, occurred_on in session.exec(
        attended.join(CoachingSession, col(CoachingSession.id) == col(SessionAttendee.session_id)).where(
            SessionAttendee.team_id == team_id,
            col(SessionAttendee.person_id).in_(list(reps)),
            col(CoachingSession.occurred_on) >= today - timedelta(days=7 * DEBT_WEEKS - 1),
            col(CoachingSession.occurred_on) <= today,
        )
    ):
        month[session_id] = (kind, minutes)
        reps[person_id].minutes_4w += minutes
        if occurred_on < week_start:
            continue
        sessions[session_id] = (kind, minutes)
        if kind == "group":
            reps[person_id].minutes_group += minutes
        else:
            reps[person_id].minutes_individual += minutes
    return _split(sessions), _split(month)


def _split(sessions: dict[int, tuple[str, int]]) -> tuple[int, int]:
    return (
        sum(m for kind, m in sessions.values() if kind != "group"),
        sum(m for kind, m in sessions.values() if kind == "group"),
    )


def _add_pips(session: Session, team_id: str, manager_id: str, reps: dict[int, RepData]) -> bool:
    """Each rep's running PIP; True when the summary may name reps in PIP lines (running or ready):
    it goes to the manager's own DM, not to a channel that others read."""
    for pid, (_, running) in running_pips(session, team_id, list(reps)).items():
        reps[pid].pip = running
    channel = session.exec(
        select(ManagerSetting.summary_channel).where(
            ManagerSetting.team_id == team_id, ManagerSetting.manager_user_id == manager_id
        )
    ).first()
    return not (channel and channel.startswith(("C", "G")))


def managers_with_reps(session: Session, team_id: str) -> list[str]:
    return [
        m
        for m in session.exec(
            select(Person.manager_user_id)
            .where(Person.team_id == team_id, Person.active, col(Person.manager_user_id).is_not(None))
            .distinct()
        )
        if m
    ]
