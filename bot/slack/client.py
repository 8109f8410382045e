"""The Web API clients: Slack's base URL (or SLACK_API_URL) and retries that never send twice.

A 429 was refused and a URLError means the request never got through: both are always safe to
retry. A 5xx, a reset connection or a timeout may come *after* Slack acted, so those are retried
only for methods that do the same thing twice without harm (reads, views.publish, chat.update…).
A message post with an unknown outcome is never retried blindly: `bot.slack.delivery` checks the
conversation's history for the message's key first.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.client import RemoteDisconnected
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest

from bot.settings import Settings

# Methods that create something each time they run: never retried after an unknown outcome.
NOT_IDEMPOTENT = frozenset(
    {
        "chat.postMessage",
        "chat.postEphemeral",
        "chat.scheduleMessage",
        "chat.meMessage",
        "views.open",
        "views.push",
        "conversations.create",
        "files.upload",
        "files.completeUploadExternal",
        "canvases.create",
    }
)


def api_method(url: str) -> str:
    return url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]


class IdempotentOnly(RetryHandler):
    """Lets `inner` retry only requests for methods that are safe to repeat."""

    def __init__(self, inner: RetryHandler):
        super().__init__(inner.max_retry_count, inner.interval_calculator)
        self.inner = inner

    def _can_retry(self, *, state: Any, request: HttpRequest, response: Any = None, error: Any = None) -> bool:
        if api_method(request.url) in NOT_IDEMPOTENT:
            return False
        return self.inner._can_retry(state=state, request=request, response=response, error=error)


_RAISE_429 = threading.local()


@contextmanager
def rate_limits_raised() -> Iterator[None]:
    """Inside this block (on this thread) a dispatch client does not sleep through a 429: it raises
    it, and the dispatcher holds the workspace back for Retry-After while its threads serve others."""
    _RAISE_429.on = True
    try:
        yield
    finally:
        _RAISE_429.on = False


class RateLimitRetry(RateLimitErrorRetryHandler):
    """Waits out Retry-After and tries again, except inside `rate_limits_raised`."""

    def _can_retry(self, *, state: Any, request: HttpRequest, response: Any = None, error: Any = None) -> bool:
        if getattr(_RAISE_429, "on", False):
            return False
        return bool(super()._can_retry(state=state, request=request, response=response, error=error))


def make_web_client(settings: Settings, token: str | None = None) -> WebClient:
    """For interactive work: reads and idempotent writes also retry server errors and dropped answers.
    `token` is a workspace's own (OAuth mode); the default is SLACK_BOT_TOKEN."""
    return WebClient(
        token=token or settings.bot_token or None,
        base_url=settings.slack_api_url,
        timeout=settings.slack_timeout,
        retry_handlers=[
            RateLimitErrorRetryHandler(max_retry_count=3),
            ConnectionErrorRetryHandler(max_retry_count=2, error_types=[URLError]),
            IdempotentOnly(ServerErrorRetryHandler(max_retry_count=2)),
            IdempotentOnly(
                ConnectionErrorRetryHandler(max_retry_count=2, error_types=[ConnectionResetError, RemoteDisconnected])
            ),
        ],
    )


def make_dispatch_client(settings: Settings, token: str | None = None) -> WebClient:
    """For scheduled messages: only retry what Slack provably never processed (the dispatcher
    resolves everything else against the DM's history). A 429 inside `rate_limits_raised` is the
    dispatcher's to handle (bot.outbox.lanes)."""
    return WebClient(
        token=token or settings.bot_token or None,
        base_url=settings.slack_api_url,
        timeout=settings.slack_timeout,
        retry_handlers=[
            RateLimitRetry(max_retry_count=3),
            ConnectionErrorRetryHandler(max_retry_count=2, error_types=[URLError]),
        ],
    )
