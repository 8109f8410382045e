"""Apply schema migrations (Alembic) on start and from `coachbot migrate`."""

from __future__ import annotations

import time
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
PG_MIGRATION_LOCK = 727_001  # advisory lock id: one migrator at a time on a shared database


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


@cache
def head_revision() -> str:
    """The newest migration's revision. Read once per process: the migration scripts ship with the
    code, and reading them all (Alembic imports every one) costs more than the rest of a start-up check."""
    return ScriptDirectory.from_config(_config()).get_current_head() or ""


def current_revision(engine: Engine) -> str | None:
    """Where the schema stands. Asked at every start and command, so it reads Alembic's one-row table
    directly (a table check by reflection cost more than the rest of a small command's SQL); an empty
    database, or anything unusual such as several heads, goes through Alembic itself."""
    with engine.connect() as conn:
        try:
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        except DBAPIError:
            conn.rollback()
            rows = []
        if len(rows) == 1:
            return str(rows[0])
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision`. Safe when two processes start at once."""
    cfg = _config()
    target = head_revision() if revision == "head" else revision
    for attempt in range(3):
        if current_revision(engine) == target:
            return
        try:
            with engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_MIGRATION_LOCK})
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)
            return
        except Exception:
            # Another process may have migrated between our check and our DDL (SQLite has no
            # advisory lock); if the schema is now where we wanted it, that is success.
            time.sleep(0.2 * (attempt + 1))
            if current_revision(engine) == target:
                return
            if attempt == 2:
                raise
