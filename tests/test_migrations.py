"""Schema migrations: a database made by the first migration upgrades and keeps its rows."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from storage.db import make_engine
from storage.migrate import HEAD_REVISION, current_revision, head_revision, scripts_head, upgrade


def test_the_named_head_is_the_newest_migration():
    """storage.migrate.HEAD_REVISION spares every start an import of Alembic; a new migration must move it."""
    assert scripts_head() == HEAD_REVISION, f"set storage.migrate.HEAD_REVISION to {scripts_head()!r}"


def test_upgrade_from_first_migration_keeps_rows(blank_database_url):
    engine = make_engine(blank_database_url)
    upgrade(engine, "0001")
    assert current_revision(engine) == "0001"
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO workspace (team_id, name, active, installed_at) "
                "VALUES ('T1', 'Acme', true, CURRENT_TIMESTAMP)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO person (team_id, slack_user_id, email, display_name, role, tz, active, "
                "created_at, updated_at) VALUES ('T1', 'U1', 'a@x.io', 'Ada', 'rep', '', true, "
                "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
        pid = conn.execute(text("SELECT id FROM person")).scalar_one()
        conn.execute(
            text(
                "INSERT INTO wiring_profile (team_id, person_id, version, archetype, coachability, drive, "
                "resilience, deal_killers, gaps, created_at) VALUES ('T1', :p, 1, 'root', 70, 60, 50, "
                "'[]', '[\"closing\"]', CURRENT_TIMESTAMP)"
            ),
            {"p": pid},
        )
    upgrade(engine)
    assert current_revision(engine) == head_revision() != "0001"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT display_name FROM person")).scalar_one() == "Ada"
        assert conn.execute(text("SELECT coachability FROM wiring_profile")).scalar_one() == 70
        assert conn.execute(text("SELECT count(*) FROM manager_request")).scalar_one() == 0
    upgrade(engine)  # idempotent
    engine.dispose()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_cli_migrate(cli, blank_database_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", blank_database_url)
    code, out, _ = cli("migrate")
    assert code == 0 and f"revision {head_revision()}" in out and "was empty" in out
    code, out, _ = cli("migrate")
    assert code == 0 and "was" not in out


def test_sqlite_pragmas(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
