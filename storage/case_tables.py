"""The case index behind "similar cases" at /diagnose: one row per diagnosis with the rep's wiring as
it was then, the words of its evidence with their counts, and per-workspace word frequencies.

Written in the transaction that records the diagnosis, so a lookup never tokenizes or scans the
evidence of every case: it reads the frequencies of the query's words and lets the database add up
BM25 over their postings. Every row carries its Slack team id, like the rest."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel


def _now() -> datetime:
    return datetime.now(UTC)


class CaseDoc(SQLModel, table=True):
    """One diagnosis as a case. Wiring fields are a snapshot at diagnosis time; deal-killer and
    flagged-gap keys are stored as ",a,b," so one LIKE tests a key on either database."""

    __tablename__ = "case_doc"
    __table_args__ = (Index("ix_case_doc_team_person", "team_id", "person_id"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    diagnosis_id: int = Field(foreign_key="diagnosis.id", unique=True)
    person_id: int = Field(foreign_key="person.id")
    archetype: str = Field(default="", max_length=64)  # "" without a wiring profile
    seat_risk: bool | None = None  # None when no seat is recorded
    profiled: bool = False
    deal_killers: str = Field(default="", max_length=600)
    flagged_gaps: str = Field(default="", max_length=1000)
    killer_count: int = 0
    flagged_count: int = 0
    cause: str = Field(max_length=32)
    gap: str = Field(max_length=64)  # "general" when the diagnosis named none
    length: int = 0  # words kept from the evidence
    created_at: datetime = Field(default_factory=_now)  # the diagnosis's own time


class CaseTerm(SQLModel, table=True):
    """One word of one case's evidence and how often it occurs. The case's length is repeated here
    so a lookup scores from this index alone."""

    __tablename__ = "case_term"
    __table_args__ = (
        UniqueConstraint("case_id", "term", name="uq_case_term"),
        Index("ix_case_term_lookup", "team_id", "term", "case_id", "tf", "doc_len"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    term: str = Field(max_length=40)
    case_id: int = Field(foreign_key="case_doc.id")
    tf: int
    doc_len: int


class CaseTermDf(SQLModel, table=True):
    """How many of a workspace's cases use a word (`docs`) and how often in all (`uses`). The row
    with term "" counts the cases themselves and all their words, for BM25's average length."""

    __tablename__ = "case_term_df"
    __table_args__ = (UniqueConstraint("team_id", "term", name="uq_case_term_df"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    term: str = Field(max_length=40)
    docs: int = 0
    uses: int = 0
