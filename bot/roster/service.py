"""Use cases around the roster: wiring cards, teams, and who manages whom."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import Session

from bot.roster.views import WiringCard
from bot.slack.users import SlackUser
from storage import queries
from storage.models import ManagerRequest, Person


def load_wiring_card(session: Session, team_id: str, rep_user_id: str) -> WiringCard | None:
    person = queries.get_person(session, team_id, rep_user_id)
    if person is None or person.id is None:
        return None
    versions = queries.profile_versions(session, team_id, person.id)
    profile = versions[-1] if versions else None
    seat = queries.get_seat(session, team_id, person.seat_id)
    return WiringCard(
        rep_user_id=person.slack_user_id,
        rep_name=person.display_name,
        manager_user_id=person.manager_user_id,
        archetype=profile.archetype if profile else None,
        seat_name=seat.name if seat else None,
        seat_archetype=seat.archetype if seat else None,
        coachability=profile.coachability if profile else None,
        drive=profile.drive if profile else None,
        resilience=profile.resilience if profile else None,
        deal_killers=list(profile.deal_killers) if profile else [],
        gaps=list(profile.gaps) if profile else [],
        start_date=person.start_date,
        version=profile.version if profile else None,
        assessed_on=profile.assessed_on if profile else None,
        versions=len(versions),
    )


def team_of(session: Session, team_id: str, manager_id: str) -> list[tuple[str, str | None]]:
    out = []
    for rep in queries.reps_of(session, team_id, manager_id):
        assert rep.id is not None
        profile = queries.latest_profile(session, team_id, rep.id)
        out.append((rep.slack_user_id, profile.archetype if profile else None))
    return out


def ensure_person(session: Session, team_id: str, user: SlackUser, role: str | None = None) -> Person:
    """The person row for a Slack user, created on first use (the workspace row too)."""
    queries.ensure_workspace(session, team_id)
    person = queries.get_person(session, team_id, user.id)
    if person is None:
        person = Person(
            team_id=team_id,
            slack_user_id=user.id,
            display_name=user.name[:200],
            email=user.email[:254],
            tz=user.tz[:64],
            role=role or "rep",
        )
    elif role == "manager":
        person.role = "manager"
    session.add(person)
    session.flush()
    return person


def set_manager(session: Session, team_id: str, rep: SlackUser, manager: SlackUser) -> str | None:
    """Make `manager` the rep's manager. Returns the previous manager's id, if any."""
    ensure_person(session, team_id, manager, role="manager")
    person = ensure_person(session, team_id, rep)
    previous = person.manager_user_id
    person.manager_user_id = manager.id
    person.updated_at = datetime.now(UTC)
    session.add(person)
    return previous


@dataclass(frozen=True)
class RequestOutcome:
    request_id: int
    created: bool
    current_manager: str | None


def request_to_manage(session: Session, team_id: str, manager: SlackUser, rep: SlackUser) -> RequestOutcome:
    """One pending request per manager and rep; asking again reuses it."""
    queries.ensure_workspace(session, team_id)
    existing = queries.pending_request(session, team_id, manager.id, rep.id)
    person = queries.get_person(session, team_id, rep.id)
    current = person.manager_user_id if person else None
    if existing is not None:
        assert existing.id is not None
        return RequestOutcome(existing.id, False, current)
    req = ManagerRequest(team_id=team_id, manager_user_id=manager.id, rep_user_id=rep.id)
    session.add(req)
    session.flush()
    assert req.id is not None
    return RequestOutcome(req.id, True, current)


@dataclass(frozen=True)
class Decision:
    ok: bool
    message: str
    manager_user_id: str | None = None


def decide_request(
    session: Session, team_id: str, request_id: int, rep: SlackUser, manager: SlackUser | None, accept: bool
) -> Decision:
    req = queries.get_request(session, team_id, request_id)
    if req is None or req.rep_user_id != rep.id:
        return Decision(False, "I couldn't find that request. It may belong to someone else.")
    if req.status != "pending":
        return Decision(False, f"You already {req.status} this request.", req.manager_user_id)
    if accept and manager is None:  # nothing is decided: the request stays open
        return Decision(False, "That manager is no longer in this workspace, so I can't connect you.")
    req.status = "accepted" if accept else "declined"
    req.decided_at = datetime.now(UTC)
    session.add(req)
    if accept and manager is not None:
        set_manager(session, team_id, rep, manager)
        return Decision(True, f"Done: <@{req.manager_user_id}> is now your manager in Coachbot.", req.manager_user_id)
    return Decision(True, f"Declined. <@{req.manager_user_id}> will not see your coaching data.", req.manager_user_id)


def withdraw_request(session: Session, team_id: str, request_id: int) -> None:
    """The rep never got the request: it goes, so that the manager can ask again."""
    req = queries.get_request(session, team_id, request_id)
    if req is not None and req.status == "pending":
        session.delete(req)
