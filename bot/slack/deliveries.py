"""Each request from Slack is handled once, keyed on what Slack gives it.

A repeated command, click, form or event (a double click, a replay within the signature window,
Slack's own retry) carries the same trigger id, action timestamp, view id and hash, or event id.
The key goes into `processed_delivery` under a unique constraint, after the acknowledgement
(nothing is written before it), so any number of processes agree on which delivery was first.
"""

from __future__ import annotations

import enum
import hashlib
import logging
import threading
import weakref
from typing import Any

from sqlalchemy import delete, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from bot.context import AppContext
from bot.slack.request_info import request_ids
from storage import queries
from storage.db import session_scope
from storage.models import ProcessedDelivery

log = logging.getLogger("coachbot.deliveries")
KEY_MAX = 128


class Claim(enum.Enum):
    NEW = "new"
    REPEAT = "repeat"
    UNKEYED = "unkeyed"  # nothing to key it on (e.g. a closed modal): handled as it comes


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def delivery_key(body: dict[str, Any]) -> str | None:
    """The key of one delivery, from the ids Slack puts in it; None when it has none."""
    kind = body.get("type")
    if kind == "event_callback":
        event_id = _text(body.get("event_id"))
        key = f"event:{event_id}" if event_id else None
    elif "command" in body:
        trigger = _text(body.get("trigger_id"))
        key = f"cmd:{trigger}" if trigger else None
    elif kind == "block_actions":
        actions = body.get("actions")
        first = actions[0] if isinstance(actions, list) and actions and isinstance(actions[0], dict) else {}
        parts = (_text(body.get("trigger_id")), _text(first.get("action_ts")))
        key = f"act:{parts[0]}:{parts[1]}" if any(parts) else None
    elif kind == "view_submission":
        raw_view = body.get("view")
        view = raw_view if isinstance(raw_view, dict) else {}
        # A plain acknowledgement closes the modal, so a view id is only ever submitted for good once:
        # the id alone is the key (a replay with another hash is still the same form).
        view_id = _text(view.get("id"))
        key = f"view:{view_id}" if view_id else None
    else:
        key = None
    if key and len(key) > KEY_MAX:
        key = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return key


def claim(ctx: AppContext, body: dict[str, Any]) -> Claim:
    """Record this delivery (and, for a command, click or form, that the workspace is installed)."""
    team_id = request_ids(body)[0] or "-"
    key = delivery_key(body)
    reactivate = team_id != "-" and team_id not in ctx.known_active_teams and body.get("type") != "event_callback"
    if key is None and not reactivate:
        return Claim.UNKEYED
    try:
        with session_scope(ctx.engine) as session:
            if reactivate:
                # A signed command, click or form from a team means the app is installed there (again,
                # after an uninstall): scheduled messages resume. Events are left out; Slack may retry
                # one after an uninstall.
                workspace = queries.get_workspace(session, team_id)
                if workspace is not None and not workspace.active:
                    queries.ensure_workspace(session, team_id)
                    log.warning("workspace team=%s active again: a request arrived after an uninstall", team_id)
            if key is not None:
                session.add(ProcessedDelivery(team_id=team_id, delivery_key=key))
                session.flush()
    except IntegrityError:
        log.info("repeated delivery team=%s key=%s handled once", team_id, key.split(":", 1)[0] if key else "-")
        return Claim.REPEAT
    if reactivate:
        ctx.known_active_teams.add(team_id)
    return Claim.UNKEYED if key is None else Claim.NEW


def release(ctx: AppContext, body: dict[str, Any]) -> None:
    """Forget a claim whose work failed, so that the same request may be tried again."""
    key = delivery_key(body)
    if key is None:
        return
    team_id = request_ids(body)[0] or "-"
    try:
        with session_scope(ctx.engine) as session:
            session.exec(
                delete(ProcessedDelivery).where(
                    col(ProcessedDelivery.team_id) == team_id, col(ProcessedDelivery.delivery_key) == key
                )
            )
    except Exception as exc:
        log.warning("could not release a failed request's claim (%s)", type(exc).__name__)


# --- what a listener stored before it failed -------------------------------------------------------
_commits = threading.local()
_watched: weakref.WeakSet[Engine] = weakref.WeakSet()


def watch_commits(engine: Engine) -> None:
    """Count commits per thread, so that a listener that fails after storing is not taken as undone."""
    if engine in _watched:
        return
    _watched.add(engine)
    event.listen(engine, "commit", _count_commit)


def _count_commit(conn: Any) -> None:
    _commits.n = getattr(_commits, "n", 0) + 1


def commits_so_far() -> int:
    return int(getattr(_commits, "n", 0))
