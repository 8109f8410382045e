"""A workspace installs Coachbot, uninstalls it (or revokes its token), and its data goes after the
retention period; a workspace may also run on its own playbook.

- Installed (OAuth success): the workspace is active again and its uninstall mark is cleared, so a
  reinstall within the retention period picks its data back up.
- Uninstalled or token revoked: sending stops at once (the workspace is inactive: planning and
  delivery skip it), and in OAuth mode its installations and tokens are deleted at once.
- Purge: `coachbot purge --team T` deletes every row of the workspace now; `--expired` (and the
  dispatcher's hourly housekeeping) deletes workspaces uninstalled more than COACHBOT_RETENTION_DAYS ago.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.context import AppContext
from bot.playbook.models import Playbook, load_playbook
from storage import purge, queries
from storage.db import session_scope
from storage.install_tables import WorkspacePlaybook

log = logging.getLogger("coachbot.installs")


def installed(ctx: AppContext, team_id: str, team_name: str = "") -> bool:
    """The workspace is active; True when it had been uninstalled (its data is picked back up)."""
    with session_scope(ctx.engine) as session:
        before = queries.get_workspace(session, team_id)
        again = before is not None and not before.active
        workspace = queries.ensure_workspace(session, team_id, (team_name or "")[:200])
        if team_name and not workspace.name:
            workspace.name = team_name[:200]
            session.add(workspace)
    ctx.known_active_teams.add(team_id)
    if ctx.installs is not None:
        ctx.installs.clients.forget(team_id)
    log.warning("workspace team=%s installed%s", team_id, " again: its data is kept" if again else "")
    return again


def uninstalled(ctx: AppContext, team_id: str, reason: str) -> None:
    """Stop all sending for the workspace now; in OAuth mode delete its tokens now too."""
    with session_scope(ctx.engine) as session:
        changed = queries.deactivate_workspace(session, team_id)
    ctx.known_active_teams.discard(team_id)
    removed = ctx.installs.remove(team_id) if ctx.installs is not None else 0
    log.warning(
        "workspace team=%s marked inactive (%s)%s%s",
        team_id,
        reason,
        "" if changed else ", already",
        f"; {removed} installation record(s) and tokens deleted" if removed else "",
    )


def purge_team(engine: Engine, team_id: str, dry_run: bool) -> dict[str, int]:
    counts = purge.purge_team(engine, team_id, dry_run)
    if not dry_run and counts:
        log.warning("workspace team=%s purged: %d row(s)", team_id, sum(counts.values()))
    return counts


def purge_expired(engine: Engine, retention_days: int, now: datetime | None = None) -> dict[str, int]:
    """Workspaces uninstalled more than `retention_days` ago lose all their data: rows per team. Expired
    install-link states go too."""
    now = now or datetime.now(UTC)
    purge.drop_expired_states(engine, now.astimezone(UTC))
    before = now - timedelta(days=retention_days)
    return {team: sum(purge_team(engine, team, False).values()) for team in purge.expired_teams(engine, before)}


def set_playbook(engine: Engine, team_id: str, path: str | None) -> Playbook:
    """Validate the file and make it the workspace's playbook (None: back to the default)."""
    chosen = load_playbook(path)  # raises PlaybookError with every problem
    with session_scope(engine) as session:
        row = session.exec(select(WorkspacePlaybook).where(WorkspacePlaybook.team_id == team_id)).first()
        if path is None:
            if row is not None:
                session.delete(row)
            return chosen
        row = row or WorkspacePlaybook(team_id=team_id, content="")
        row.content = Path(path).read_text(encoding="utf-8")
        row.source_name, row.updated_at = Path(path).name[:200], datetime.now(UTC)
        session.add(row)
    return chosen
