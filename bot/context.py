"""What every listener and job needs, built once by the app factory and handed to `register()`."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import yaml
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, select

from bot.playbook.models import Playbook, PlaybookError, parse_playbook
from bot.settings import Settings
from storage.install_tables import WorkspacePlaybook

log = logging.getLogger("coachbot.playbook")

PLAYBOOK_RECHECK_SECONDS = 60.0  # a workspace's own playbook, changed by `coachbot playbook`, applies within this


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class _TeamPlaybooks:
    """Each workspace's own playbook (or None: the process's), read from the database at most once a minute."""

    seen: dict[str, tuple[float, Playbook | None]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


ACTIVE_RECHECK_SECONDS = 60.0


class ActiveTeams:
    """Workspaces this process has lately seen installed, so that a request does not ask the database
    each time. An entry lasts a minute: another instance may handle the workspace's uninstall, and a
    later command here must then find that out and switch its scheduled messages back on."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def add(self, team_id: str) -> None:
        with self._lock:
            self._seen[team_id] = self.clock()

    def discard(self, team_id: str) -> None:
        with self._lock:
            self._seen.pop(team_id, None)

    def __contains__(self, team_id: object) -> bool:
        with self._lock:
            seen = self._seen.get(str(team_id))
        return seen is not None and self.clock() - seen < ACTIVE_RECHECK_SECONDS


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    playbook: Playbook
    clock: Callable[[], datetime] = field(default=system_clock)
    home_refresher: Any = None  # set by the app factory (bot.team.home.HomeRefresher)
    known_active_teams: ActiveTeams = field(default_factory=ActiveTeams, repr=False)  # bot.slack.deliveries.claim
    installs: Any = None  # bot.slack.installs.Installs in OAuth mode (a token per workspace), else None
    team_playbooks: _TeamPlaybooks = field(default_factory=_TeamPlaybooks, repr=False)

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def for_team(self, team_id: str | None) -> AppContext:
        """This context, with the workspace's own playbook when it has one (`coachbot playbook --team`)."""
        own = self._own_playbook(team_id) if team_id else None
        return self if own is None or own is self.playbook else dataclasses.replace(self, playbook=own)

    def _own_playbook(self, team_id: str) -> Playbook | None:
        now = time.monotonic()
        with self.team_playbooks.lock:
            cached = self.team_playbooks.seen.get(team_id)
        if cached is not None and now - cached[0] < PLAYBOOK_RECHECK_SECONDS:
            return cached[1]
        try:
            with self.session() as session:
                row = session.exec(select(WorkspacePlaybook).where(WorkspacePlaybook.team_id == team_id)).first()
        except SQLAlchemyError:  # the database is unreachable: what the caller does next will say so
            return cached[1] if cached is not None else None
        own = None
        if row is not None:
            previous = cached[1] if cached is not None else None
            source = f"{row.source_name} (workspace {team_id}, {row.updated_at:%Y-%m-%d %H:%M})"
            own = previous if previous is not None and previous.source == source else None
            try:
                own = own or parse_playbook(yaml.safe_load(row.content), source)
            except (PlaybookError, yaml.YAMLError) as exc:  # stored before a playbook format change, say
                log.error(
                    "workspace playbook unusable team=%s error=%s; using the shared one", team_id, type(exc).__name__
                )
                own = None
        with self.team_playbooks.lock:
            self.team_playbooks.seen[team_id] = (now, own)
        return own
