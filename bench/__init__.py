"""Shared by the benches."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Engine


def analyze(engine: Engine) -> None:
    """After a bulk seed, give the database the statistics a live one has (PostgreSQL's autovacuum
    analyzes tables as they grow). Measured without them, the case lookup's planner guessed a few
    rows where there were thousands and took 2.8 s instead of 15 ms at 5,000 closed commitments."""
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
