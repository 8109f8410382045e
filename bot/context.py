"""What every listener and job needs, built once by the app factory and handed to `register()`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.playbook.models import Playbook
from bot.settings import Settings


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    playbook: Playbook
    clock: Callable[[], datetime] = field(default=system_clock)
    home_refresher: Any = None  # set by the app factory (bot.team.home.HomeRefresher)
    known_active_teams: set[str] = field(default_factory=set)  # checked once per process (bot.app)

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)
