"""Database errors are logged with the driver's reason (so "database is locked" can be found in a
log and counted by the fault suite), never with the SQL or its parameters (they carry user text)."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError, OperationalError

from bot.errors import describe_error, is_lock_error


def test_a_real_lock_error_is_described_by_its_reason(tmp_path) -> None:
    path = tmp_path / "locked.db"
    with closing(sqlite3.connect(path, isolation_level=None)) as holder:
        holder.execute("CREATE TABLE note (body TEXT)")
        holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0.05})
        with pytest.raises(OperationalError) as caught, engine.begin() as conn:
            conn.execute(text("INSERT INTO note (body) VALUES (:b)"), {"b": "my rep cried in our 1:1"})
        engine.dispose()
    described = describe_error(caught.value)
    assert described == "OperationalError(database is locked)"
    assert is_lock_error(caught.value)
    assert "cried" not in described and "INSERT" not in described


def test_an_integrity_error_names_the_constraint_not_the_values(tmp_path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'u.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE k (v TEXT UNIQUE)"))
        conn.execute(text("INSERT INTO k (v) VALUES ('secret-evidence')"))
    with pytest.raises(IntegrityError) as caught, engine.begin() as conn:
        conn.execute(text("INSERT INTO k (v) VALUES ('secret-evidence')"))
    described = describe_error(caught.value)
    assert described.startswith("IntegrityError(UNIQUE constraint failed") and "secret-evidence" not in described
    assert not is_lock_error(caught.value)
    assert describe_error(KeyError("user text")) == "KeyError"
