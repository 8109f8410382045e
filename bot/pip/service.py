"""A rep's whole coaching record, as the PIP readiness rules read it. One short read session."""

from __future__ import annotations

from sqlmodel import Session, col, select

from bot.pip.rules import Cycle, History, Read
from bot.pip.rules import Session as Coached
from storage.models import CoachingSession, Commitment, Diagnosis, Person, Seat, SessionAttendee, WiringProfile


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
    sessions = [
        Coached(on, minutes)
        for on, minutes in session.exec(
            select(col(CoachingSession.occurred_on), col(CoachingSession.minutes))
            .join(SessionAttendee, col(SessionAttendee.session_id) == col(CoachingSession.id))
            .where(SessionAttendee.team_id == team_id, SessionAttendee.person_id == person.id)
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
        sessions=sessions,
        archetype=profile.archetype if profile else None,
        seat_archetype=seat.archetype if seat and seat.team_id == team_id else None,
        deal_killers=list(profile.deal_killers) if profile else [],
    )
