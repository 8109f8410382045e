"""Plan offers: a roster import asks each hire's manager once to review a 30/60/90 plan.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "plan_offer",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("person_id", sa.Integer, sa.ForeignKey("person.id"), nullable=False),
        sa.Column("manager_user_id", sa.String(32), nullable=False),
        sa.Column("batch_key", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("slack_channel", sa.String(32), nullable=True),
        sa.Column("slack_ts", sa.String(32), nullable=True),
        sa.UniqueConstraint("team_id", "person_id", name="uq_plan_offer_team_person"),
    )
    op.create_index("ix_plan_offer_team_id", "plan_offer", ["team_id"])
    op.create_index("ix_plan_offer_person_id", "plan_offer", ["person_id"])
    op.create_index("ix_plan_offer_batch_key", "plan_offer", ["batch_key"])


def downgrade() -> None:
    op.drop_table("plan_offer")
