"""The shared Web API budget per workspace and method (storage/budget_tables.py): Retry-After seen by
one dispatcher holds the workspace back for all of them, and history look-ups take slots from it.

From this revision on, a claimed outbox row without `slack_channel` certainly never reached Slack
(the channel is recorded before every post). Rows an older version left in `sending` may have been
posted without it, so they get their rep's DM channel (or "-", "not recorded") and are checked
against the history as before.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "slack_budget",
        sa.Column("team_id", sa.String(32), primary_key=True),
        sa.Column("method", sa.String(48), primary_key=True),
        sa.Column("available_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.execute(
        "UPDATE scheduled_message SET slack_channel = COALESCE((SELECT p.dm_channel FROM person p"
        " WHERE p.team_id = scheduled_message.team_id AND p.slack_user_id = scheduled_message.rep_user_id), '-')"
        " WHERE status = 'sending' AND slack_channel IS NULL"
    )


def downgrade() -> None:
    op.drop_table("slack_budget")
