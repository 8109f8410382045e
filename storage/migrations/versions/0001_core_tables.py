"""Core tables: workspaces, people, seats and versioned wiring profiles.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workspace",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False, server_default=""),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("installed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("uninstalled_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_workspace_team_id", "workspace", ["team_id"], unique=True)
    op.create_table(
        "seat",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("archetype", sa.String(64), nullable=False),
        sa.UniqueConstraint("team_id", "name", name="uq_seat_team_name"),
    )
    op.create_index("ix_seat_team_id", "seat", ["team_id"])
    op.create_table(
        "person",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("slack_user_id", sa.String(32), nullable=False),
        sa.Column("email", sa.String(254), nullable=False, server_default=""),
        sa.Column("display_name", sa.String(200), nullable=False, server_default=""),
        sa.Column("role", sa.String(16), nullable=False, server_default="rep"),
        sa.Column("tz", sa.String(64), nullable=False, server_default=""),
        sa.Column("manager_user_id", sa.String(32), nullable=True),
        sa.Column("seat_id", sa.Integer, sa.ForeignKey("seat.id"), nullable=True),
        sa.Column("start_date", sa.Date, nullable=True),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("team_id", "slack_user_id", name="uq_person_team_user"),
    )
    op.create_index("ix_person_team_id", "person", ["team_id"])
    op.create_index("ix_person_manager_user_id", "person", ["manager_user_id"])
    op.create_table(
        "wiring_profile",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("person_id", sa.Integer, sa.ForeignKey("person.id"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("archetype", sa.String(64), nullable=False),
        sa.Column("coachability", sa.Integer, nullable=False),
        sa.Column("drive", sa.Integer, nullable=False),
        sa.Column("resilience", sa.Integer, nullable=False),
        sa.Column("deal_killers", sa.JSON, nullable=False),
        sa.Column("gaps", sa.JSON, nullable=False),
        sa.Column("assessed_on", sa.Date, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("person_id", "version", name="uq_wiring_person_version"),
    )
    op.create_index("ix_wiring_profile_team_id", "wiring_profile", ["team_id"])
    op.create_index("ix_wiring_profile_person_id", "wiring_profile", ["person_id"])


def downgrade() -> None:
    op.drop_table("wiring_profile")
    op.drop_table("person")
    op.drop_table("seat")
    op.drop_table("workspace")
