"""The Web API client: Slack's base URL (or SLACK_API_URL) and retries for rate limits and blips."""

from __future__ import annotations

from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.settings import Settings


def make_web_client(settings: Settings) -> WebClient:
    """For interactive replies: retry rate limits, server errors and connection blips."""
    return WebClient(
        token=settings.bot_token or None,
        base_url=settings.slack_api_url,
        timeout=settings.slack_timeout,
        retry_handlers=[
            RateLimitErrorRetryHandler(max_retry_count=3),
            ServerErrorRetryHandler(max_retry_count=2),
            ConnectionErrorRetryHandler(max_retry_count=2),
        ],
    )


def make_dispatch_client(settings: Settings) -> WebClient:
    """For scheduled messages: only retry what Slack provably never processed.

    A 429 was refused, and a URLError means the request never got through. A 5xx, a reset
    connection or a timeout may have posted the message anyway, so the dispatcher does not resend
    blindly: it checks the DM's history for the message key first.
    """
    return WebClient(
        token=settings.bot_token or None,
        base_url=settings.slack_api_url,
        timeout=settings.slack_timeout,
        retry_handlers=[
            RateLimitErrorRetryHandler(max_retry_count=3),
            ConnectionErrorRetryHandler(max_retry_count=2, error_types=[URLError]),
        ],
    )
