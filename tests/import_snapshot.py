"""The tests' roster import, recorded once per test process and replayed after that.

About a thousand tests start by importing the same two-rep roster through the real `coachbot import`:
~30 ms each (the command, its Slack look-ups and the manager's onboarding offer), a sixth of the
suite's time. The first such import in a test process runs for real; what it left behind is recorded:
every table's rows, where the id sequences stand, what it changed in the Slack fake, and what the
command printed. A later test that asks for the same import from the same starting point gets those
rows written back into its (empty) database in one transaction, and the fake put where the command
would have left it.

"The same starting point" is checked, not assumed; anything else runs the command for real:
- the database is empty, its id sequences unused (a fresh copy);
- the same rows and file name, on the same backend, on the same UTC day (the import reads the date);
- the same environment (COACHBOT_*, SLACK_* but the fake's URL) and the Slack fake in the same state
  (users, scripted failures and delays, tokens, channels, its message counter);
- the test patched nothing of its own with monkeypatch (the `cli` fixture's three patches aside).

The import itself stays covered through the real command: by the first import in every test process
(on each backend), by tests/test_roster_import.py and by every import that is not this one.
"""

from __future__ import annotations

import copy
import itertools
import os
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tests.conftest import schema_tables

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

    from tests.slack_fake import SlackFake

# The fake's fields an import cannot have changed, or that the fixture clears after it anyway.
_NOT_STATE = {"calls", "history", "lock", "in_flight", "max_in_flight", "max_in_flight_per_team"}
_CLI_PATCHES = 3  # the `cli` fixture's own monkeypatch.setattr calls (make_engine and the two Slack clients)


@dataclass
class _Recorded:
    tables: list[tuple[Any, list[dict[str, Any]]]]  # (table, its rows), parents first
    sequences: list[tuple[str, int]]  # PostgreSQL: sequence name, last value handed out
    fake: dict[str, Any]  # the fake's fields the import changed, as it left them (a copy)
    out: str


_RECORDED: dict[tuple[Any, ...], _Recorded] = {}


def _fake_state(fake: SlackFake) -> dict[str, str]:
    """The fake's fields as their reprs: what they hold, a counter where it stands ("count(3)", without
    using a number up)."""
    return {f.name: repr(getattr(fake, f.name)) for f in fields(fake) if f.name not in _NOT_STATE}


def _copied(value: Any) -> Any:
    """A copy to keep or to hand out; a counter becomes a new one that starts where it stood."""
    if isinstance(value, itertools.count):
        return itertools.count(int(repr(value)[len("count(") : -1]))
    return copy.deepcopy(value)


def _key(engine: Engine, rows: tuple[str, ...], name: str, fake: SlackFake) -> tuple[Any, ...]:
    env = sorted(
        (k, v) for k, v in os.environ.items() if k.startswith(("COACHBOT_", "SLACK_")) and k != "SLACK_API_URL"
    )
    return (
        engine.dialect.name,
        str(engine.url),
        rows,
        name,
        datetime.now(UTC).date(),
        repr(env),
        tuple(sorted(_fake_state(fake).items())),
    )


def table_rows(conn: Connection) -> list[tuple[Any, list[dict[str, Any]]]]:
    """Every table that has rows, parents first, with its rows in primary-key order."""
    from sqlalchemy import select

    found = []
    for table in schema_tables():
        order = list(table.primary_key.columns) or list(table.columns)
        if rows := [dict(r._mapping) for r in conn.execute(select(table).order_by(*order))]:
            found.append((table, rows))
    return found


def _fresh(conn: Connection) -> bool:
    """Every table empty and (PostgreSQL) no sequence used: what a new copy of the template is."""
    anything = " OR ".join(f'EXISTS (SELECT 1 FROM "{t.name}")' for t in schema_tables())
    if conn.exec_driver_sql(f"SELECT 1 WHERE {anything}").first() is not None:
        return False
    if conn.dialect.name == "postgresql":
        used = "SELECT 1 FROM pg_sequences WHERE schemaname = 'public' AND last_value IS NOT NULL"
        return conn.exec_driver_sql(used).first() is None
    has_counters = "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'"
    return conn.exec_driver_sql(has_counters).first() is None


def _patched_by_test(monkeypatch: Any) -> bool:
    return len(getattr(monkeypatch, "_setattr", ())) != _CLI_PATCHES


class ImportReplay:
    """Runs `import_csv`'s command, or writes back what the same command left the last time."""

    def __init__(self, engine: Engine, fake: SlackFake, monkeypatch: Any) -> None:
        self.engine = engine
        self.fake = fake
        self.monkeypatch = monkeypatch

    def run(self, rows: tuple[str, ...], name: str, command: Any) -> str:
        """`command()` imports for real and returns what it printed."""
        if _patched_by_test(self.monkeypatch):
            return command()
        with self.engine.connect() as conn:
            fresh = _fresh(conn)
        if not fresh:
            return command()
        key = _key(self.engine, rows, name, self.fake)
        recorded = _RECORDED.get(key)
        if recorded is not None:
            self._write_back(recorded)
            return recorded.out
        before = _fake_state(self.fake)
        out = command()
        _RECORDED[key] = self._record(before, out)
        return out

    def _record(self, before: dict[str, Any], out: str) -> _Recorded:
        after = _fake_state(self.fake)
        changed = {name: _copied(getattr(self.fake, name)) for name, value in after.items() if value != before[name]}
        sequences: list[tuple[str, int]] = []
        with self.engine.connect() as conn:
            tables = table_rows(conn)
            if conn.dialect.name == "postgresql":
                found = conn.exec_driver_sql(
                    "SELECT quote_ident(sequencename), last_value FROM pg_sequences"
                    " WHERE schemaname = 'public' AND last_value IS NOT NULL"
                )
                sequences = [(str(n), int(v)) for n, v in found]
        return _Recorded(tables=tables, sequences=sequences, fake=changed, out=out)

    def _write_back(self, recorded: _Recorded) -> None:
        with self.engine.begin() as conn:
            for table, rows in recorded.tables:
                conn.execute(table.insert(), rows)
            for sequence, value in recorded.sequences:
                conn.exec_driver_sql(f"SELECT setval('{sequence}', {value}, true)")
        for name, value in recorded.fake.items():
            setattr(self.fake, name, _copied(value))
