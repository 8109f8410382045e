"""30/60/90 onboarding plans and their milestones.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "onboarding_plan",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("person_id", sa.Integer, sa.ForeignKey("person.id"), nullable=False),
        sa.Column("manager_user_id", sa.String(32), nullable=False),
        sa.Column("start_date", sa.Date, nullable=False),
        sa.Column("archetype", sa.String(64), nullable=True),
        sa.Column("submission_key", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("team_id", "person_id", name="uq_plan_team_person"),
    )
    op.create_index("ix_onboarding_plan_team_id", "onboarding_plan", ["team_id"])
    op.create_index("ix_onboarding_plan_person_id", "onboarding_plan", ["person_id"])
    op.create_table(
        "milestone",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("plan_id", sa.Integer, sa.ForeignKey("onboarding_plan.id"), nullable=False),
        sa.Column("phase", sa.Integer, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("title", sa.String(150), nullable=False),
        sa.Column("due_day", sa.Integer, nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_by", sa.String(32), nullable=True),
    )
    op.create_index("ix_milestone_team_id", "milestone", ["team_id"])
    op.create_index("ix_milestone_plan_id", "milestone", ["plan_id"])


def downgrade() -> None:
    op.drop_table("milestone")
    op.drop_table("onboarding_plan")
