"""Apply schema migrations (Alembic) on start and from `coachbot migrate`."""

from __future__ import annotations

import time
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
PG_MIGRATION_LOCK = 727_001  # advisory lock id: one migrator at a time on a shared database
# The newest migration's revision, which a database already migrated is checked against at every start
# and command. Named here so that check does not import Alembic (a tenth of a second of every start of
# `coachbot`); tests/test_migrations.py checks it is the migration scripts' head.
HEAD_REVISION = "0015"


def _config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


@cache
def scripts_head() -> str:
    """The head of the migration scripts, as Alembic reads them (it imports every one)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config()).get_current_head() or ""


def head_revision() -> str:
    """The newest migration's revision."""
    return HEAD_REVISION


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
        from alembic.runtime.migration import MigrationContext

        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision`. Safe when two processes start at once."""
    target = head_revision() if revision == "head" else revision
    if current_revision(engine) == target:
        return
    from alembic import command

    cfg = _config()
    for attempt in range(3):
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
