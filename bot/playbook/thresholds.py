"""The lines the playbook draws when Coachbot judges: how much coaching a PIP needs first, and where
the leading-vs-lagging reading calls behaviors "showing up" and numbers "flat". Numbers only; the
words around them are Coachbot's."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Content(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PipRules(_Content):
    """How a PIP readiness check weighs the manager's own coaching."""

    coached_share: int = Field(
        default=75,
        ge=1,
        le=100,
        description="Percent of the 60-minutes-a-week baseline the rep must have been coached over the "
        "stalled cycles before a PIP is fair.",
    )


class LaggingRules(_Content):
    """Where the reading of coached behaviors beside the imported numbers draws its lines."""

    showing_up: int = Field(
        default=50,
        ge=1,
        le=100,
        description="Percent of closed commitments met for the coached behaviors to count as showing up.",
    )
    min_closed: int = Field(
        default=2, ge=1, le=20, description="Closed commitments needed before the behaviors are judged at all."
    )
    flat_band: float = Field(
        default=5.0,
        gt=0,
        le=50,
        description="A change over the quarter smaller than this many points (attainment, pipeline quality) is flat.",
    )
