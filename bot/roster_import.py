"""Roster and assessment import: all rows are checked before anything is written.

A file is accepted whole or rejected whole; the rejection lists every bad row with its number and
reason. Importing the same file twice changes nothing, and a changed assessment adds a new
wiring-profile version instead of overwriting the old one.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session

from bot.playbook import Playbook
from bot.slack_users import SlackUser, coachable_problem
from storage import queries
from storage.models import Person, Seat

COLUMNS = (
    "rep",
    "manager",
    "archetype",
    "seat",
    "seat_archetype",
    "coachability",
    "drive",
    "resilience",
    "deal_killers",
    "gaps",
    "start_date",
    "assessed_on",
)
REQUIRED = ("rep", "archetype", "coachability", "drive", "resilience")
MAX_ROWS = 5000
MAX_FILE_BYTES = 5 * 1024 * 1024
USER_ID_RE = re.compile(r"^[UW][A-Z0-9]{2,}$")
EMAIL_RE = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")

Resolver = Callable[[str], SlackUser | None]


class ImportRejected(Exception):
    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__(f"{len(errors)} problem(s)")


@dataclass
class RowData:
    number: int
    rep: SlackUser
    manager: SlackUser | None
    archetype: str
    seat_name: str | None
    seat_archetype: str | None
    coachability: int
    drive: int
    resilience: int
    deal_killers: list[str]
    gaps: list[str]
    start_date: date | None
    assessed_on: date | None


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


def read_rows(path: str) -> list[dict[str, Any]]:
    """Raw rows from a CSV or JSON file. File-level problems raise ImportRejected."""
    p = Path(path)
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise ImportRejected([f"{path}: cannot be read ({exc.strerror})"]) from None
    if size > MAX_FILE_BYTES:
        raise ImportRejected([f"{path}: {size} bytes; files up to {MAX_FILE_BYTES // (1024 * 1024)} MB are accepted"])
    try:
        raw = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRejected([f"{path}: is not UTF-8 text"]) from None
    return parse_rows(raw, json_format=p.suffix.lower() == ".json" or raw.lstrip().startswith(("[", "{")))


def parse_rows(raw: str, json_format: bool) -> list[dict[str, Any]]:
    if json_format:
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ImportRejected([f"not valid JSON (line {exc.lineno}: {exc.msg})"]) from None
        if isinstance(data, dict):
            data = data.get("people")
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise ImportRejected(["JSON must be a list of objects, or an object with a 'people' list"])
        rows = data
    else:
        reader = csv.DictReader(io.StringIO(raw))
        if not reader.fieldnames:
            raise ImportRejected(["the CSV file is empty: the first line must name the columns"])
        reader.fieldnames = [(f or "").strip().lower() for f in reader.fieldnames]
        rows = []
        for r in reader:
            if None in r:
                rows.append({"__extra__": True, **{k: v for k, v in r.items() if k is not None}})
            else:
                rows.append(r)
    if not rows:
        raise ImportRejected(["the file has no rows to import"])
    if len(rows) > MAX_ROWS:
        raise ImportRejected([f"{len(rows)} rows; at most {MAX_ROWS} per file"])
    columns = {str(k).strip().lower() for r in rows for k in r if k != "__extra__"}
    unknown = sorted(columns - set(COLUMNS))
    missing = [c for c in REQUIRED if c not in columns]
    problems = []
    if unknown:
        problems.append(f"unknown column(s): {', '.join(unknown)} (known: {', '.join(COLUMNS)})")
    if missing:
        problems.append(f"missing column(s): {', '.join(missing)}")
    if problems:
        raise ImportRejected(problems)
    return [{str(k).strip().lower(): v for k, v in r.items()} for r in rows]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return str(value).strip()


def _list(value: Any) -> list[str]:
    items = value if isinstance(value, list) else re.split(r"[;,|]", _text(value))
    return [str(i).strip() for i in items if str(i).strip()]


def _score(value: Any, name: str, errs: list[str]) -> int:
    text = _text(value)
    try:
        score = int(float(text)) if re.fullmatch(r"\d{1,3}(\.0+)?", text) else int(text)
    except ValueError:
        errs.append(f"{name} '{text[:20]}' is not a whole number from 0 to 100")
        return 0
    if not 0 <= score <= 100:
        errs.append(f"{name} {score} is outside 0–100")
    return score


def _date(value: Any, name: str, errs: list[str]) -> date | None:
    text = _text(value)
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errs.append(f"{name} '{text[:20]}' is not a date like 2026-01-31")
        return None


def validate_rows(rows: list[dict[str, Any]], playbook: Playbook, resolve: Resolver, team_id: str) -> list[RowData]:
    """Check every row; raise ImportRejected listing all problems, or return the clean rows."""
    errors: list[str] = []
    out: list[RowData] = []
    seen_reps: dict[str, int] = {}
    for number, row in enumerate(rows, start=1):
        errs: list[str] = []
        if row.get("__extra__"):
            errs.append("has more values than there are columns")

        def person(column: str, required: bool, errs: list[str] = errs, row: dict[str, Any] = row) -> SlackUser | None:
            ref = _text(row.get(column))
            if not ref:
                if required:
                    errs.append(f"{column} is empty")
                return None
            if not (USER_ID_RE.match(ref) or EMAIL_RE.match(ref)):
                errs.append(f"{column} '{ref[:40]}' is neither a Slack user id (U…) nor an email")
                return None
            user = resolve(ref)
            problem = coachable_problem(user, team_id, who=f"{column} {ref[:60]}")
            if problem:
                errs.append(problem[0].lower() + problem[1:].rstrip("."))
                return None
            return user

        rep = person("rep", True)
        manager = person("manager", False)
        if rep and manager and rep.id == manager.id:
            errs.append("rep and manager are the same person")
        if rep:
            if rep.id in seen_reps:
                errs.append(f"rep appears again (first on row {seen_reps[rep.id]})")
            else:
                seen_reps[rep.id] = number

        def archetype(column: str, required: bool, errs: list[str] = errs, row: dict[str, Any] = row) -> str | None:
            value = _text(row.get(column))
            if not value:
                if required:
                    errs.append(f"{column} is empty")
                return None
            found = playbook.find_archetype(value)
            if not found:
                errs.append(
                    f"{column} '{value[:40]}' is not in the playbook "
                    f"({', '.join(a.name for a in playbook.archetypes.values())})"
                )
                return None
            return found.key

        arch = archetype("archetype", True)
        seat_arch = archetype("seat_archetype", False)
        seat_name = _text(row.get("seat"))[:100] or None
        if seat_name and not seat_arch:
            errs.append("seat is named but seat_archetype is empty")
        scores = [_score(row.get(n), n, errs) for n in ("coachability", "drive", "resilience")]
        killers, gaps = [], []
        for value in _list(row.get("deal_killers")):
            found = playbook.find_deal_killer(value)
            if found:
                killers.append(found.key)
            else:
                errs.append(f"deal-killer trait '{value[:40]}' is not in the playbook")
        for value in _list(row.get("gaps")):
            found_gap = playbook.find_gap(value)
            if found_gap:
                gaps.append(found_gap.key)
            else:
                errs.append(f"gap '{value[:40]}' is not in the playbook")
        start = _date(row.get("start_date"), "start_date", errs)
        assessed = _date(row.get("assessed_on"), "assessed_on", errs)

        if errs:
            errors.append(f"row {number}: " + "; ".join(errs))
        elif rep and arch:
            out.append(
                RowData(
                    number=number,
                    rep=rep,
                    manager=manager,
                    archetype=arch,
                    seat_name=(seat_name or (playbook.archetype_name(seat_arch) + " seat")) if seat_arch else None,
                    seat_archetype=seat_arch,
                    coachability=scores[0],
                    drive=scores[1],
                    resilience=scores[2],
                    deal_killers=sorted(set(killers)),
                    gaps=sorted(set(gaps)),
                    start_date=start,
                    assessed_on=assessed,
                )
            )
    if errors:
        raise ImportRejected(errors)
    return out


def _set(obj: Any, changes: dict[str, Any]) -> bool:
    changed = False
    for key, value in changes.items():
        if getattr(obj, key) != value:
            setattr(obj, key, value)
            changed = True
    return changed


def _upsert_person(session: Session, team_id: str, user: SlackUser, **fields: Any) -> tuple[Person, str]:
    person = queries.get_person(session, team_id, user.id)
    base = {"display_name": user.name[:200], "email": user.email[:254], "tz": user.tz[:64], "active": True}
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
