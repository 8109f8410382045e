"""Slack plumbing: the Web API client, users, Block Kit helpers and limits, the HTTP server and request checks."""

from typing import Any

Message = dict[str, Any]  # chat.postMessage arguments: text and blocks
View = dict[str, Any]  # a modal or Home tab view
