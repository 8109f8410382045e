"""The case index for similar cases at /diagnose, filled from the diagnoses already recorded.

The backfill tokenizes each diagnosis's evidence the way bot.cases.rules.tokens does. Migrations
may not import the application (storage knows nothing above it), so the tokenizer and its stop
words are a frozen copy here; tests/test_cases_rules.py keeps the two equal. The wiring snapshot is
the profile version the diagnosis was made against, and the rep's seat as it is now (seats have no
history).

Revision ID: 0013
Revises: 0012
"""

import json
import re
from collections import Counter
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

TERM_MAX = 40
STOPWORDS = frozenset(
    """a an and are as at be been but by can could did do does for from had has have he her his how i if
    in into is it its just me more most my no not of on or our she so than that the their them then there
    they this to too us was we were what when which who will with would you your""".split()  # noqa: SIM905
)
_WORD = re.compile(r"[^\W_]+")


def tokens(text: str) -> list[str]:
    found = []
    for word in _WORD.findall(text.lower()):
        if len(word) < 2 or word in STOPWORDS:
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        found.append(word[:TERM_MAX])
    return found


def _create_tables() -> None:
    op.create_table(
        "case_doc",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("diagnosis_id", sa.Integer, sa.ForeignKey("diagnosis.id"), nullable=False, unique=True),
        sa.Column("person_id", sa.Integer, sa.ForeignKey("person.id"), nullable=False),
        sa.Column("archetype", sa.String(64), nullable=False),
        sa.Column("seat_risk", sa.Boolean, nullable=True),
        sa.Column("profiled", sa.Boolean, nullable=False),
        sa.Column("deal_killers", sa.String(600), nullable=False),
        sa.Column("flagged_gaps", sa.String(1000), nullable=False),
        sa.Column("killer_count", sa.Integer, nullable=False),
        sa.Column("flagged_count", sa.Integer, nullable=False),
        sa.Column("cause", sa.String(32), nullable=False),
        sa.Column("gap", sa.String(64), nullable=False),
        sa.Column("length", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_case_doc_team_person", "case_doc", ["team_id", "person_id"])
    op.create_table(
        "case_term",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("term", sa.String(40), nullable=False),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("case_doc.id"), nullable=False),
        sa.Column("tf", sa.Integer, nullable=False),
        sa.Column("doc_len", sa.Integer, nullable=False),
        sa.UniqueConstraint("case_id", "term", name="uq_case_term"),
    )
    op.create_index("ix_case_term_lookup", "case_term", ["team_id", "term", "case_id", "tf", "doc_len"])
    op.create_table(
        "case_term_df",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("term", sa.String(40), nullable=False),
        sa.Column("docs", sa.Integer, nullable=False),
        sa.Column("uses", sa.Integer, nullable=False),
        sa.UniqueConstraint("team_id", "term", name="uq_case_term_df"),
    )


def _flags(value: str | list[str] | None) -> list[str]:
    keys = json.loads(value) if isinstance(value, str) else (value or [])
    return sorted({str(k) for k in keys})


def _stored(keys: list[str]) -> str:
    return "," + ",".join(keys) + "," if keys else ""


SOURCE = sa.text(
    """
    SELECT d.id, d.team_id, d.person_id, d.cause, d.gap, d.evidence, d.created_at,
           w.archetype, w.deal_killers, w.gaps, s.archetype AS seat
    FROM diagnosis d
    JOIN person p ON p.id = d.person_id
    LEFT JOIN wiring_profile w ON w.person_id = d.person_id AND w.version = d.profile_version
    LEFT JOIN seat s ON s.id = p.seat_id
    ORDER BY d.id
    """
)


def _backfill(conn: sa.engine.Connection) -> None:
    docs, terms, df = sa.table("case_doc", *(sa.column(n) for n in (
        "id", "team_id", "diagnosis_id", "person_id", "archetype", "seat_risk", "profiled", "deal_killers",
        "flagged_gaps", "killer_count", "flagged_count", "cause", "gap", "length", "created_at",
    ))), sa.table("case_term", *(sa.column(n) for n in ("team_id", "term", "case_id", "tf", "doc_len"))), sa.table(
        "case_term_df", *(sa.column(n) for n in ("team_id", "term", "docs", "uses"))
    )  # fmt: skip
    totals: Counter[tuple[str, str]] = Counter()
    uses: Counter[tuple[str, str]] = Counter()
    for row in conn.execute(SOURCE).mappings():
        counts = Counter(tokens(row["evidence"] or ""))
        length = sum(counts.values())
        killers, flagged = _flags(row["deal_killers"]), _flags(row["gaps"])
        archetype = row["archetype"] or ""
        risk = None if not (archetype and row["seat"]) else archetype != row["seat"]
        created = row["created_at"] or datetime.now(UTC)
        case_id = conn.execute(
            sa.insert(docs).returning(docs.c.id),
            {
                "team_id": row["team_id"], "diagnosis_id": row["id"], "person_id": row["person_id"],
                "archetype": archetype, "seat_risk": risk, "profiled": row["archetype"] is not None,
                "deal_killers": _stored(killers), "flagged_gaps": _stored(flagged), "killer_count": len(killers),
                "flagged_count": len(flagged), "cause": row["cause"], "gap": row["gap"] or "general",
                "length": length, "created_at": created,
            },
        ).scalar_one()  # fmt: skip
        if counts:
            conn.execute(
                sa.insert(terms),
                [
                    {"team_id": row["team_id"], "term": t, "case_id": case_id, "tf": n, "doc_len": length}
                    for t, n in sorted(counts.items())
                ],
            )
        totals[(row["team_id"], "")] += 1
        uses[(row["team_id"], "")] += length
        for t, n in counts.items():
            totals[(row["team_id"], t)] += 1
            uses[(row["team_id"], t)] += n
    rows = [{"team_id": k[0], "term": k[1], "docs": n, "uses": uses[k]} for k, n in sorted(totals.items())]
    for start in range(0, len(rows), 500):
        conn.execute(sa.insert(df), rows[start : start + 500])


def upgrade() -> None:
    _create_tables()
    _backfill(op.get_bind())


def downgrade() -> None:
    op.drop_table("case_term_df")
    op.drop_index("ix_case_term_lookup", table_name="case_term")
    op.drop_table("case_term")
    op.drop_index("ix_case_doc_team_person", table_name="case_doc")
    op.drop_table("case_doc")
