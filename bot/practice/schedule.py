"""When things are due, in each rep's own time zone. Pure functions: no Slack, no SQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def zone_for(tz: str | None, default: str) -> ZoneInfo:
    """The rep's zone from Slack's profile; the configured default when unknown or invalid."""
    for name in (tz, default, "UTC"):
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def local_moment(day: date, hour: int, minute: int, zone: ZoneInfo) -> datetime:
    """A wall-clock time on a local date, as UTC. Across DST this keeps the local hour, not the offset."""
    return datetime.combine(day, time(hour, minute), tzinfo=zone).astimezone(UTC)


def latest_weekly(now: datetime, zone: ZoneInfo, weekday: int, hour: int, minute: int) -> tuple[date, datetime]:
    """The most recent weekly occurrence at or before `now`: (its local date, its UTC instant)."""
    local_now = now.astimezone(zone)
    day = local_now.date() - timedelta(days=(local_now.weekday() - weekday) % 7)
    due = local_moment(day, hour, minute, zone)
    if due > now:
        day -= timedelta(days=7)
        due = local_moment(day, hour, minute, zone)
    return day, due


def local_today(now: datetime, zone: ZoneInfo) -> date:
    return now.astimezone(zone).date()


def parse_time_of_day(text: str) -> tuple[int, int] | None:
    """'9:00', '09:30', '17:05' -> (h, m); None when not a valid 24-hour time."""
    parts = text.strip().split(":")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        return None
    hour, minute = int(parts[0]), int(parts[1])
    return (hour, minute) if 0 <= hour <= 23 and 0 <= minute <= 59 else None


def parse_weekday(text: str) -> int | None:
    word = text.strip().lower()
    for i, name in enumerate(WEEKDAYS):
        if len(word) >= 3 and name.startswith(word):
            return i
    return None
