"""Deleting a workspace's data: every row of every table that carries its team id.

A workspace that uninstalled Coachbot keeps its data for COACHBOT_RETENTION_DAYS (a reinstall within
that time picks it back up); after that, or at once with `coachbot purge --team T`, it all goes.
Every table is team-scoped (tests/test_purge.py checks that no table lacks `team_id`), so deleting by
team id in the order that foreign keys allow leaves nothing of the workspace behind.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Table, delete, func, select
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel, col

import storage.models  # noqa: F401  (every table on the metadata, the installation store's included)
from storage.install_tables import oauth_states
from storage.models import Workspace


def team_tables() -> list[Table]:
    """Every table with a team id, children before the tables they point at."""
    return [t for t in reversed(SQLModel.metadata.sorted_tables) if "team_id" in t.c]


def _counts(conn: Connection, team_id: str) -> dict[str, int]:
    counts = {}
    for table in team_tables():
        n = conn.execute(select(func.count()).select_from(table).where(table.c.team_id == team_id)).scalar_one()
        if n:
            counts[table.name] = int(n)
    return counts


def purge_team(engine: Engine, team_id: str, dry_run: bool = False) -> dict[str, int]:
    """Rows per table that belong to the workspace, deleted unless `dry_run`; one transaction."""
    with engine.begin() as conn:
        counts = _counts(conn, team_id)
        if not dry_run:
            for table in team_tables():
                if table.name in counts:
                    conn.execute(delete(table).where(table.c.team_id == team_id))
    return counts


def expired_teams(engine: Engine, before: datetime) -> list[str]:
    """Workspaces uninstalled before `before` and not installed again since."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(col(Workspace.team_id)).where(
                col(Workspace.active).is_(False),
                col(Workspace.uninstalled_at).is_not(None),
                col(Workspace.uninstalled_at) < before,
            )
        )
        return sorted(str(r[0]) for r in rows)


def drop_expired_states(engine: Engine, now: datetime) -> int:
    """Install links nobody finished: their state values are useless once expired (naive UTC, as stored)."""
    with engine.begin() as conn:
        gone = conn.execute(delete(oauth_states).where(oauth_states.c.expire_at < now.replace(tzinfo=None)))
    return int(gone.rowcount or 0)
