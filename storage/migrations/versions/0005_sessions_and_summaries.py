"""Coaching sessions with attendees, per-manager summary channels, the summary schedule.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("workspace") as batch:
        batch.add_column(sa.Column("summary_weekday", sa.Integer, nullable=False, server_default="4"))
        batch.add_column(sa.Column("summary_hour", sa.Integer, nullable=False, server_default="16"))
        batch.add_column(sa.Column("summary_minute", sa.Integer, nullable=False, server_default="0"))
    op.create_table(
        "coaching_session",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("manager_user_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("minutes", sa.Integer, nullable=False),
        sa.Column("occurred_on", sa.Date, nullable=False),
        sa.Column("note", sa.String(500), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_coaching_session_team_id", "coaching_session", ["team_id"])
    op.create_index("ix_coaching_session_manager_user_id", "coaching_session", ["manager_user_id"])
    op.create_table(
        "session_attendee",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("session_id", sa.Integer, sa.ForeignKey("coaching_session.id"), nullable=False),
        sa.Column("person_id", sa.Integer, sa.ForeignKey("person.id"), nullable=False),
        sa.UniqueConstraint("session_id", "person_id", name="uq_attendee"),
    )
    op.create_index("ix_session_attendee_team_id", "session_attendee", ["team_id"])
    op.create_index("ix_session_attendee_session_id", "session_attendee", ["session_id"])
    op.create_index("ix_session_attendee_person_id", "session_attendee", ["person_id"])
    op.create_table(
        "manager_setting",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("manager_user_id", sa.String(32), nullable=False),
        sa.Column("summary_channel", sa.String(32), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("team_id", "manager_user_id", name="uq_manager_setting"),
    )


def downgrade() -> None:
    op.drop_table("manager_setting")
    op.drop_table("session_attendee")
    op.drop_table("coaching_session")
    with op.batch_alter_table("workspace") as batch:
        batch.drop_column("summary_minute")
        batch.drop_column("summary_hour")
        batch.drop_column("summary_weekday")
