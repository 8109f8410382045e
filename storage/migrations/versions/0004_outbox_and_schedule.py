"""The scheduled-message outbox, workspace nudge schedule, cached DM channels, cycle outcomes.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("workspace") as batch:
        batch.add_column(sa.Column("nudge_weekday", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("nudge_hour", sa.Integer, nullable=False, server_default="9"))
        batch.add_column(sa.Column("nudge_minute", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("reminders_enabled", sa.Boolean, nullable=False, server_default=sa.true()))
    with op.batch_alter_table("person") as batch:
        batch.add_column(sa.Column("dm_channel", sa.String(32), nullable=True))
        batch.add_column(sa.Column("unreachable_reason", sa.String(64), nullable=True))
    with op.batch_alter_table("commitment") as batch:
        batch.add_column(sa.Column("cycle_number", sa.Integer, nullable=True))
        batch.add_column(sa.Column("reflection", sa.String(1000), nullable=True))
    op.create_table(
        "scheduled_message",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("rep_user_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("period", sa.String(32), nullable=False),
        sa.Column("commitment_id", sa.Integer, sa.ForeignKey("commitment.id"), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("slack_channel", sa.String(32), nullable=True),
        sa.Column("slack_ts", sa.String(32), nullable=True),
        sa.Column("last_error", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("team_id", "rep_user_id", "kind", "period", name="uq_scheduled_natural_key"),
    )
    op.create_index("ix_scheduled_due", "scheduled_message", ["status", "due_at"])


def downgrade() -> None:
    op.drop_table("scheduled_message")
    with op.batch_alter_table("commitment") as batch:
        batch.drop_column("reflection")
        batch.drop_column("cycle_number")
    with op.batch_alter_table("person") as batch:
        batch.drop_column("unreachable_reason")
        batch.drop_column("dm_channel")
    with op.batch_alter_table("workspace") as batch:
        batch.drop_column("reminders_enabled")
        batch.drop_column("nudge_minute")
        batch.drop_column("nudge_hour")
        batch.drop_column("nudge_weekday")
