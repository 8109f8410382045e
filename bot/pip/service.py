"""A rep's coaching record as the PIP rules read it, and PIPs in the database: created once per form
(and once per rep while active), closed once. Each function runs inside the caller's session."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.pip.rules import (
    Committed,
    Cycle,
    Diagnosed,
    EvidencePack,
    History,
    Logged,
    Read,
    Running,
    Terms,
    evidence_pack,
)
from bot.pip.rules import Session as Coached
from bot.pip.rules import ends_on as plan_end
from bot.pip.views import Card
from bot.playbook.models import Playbook
from storage.models import (
    CheckIn,
    CoachingSession,
    Commitment,
    Diagnosis,
    Person,
    Pip,
    Seat,
    SessionAttendee,
    WiringProfile,
)


def _sessions(session: Session, team_id: str, person_id: int) -> list[Coached]:
    return [
        Coached(on, minutes)
        for on, minutes in session.exec(
            select(col(CoachingSession.occurred_on), col(CoachingSession.minutes))
            .join(SessionAttendee, col(SessionAttendee.session_id) == col(CoachingSession.id))
            .where(SessionAttendee.team_id == team_id, SessionAttendee.person_id == person_id)
        )
    ]


def history_of(session: Session, team_id: str, person: Person) -> History:
    assert person.id is not None
    cycles = [
        Cycle(c.gap, c.starts_on, c.ends_on, c.status == "met")
        for c in session.exec(
            select(Commitment)
            .where(
                Commitment.team_id == team_id,
                Commitment.person_id == person.id,
                col(Commitment.status).in_(("met", "missed")),
            )
            .order_by(col(Commitment.ends_on), col(Commitment.id))
        )
    ]
    reads = [
        Read(d.created_at.date(), d.cause, d.gap)
        for d in session.exec(
            select(Diagnosis)
            .where(Diagnosis.team_id == team_id, Diagnosis.person_id == person.id)
            .order_by(col(Diagnosis.created_at), col(Diagnosis.id))
        )
    ]
    profile = session.exec(
        select(WiringProfile)
        .where(WiringProfile.team_id == team_id, WiringProfile.person_id == person.id)
        .order_by(col(WiringProfile.version).desc())
    ).first()
    seat = session.get(Seat, person.seat_id) if person.seat_id else None
    return History(
        cycles=cycles,
        diagnoses=reads,
        sessions=_sessions(session, team_id, person.id),
        archetype=profile.archetype if profile else None,
        seat_archetype=seat.archetype if seat and seat.team_id == team_id else None,
        deal_killers=list(profile.deal_killers) if profile else [],
    )


def evidence_of(session: Session, team_id: str, person_id: int, gap: str) -> EvidencePack:
    """Dated diagnoses of the gap, every commitment on it with its check-ins, and the coaching time."""
    diagnoses = [
        Diagnosed(d.created_at.date(), d.gap, d.cause, d.evidence, list(d.pushback))
        for d in session.exec(
            select(Diagnosis)
            .where(Diagnosis.team_id == team_id, Diagnosis.person_id == person_id, Diagnosis.gap == gap)
            .order_by(col(Diagnosis.created_at), col(Diagnosis.id))
        )
    ]
    commitments = list(
        session.exec(
            select(Commitment)
            .where(Commitment.team_id == team_id, Commitment.person_id == person_id, Commitment.gap == gap)
            .order_by(col(Commitment.starts_on), col(Commitment.id))
        )
    )
    logged: dict[int, list[Logged]] = defaultdict(list)
    for c in session.exec(
        select(CheckIn)
        .where(CheckIn.team_id == team_id, col(CheckIn.commitment_id).in_([c.id for c in commitments]))
        .order_by(col(CheckIn.created_at), col(CheckIn.id))
    ):
        logged[c.commitment_id].append(Logged(c.created_at.date(), c.count, c.note, c.source == "blocked"))
    committed = [
        Committed(c.gap, c.behavior, c.target_count, c.starts_on, c.ends_on, c.status, logged[c.id or 0])
        for c in commitments
    ]
    return evidence_pack(gap, diagnoses, committed, _sessions(session, team_id, person_id))


def active_pip(session: Session, team_id: str, person_id: int) -> Pip | None:
    return session.exec(
        select(Pip).where(Pip.team_id == team_id, Pip.person_id == person_id, Pip.status == "active")
    ).first()


def pip_by_key(session: Session, submission_key: str) -> Pip | None:
    return session.exec(select(Pip).where(Pip.submission_key == submission_key[:64])).first()


def latest_pip(session: Session, team_id: str, person_id: int) -> Pip | None:
    """The rep's running PIP, else the one that ended last."""
    return (
        active_pip(session, team_id, person_id)
        or session.exec(
            select(Pip)
            .where(Pip.team_id == team_id, Pip.person_id == person_id)
            .order_by(col(Pip.created_at).desc(), col(Pip.id).desc())
        ).first()
    )


def move_canvas(
    session: Session, team_id: str, pip_id: int, was: str | None, now: str | None, canvas_id: str | None = None
) -> bool:
    """Move the PIP's canvas from state `was` to `now` (keeping the id unless one is given); False when
    it was not in `was` any more (another request moved it first)."""
    current = col(Pip.canvas_state).is_(None) if was is None else col(Pip.canvas_state) == was
    values: dict[str, str | None] = {"canvas_state": now}
    if canvas_id is not None:
        values["canvas_id"] = canvas_id[:32]
    result = session.execute(
        update(Pip).where(col(Pip.id) == pip_id, col(Pip.team_id) == team_id, current).values(**values)
    )
    return bool(getattr(result, "rowcount", 0))


def pip_with_rep(session: Session, team_id: str, pip_id: int) -> tuple[Pip, Person] | None:
    """A PIP and its rep, both of this workspace."""
    pip = session.get(Pip, pip_id)
    person = session.get(Person, pip.person_id) if pip else None
    if pip is None or person is None or pip.team_id != team_id or person.team_id != team_id:
        return None
    return pip, person


@dataclass(frozen=True)
class Created:
    pip: Pip
    created: bool  # False: this form was stored already (a repeat), or the rep has an active PIP


def create_pip(
    session: Session,
    team_id: str,
    person: Person,
    drafted_by: str,
    gap: str,
    terms: Terms,
    starts_on: date,
    submission_key: str,
) -> Created:
    """One active PIP per rep and one per form; the unique keys settle a race between two submits."""
    assert person.id is not None
    key = submission_key[:64]
    existing = pip_by_key(session, key) or active_pip(session, team_id, person.id)
    if existing is not None:
        return Created(existing, False)
    pip = Pip(
        team_id=team_id,
        person_id=person.id,
        manager_user_id=person.manager_user_id or drafted_by,
        drafted_by=drafted_by,
        gap=gap,
        behavior=terms.behavior[:300],
        weekly_count=terms.weekly_count,
        sessions_per_week=terms.sessions_per_week,
        weeks=terms.weeks,
        starts_on=starts_on,
        ends_on=plan_end(starts_on, terms.weeks),
        submission_key=key,
    )
    try:
        with session.begin_nested():
            session.add(pip)
            session.flush()
    except IntegrityError:
        found = pip_by_key(session, key) or active_pip(session, team_id, person.id)
        assert found is not None
        return Created(found, False)
    return Created(pip, True)


def close_pip(session: Session, team_id: str, pip_id: int, outcome: str, note: str, by: str, now: datetime) -> bool:
    """Record the outcome; False when the PIP was already closed (a repeated command changes nothing)."""
    result = session.execute(
        update(Pip)
        .where(col(Pip.id) == pip_id, col(Pip.team_id) == team_id, col(Pip.status) == "active")
        .values(status=outcome, closed_at=now, closed_by=by, close_note=note[:500])
    )
    return bool(getattr(result, "rowcount", 0))


def running_pips(session: Session, team_id: str, person_ids: list[int]) -> dict[int, tuple[Pip, Running]]:
    """Active PIPs of these reps with their coaching days since each started: two queries for any team."""
    pips = list(
        session.exec(
            select(Pip).where(Pip.team_id == team_id, Pip.status == "active", col(Pip.person_id).in_(person_ids))
        )
    )
    if not pips:
        return {}
    days: dict[int, list[date]] = defaultdict(list)
    for person_id, on in session.exec(
        select(col(SessionAttendee.person_id), col(CoachingSession.occurred_on))
        .join(CoachingSession, col(CoachingSession.id) == col(SessionAttendee.session_id))
        .where(
            SessionAttendee.team_id == team_id,
            col(SessionAttendee.person_id).in_([p.person_id for p in pips]),
            col(CoachingSession.occurred_on) >= min(p.starts_on for p in pips),
        )
    ):
        days[person_id].append(on)
    return {
        p.person_id: (
            p,
            Running(p.gap, p.starts_on, p.ends_on, p.weeks, p.sessions_per_week, sorted(days[p.person_id])),
        )
        for p in pips
    }


def card(pip: Pip, rep_id: str, playbook: Playbook) -> Card:
    """A stored plan as its views show it."""
    assert pip.id is not None
    gap_name = playbook.gaps[pip.gap].name if pip.gap in playbook.gaps else pip.gap
    return Card(
        pip.id,
        rep_id,
        pip.manager_user_id,
        gap_name,
        pip.behavior,
        pip.weekly_count,
        pip.sessions_per_week,
        pip.weeks,
        pip.starts_on,
        pip.ends_on,
    )
