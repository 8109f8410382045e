"""Diagnoses, commitments (one active per rep and gap) and check-ins; pausing a rep's nudges.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("person") as batch:
        batch.add_column(sa.Column("nudges_paused_until", sa.Date, nullable=True))
    op.create_table(
        "diagnosis",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("person_id", sa.Integer, sa.ForeignKey("person.id"), nullable=False),
        sa.Column("manager_user_id", sa.String(32), nullable=False),
        sa.Column("cause", sa.String(32), nullable=False),
        sa.Column("gap", sa.String(64), nullable=True),
        sa.Column("drag", sa.String(64), nullable=True),
        sa.Column("evidence", sa.String(2000), nullable=False),
        sa.Column("pushback", sa.JSON, nullable=False),
        sa.Column("escalate", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("profile_version", sa.Integer, nullable=True),
        sa.Column("submission_key", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_diagnosis_team_id", "diagnosis", ["team_id"])
    op.create_index("ix_diagnosis_person_id", "diagnosis", ["person_id"])
    op.create_table(
        "commitment",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("person_id", sa.Integer, sa.ForeignKey("person.id"), nullable=False),
        sa.Column("manager_user_id", sa.String(32), nullable=False),
        sa.Column("diagnosis_id", sa.Integer, sa.ForeignKey("diagnosis.id"), nullable=True),
        sa.Column("gap", sa.String(64), nullable=False),
        sa.Column("behavior", sa.String(300), nullable=False),
        sa.Column("target_count", sa.Integer, nullable=False),
        sa.Column("window_days", sa.Integer, nullable=False, server_default="7"),
        sa.Column("practice_format", sa.String(32), nullable=False),
        sa.Column("evidence", sa.String(300), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="active"),
        sa.Column("starts_on", sa.Date, nullable=False),
        sa.Column("ends_on", sa.Date, nullable=False),
        sa.Column("dm_channel", sa.String(32), nullable=True),
        sa.Column("dm_ts", sa.String(32), nullable=True),
        sa.Column("submission_key", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_commitment_team_id", "commitment", ["team_id"])
    op.create_index("ix_commitment_person_id", "commitment", ["person_id"])
    op.create_index(
        "uq_commitment_active_gap",
        "commitment",
        ["team_id", "person_id", "gap"],
        unique=True,
        sqlite_where=sa.text("status = 'active'"),
        postgresql_where=sa.text("status = 'active'"),
    )
    op.create_table(
        "check_in",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("commitment_id", sa.Integer, sa.ForeignKey("commitment.id"), nullable=False),
        sa.Column("count", sa.Integer, nullable=False, server_default="1"),
        sa.Column("note", sa.String(500), nullable=False, server_default=""),
        sa.Column("source", sa.String(16), nullable=False, server_default="button"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_check_in_team_id", "check_in", ["team_id"])
    op.create_index("ix_check_in_commitment_id", "check_in", ["commitment_id"])


def downgrade() -> None:
    op.drop_table("check_in")
    op.drop_table("commitment")
    op.drop_table("diagnosis")
    with op.batch_alter_table("person") as batch:
        batch.drop_column("nudges_paused_until")
