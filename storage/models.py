"""One SQLModel class per table. Every row carries the Slack team id it belongs to."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import JSON, Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class Workspace(SQLModel, table=True):
    __tablename__ = "workspace"

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(index=True, unique=True, max_length=32)
    name: str = Field(default="", max_length=200)
    active: bool = True
    installed_at: datetime = Field(default_factory=utcnow)
    uninstalled_at: datetime | None = None
    nudge_weekday: int = 0  # 0 = Monday, in each rep's own time zone
    nudge_hour: int = 9
    nudge_minute: int = 0
    reminders_enabled: bool = True
    summary_weekday: int = 4  # 0 = Monday; Friday by default, in each manager's own time zone
    summary_hour: int = 16
    summary_minute: int = 0


class Person(SQLModel, table=True):
    __tablename__ = "person"
    __table_args__ = (UniqueConstraint("team_id", "slack_user_id", name="uq_person_team_user"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(index=True, max_length=32)
    slack_user_id: str = Field(max_length=32)
    email: str = Field(default="", max_length=254)
    display_name: str = Field(default="", max_length=200)
    role: str = Field(default="rep", max_length=16)  # rep | manager
    tz: str = Field(default="", max_length=64)
    manager_user_id: str | None = Field(default=None, max_length=32, index=True)
    seat_id: int | None = Field(default=None, foreign_key="seat.id")
    start_date: date | None = None
    nudges_paused_until: date | None = None
    dm_channel: str | None = Field(default=None, max_length=32)
    unreachable_reason: str | None = Field(default=None, max_length=64)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Seat(SQLModel, table=True):
    """A role on the team and the archetype it needs."""

    __tablename__ = "seat"
    __table_args__ = (UniqueConstraint("team_id", "name", name="uq_seat_team_name"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(index=True, max_length=32)
    name: str = Field(max_length=100)
    archetype: str = Field(max_length=64)


class WiringProfile(SQLModel, table=True):
    """One assessment of a rep. A newer assessment adds a version; older ones stay readable."""

    __tablename__ = "wiring_profile"
    __table_args__ = (UniqueConstraint("person_id", "version", name="uq_wiring_person_version"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(index=True, max_length=32)
    person_id: int = Field(foreign_key="person.id", index=True)
    version: int
    archetype: str = Field(max_length=64)
    coachability: int
    drive: int
    resilience: int
    deal_killers: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    gaps: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    assessed_on: date | None = None
    created_at: datetime = Field(default_factory=utcnow)


class ManagerRequest(SQLModel, table=True):
    """A manager asking to coach a rep; the rep accepts or declines in a DM."""

    __tablename__ = "manager_request"

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(index=True, max_length=32)
    manager_user_id: str = Field(max_length=32)
    rep_user_id: str = Field(max_length=32, index=True)
    status: str = Field(default="pending", max_length=16)  # pending | accepted | declined
    created_at: datetime = Field(default_factory=utcnow)
    decided_at: datetime | None = None


class ProcessedDelivery(SQLModel, table=True):
    """Keys of requests already handled, so Slack's redeliveries are not processed twice."""

    __tablename__ = "processed_delivery"
    __table_args__ = (UniqueConstraint("team_id", "delivery_key", name="uq_delivery_team_key"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    delivery_key: str = Field(max_length=128)
    seen_at: datetime = Field(default_factory=utcnow, index=True)


class Diagnosis(SQLModel, table=True):
    """A manager's read of why a rep is off: one of the four root causes, with evidence."""

    __tablename__ = "diagnosis"

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(index=True, max_length=32)
    person_id: int = Field(foreign_key="person.id", index=True)
    manager_user_id: str = Field(max_length=32)
    cause: str = Field(max_length=32)  # seat_fit | coaching_gap | environmental_drag | motivation
    gap: str | None = Field(default=None, max_length=64)
    drag: str | None = Field(default=None, max_length=64)  # what environmental drag, when that is the cause
    evidence: str = Field(max_length=2000)
    pushback: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    escalate: bool = False
    profile_version: int | None = None
    submission_key: str = Field(max_length=64, unique=True)  # the modal's view id: one row per submit
    created_at: datetime = Field(default_factory=utcnow)


class Commitment(SQLModel, table=True):
    """One countable behavior a rep practises over a window (7 days by default)."""

    __tablename__ = "commitment"
    __table_args__ = (
        Index(
            "uq_commitment_active_gap",
            "team_id",
            "person_id",
            "gap",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(index=True, max_length=32)
    person_id: int = Field(foreign_key="person.id", index=True)
    manager_user_id: str = Field(max_length=32)
    diagnosis_id: int | None = Field(default=None, foreign_key="diagnosis.id")
    gap: str = Field(max_length=64)  # a playbook gap key, or "general"
    behavior: str = Field(max_length=300)
    target_count: int
    window_days: int = 7
    practice_format: str = Field(max_length=32)
    evidence: str = Field(max_length=300)
    status: str = Field(default="active", max_length=16)  # active | met | missed | replaced
    starts_on: date
    ends_on: date
    dm_channel: str | None = Field(default=None, max_length=32)
    dm_ts: str | None = Field(default=None, max_length=32)
    submission_key: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow)
    closed_at: datetime | None = None
    cycle_number: int | None = None  # set at closeout: the how-many-th closed cycle on this gap
    reflection: str | None = Field(default=None, max_length=1000)
    paused_days: int = 0  # days the window was extended by pauses (a resume gives back the unused ones)


class CheckIn(SQLModel, table=True):
    """A rep saying the behavior showed up (count times)."""

    __tablename__ = "check_in"

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(index=True, max_length=32)
    commitment_id: int = Field(foreign_key="commitment.id", index=True)
    count: int = 1
    note: str = Field(default="", max_length=500)
    source: str = Field(default="button", max_length=16)
    created_at: datetime = Field(default_factory=utcnow)


class ScheduledMessage(SQLModel, table=True):
    """The outbox. One row per (rep, kind, period): a unique key that no pass can send twice.

    pending -> sending (claimed) -> sent; or skipped (past the grace window), unreachable (the rep
    cannot get DMs) or failed (gave up after retries).
    """

    __tablename__ = "scheduled_message"
    __table_args__ = (
        UniqueConstraint("team_id", "rep_user_id", "kind", "period", name="uq_scheduled_natural_key"),
        Index("ix_scheduled_due", "status", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    rep_user_id: str = Field(max_length=32)
    kind: str = Field(max_length=16)  # nudge | reminder | closeout
    period: str = Field(max_length=32)  # nudge: local date; reminder/closeout: commitment id
    commitment_id: int | None = Field(default=None, foreign_key="commitment.id")
    due_at: datetime
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    next_attempt_at: datetime | None = None
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_at: datetime | None = None
    sent_at: datetime | None = None
    slack_channel: str | None = Field(default=None, max_length=32)
    slack_ts: str | None = Field(default=None, max_length=32)
    last_error: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow)


class CoachingSession(SQLModel, table=True):
    """Time a manager spent coaching: a 1:1, call review or role-play with one rep, or a group."""

    __tablename__ = "coaching_session"

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(index=True, max_length=32)
    manager_user_id: str = Field(max_length=32, index=True)
    kind: str = Field(max_length=16)  # one_on_one | call_review | role_play | group
    minutes: int
    occurred_on: date
    note: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=utcnow)


class SessionAttendee(SQLModel, table=True):
    __tablename__ = "session_attendee"
    __table_args__ = (UniqueConstraint("session_id", "person_id", name="uq_attendee"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(index=True, max_length=32)
    session_id: int = Field(foreign_key="coaching_session.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)


class ManagerSetting(SQLModel, table=True):
    """Where a manager's weekly summary goes (a private channel; a DM when unset)."""

    __tablename__ = "manager_setting"
    __table_args__ = (UniqueConstraint("team_id", "manager_user_id", name="uq_manager_setting"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    manager_user_id: str = Field(max_length=32)
    summary_channel: str | None = Field(default=None, max_length=32)
    updated_at: datetime = Field(default_factory=utcnow)


class OnboardingPlan(SQLModel, table=True):
    """A new hire's 30/60/90 plan: one per rep, started by their manager from the playbook's draft."""

    __tablename__ = "onboarding_plan"
    __table_args__ = (UniqueConstraint("team_id", "person_id", name="uq_plan_team_person"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(index=True, max_length=32)
    person_id: int = Field(foreign_key="person.id", index=True)
    manager_user_id: str = Field(max_length=32)
    start_date: date
    archetype: str | None = Field(default=None, max_length=64)  # at the start: who the hire is compared with
    submission_key: str = Field(max_length=64, unique=True)  # the form's view id: one plan per submit
    created_at: datetime = Field(default_factory=utcnow)


class Milestone(SQLModel, table=True):
    """One step of a plan, due on a plan day; checked off once, by the rep or their manager."""

    __tablename__ = "milestone"

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(index=True, max_length=32)
    plan_id: int = Field(foreign_key="onboarding_plan.id", index=True)
    phase: int
    position: int
    title: str = Field(max_length=150)
    due_day: int
    done_at: datetime | None = None
    done_by: str | None = Field(default=None, max_length=32)


class Pip(SQLModel, table=True):
    """A performance improvement plan written as a coaching document: one gap, a weekly target, the
    support the manager promised, and reviews every two weeks. At most one active plan per rep."""

    __tablename__ = "pip"
    __table_args__ = (
        Index(
            "uq_pip_active_person",
            "team_id",
            "person_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(index=True, max_length=32)
    person_id: int = Field(foreign_key="person.id", index=True)
    manager_user_id: str = Field(max_length=32)  # who promised the support: the rep's manager when drafted
    drafted_by: str = Field(max_length=32)  # the manager or an admin
    gap: str = Field(max_length=64)
    behavior: str = Field(max_length=300)
    weekly_count: int
    sessions_per_week: int
    weeks: int  # 4 to 8, reviewed every two weeks
    starts_on: date
    ends_on: date
    status: str = Field(default="active", max_length=16)  # active | closed | reseated | separated
    submission_key: str = Field(max_length=64, unique=True)  # the form's view id: one plan per submit
    created_at: datetime = Field(default_factory=utcnow)
    closed_at: datetime | None = None
    closed_by: str | None = Field(default=None, max_length=32)
    close_note: str | None = Field(default=None, max_length=500)
    # The evidence pack as a Slack canvas, made at most once: None (never) -> creating (claimed, call on
    # its way) -> made (canvas_id known, access not yet set) -> shared; or unknown (Slack's answer to
    # the create was lost: never created again). A refusal puts it back to None.
    canvas_state: str | None = Field(default=None, max_length=16)
    canvas_id: str | None = Field(default=None, max_length=32)


class PlanOffer(SQLModel, table=True):
    """A roster import asked a hire's manager (one DM per manager per import: `batch_key`) to review a
    30/60/90 plan, once per hire. States: see bot.onboarding.offer."""

    __tablename__ = "plan_offer"
    __table_args__ = (UniqueConstraint("team_id", "person_id", name="uq_plan_offer_team_person"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(index=True, max_length=32)
    person_id: int = Field(foreign_key="person.id", index=True)
    manager_user_id: str = Field(max_length=32)
    batch_key: str = Field(max_length=64, index=True)
    status: str = Field(default="sending", max_length=16)  # sending -> sent | unconfirmed
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None
    slack_channel: str | None = Field(default=None, max_length=32)
    slack_ts: str | None = Field(default=None, max_length=32)


# The three levers' tables are in their own module (this one holds the coaching loop's); importing
# them here puts every table in SQLModel's metadata wherever the models are imported.
from storage.budget_tables import SlackBudget  # noqa: E402, F401
from storage.case_tables import CaseDoc, CaseTerm, CaseTermDf  # noqa: E402, F401
from storage.install_tables import WorkspacePlaybook  # noqa: E402, F401
from storage.learning_tables import OutcomeLedger  # noqa: E402, F401
from storage.lever_tables import EmploymentEvent, FitRiskRun, RepMetric  # noqa: E402, F401
