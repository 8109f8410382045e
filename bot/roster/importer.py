"""Roster and assessment import: all rows are checked before anything is written.

A file is accepted whole or rejected whole; the rejection lists every bad row with its number and
reason. Importing the same file twice changes nothing, and a changed assessment adds a new
wiring-profile version instead of overwriting the old one. Errors name the row, the column and the
reason; a cell's value is echoed only when it is short and looks nothing like a token or key.

Reading a file is in `import_rows`, checking its rows in `import_checks`; this module writes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session

from bot.roster.import_checks import RowData, validate_rows
from bot.roster.import_rows import ImportRejected, read_rows
from bot.slack.users import SlackUser
from storage import queries
from storage.models import Person, Seat

# The import command's entry points, kept importable from here.
__all__ = ["ImportRejected", "ImportSummary", "RowData", "apply_rows", "read_rows", "validate_rows"]


@dataclass
class ImportSummary:
    rows: int = 0
    people_created: int = 0
    people_updated: int = 0
    profiles_added: int = 0
    unchanged: int = 0
    lines: list[str] = field(default_factory=list)

    def describe(self) -> str:
        return (
            f"Imported {self.rows} row(s): {self.people_created} new people, {self.people_updated} updated, "
            f"{self.profiles_added} new wiring profile version(s), {self.unchanged} unchanged."
        )


def _set(obj: Any, changes: dict[str, Any]) -> bool:
    changed = False
    for key, value in changes.items():
        if getattr(obj, key) != value:
            setattr(obj, key, value)
            changed = True
    return changed


def _upsert_person(session: Session, team_id: str, user: SlackUser, **fields: Any) -> tuple[Person, str]:
    person = queries.get_person(session, team_id, user.id)
    base: dict[str, Any] = {
        "display_name": user.name[:200],
        "email": user.email[:254],
        "tz": user.tz[:64],
        "active": True,
    }
    if person is None:
        person = Person(team_id=team_id, slack_user_id=user.id, **base, **fields)
        session.add(person)
        session.flush()
        return person, "created"
    if _set(person, {**base, **fields}):
        person.updated_at = datetime.now(UTC)
        session.add(person)
        return person, "updated"
    return person, "unchanged"


def apply_rows(session: Session, team_id: str, rows: list[RowData]) -> ImportSummary:
    """Write validated rows. Call inside one transaction so a failure writes nothing."""
    summary = ImportSummary(rows=len(rows))
    queries.ensure_workspace(session, team_id)
    manager_ids = {r.manager.id for r in rows if r.manager}
    for row in rows:
        changed = False
        if row.manager:
            _, state = _upsert_person(session, team_id, row.manager, role="manager")
            summary.people_created += state == "created"
            summary.people_updated += state == "updated"
        seat_id = None
        if row.seat_name and row.seat_archetype:
            seat = queries.seat_by_name(session, team_id, row.seat_name)
            if seat is None:
                seat = Seat(team_id=team_id, name=row.seat_name, archetype=row.seat_archetype)
                session.add(seat)
                session.flush()
            elif seat.archetype != row.seat_archetype:
                seat.archetype = row.seat_archetype
                session.add(seat)
                changed = True
            seat_id = seat.id
        existing = queries.get_person(session, team_id, row.rep.id)
        role = "manager" if row.rep.id in manager_ids or (existing and existing.role == "manager") else "rep"
        person, state = _upsert_person(
            session,
            team_id,
            row.rep,
            role=role,
            manager_user_id=row.manager.id if row.manager else (existing.manager_user_id if existing else None),
            seat_id=seat_id,
            start_date=row.start_date,
        )
        summary.people_created += state == "created"
        summary.people_updated += state == "updated"
        changed = changed or state != "unchanged"
        assert person.id is not None
        latest = queries.latest_profile(session, team_id, person.id)
        wiring = (
            row.archetype,
            row.coachability,
            row.drive,
            row.resilience,
            row.deal_killers,
            row.gaps,
            row.assessed_on,
        )
        if latest is None or wiring != (
            latest.archetype,
            latest.coachability,
            latest.drive,
            latest.resilience,
            sorted(latest.deal_killers),
            sorted(latest.gaps),
            latest.assessed_on,
        ):
            queries.add_profile_version(
                session,
                team_id,
                person.id,
                row.archetype,
                (row.coachability, row.drive, row.resilience),
                row.deal_killers,
                row.gaps,
                row.assessed_on,
            )
            summary.profiles_added += 1
            changed = True
        summary.unchanged += not changed
    return summary
