"""Roster and assessment import: all rows are checked before anything is written.

A file is accepted whole or rejected whole; the rejection lists every bad row with its number and
reason. Importing the same file twice changes nothing, and a changed assessment adds a new
wiring-profile version instead of overwriting the old one. Errors name the row, the column and the
reason; a cell's value is echoed only when it is short and looks nothing like a token or key.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session

from bot.playbook.models import Playbook
from bot.slack.users import SlackUser, coachable_problem
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
SCORE_RE = re.compile(r"-?[0-9]{1,12}(?:\.0+)?")
# Cell values echoed in errors: at most this long, and never anything shaped like a token or key.
SHOWN_MAX = 30
TOKEN_LIKE_RE = re.compile(r"xox[a-z]-|xapp-", re.IGNORECASE)
KEY_LIKE_RE = re.compile(r"[A-Za-z0-9_+/=-]{16,}")
EXTRA = "__extra__"  # marks a CSV row with more values than the first line has columns

Resolver = Callable[[str], SlackUser | None]


class ImportRejected(Exception):
    """The whole file is refused; `errors` are the lines to show, each naming a row or the file."""

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
    except OSError as exc:  # a directory, a permission change since stat()
        raise ImportRejected([f"{path}: cannot be read ({exc.strerror})"]) from None
    return parse_rows(raw, json_format=p.suffix.lower() == ".json" or raw.lstrip().startswith(("[", "{")))


def looks_harmless(text: str, limit: int = SHOWN_MAX) -> bool:
    """Whether a cell may be echoed in an error message.

    Import files sometimes carry pasted credentials, and errors end up in terminals, CI logs and
    chat. Only short, printable values that look nothing like a Slack token or a random key are shown.
    """
    if not text or len(text) > limit or not text.isprintable() or TOKEN_LIKE_RE.search(text):
        return False
    return not any(any(c.isdigit() for c in run) and any(c.isalpha() for c in run) for run in KEY_LIKE_RE.findall(text))


def _subject(column: str, text: str, limit: int = SHOWN_MAX, quote: bool = True) -> str:
    """`column 'value'` for an error message, or `the column value` when the value must not be echoed."""
    if looks_harmless(text, limit):
        return f"{column} '{text}'" if quote else f"{column} {text}"
    return f"the {column} value"


def _column_names(names: set[str]) -> str:
    """Column names for a file-level error; header cells are cells too, so odd ones are counted, not shown."""
    shown = ["(no name)" if n == "" else n for n in sorted(names) if n == "" or looks_harmless(n)]
    hidden = len(names) - len(shown)
    listed = shown[:10]
    more = len(shown) - len(listed) + hidden
    return ", ".join(listed + ([f"{more} more not shown"] if more else []))


class _JsonObject(dict[str, Any]):
    """A JSON object that remembers keys given twice: json.loads would silently keep the last one."""

    repeated: frozenset[str] = frozenset()

    @classmethod
    def from_pairs(cls, pairs: list[tuple[str, Any]]) -> _JsonObject:
        obj = cls(pairs)
        if len(obj) < len(pairs):
            obj.repeated = frozenset(k for k, n in Counter(k for k, _ in pairs).items() if n > 1)
        return obj


def _json_rows(raw: str) -> tuple[list[dict[str, Any]], set[str], set[str]]:
    """(rows, columns seen, columns given twice in one object) from JSON text."""
    try:
        data = json.loads(raw, object_pairs_hook=_JsonObject.from_pairs)
    except json.JSONDecodeError as exc:
        raise ImportRejected([f"not valid JSON (line {exc.lineno}: {exc.msg})"]) from None
    except RecursionError:
        raise ImportRejected(["the JSON is nested far too deeply; a roster is a list of flat objects"]) from None
    except ValueError:  # an integer with thousands of digits
        raise ImportRejected(["the JSON holds a number too long to read"]) from None
    if isinstance(data, dict):
        data = data.get("people")
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise ImportRejected(["JSON must be a list of objects, or an object with a 'people' list"])
    rows: list[dict[str, Any]] = []
    columns: set[str] = set()
    repeated: set[str] = set()
    for obj in data:
        row: dict[str, Any] = {}
        for key, value in obj.items():
            name = key.strip().lower()
            if name in row:  # "Drive" and "drive" in one object
                repeated.add(name)
            row[name] = value
        repeated.update(k.strip().lower() for k in getattr(obj, "repeated", ()))
        columns.update(row)
        rows.append(row)
    return rows, columns, repeated


def _csv_rows(raw: str) -> tuple[list[dict[str, Any]], set[str], set[str]]:
    """(rows, columns, columns named twice in the first line) from CSV text."""
    reader = csv.reader(io.StringIO(raw))
    rows: list[dict[str, Any]] = []
    try:
        header = next(reader, None)
        if not header:
            raise ImportRejected(["the CSV file is empty: the first line must name the columns"])
        fields = [f.strip().lower() for f in header]
        for values in reader:
            if not values:  # a blank line
                continue
            row: dict[str, Any] = dict(zip(fields, values, strict=False))
            if len(values) > len(fields):
                row[EXTRA] = True
            rows.append(row)
    except csv.Error as exc:  # e.g. a field over the csv module's size limit
        raise ImportRejected([f"CSV line {reader.line_num} cannot be read ({exc})"]) from None
    repeated = {f for f, n in Counter(fields).items() if n > 1}
    return rows, set(fields), repeated


def parse_rows(raw: str, json_format: bool) -> list[dict[str, Any]]:
    """Rows keyed by lower-case column name; file-level problems raise ImportRejected."""
    rows, columns, repeated = _json_rows(raw) if json_format else _csv_rows(raw)
    if not rows:
        raise ImportRejected(["the file has no rows to import"])
    if len(rows) > MAX_ROWS:
        raise ImportRejected([f"{len(rows)} rows; at most {MAX_ROWS} per file"])
    problems = []
    if repeated:
        where = "in one object" if json_format else "in the first line"
        problems.append(f"column(s) named more than once {where}: {_column_names(repeated)}; keep one of each")
    unknown = columns - set(COLUMNS)
    missing = [c for c in REQUIRED if c not in columns]
    if unknown:
        problems.append(f"unknown column(s): {_column_names(unknown)} (known: {', '.join(COLUMNS)})")
    if missing:
        problems.append(f"missing column(s): {', '.join(missing)}")
    if problems:
        raise ImportRejected(problems)
    return rows


def _kind(value: Any) -> str:
    """What a non-text JSON value is, in words, without echoing it."""
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "not text"


def _cell(row: dict[str, Any], column: str, errs: list[str]) -> str | None:
    """A single-valued cell as stripped text ("" when absent); None, with the reason in errs, for
    JSON lists, objects and true/false, which would otherwise be stringified into something odd."""
    value = row.get(column)
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    errs.append(f"{column} is {_kind(value)}, not a single value")
    return None


def _names(row: dict[str, Any], column: str, errs: list[str]) -> list[str]:
    """A list cell: text separated by ; , or |, or (JSON) a list of strings."""
    value = row.get(column)
    if value is None:
        return []
    if isinstance(value, str):
        items = re.split(r"[;,|]", value)
    elif isinstance(value, list) and all(isinstance(i, str) for i in value):
        items = value
    else:
        errs.append(f"{column} must be names separated by ';' or a list of names, not {_kind(value)}")
        return []
    return [i.strip() for i in items if i.strip()]


def _score(row: dict[str, Any], column: str, errs: list[str]) -> int:
    """A 0–100 whole number. JSON numbers and digit strings are accepted (50 and 50.0 alike); lists,
    objects, true/false and numbers with a fraction are refused rather than coerced."""
    value = row.get(column)
    wanted = "is not a whole number from 0 to 100"
    if value is None or (isinstance(value, str) and not value.strip()):
        errs.append(f"{column} is empty")
        return 0
    if isinstance(value, bool | list | dict):
        errs.append(f"{column} is {_kind(value)}, not a whole number from 0 to 100")
        return 0
    if isinstance(value, int):
        score = value
    elif isinstance(value, float):
        if not (math.isfinite(value) and value.is_integer()):
            errs.append(f"{_subject(column, repr(value))} {wanted}")
            return 0
        score = int(value)
    else:
        text = str(value).strip()
        if not SCORE_RE.fullmatch(text):
            errs.append(f"{_subject(column, text)} {wanted}")
            return 0
        score = int(text.split(".", 1)[0])
    if not 0 <= score <= 100:
        errs.append(
            f"{column} {score} is outside 0–100" if abs(score) < 10**6 else f"the {column} value is outside 0–100"
        )
    return score


def _date(row: dict[str, Any], column: str, errs: list[str]) -> date | None:
    text = _cell(row, column, errs)
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errs.append(f"{_subject(column, text)} is not a date like 2026-01-31")
        return None


def validate_rows(rows: list[dict[str, Any]], playbook: Playbook, resolve: Resolver, team_id: str) -> list[RowData]:
    """Check every row; raise ImportRejected listing all problems, or return the clean rows."""
    errors: list[str] = []
    out: list[RowData] = []
    seen_reps: dict[str, int] = {}
    for number, row in enumerate(rows, start=1):
        errs: list[str] = []
        if row.get(EXTRA):
            errs.append("has more values than there are columns")

        def person(column: str, required: bool, errs: list[str] = errs, row: dict[str, Any] = row) -> SlackUser | None:
            ref = _cell(row, column, errs)
            if ref is None:
                return None
            if not ref:
                if required:
                    errs.append(f"{column} is empty")
                return None
            if not (USER_ID_RE.match(ref) or EMAIL_RE.match(ref)):
                errs.append(f"{_subject(column, ref)} is neither a Slack user id (U…) nor an email")
                return None
            user = resolve(ref)
            problem = coachable_problem(user, team_id, who=_subject(column, ref, limit=60, quote=False))
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
            value = _cell(row, column, errs)
            if value is None:
                return None
            if not value:
                if required:
                    errs.append(f"{column} is empty")
                return None
            found = playbook.find_archetype(value)
            if not found:
                errs.append(
                    f"{_subject(column, value)} is not in the playbook "
                    f"({', '.join(a.name for a in playbook.archetypes.values())})"
                )
                return None
            return found.key

        arch = archetype("archetype", True)
        seat_arch = archetype("seat_archetype", False)
        seat_name = (_cell(row, "seat", errs) or "")[:100] or None
        if seat_name and not seat_arch:
            errs.append("seat is named but seat_archetype is empty")
        scores = [_score(row, n, errs) for n in ("coachability", "drive", "resilience")]
        killers, gaps = [], []
        for value in _names(row, "deal_killers", errs):
            found = playbook.find_deal_killer(value)
            if found:
                killers.append(found.key)
            else:
                errs.append(f"{_subject('deal_killers', value)} is not a deal-killer trait in the playbook")
        for value in _names(row, "gaps", errs):
            found_gap = playbook.find_gap(value)
            if found_gap:
                gaps.append(found_gap.key)
            else:
                errs.append(f"{_subject('gaps', value)} is not a gap in the playbook")
        start = _date(row, "start_date", errs)
        assessed = _date(row, "assessed_on", errs)

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
