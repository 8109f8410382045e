"""The Web API budget shared by every dispatcher on the database (storage.budget_tables.SlackBudget).

- `hold_back`: a 429 from one workspace holds that workspace back for Retry-After in every process:
  claiming skips its rows until then (`not_held_back`), so nobody hammers a workspace Slack refused.
- `take_slot`: calls with a hard budget (conversations.history for crash resolution) take one slot per
  interval per workspace, one conditional upsert each, so N processes together stay within it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from storage.db import session_scope
from storage.models import ScheduledMessage, SlackBudget

POST = "chat.postMessage"
HISTORY = "conversations.history"


def _upsert(engine: Engine, team_id: str, method: str, until: datetime, only_if_before: datetime) -> bool:
    insert: Any = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
    stmt = (
        insert(SlackBudget)
        .values(team_id=team_id, method=method, available_at=until)
        .on_conflict_do_update(
            index_elements=["team_id", "method"],
            set_={"available_at": until},
            where=col(SlackBudget.available_at) <= only_if_before,
        )
        .returning(col(SlackBudget.team_id))
    )
    with session_scope(engine) as session:  # a row comes back when it was inserted or updated
        return session.exec(stmt).first() is not None


def hold_back(engine: Engine, team_id: str, method: str, until: datetime) -> None:
    """No call of `method` for the workspace before `until` (later holds are kept)."""
    _upsert(engine, team_id, method, until, until)


def take_slot(engine: Engine, team_id: str, method: str, interval: timedelta, now: datetime) -> bool:
    """True when this process may make one call now; the next one for the workspace waits `interval`."""
    return _upsert(engine, team_id, method, now + interval, now)


def not_held_back(now: datetime) -> Any:
    """For claiming: the row's workspace is not held back from posting at `now`."""
    return ~exists(
        select(SlackBudget.team_id).where(
            col(SlackBudget.team_id) == col(ScheduledMessage.team_id),
            SlackBudget.method == POST,
            col(SlackBudget.available_at) > now,
        )
    )
