"""Shared by the benches."""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

NOT_COUNTED = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


def analyze(engine: Engine) -> None:
    """After a bulk seed, give the database the statistics a live one has (PostgreSQL's autovacuum
    analyzes tables as they grow). Measured without them, the case lookup's planner guessed a few
    rows where there were thousands and took 2.8 s instead of 15 ms at 5,000 closed commitments."""
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))


def measure(engine: Engine, fn: Callable[[Session], object], commit: bool = False) -> tuple[float, int]:
    """Seconds and SQL statements (transaction control not counted) for `fn` in one session, which is
    committed or rolled back inside the timing."""
    statements = [0]

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        if not statement.strip().upper().startswith(NOT_COUNTED):
            statements[0] += 1

    event.listen(engine, "before_cursor_execute", count)
    started = time.perf_counter()
    with Session(engine) as session:
        fn(session)
        if commit:
            session.commit()
        else:
            session.rollback()
    elapsed = time.perf_counter() - started
    event.remove(engine, "before_cursor_execute", count)
    return elapsed, statements[0]
