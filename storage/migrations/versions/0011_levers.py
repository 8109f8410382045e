"""The three levers: imported lagging metrics, employment events, and Fit Risk Diagnostic runs.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rep_metric",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("person_id", sa.Integer, sa.ForeignKey("person.id"), nullable=False),
        sa.Column("period", sa.String(8), nullable=False),
        sa.Column("period_start", sa.Date, nullable=False),
        sa.Column("quota_attainment", sa.Float, nullable=True),
        sa.Column("pipeline_created", sa.Float, nullable=True),
        sa.Column("pipeline_quality", sa.Float, nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("team_id", "person_id", "period", "period_start", name="uq_rep_metric_period"),
    )
    op.create_index("ix_rep_metric_team_id", "rep_metric", ["team_id"])
    op.create_index("ix_rep_metric_person_id", "rep_metric", ["person_id"])
    op.create_table(
        "employment_event",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("person_id", sa.Integer, sa.ForeignKey("person.id"), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("occurred_on", sa.Date, nullable=False),
        sa.Column("exit_type", sa.String(16), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("team_id", "person_id", "kind", "occurred_on", name="uq_employment_event"),
    )
    op.create_index("ix_employment_event_team_id", "employment_event", ["team_id"])
    op.create_index("ix_employment_event_person_id", "employment_event", ["person_id"])
    op.create_table(
        "fit_risk_run",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("scope", sa.String(32), nullable=False),
        sa.Column("run_by", sa.String(32), nullable=False),
        sa.Column("answers", sa.JSON, nullable=False),
        sa.Column("overridden", sa.JSON, nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("points", sa.JSON, nullable=False),
        sa.Column("leak", sa.String(16), nullable=False),
        sa.Column("submission_key", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_fit_risk_run_team_id", "fit_risk_run", ["team_id"])
    op.create_index("ix_fit_risk_run_scope", "fit_risk_run", ["scope"])


def downgrade() -> None:
    op.drop_table("fit_risk_run")
    op.drop_table("employment_event")
    op.drop_table("rep_metric")
