"""CSV export of one workspace's coaching records, for analysis elsewhere."""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import UTC, date, datetime, time
from pathlib import Path

from sqlmodel import Session, col, func, select

from storage.models import CheckIn, CoachingSession, Commitment, Diagnosis, Person, SessionAttendee

COLUMNS = (
    "record_type",
    "record_id",
    "parent_id",
    "team_id",
    "occurred_at",
    "rep_user_id",
    "manager_user_id",
    "kind",
    "gap",
    "status",
    "target",
    "count",
    "minutes",
    "starts_on",
    "ends_on",
    "text",
)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe(text: str) -> str:
    """Free text that a spreadsheet would run as a formula is prefixed with a quote."""
    return "'" + text if text.startswith(FORMULA_START) else text


Row = dict[str, object]


def _diagnosis_rows(session: Session, team_id: str, start: datetime, users: dict[int | None, str]) -> list[Row]:
    rows: list[Row] = []
    for d in session.exec(
        select(Diagnosis)
        .where(Diagnosis.team_id == team_id, col(Diagnosis.created_at) >= start)
        .order_by(col(Diagnosis.id))
    ):
        rows.append(
            {
                "record_type": "diagnosis",
                "record_id": d.id,
                "occurred_at": d.created_at.isoformat(),
                "rep_user_id": users.get(d.person_id, ""),
                "manager_user_id": d.manager_user_id,
                "kind": d.cause,
                "gap": d.gap or "",
                "status": "escalated" if d.escalate else "",
                "text": _safe(d.evidence),
            }
        )
    return rows


def _commitment_rows(session: Session, team_id: str, start: datetime, users: dict[int | None, str]) -> list[Row]:
    rows: list[Row] = []
    logged = dict(
        session.exec(
            select(CheckIn.commitment_id, func.sum(CheckIn.count))
            .where(CheckIn.team_id == team_id)
            .group_by(col(CheckIn.commitment_id))
        ).all()
    )
    for c in session.exec(
        select(Commitment)
        .where(Commitment.team_id == team_id, col(Commitment.created_at) >= start, Commitment.status != "draft")
        .order_by(col(Commitment.id))
    ):
        rows.append(
            {
                "record_type": "commitment",
                "record_id": c.id,
                "parent_id": c.diagnosis_id or "",
                "occurred_at": c.created_at.isoformat(),
                "rep_user_id": users.get(c.person_id, ""),
                "manager_user_id": c.manager_user_id,
                "kind": c.practice_format,
                "gap": c.gap,
                "status": c.status,
                "target": c.target_count,
                "count": int(logged.get(c.id or -1, 0) or 0),
                "starts_on": c.starts_on.isoformat(),
                "ends_on": c.ends_on.isoformat(),
                "text": _safe(c.behavior),
            }
        )
    return rows


def _check_in_rows(session: Session, team_id: str, start: datetime, users: dict[int | None, str]) -> list[Row]:
    rows: list[Row] = []
    owners = {
        c.id: (c.person_id, c.manager_user_id)
        for c in session.exec(select(Commitment).where(Commitment.team_id == team_id))
    }
    for ci in session.exec(
        select(CheckIn).where(CheckIn.team_id == team_id, col(CheckIn.created_at) >= start).order_by(col(CheckIn.id))
    ):
        person_id, manager = owners.get(ci.commitment_id, (None, ""))
        rows.append(
            {
                "record_type": "check_in",
                "record_id": ci.id,
                "parent_id": ci.commitment_id,
                "occurred_at": ci.created_at.isoformat(),
                "rep_user_id": users.get(person_id, ""),
                "manager_user_id": manager,
                "kind": ci.source,
                "count": ci.count,
                "text": _safe(ci.note),
            }
        )
    return rows


def _session_rows(session: Session, team_id: str, start: datetime, users: dict[int | None, str]) -> list[Row]:
    rows: list[Row] = []
    attendees: dict[int, list[str]] = defaultdict(list)
    for session_id, person_id in session.exec(
        select(SessionAttendee.session_id, SessionAttendee.person_id).where(SessionAttendee.team_id == team_id)
    ):
        attendees[session_id].append(users.get(person_id, ""))
    for s in session.exec(
        select(CoachingSession)
        .where(CoachingSession.team_id == team_id, col(CoachingSession.occurred_on) >= start.date())
        .order_by(col(CoachingSession.id))
    ):
        rows.append(
            {
                "record_type": "session",
                "record_id": s.id,
                "occurred_at": s.occurred_on.isoformat(),
                "rep_user_id": ";".join(sorted(attendees.get(s.id or -1, []))),
                "manager_user_id": s.manager_user_id,
                "kind": s.kind,
                "minutes": s.minutes,
                "text": _safe(s.note),
            }
        )
    return rows


def export_csv(session: Session, team_id: str, since: date | None, path: str | Path) -> dict[str, int]:
    start = datetime.combine(since or date(1970, 1, 1), time(0), tzinfo=UTC)
    users = {p.id: p.slack_user_id for p in session.exec(select(Person).where(Person.team_id == team_id))}
    counts: dict[str, int] = defaultdict(int)
    rows = [
        *_diagnosis_rows(session, team_id, start, users),
        *_commitment_rows(session, team_id, start, users),
        *_check_in_rows(session, team_id, start, users),
        *_session_rows(session, team_id, start, users),
    ]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({"team_id": team_id, **row})
            counts[str(row["record_type"])] += 1
    return dict(counts)
