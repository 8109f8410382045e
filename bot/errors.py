"""What went wrong, in a few words fit for a log line: the exception's type and, for database
errors, the driver's reason ("database is locked"), never the SQL parameters (they carry user text)."""

from __future__ import annotations

import re

from sqlalchemy.exc import DBAPIError, SQLAlchemyError

_SAFE = re.compile(r"[^A-Za-z0-9 _.,:;()'\"/=<>-]")


def describe_error(error: BaseException) -> str:
    name = type(error).__name__
    if isinstance(error, DBAPIError) and error.orig is not None:
        reason = str(error.orig).strip().splitlines()[0] if str(error.orig).strip() else ""
        return f"{name}({_SAFE.sub('?', reason)[:120]})" if reason else name
    if isinstance(error, SQLAlchemyError):
        return name
    return name


def is_lock_error(error: BaseException) -> bool:
    """SQLite's "database is locked" / "database table is locked", or PostgreSQL's lock timeouts."""
    text = str(getattr(error, "orig", None) or "").lower()
    return "database is locked" in text or "table is locked" in text or "lock timeout" in text
