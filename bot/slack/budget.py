"""How fast this process calls the Web API, per workspace and per method: a token bucket each, sized
below Slack's published tiers, and held back for Retry-After when Slack answers 429. The budget is
asked, never waited on: a caller that may not call yet gets the delay and does other work meanwhile
(the dispatcher serves another workspace), so one throttled workspace never holds up the rest.

Slack counts per workspace and app, across every process; `bot.outbox.throttle` shares each 429's
Retry-After through the database, so every dispatcher holds that workspace back, not just the one
that was refused."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError


@dataclass(frozen=True)
class Rate:
    per_second: float
    burst: int


# Slack's tiers (https://api.slack.com/apis/rate-limits), per workspace: chat.postMessage allows
# "several hundred a minute" per workspace (and about one a second per channel: each rep's DM is its
# own channel); Tier 3 is 50+ a minute, Tier 4 100+. These stay below them.
DEFAULT_RATES: dict[str, Rate] = {
    "chat.postMessage": Rate(4.0, 8),
    "conversations.open": Rate(0.8, 5),
    "views.publish": Rate(1.5, 10),
}
DEFAULT_RATE = Rate(0.8, 5)  # Tier 3 for any other method
# A Retry-After beyond this is taken as this (a garbled or absurd header must not hold a workspace
# back for years, nor overflow a date: the rows of a workspace handed back are due again by then).
MAX_RETRY_AFTER = 3600.0


@dataclass
class _Bucket:
    tokens: float
    updated: float
    blocked_until: float = 0.0


class RateBudget:
    """Token buckets per (workspace, method), thread-safe."""

    def __init__(self, rates: dict[str, Rate] | None = None, clock: Callable[[], float] = time.monotonic):
        self.rates = {**DEFAULT_RATES, **(rates or {})}
        self.clock = clock
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, team_id: str, method: str) -> float:
        """0.0 when a call may go now (and it is counted), else the seconds until one may."""
        rate = self.rates.get(method, DEFAULT_RATE)
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get((team_id, method))
            if bucket is None:
                bucket = self._buckets[(team_id, method)] = _Bucket(float(rate.burst), now)
            if bucket.blocked_until > now:
                return bucket.blocked_until - now
            bucket.tokens = min(float(rate.burst), bucket.tokens + (now - bucket.updated) * rate.per_second)
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / rate.per_second

    def refund(self, team_id: str, method: str) -> None:
        """A call counted by `take` was not made after all (the row posted nothing): its token goes back."""
        rate = self.rates.get(method, DEFAULT_RATE)
        with self._lock:
            bucket = self._buckets.get((team_id, method))
            if bucket is not None and bucket.blocked_until <= self.clock():
                bucket.tokens = min(float(rate.burst), bucket.tokens + 1.0)

    def available(self, team_id: str, method: str) -> float:
        """The tokens left for the workspace's calls of `method` now (what `take` would find)."""
        rate = self.rates.get(method, DEFAULT_RATE)
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get((team_id, method))
            if bucket is None:
                return float(rate.burst)
            if bucket.blocked_until > now:
                return 0.0
            return min(float(rate.burst), bucket.tokens + max(0.0, now - bucket.updated) * rate.per_second)

    def block(self, team_id: str, method: str, seconds: float) -> None:
        """Slack said 429 with Retry-After `seconds`: no call of this method for the workspace before then."""
        now = self.clock()
        rate = self.rates.get(method, DEFAULT_RATE)
        with self._lock:
            bucket = self._buckets.setdefault((team_id, method), _Bucket(float(rate.burst), now))
            bucket.blocked_until = max(bucket.blocked_until, now + seconds)
            bucket.tokens, bucket.updated = 0.0, now + seconds


def retry_after(exc: SlackApiError, default: float = 1.0) -> float | None:
    """The Retry-After of a 429 (seconds, between 0 and MAX_RETRY_AFTER; `default` when missing or not
    a number), else None."""
    response = exc.response
    if response is None or response.status_code != 429:
        return None
    for name, value in (response.headers or {}).items():
        if name.lower() == "retry-after":
            text = value[0] if isinstance(value, list) else value
            try:
                seconds = float(text)
            except (TypeError, ValueError):
                return default
            return default if math.isnan(seconds) else min(MAX_RETRY_AFTER, max(0.0, seconds))
    return default
