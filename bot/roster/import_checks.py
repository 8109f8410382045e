"""Checking raw roster rows against Slack and the playbook: every row is checked, every problem listed.

Errors name the row, the column and the reason; a cell's value is echoed only when `subject` allows.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.playbook.models import Playbook
from bot.roster.import_rows import EXTRA, ImportRejected, single_value, subject
from bot.slack.users import SlackUser, coachable_problem

USER_ID_RE = re.compile(r"^[UW][A-Z0-9]{2,}$")
EMAIL_RE = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
SCORE_RE = re.compile(r"-?[0-9]{1,12}(?:\.0+)?")

Resolver = Callable[[str], SlackUser | None]


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
    JSON lists, objects and true/false."""
    text = single_value(row, column)
    if text is None:
        errs.append(f"{column} is {_kind(row.get(column))}, not a single value")
    return text


def _filled(row: dict[str, Any], column: str, required: bool, errs: list[str]) -> str | None:
    """A cell's text, or None when it is not a single value or empty (a problem when `required`)."""
    text = _cell(row, column, errs)
    if text == "" and required:
        errs.append(f"{column} is empty")
    return text or None


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
            errs.append(f"{subject(column, repr(value))} {wanted}")
            return 0
        score = int(value)
    else:
        text = str(value).strip()
        if not SCORE_RE.fullmatch(text):
            errs.append(f"{subject(column, text)} {wanted}")
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
        errs.append(f"{subject(column, text)} is not a date like 2026-01-31")
        return None


def _person(
    row: dict[str, Any], column: str, required: bool, errs: list[str], resolve: Resolver, team_id: str
) -> SlackUser | None:
    """The coachable Slack user a rep or manager cell names, or None with the reason in errs."""
    ref = _filled(row, column, required, errs)
    if ref is None:
        return None
    if not (USER_ID_RE.match(ref) or EMAIL_RE.match(ref)):
        errs.append(f"{subject(column, ref)} is neither a Slack user id (U…) nor an email")
        return None
    user = resolve(ref)
    problem = coachable_problem(user, team_id, who=subject(column, ref, limit=60, quote=False))
    if problem:
        errs.append(problem[0].lower() + problem[1:].rstrip("."))
        return None
    return user


def _archetype(row: dict[str, Any], column: str, required: bool, errs: list[str], playbook: Playbook) -> str | None:
    """The playbook key an archetype cell names, or None with the reason in errs."""
    value = _filled(row, column, required, errs)
    if value is None:
        return None
    found = playbook.find_archetype(value)
    if not found:
        errs.append(
            f"{subject(column, value)} is not in the playbook "
            f"({', '.join(a.name for a in playbook.archetypes.values())})"
        )
        return None
    return found.key


def _traits(row: dict[str, Any], playbook: Playbook, errs: list[str]) -> tuple[list[str], list[str]]:
    """(deal-killer keys, gap keys) the row names; names not in the playbook go to errs."""
    killers: list[str] = []
    gaps: list[str] = []
    for value in _names(row, "deal_killers", errs):
        found = playbook.find_deal_killer(value)
        if found:
            killers.append(found.key)
        else:
            errs.append(f"{subject('deal_killers', value)} is not a deal-killer trait in the playbook")
    for value in _names(row, "gaps", errs):
        found_gap = playbook.find_gap(value)
        if found_gap:
            gaps.append(found_gap.key)
        else:
            errs.append(f"{subject('gaps', value)} is not a gap in the playbook")
    return killers, gaps


def _check_row(
    number: int,
    row: dict[str, Any],
    playbook: Playbook,
    resolve: Resolver,
    team_id: str,
    seen_reps: dict[str, int],
) -> tuple[list[str], RowData | None]:
    """(problems, clean row) for one row; `seen_reps` (rep id -> first row) is updated as reps are met."""
    errs: list[str] = []
    if row.get(EXTRA):
        errs.append("has more values than there are columns")
    rep = _person(row, "rep", True, errs, resolve, team_id)
    manager = _person(row, "manager", False, errs, resolve, team_id)
    if rep and manager and rep.id == manager.id:
        errs.append("rep and manager are the same person")
    if rep:
        if rep.id in seen_reps:
            errs.append(f"rep appears again (first on row {seen_reps[rep.id]})")
        else:
            seen_reps[rep.id] = number
    arch = _archetype(row, "archetype", True, errs, playbook)
    seat_arch = _archetype(row, "seat_archetype", False, errs, playbook)
    seat_name = (_cell(row, "seat", errs) or "")[:100] or None
    if seat_name and not seat_arch:
        errs.append("seat is named but seat_archetype is empty")
    scores = [_score(row, n, errs) for n in ("coachability", "drive", "resilience")]
    killers, gaps = _traits(row, playbook, errs)
    start = _date(row, "start_date", errs)
    assessed = _date(row, "assessed_on", errs)
    if errs or not (rep and arch):
        return errs, None
    return errs, RowData(
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


def validate_rows(rows: list[dict[str, Any]], playbook: Playbook, resolve: Resolver, team_id: str) -> list[RowData]:
    """Check every row; raise ImportRejected listing all problems, or return the clean rows."""
    errors: list[str] = []
    out: list[RowData] = []
    seen_reps: dict[str, int] = {}
    for number, row in enumerate(rows, start=1):
        errs, clean = _check_row(number, row, playbook, resolve, team_id, seen_reps)
        if errs:
            errors.append(f"row {number}: " + "; ".join(errs))
        elif clean is not None:
            out.append(clean)
    if errors:
        raise ImportRejected(errors)
    return out
