"""Typed queries. Every function takes the team id, so no read can cross workspaces."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlmodel import Session, col, func, select

from storage.models import ManagerRequest, Person, Seat, WiringProfile, Workspace


def get_person(session: Session, team_id: str, user_id: str) -> Person | None:
    return session.exec(select(Person).where(Person.team_id == team_id, Person.slack_user_id == user_id)).first()


def reps_of(session: Session, team_id: str, manager_id: str) -> list[Person]:
    return list(
        session.exec(
            select(Person)
            .where(Person.team_id == team_id, Person.manager_user_id == manager_id, Person.active)
            .order_by(Person.display_name)
        )
    )


def latest_profile(session: Session, team_id: str, person_id: int) -> WiringProfile | None:
    return session.exec(
        select(WiringProfile)
        .where(WiringProfile.team_id == team_id, WiringProfile.person_id == person_id)
        .order_by(col(WiringProfile.version).desc())
    ).first()


def add_profile_version(
    session: Session,
    team_id: str,
    person_id: int,
    archetype: str,
    scores: tuple[int, int, int],
    deal_killers: list[str],
    gaps: list[str],
    assessed_on: date | None,
) -> WiringProfile:
    """A new assessment is a new version: older versions stay readable."""
    latest = latest_profile(session, team_id, person_id)
    profile = WiringProfile(
        team_id=team_id,
        person_id=person_id,
        version=(latest.version + 1) if latest else 1,
        archetype=archetype,
        coachability=scores[0],
        drive=scores[1],
        resilience=scores[2],
        deal_killers=sorted(set(deal_killers)),
        gaps=sorted(set(gaps)),
        assessed_on=assessed_on,
    )
    session.add(profile)
    session.flush()
    return profile


def profile_versions(session: Session, team_id: str, person_id: int) -> list[WiringProfile]:
    return list(
        session.exec(
            select(WiringProfile)
            .where(WiringProfile.team_id == team_id, WiringProfile.person_id == person_id)
            .order_by(col(WiringProfile.version))
        )
    )


def get_seat(session: Session, team_id: str, seat_id: int | None) -> Seat | None:
    if seat_id is None:
        return None
    return session.exec(select(Seat).where(Seat.team_id == team_id, Seat.id == seat_id)).first()


def seat_by_name(session: Session, team_id: str, name: str) -> Seat | None:
    return session.exec(select(Seat).where(Seat.team_id == team_id, Seat.name == name)).first()


def get_workspace(session: Session, team_id: str) -> Workspace | None:
    return session.exec(select(Workspace).where(Workspace.team_id == team_id)).first()


def ensure_workspace(session: Session, team_id: str, name: str = "") -> Workspace:
    ws = get_workspace(session, team_id)
    if ws is None:
        ws = Workspace(team_id=team_id, name=name)
        session.add(ws)
        session.flush()
    elif not ws.active:
        ws.active, ws.uninstalled_at = True, None
        session.add(ws)
    return ws


def deactivate_workspace(session: Session, team_id: str) -> bool:
    ws = get_workspace(session, team_id)
    if ws is None or not ws.active:
        return False
    ws.active, ws.uninstalled_at = False, datetime.now(UTC)
    session.add(ws)
    return True


def pending_request(session: Session, team_id: str, manager_id: str, rep_id: str) -> ManagerRequest | None:
    return session.exec(
        select(ManagerRequest).where(
            ManagerRequest.team_id == team_id,
            ManagerRequest.manager_user_id == manager_id,
            ManagerRequest.rep_user_id == rep_id,
            ManagerRequest.status == "pending",
        )
    ).first()


def get_request(session: Session, team_id: str, request_id: int) -> ManagerRequest | None:
    return session.exec(
        select(ManagerRequest)
        .where(ManagerRequest.team_id == team_id, ManagerRequest.id == request_id)
        .with_for_update()  # a double-clicked Accept decides once
    ).first()


def find_request(session: Session, team_id: str, request_id: int) -> ManagerRequest | None:
    """A read without a row lock (get_request locks the row for a decision)."""
    return session.exec(
        select(ManagerRequest).where(ManagerRequest.team_id == team_id, ManagerRequest.id == request_id)
    ).first()


def update_person_from_slack(session: Session, team_id: str, user_id: str, tz: str, name: str, deleted: bool) -> bool:
    """Keep a person's time zone, name and active flag in step with Slack. False when not on the roster."""
    person = get_person(session, team_id, user_id)
    if person is None:
        return False
    changes = {"tz": tz[:64], "active": not deleted}
    if name:
        changes["display_name"] = name[:200]
    if all(getattr(person, key) == value for key, value in changes.items()):
        return True
    for key, value in changes.items():
        setattr(person, key, value)
    person.updated_at = datetime.now(UTC)
    session.add(person)
    return True


def count_rows(session: Session, model: type) -> int:
    return int(session.exec(select(func.count()).select_from(model)).one())
