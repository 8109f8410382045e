"""Typed access to what a test expects to be stored: a row that must exist, and a stored row's id."""

from __future__ import annotations

from typing import Protocol, TypeVar

T = TypeVar("T")


class _Stored(Protocol):
    id: int | None


def present(value: T | None) -> T:
    """The value a test expects to be there (a row looked up, a field set); fails the test when it is None."""
    assert value is not None
    return value


def id_of(row: _Stored) -> int:
    """The primary key of a row that has been flushed (a model's id is None only before that)."""
    assert row.id is not None
    return row.id
