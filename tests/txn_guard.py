"""A watch on one promise, for every test: no Slack call while the calling thread holds a database
transaction (on SQLite a transaction can hold the write lock; a slow Slack then blocks every writer).

The engine's own events say when a thread opens and ends a transaction; every HTTP request the
process makes (slack_sdk's WebClient and Bolt's `respond()` both go through `http.client`) is checked
against that. Nothing of Coachbot's is replaced: this only observes.
"""

from __future__ import annotations

import http.client
import threading
import traceback
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

_ROOT = str(Path(__file__).resolve().parents[1])
_open: dict[int, int] = {}
_lock = threading.Lock()
violations: list[str] = []
_installed: list[Any] = []


def _delta(step: int) -> None:
    ident = threading.get_ident()
    with _lock:
        depth = _open.get(ident, 0) + step
        if depth > 0:
            _open[ident] = depth
        else:
            _open.pop(ident, None)


def watch(engine: Engine) -> None:
    event.listen(engine, "begin", lambda conn: _delta(+1))
    event.listen(engine, "commit", lambda conn: _delta(-1))
    event.listen(engine, "rollback", lambda conn: _delta(-1))


def in_transaction() -> bool:
    with _lock:
        return _open.get(threading.get_ident(), 0) > 0


def install() -> None:
    """Check every outgoing HTTP request of this process (idempotent)."""
    if _installed:
        return
    original = http.client.HTTPConnection.request

    def request(self: http.client.HTTPConnection, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        if in_transaction():
            ours = [
                f
                for f in traceback.extract_stack()[:-1]
                if f.filename.startswith(_ROOT) and "/site-packages/" not in f.filename
            ]
            where = "".join(traceback.format_list(ours[-8:]))
            with _lock:
                violations.append(f"{method} {url.split('?')[0]} inside a database transaction\n{where}")
        return original(self, method, url, *args, **kwargs)

    http.client.HTTPConnection.request = request  # type: ignore[method-assign]  # a deliberate monkeypatch of the stdlib
    _installed.append(original)


def reset() -> list[str]:
    with _lock:
        found = list(violations)
        violations.clear()
        _open.clear()
    return found
