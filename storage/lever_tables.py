"""The three levers' tables: lagging numbers and employment events imported per rep, and the Fit
Risk Diagnostic runs a manager or admin keeps. Every row carries its Slack team id, like the rest."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel


def _now() -> datetime:
    return datetime.now(UTC)


class RepMetric(SQLModel, table=True):
    """One rep's lagging numbers for one week or month, as last imported (a re-import updates them)."""

    __tablename__ = "rep_metric"
    __table_args__ = (UniqueConstraint("team_id", "person_id", "period", "period_start", name="uq_rep_metric_period"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(index=True, max_length=32)
    person_id: int = Field(foreign_key="person.id", index=True)
    period: str = Field(max_length=8)  # week | month
    period_start: date
    quota_attainment: float | None = None  # percent of quota
    pipeline_created: float | None = None  # in the team's currency
    pipeline_quality: float | None = None  # percent, e.g. of pipeline with a dated next step
    updated_at: datetime = Field(default_factory=_now)


class EmploymentEvent(SQLModel, table=True):
    """A start or an exit, as imported with the metrics: retention is read from these."""

    __tablename__ = "employment_event"
    __table_args__ = (UniqueConstraint("team_id", "person_id", "kind", "occurred_on", name="uq_employment_event"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(index=True, max_length=32)
    person_id: int = Field(foreign_key="person.id", index=True)
    kind: str = Field(max_length=8)  # start | exit
    occurred_on: date
    exit_type: str | None = Field(default=None, max_length=16)  # voluntary | involuntary, for exits
    created_at: datetime = Field(default_factory=_now)


class FitRiskRun(SQLModel, table=True):
    """One Fit Risk Diagnostic, kept so the next run can say what changed. `scope` is the manager's
    user id for a team, or "org" for an admin's run over the whole workspace."""

    __tablename__ = "fit_risk_run"

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(index=True, max_length=32)
    scope: str = Field(max_length=32, index=True)
    run_by: str = Field(max_length=32)
    answers: dict[str, float] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    overridden: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    reason: str = Field(default="", max_length=500)
    points: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    leak: str = Field(max_length=16)  # hiring | coaching | composition
    submission_key: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=_now)
