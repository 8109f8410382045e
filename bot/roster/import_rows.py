"""Reading a roster file into raw rows: size and encoding checks, CSV or JSON, known columns only.

Also what an import error may echo back: a cell's value is shown only when it is short and looks
nothing like a token or key.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
# Cell values echoed in errors: at most this long, and never anything shaped like a token or key.
SHOWN_MAX = 30
TOKEN_LIKE_RE = re.compile(r"xox[a-z]-|xapp-", re.IGNORECASE)
KEY_LIKE_RE = re.compile(r"[A-Za-z0-9_+/=-]{16,}")
EXTRA = "__extra__"  # marks a CSV row with more values than the first line has columns


class ImportRejected(Exception):
    """The whole file is refused; `errors` are the lines to show, each naming a row or the file."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__(f"{len(errors)} problem(s)")


def read_rows(path: str, layout: Layout | None = None) -> list[dict[str, Any]]:
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
    return parse_rows(raw, p.suffix.lower() == ".json" or raw.lstrip().startswith(("[", "{")), layout or ROSTER)


def looks_harmless(text: str, limit: int = SHOWN_MAX) -> bool:
    """Whether a cell may be echoed in an error message.

    Import files sometimes carry pasted credentials, and errors end up in terminals, CI logs and
    chat. Only short, printable values that look nothing like a Slack token or a random key are shown.
    """
    if not text or len(text) > limit or not text.isprintable() or TOKEN_LIKE_RE.search(text):
        return False
    return not any(any(c.isdigit() for c in run) and any(c.isalpha() for c in run) for run in KEY_LIKE_RE.findall(text))


def subject(column: str, text: str, limit: int = SHOWN_MAX, quote: bool = True) -> str:
    """`column 'value'` for an error message, or `the column value` when the value must not be echoed."""
    if looks_harmless(text, limit):
        return f"{column} '{text}'" if quote else f"{column} {text}"
    return f"the {column} value"


def single_value(row: dict[str, Any], column: str) -> str | None:
    """A single-valued cell as stripped text ("" when absent), or None for a JSON list, object or
    true/false, which would otherwise be stringified into something odd (the caller says why)."""
    value = row.get(column)
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


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


def _json_rows(raw: str, list_key: str) -> tuple[list[dict[str, Any]], set[str], set[str]]:
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
        data = data.get(list_key)
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise ImportRejected([f"JSON must be a list of objects, or an object with a '{list_key}' list"])
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


@dataclass(frozen=True)
class Layout:
    """The columns a kind of import file may have, which of them it must have, and the key of the
    list in a JSON object."""

    columns: tuple[str, ...]
    required: tuple[str, ...]
    list_key: str


ROSTER = Layout(COLUMNS, REQUIRED, "people")


def parse_rows(raw: str, json_format: bool, layout: Layout = ROSTER) -> list[dict[str, Any]]:
    """Rows keyed by lower-case column name; file-level problems raise ImportRejected."""
    rows, columns, repeated = _json_rows(raw, layout.list_key) if json_format else _csv_rows(raw)
    if not rows:
        raise ImportRejected(["the file has no rows to import"])
    if len(rows) > MAX_ROWS:
        raise ImportRejected([f"{len(rows)} rows; at most {MAX_ROWS} per file"])
    problems = []
    if repeated:
        where = "in one object" if json_format else "in the first line"
        problems.append(f"column(s) named more than once {where}: {_column_names(repeated)}; keep one of each")
    unknown = columns - set(layout.columns)
    missing = [c for c in layout.required if c not in columns]
    if unknown:
        problems.append(f"unknown column(s): {_column_names(unknown)} (known: {', '.join(layout.columns)})")
    if missing:
        problems.append(f"missing column(s): {', '.join(missing)}")
    if problems:
        raise ImportRejected(problems)
    return rows
