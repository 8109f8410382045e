"""The Web API client: Slack's base URL (or SLACK_API_URL) and retries for rate limits and blips."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.settings import Settings


def make_web_client(settings: Settings, timeout: int = 10) -> WebClient:
    return WebClient(
        token=settings.bot_token or None,
        base_url=settings.slack_api_url,
        timeout=timeout,
        retry_handlers=[
            RateLimitErrorRetryHandler(max_retry_count=3),
            ServerErrorRetryHandler(max_retry_count=2),
            ConnectionErrorRetryHandler(max_retry_count=2),
        ],
    )
