"""The models and the migrations describe the same schema, on SQLite and on PostgreSQL: a model
changed without a migration (or the other way round) fails here, not in production."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers every table on SQLModel.metadata)


def _differences(engine) -> list:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": False})
        diffs = compare_metadata(context, SQLModel.metadata)
    own = [d for d in diffs if not (isinstance(d, tuple) and d[0] == "remove_table")]
    return own  # (a table only in the database, like alembic_version, is not drift)


def test_models_and_migrations_agree(engine) -> None:
    assert _differences(engine) == []
