"""Is a rep slipping behind their own usual pace mid-window? Pure: windows and check-ins in, a verdict
(with the figures behind it) out.

A rep is compared with themselves, never with the team: by this point of their past windows, how much
of the target had they logged? Progress is a share of the target, so a window with a target of 3 and
one with a target of 8 compare fairly. The manager hears about it once per window (the outbox's
natural key), only once more than half of the window is gone, and only with enough history to call
anything "usual".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from statistics import median
from zoneinfo import ZoneInfo

from bot.playbook.thresholds import CoachingDebt
from bot.practice.schedule import local_moment
from bot.slack import Message
from bot.slack.blocks import context, section
from bot.slack.text import escape_mrkdwn, truncate

SLIP_AFTER = 0.5  # the share of the window that must be gone before a slip can be called
# A window is judged once a day, at the workspace's nudge time in the rep's zone, by the passes in the
# hour after it (a restart or a slow pass still gets there): a heads-up lands in working hours, and a
# pass does not re-read every rep's history every minute.
CHECK_BAND = timedelta(hours=1)


@dataclass(frozen=True)
class Window:
    """A commitment's window in real time: from the local midnight it starts to the one after it ends."""

    starts: datetime
    ends: datetime
    target: int
    checkins: tuple[tuple[datetime, int], ...] = ()  # (when, how many), aware

    def elapsed(self, now: datetime) -> float:
        span = (self.ends - self.starts).total_seconds()
        return min(max((now - self.starts).total_seconds() / span, 0.0), 1.0) if span > 0 else 1.0

    def logged_by(self, fraction: float) -> int:
        cutoff = self.starts + (self.ends - self.starts) * fraction
        return sum(count for when, count in self.checkins if when < cutoff)

    def share_by(self, fraction: float) -> float:
        """Progress by that point as a share of the target (capped at all of it)."""
        return min(self.logged_by(fraction) / self.target, 1.0) if self.target > 0 else 1.0


@dataclass(frozen=True)
class Slip:
    """The figures behind a heads-up: this window so far against the rep's usual by the same point."""

    logged: int
    target: int
    elapsed: float  # share of the window gone
    usual: float  # median share of the target logged by this point in past windows
    windows: int  # how many past windows that median is over


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def window(
    starts_on: date, ends_on: date, target: int, zone: ZoneInfo, checkins: Iterable[tuple[datetime, int]] = ()
) -> Window:
    """A window from its local dates in the rep's zone (stored check-in times are UTC, maybe without a zone)."""
    return Window(
        datetime.combine(starts_on, time(0), tzinfo=zone).astimezone(UTC),
        datetime.combine(ends_on + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC),
        target,
        tuple(sorted((_aware(when), count) for when, count in checkins)),
    )


def first_check(starts_on: date, ends_on: date, zone: ZoneInfo, hour: int, minute: int) -> datetime | None:
    """The first workspace nudge time (the rep's local clock) after the window's middle, if it comes before
    the window ends: a heads-up lands in working hours, when more than half is gone, never after the end."""
    span = window(starts_on, ends_on, 1, zone)
    middle = span.starts + (span.ends - span.starts) * SLIP_AFTER
    day = middle.astimezone(zone).date()
    moment = local_moment(day, hour, minute, zone)
    if moment <= middle:
        moment = local_moment(day + timedelta(days=1), hour, minute, zone)
    return moment if moment < span.ends else None


def due_check(starts_on: date, ends_on: date, zone: ZoneInfo, hour: int, minute: int, now: datetime) -> datetime | None:
    """The daily check a pass at `now` makes for this window, if any: today's (or yesterday's) nudge time,
    from the first check on, while the window is open and at most CHECK_BAND ago."""
    first = first_check(starts_on, ends_on, zone, hour, minute)
    if first is None or now < first or now >= window(starts_on, ends_on, 1, zone).ends:
        return None
    today = now.astimezone(zone).date()
    moment = local_moment(today, hour, minute, zone)
    if moment > now:
        moment = local_moment(today - timedelta(days=1), hour, minute, zone)
    return moment if moment >= first and now - moment < CHECK_BAND else None


def slipping(current: Window, past: Sequence[Window], now: datetime, rules: CoachingDebt) -> Slip | None:
    """A slip when more than half the window is gone, the rep has at least `slip_min_windows` past windows,
    and their progress so far is below `slip_ratio` of their usual progress by the same point.

    A rep who usually logs nothing by this point is not "behind" anything: no slip."""
    fraction = current.elapsed(now)
    history = list(past)[-rules.slip_history :]
    if not SLIP_AFTER < fraction < 1.0 or len(history) < rules.slip_min_windows:
        return None
    usual = median(p.share_by(fraction) for p in history)
    logged = sum(count for when, count in current.checkins if when <= now)
    share = min(logged / current.target, 1.0) if current.target > 0 else 1.0
    if usual <= 0 or share >= rules.slip_ratio * usual:
        return None
    return Slip(logged, current.target, fraction, usual, len(history))


def slip_message(rep_user_id: str, behavior: str, slip: Slip, ends_on: date) -> Message:
    """The manager's heads-up: what was logged, how much of the window is gone, and the rep's own usual."""
    usual = round(100 * slip.usual)
    return {
        "text": f"Heads-up: <@{rep_user_id}> is behind their usual pace this window",
        "blocks": [
            section(
                f":hourglass_flowing_sand: *Heads-up on <@{rep_user_id}>*: "
                f"“{escape_mrkdwn(truncate(behavior, 200))}” stands at {slip.logged} of {slip.target} with "
                f"{round(100 * slip.elapsed)}% of the window gone (it ends {ends_on.strftime('%a %d %b')}). "
                f"By this point in their last {slip.windows} windows they had typically logged {usual}% of the "
                "target, so this one is running well behind their own pace."
            ),
            context(
                "A short check-in before the window closes is usually enough: ask what got in the way. "
                "You get one heads-up per rep per window, none while they are paused or reminders are off."
            ),
        ],
    }
