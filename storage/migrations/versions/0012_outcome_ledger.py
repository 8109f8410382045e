"""The outcome ledger ("what works for whom"), filled from the commitments already closed.

The backfill is the same count the app keeps as commitments close (bot.learning.service): closed
commitments (met or missed) on a playbook gap, neither plan milestones ("onboarding:...") nor
"general"; the archetype of the wiring profile the diagnosis was made against, the diagnosis's root
cause ("none" for either when missing) and the target per 7 days of the window as prescribed
(paused days taken off), rounded half up in integer arithmetic so SQLite and PostgreSQL agree.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_DAYS = "(CASE WHEN c.window_days - c.paused_days < 1 THEN 1 ELSE c.window_days - c.paused_days END)"
BACKFILL = f"""
INSERT INTO outcome_ledger (team_id, archetype, gap, cause, practice_format, weekly_pace, met, missed, updated_at)
SELECT c.team_id, COALESCE(w.archetype, 'none'), c.gap, COALESCE(d.cause, 'none'), c.practice_format,
       CASE WHEN (14 * c.target_count + {_DAYS}) / (2 * {_DAYS}) < 1 THEN 1
            ELSE (14 * c.target_count + {_DAYS}) / (2 * {_DAYS}) END,
       SUM(CASE WHEN c.status = 'met' THEN 1 ELSE 0 END), SUM(CASE WHEN c.status = 'missed' THEN 1 ELSE 0 END),
       CURRENT_TIMESTAMP
FROM commitment c
LEFT JOIN diagnosis d ON d.id = c.diagnosis_id
LEFT JOIN wiring_profile w ON w.person_id = c.person_id AND w.version = d.profile_version
WHERE c.status IN ('met', 'missed') AND c.gap <> 'general' AND c.gap NOT LIKE 'onboarding:%'
GROUP BY 1, 2, 3, 4, 5, 6
"""


def upgrade() -> None:
    op.create_table(
        "outcome_ledger",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("archetype", sa.String(64), nullable=False),
        sa.Column("gap", sa.String(64), nullable=False),
        sa.Column("cause", sa.String(32), nullable=False),
        sa.Column("practice_format", sa.String(32), nullable=False),
        sa.Column("weekly_pace", sa.Integer, nullable=False),
        sa.Column("met", sa.Integer, nullable=False),
        sa.Column("missed", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint(
            "team_id", "archetype", "gap", "cause", "practice_format", "weekly_pace", name="uq_outcome_ledger_shape"
        ),
    )
    op.execute(BACKFILL)


def downgrade() -> None:
    op.drop_table("outcome_ledger")
