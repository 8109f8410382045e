"""Manager requests (a rep accepts a manager) and processed deliveries (no double handling).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "manager_request",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("manager_user_id", sa.String(32), nullable=False),
        sa.Column("rep_user_id", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_manager_request_team_id", "manager_request", ["team_id"])
    op.create_index("ix_manager_request_rep_user_id", "manager_request", ["rep_user_id"])
    op.create_table(
        "processed_delivery",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("delivery_key", sa.String(128), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("team_id", "delivery_key", name="uq_delivery_team_key"),
    )
    op.create_index("ix_processed_delivery_seen_at", "processed_delivery", ["seen_at"])


def downgrade() -> None:
    op.drop_table("processed_delivery")
    op.drop_table("manager_request")
