"""The outbox row's key and times, shared by every step: the key travels in Slack message metadata,
so crash recovery can find a message that was posted but never recorded."""

from __future__ import annotations

from datetime import UTC, datetime

from storage.models import ScheduledMessage

METADATA_EVENT = "coachbot_scheduled"


def message_key(row: ScheduledMessage) -> str:
    return f"{row.team_id}:{row.rep_user_id}:{row.kind}:{row.period}"


def aware(moment: datetime) -> datetime:
    """Stored times are UTC, but SQLite returns them without a zone."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
