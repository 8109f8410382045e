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


def test_slack_sdks_stores_find_the_tables_migration_0014_made(engine) -> None:
    """The installation and state stores build their own table objects at run time: compared with the
    migrated database directly, so a slack_sdk upgrade that changes them fails here."""
    from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
    from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore

    store = SQLAlchemyInstallationStore(client_id="1.2", engine=engine)
    states = SQLAlchemyOAuthStateStore(expiration_seconds=60, engine=engine)
    for metadata in (store.metadata, states.metadata):
        ours = set(metadata.tables)  # the store's tables only (the database holds every other table too)
        opts = {
            "compare_type": True,
            "compare_server_default": False,
            "include_name": lambda name, kind, _parents, ours=ours: kind != "table" or name in ours,
        }
        with engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn, opts=opts), metadata)
        assert diffs == [], diffs
    assert {"slack_installations", "slack_bots", "slack_oauth_states"} <= set(SQLModel.metadata.tables)
