"""Drive the real Coachbot WSGI app (Bolt inside waitress) with signed HTTP requests."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from waitress import wasyncore
from waitress.server import create_server

from bot.app import create_app
from bot.context import AppContext
from bot.playbook.models import Playbook
from bot.settings import Settings
from bot.slack.client import make_web_client
from bot.slack.http_server import make_wsgi_app
from tests.slack_fake import SlackFakeServer

SIGNING_SECRET = "test-signing-secret-0123456789abcdef"
BOT_TOKEN = "xoxb-test-0000-secret-token"
# Many workspaces (OAuth mode, `Harness(..., oauth=True)`): the app's credentials, made up for the tests.
CLIENT_ID = "1111111111.2222222222"
CLIENT_SECRET = "test-client-secret-5f0e4d3c2b1a"
STATE_SECRET = "test-state-secret-0123456789abcdef0123456789"


# Between two attempts at a call that failed, production's client waits 0.5 s x 2^attempt plus up to
# 1 s of random jitter: 1.5-3.5 s for a call retried twice, in every test of a dropped or failing call.
# The tests keep its retries (which errors, which methods, how many times) without the waits. Rate
# limits keep theirs: those follow Slack's Retry-After, which the tests check is honoured.
QUICK_RETRY = FixedValueRetryIntervalCalculator(0.01)


def quick_retries(client: WebClient) -> WebClient:
    for handler in client.retry_handlers:
        if not isinstance(handler, RateLimitErrorRetryHandler):
            handler.interval_calculator = QUICK_RETRY
            inner = getattr(handler, "inner", None)  # bot.slack.client.IdempotentOnly's wrapped handler
            if inner is not None:
                inner.interval_calculator = QUICK_RETRY
    return client


def stop_waitress(server: Any, loop: threading.Thread, check: Callable[[], str | None] = lambda: None) -> None:
    """Stop a waitress server whose loop runs on `loop`: its request threads first, then (after `check`,
    which may name a problem) everything closed from inside the loop, and the loop joined. See
    `Harness.close` for why in this order."""
    dispatcher = server.task_dispatcher
    dispatcher.shutdown(cancel_pending=False, timeout=60)
    if dispatcher.threads:
        raise AssertionError(f"{len(dispatcher.threads)} waitress request thread(s) did not finish in 60 s")
    if problem := check():
        raise AssertionError(problem)
    # closing from this thread would race the loop's select()
    try:
        server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
    except OSError as exc:  # once in a while EBADF here: say what the trigger and the loop looked like
        trigger = server.trigger
        raise AssertionError(
            f"pulling the waitress trigger failed: {exc}; {check() or 'its write end was its own pipe just before'}; "
            f"trigger fds {getattr(trigger, '_fds', '?')}, read copy {getattr(trigger.socket, 'fd', '?')}, "
            f"closed by waitress: {trigger._closed}, loop alive: {loop.is_alive()}, "
            f"threads: {sorted(t.name for t in threading.enumerate())}"
        ) from exc
    loop.join(timeout=60)
    if loop.is_alive():
        raise AssertionError("the waitress loop did not stop in 60 s")


class TrackingExecutor(ThreadPoolExecutor):
    """A thread pool whose work the tests can wait for, so assertions never race the listener."""

    def __init__(self) -> None:
        super().__init__(max_workers=8)
        self._futures: list[Future[Any]] = []
        self._lock = threading.Lock()

    def submit(self, fn, /, *args, **kwargs):
        fut = super().submit(fn, *args, **kwargs)
        with self._lock:
            self._futures.append(fut)
        return fut

    def drain(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:  # only what is still running is kept: a long test's drains stay short
                self._futures = pending = [f for f in self._futures if not f.done()]
            if not pending:
                return
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{len(pending)} listener(s) still running after {timeout}s")
            wait(pending, timeout=left)  # then look again: finished work may have queued more


@dataclass
class HttpResult:
    status: int
    body: str
    headers: dict[str, str]


class Harness:
    def __init__(
        self,
        fake_server: SlackFakeServer,
        database_url: str,
        engine: Any,
        playbook: Playbook,
        admins: frozenset[str] = frozenset(),
        clock: Any = None,
        oauth: bool = False,
        retention_days: int = 30,
    ):
        self.fake_server = fake_server
        self.fake = fake_server.fake
        tokens: dict[str, Any] = (
            {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "state_secret": STATE_SECRET}
            if oauth
            else {"bot_token": BOT_TOKEN}
        )
        self.settings = Settings(
            **tokens,
            signing_secret=SIGNING_SECRET,
            database_url=database_url,
            slack_api_url=fake_server.api_url,
            admin_user_ids=admins,
            retention_days=retention_days,
        )
        self.ctx = AppContext(settings=self.settings, engine=engine, playbook=playbook)
        if clock is not None:
            self.ctx.clock = clock
        self.executor = TrackingExecutor()
        self.app = create_app(
            self.ctx,
            client=quick_retries(make_web_client(self.settings)),
            listener_executor=self.executor,
            work_executor=self.executor,
        )
        wsgi = make_wsgi_app(self.app, engine, SIGNING_SECRET)
        self.server = create_server(wsgi, host="127.0.0.1", port=0, threads=4)
        self._trigger_pipe = os.fstat(self.server.trigger.trigger).st_ino  # see `_trigger_problem`
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        self.fake.reset_calls()  # Bolt's auth.test at start-up is not part of any test

    def close(self) -> None:
        """Stop in an order with no race: listeners, then waitress's request threads, then its loop.

        A waitress request thread pulls the loop's trigger (a pipe) once more *after* the client
        already has the whole response. Closing the loop first (and with it the trigger's pipe) let a
        late thread write to a closed descriptor: `OSError: [Errno 9] Bad file descriptor`, or worse, to
        a descriptor number that something else had been given in the meantime. So the request
        threads are joined first; only then is the loop told to close everything, from inside itself.
        """
        self.executor.drain()
        stop_waitress(self.server, self.thread, self._trigger_problem)
        self.executor.shutdown(wait=True)

    def _trigger_problem(self) -> str | None:
        """Why the loop's trigger pipe is no longer this server's own, if it is not: something in the
        process closed its descriptor (once in a while a run failed on it with EBADF)."""
        trigger = self.server.trigger
        fd = trigger.trigger
        try:
            now = os.fstat(fd)
        except OSError as exc:
            found = f"fstat failed: {exc}"
        else:
            if now.st_ino == self._trigger_pipe:
                return None
            found = f"now inode {now.st_ino}, mode {now.st_mode:o}"
        return (
            f"the waitress trigger's write end (fd {fd}, pipe inode {self._trigger_pipe}) is no longer its own: "
            f"{found}; waitress closed it itself: {trigger._closed}; loop thread alive: {self.thread.is_alive()}"
        )

    # --- raw HTTP -------------------------------------------------------------------------------
    def post(
        self,
        body: bytes,
        content_type: str,
        *,
        secret: str = SIGNING_SECRET,
        timestamp: int | None = None,
        headers: dict[str, str] | None = None,
        sign_body: bytes | None = None,
    ) -> HttpResult:
        ts = str(timestamp if timestamp is not None else int(time.time()))
        signed = sign_body or body  # signed as bytes: a body need not be valid UTF-8 to be signed
        signature = "v0=" + hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + signed, hashlib.sha256).hexdigest()
        req = urllib.request.Request(self.url + "/slack/events", data=body, method="POST")
        req.add_header("Content-Type", content_type)
        req.add_header("X-Slack-Request-Timestamp", ts)
        req.add_header("X-Slack-Signature", signature)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                result = HttpResult(resp.status, resp.read().decode(), {k.lower(): v for k, v in resp.headers.items()})
        except urllib.error.HTTPError as err:
            result = HttpResult(err.code, err.read().decode(), {k.lower(): v for k, v in err.headers.items()})
        self.executor.drain()
        return result

    def get(self, path: str, headers: dict[str, str] | None = None) -> HttpResult:
        try:
            with urllib.request.urlopen(
                urllib.request.Request(self.url + path, headers=headers or {}), timeout=10
            ) as resp:
                return HttpResult(resp.status, resp.read().decode(), {k.lower(): v for k, v in resp.headers.items()})
        except urllib.error.HTTPError as err:
            return HttpResult(err.code, err.read().decode(), {k.lower(): v for k, v in err.headers.items()})

    # --- Slack-shaped requests ------------------------------------------------------------------
    def command_body(self, user: str, text: str, command: str = "/coach", team_id: str | None = None) -> bytes:
        return urlencode(
            {
                "token": "legacy",
                "team_id": team_id or self.fake.team_id,
                "team_domain": "fake",
                "channel_id": "C0PUBLIC",
                "channel_name": "general",
                "user_id": user,
                "user_name": user.lower(),
                "command": command,
                "text": text,
                "api_app_id": "A0APP",
                "response_url": self.fake_server.response_url(f"cmd-{user}"),
                "trigger_id": f"trigger-{time.monotonic_ns()}",
            }
        ).encode()

    def command(self, user: str, text: str, command: str = "/coach", **kw: Any) -> HttpResult:
        return self.post(
            self.command_body(user, text, command, kw.pop("team_id", None)), "application/x-www-form-urlencoded", **kw
        )

    def action(
        self,
        user: str,
        action_id: str,
        value: str = "",
        team_id: str | None = None,
        channel: str | None = None,
        extra: dict[str, Any] | None = None,
        message_ts: str = "1.000",
    ) -> HttpResult:
        body = self.action_body(user, action_id, value, team_id, channel, extra, message_ts)
        return self.post(body, "application/x-www-form-urlencoded")

    def action_body(
        self,
        user: str,
        action_id: str,
        value: str = "",
        team_id: str | None = None,
        channel: str | None = None,
        extra: dict[str, Any] | None = None,
        message_ts: str = "1.000",
    ) -> bytes:
        """A click as Slack sends it (post the same bytes twice for a replay)."""
        payload = {
            "type": "block_actions",
            "team": {"id": team_id or self.fake.team_id},
            "user": {"id": user, "team_id": team_id or self.fake.team_id},
            "api_app_id": "A0APP",
            "trigger_id": f"trigger-{time.monotonic_ns()}",
            "container": {"type": "message", "channel_id": channel or f"D{user}", "message_ts": message_ts},
            "channel": {"id": channel or f"D{user}"},
            "response_url": self.fake_server.response_url(f"act-{user}"),
            "actions": [
                {
                    "type": "button",
                    "action_id": action_id,
                    "block_id": "b",
                    "value": value,
                    "action_ts": str(time.time()),
                }
            ],
            **(extra or {}),
        }
        return urlencode({"payload": json.dumps(payload)}).encode()

    def submit(
        self,
        user: str,
        view: dict[str, Any],
        values: dict[str, dict[str, Any]],
        view_id: str | None = None,
        team_id: str | None = None,
    ) -> HttpResult:
        """Submit a modal as Slack would: the opened view plus the state of its inputs."""
        body = self.submit_body(user, view, values, view_id, team_id)
        return self.post(body, "application/x-www-form-urlencoded")

    def submit_body(
        self,
        user: str,
        view: dict[str, Any],
        values: dict[str, dict[str, Any]],
        view_id: str | None = None,
        team_id: str | None = None,
    ) -> bytes:
        team = team_id or self.fake.team_id
        payload = {
            "type": "view_submission",
            "team": {"id": team},
            "user": {"id": user, "team_id": team},
            "api_app_id": "A0APP",
            "trigger_id": f"trigger-{time.monotonic_ns()}",
            "view": {
                **view,
                "id": view_id or f"V{time.monotonic_ns()}",
                "team_id": team,
                "state": {"values": {block: {"value": state} for block, state in values.items()}},
                "hash": view.get("hash") or "1700000000.abc",
            },
        }
        return urlencode({"payload": json.dumps(payload)}).encode()

    def event(
        self, event: dict[str, Any], event_id: str = "Ev1", retry: int | None = None, team_id: str | None = None
    ) -> HttpResult:
        body = json.dumps(
            {
                "type": "event_callback",
                "team_id": team_id or self.fake.team_id,
                "api_app_id": "A0APP",
                "event": event,
                "event_id": event_id,
                "event_time": int(time.time()),
            }
        ).encode()
        headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"} if retry else None
        return self.post(body, "application/json", headers=headers)


def opened_view(fake: Any, index: int = -1) -> dict[str, Any]:
    """The view the app last opened with views.open."""
    view = fake.calls_to("views.open")[index].args["view"]
    return json.loads(view) if isinstance(view, str) else view


def txt(value: str) -> dict[str, Any]:
    return {"type": "plain_text_input", "value": value}


def num(value: str) -> dict[str, Any]:
    return {"type": "number_input", "value": value}


def sel(value: str | None, kind: str = "static_select") -> dict[str, Any]:
    return {"type": kind, "selected_option": {"value": value} if value else None}


def multi(*values: str, kind: str = "multi_static_select") -> dict[str, Any]:
    return {"type": kind, "selected_options": [{"value": v} for v in values]}


def day(value: str) -> dict[str, Any]:
    return {"type": "datepicker", "selected_date": value}


def fixed_clock(iso: str):
    moment = datetime.fromisoformat(iso)
    return lambda: moment
