"""Performance improvement plans: one active per rep, keyed by the form that created it.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pip",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("person_id", sa.Integer, sa.ForeignKey("person.id"), nullable=False),
        sa.Column("manager_user_id", sa.String(32), nullable=False),
        sa.Column("drafted_by", sa.String(32), nullable=False),
        sa.Column("gap", sa.String(64), nullable=False),
        sa.Column("behavior", sa.String(300), nullable=False),
        sa.Column("weekly_count", sa.Integer, nullable=False),
        sa.Column("sessions_per_week", sa.Integer, nullable=False),
        sa.Column("weeks", sa.Integer, nullable=False),
        sa.Column("starts_on", sa.Date, nullable=False),
        sa.Column("ends_on", sa.Date, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("submission_key", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(32), nullable=True),
        sa.Column("close_note", sa.String(500), nullable=True),
    )
    op.create_index("ix_pip_team_id", "pip", ["team_id"])
    op.create_index("ix_pip_person_id", "pip", ["person_id"])
    op.create_index(
        "uq_pip_active_person",
        "pip",
        ["team_id", "person_id"],
        unique=True,
        sqlite_where=sa.text("status = 'active'"),
        postgresql_where=sa.text("status = 'active'"),
    )


def downgrade() -> None:
    op.drop_index("uq_pip_active_person", table_name="pip")
    op.drop_table("pip")
