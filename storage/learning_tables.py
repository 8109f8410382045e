"""The outcome ledger: met and missed counts of closed commitments per commitment shape, kept up to
date as each commitment closes, so "what works for whom" never scans every commitment on request."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel


def _now() -> datetime:
    return datetime.now(UTC)


class OutcomeLedger(SQLModel, table=True):
    """One shape of commitment in one workspace: the rep's archetype as diagnosed, the diagnosis's
    root cause, the gap, the practice format and the weekly target (bands are drawn from it when
    read, so a playbook with other bands needs no rebuild). `archetype` and `cause` are "none" when
    unknown."""

    __tablename__ = "outcome_ledger"
    __table_args__ = (
        UniqueConstraint(
            "team_id", "archetype", "gap", "cause", "practice_format", "weekly_pace", name="uq_outcome_ledger_shape"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    archetype: str = Field(max_length=64)
    gap: str = Field(max_length=64)
    cause: str = Field(max_length=32)
    practice_format: str = Field(max_length=32)
    weekly_pace: int  # the target per 7 days of the window as prescribed, rounded half up, at least 1
    met: int = 0
    missed: int = 0
    updated_at: datetime = Field(default_factory=_now)
