"""A PIP's evidence pack shared as a Slack canvas, at most once: its state and the canvas id.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pip") as batch:
        batch.add_column(sa.Column("canvas_state", sa.String(16), nullable=True))
        batch.add_column(sa.Column("canvas_id", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pip") as batch:
        batch.drop_column("canvas_id")
        batch.drop_column("canvas_state")
