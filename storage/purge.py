"""Deleting a workspace's data: every row of every table that carries its team id.

A workspace that uninstalled Coachbot keeps its data for COACHBOT_RETENTION_DAYS (a reinstall within
that time picks it back up); after that, or at once with `coachbot purge --team T`, it all goes.
Every table is team-scoped (tests/test_purge.py checks that no table lacks `team_id`), so deleting by
team id in the order that foreign keys allow leaves nothing of the workspace behind.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, func, select
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel, col

import storage.models  # noqa: F401  (every table on the metadata, the installation store's included)
from storage.install_tables import installations, oauth_states
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


def purge_team(
    engine: Engine, team_id: str, dry_run: bool = False, expired_before: datetime | None = None
) -> dict[str, int]:
    """Rows per table that belong to the workspace, deleted unless `dry_run`; one transaction. With
    `expired_before`, only while the workspace is still uninstalled since before then (checked in the
    same transaction, its row locked: a reinstall that came in meanwhile keeps everything)."""
    with engine.begin() as conn:
        if expired_before is not None and not _still_expired(conn, team_id, expired_before):
            return {}
        counts = _counts(conn, team_id)
        if dry_run:
            return counts
        deleted = {}
        for table in team_tables():
            if table.name in counts:
                gone = conn.execute(delete(table).where(table.c.team_id == team_id))
                deleted[table.name] = int(gone.rowcount if gone.rowcount is not None and gone.rowcount >= 0 else 0)
    return {name: n for name, n in deleted.items() if n}


def is_installed(engine: Engine, team_id: str) -> bool:
    """The workspace is active, or holds an installation (a bot token) of Coachbot."""
    with engine.connect() as conn:
        active = conn.execute(
            select(func.count()).where(col(Workspace.team_id) == team_id, col(Workspace.active).is_(True))
        ).scalar_one()
        return bool(active) or _has_installation(conn, team_id)


def _has_installation(conn: Connection, team_id: str) -> bool:
    return bool(conn.execute(select(func.count()).where(installations.c.team_id == team_id)).scalar_one())


def _expired(before: datetime) -> list[Any]:
    return [
        col(Workspace.active).is_(False),
        col(Workspace.uninstalled_at).is_not(None),
        col(Workspace.uninstalled_at) < before,
    ]


def _still_expired(conn: Connection, team_id: str, before: datetime) -> bool:
    query = select(col(Workspace.id)).where(col(Workspace.team_id) == team_id, *_expired(before)).with_for_update()
    return conn.execute(query).first() is not None and not _has_installation(conn, team_id)


def expired_teams(engine: Engine, before: datetime) -> list[str]:
    """Workspaces uninstalled before `before` and not installed again since (no installation either)."""
    with engine.connect() as conn:
        teams = conn.execute(select(col(Workspace.team_id)).where(*_expired(before))).scalars().all()
        return sorted(str(t) for t in teams if not _has_installation(conn, str(t)))


def drop_expired_states(engine: Engine, now: datetime) -> int:
    """Install links nobody finished: their state values are useless once expired (naive UTC, as stored)."""
    with engine.begin() as conn:
        gone = conn.execute(delete(oauth_states).where(oauth_states.c.expire_at < now.replace(tzinfo=None)))
    return int(gone.rowcount or 0)
