"""One dispatcher's identity and limits. Every claim, outcome and take-over is a conditional update
on `worker_id`, so a dispatcher that lost a row to another can never overwrite its outcome."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient

from bot.context import AppContext
from bot.slack.budget import RateBudget

HISTORY_INTERVAL = timedelta(minutes=1)  # many workspaces: conversations.history per workspace, all processes


class Worker:
    def __init__(
        self,
        ctx: AppContext,
        client: WebClient,
        *,
        grace: timedelta = timedelta(hours=12),
        stale_after: timedelta | None = None,
        batch_size: int = 500,
        worker_id: str | None = None,
        clients: Callable[[str], WebClient] | None = None,
        threads: int | None = None,
        budget: RateBudget | None = None,
        history_interval: timedelta | None = None,
    ) -> None:
        self.ctx = ctx
        self.client = client
        self.clients = clients  # many workspaces: each workspace's own client (bot.slack.installs.TeamClients)
        self.grace = grace
        self.stale_after = stale_after or timedelta(seconds=ctx.settings.stale_after_seconds)
        self.batch_size = batch_size
        self.threads = max(1, threads or ctx.settings.dispatch_threads)
        self.budget = budget or RateBudget()
        # A commercially distributed app outside Slack's Marketplace (OAuth mode) may read a workspace's
        # history about once a minute; one workspace's own app (one token) has Tier 3 and needs no slots.
        self.history_interval = (
            history_interval
            if history_interval is not None
            else (HISTORY_INTERVAL if clients is not None else timedelta(0))
        )
        self.writer: Any = None  # bot.outbox.writer.OutboxWriter while a pass sends on its threads
        self.pruned_at: datetime | None = None
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"

    def client_for(self, team_id: str) -> WebClient:
        """The client for a row's workspace: the one client, or (OAuth mode) the workspace's own, which
        raises bot.slack.installs.NotInstalled when the workspace has no installation."""
        return self.clients(team_id) if self.clients is not None else self.client
