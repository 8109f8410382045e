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
from sqlmodel import col, delete, select

from bot.context import AppContext
from bot.playbook.models import Playbook, PlaybookError, load_playbook
from bot.playbook.models import _parse_yaml as parse_playbook_text
from storage import purge, queries
from storage.db import session_scope
from storage.install_tables import WorkspacePlaybook

log = logging.getLogger("coachbot.installs")
PLAYBOOK_MAX_BYTES = 1_000_000  # the shipped playbook is about 20 kB; a workspace's own is stored in the database


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


def is_installed(ctx: AppContext, team_id: str) -> bool:
    """The workspace is active here, or holds an installation (a bot token) of Coachbot."""
    return purge.is_installed(ctx.engine, team_id)


def uninstalled(ctx: AppContext, team_id: str, reason: str, at: datetime | None = None) -> None:
    """Stop all sending for the workspace now; in OAuth mode delete its tokens now too. `at` is when Slack
    says it happened: an installation made after it (a reinstall that overtook the event) is kept, and
    the workspace stays active."""
    if not team_id:
        return
    # Slack's event_time is in whole seconds: an install in that same second is the one being removed.
    until = at + timedelta(seconds=1) if at is not None else None
    removed, newer = ctx.installs.remove(team_id, until) if ctx.installs is not None else (0, 0)
    if newer:
        log.warning("workspace team=%s: %s event predates its newest install; that install is kept", team_id, reason)
        return
    with session_scope(ctx.engine) as session:
        changed = queries.deactivate_workspace(session, team_id)
    ctx.known_active_teams.discard(team_id)
    log.warning(
        "workspace team=%s marked inactive (%s)%s%s",
        team_id,
        reason,
        "" if changed else ", already",
        f"; {removed} installation record(s) and tokens deleted" if removed else "",
    )


def purge_team(engine: Engine, team_id: str, dry_run: bool, expired_before: datetime | None = None) -> dict[str, int]:
    counts = purge.purge_team(engine, team_id, dry_run, expired_before)
    if not dry_run and counts:
        log.warning("workspace team=%s purged: %d row(s)", team_id, sum(counts.values()))
    return counts


def purge_expired(
    engine: Engine, retention_days: int, now: datetime | None = None, dry_run: bool = False
) -> dict[str, int]:
    """Workspaces uninstalled more than `retention_days` ago lose all their data: rows per team (counted
    only, with `dry_run`). Expired install-link states go too. A workspace installed again meanwhile, or
    holding an installation, is kept."""
    now = now or datetime.now(UTC)
    if not dry_run:
        purge.drop_expired_states(engine, now.astimezone(UTC))
    before = now - timedelta(days=retention_days)
    found = {
        team: sum(purge_team(engine, team, dry_run, before).values()) for team in purge.expired_teams(engine, before)
    }
    return {team: n for team, n in found.items() if n}


def set_playbook(engine: Engine, team_id: str, path: str | None) -> Playbook:
    """Validate the file and make it the workspace's playbook (None: back to the default). The text
    stored is the text validated: the file is read once."""
    if path is None:
        with session_scope(engine) as session:
            session.exec(delete(WorkspacePlaybook).where(col(WorkspacePlaybook.team_id) == team_id))
        return load_playbook(None)
    text = read_playbook_text(path)
    chosen = parse_playbook_text(text, path)  # raises PlaybookError with every problem
    with session_scope(engine) as session:
        row = session.exec(select(WorkspacePlaybook).where(WorkspacePlaybook.team_id == team_id)).first()
        row = row or WorkspacePlaybook(team_id=team_id, content="")
        row.content = text
        row.source_name, row.updated_at = Path(path).name[:200], datetime.now(UTC)
        session.add(row)
    return chosen


def read_playbook_text(path: str) -> str:
    """The file's text, or a PlaybookError saying why not (unreadable, too large, not UTF-8)."""
    try:
        with open(path, "rb") as file:
            raw = file.read(PLAYBOOK_MAX_BYTES + 1)
    except OSError as exc:
        raise PlaybookError(path, [f"cannot be read ({exc.strerror})"]) from None
    if len(raw) > PLAYBOOK_MAX_BYTES:
        raise PlaybookError(path, [f"is too large (over {PLAYBOOK_MAX_BYTES // 1000} kB); a playbook is far smaller"])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PlaybookError(path, [f"is not UTF-8 text (byte {exc.start + 1}); save it as UTF-8"]) from None
