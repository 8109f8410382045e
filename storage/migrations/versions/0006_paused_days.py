"""Days each commitment's window was extended by a pause, so a resume can give back the unused ones.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("commitment") as batch:
        batch.add_column(sa.Column("paused_days", sa.Integer, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("commitment") as batch:
        batch.drop_column("paused_days")
