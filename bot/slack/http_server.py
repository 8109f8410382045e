"""HTTP mode: POST /slack/events (Bolt) and GET /healthz, served by waitress (a production WSGI server);
in OAuth mode also Bolt's GET /slack/install and GET /slack/oauth_redirect."""

from __future__ import annotations

import io
import json
import logging
import select
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt import App, BoltContext, BoltResponse
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_bolt.request import BoltRequest
from slack_bolt.request.internals import build_context
from sqlalchemy import text
from sqlalchemy.engine import Engine

from bot.slack import request_guard

log = logging.getLogger("coachbot.http")
PENDING_POLL = 0.002  # seconds between looks at the listening socket while connections wait there
MAX_BODY_BYTES = 1024 * 1024  # Slack payloads are far smaller; refuse anything absurd early

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _plain(start_response: Callable[..., Any], status: str, body: dict[str, Any]) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def read_form(req: BoltRequest) -> BoltRequest:
    """Bolt takes any form body in which the word "payload" appears (a slash command's text, say) for
    an interactive payload, finds none and reads the request as empty; read such a body as the form
    it is."""
    raw = req.raw_body
    if req.body or "payload" not in raw or raw.lstrip().startswith("{"):
        return req
    form = dict(parse_qsl(raw, keep_blank_values=True))
    if "payload" not in form:
        req.body = form
        req.context = build_context(BoltContext({}), form)
    return req


class _Handler(SlackRequestHandler):
    def dispatch(self, request: WsgiHttpRequest) -> BoltResponse:
        headers = request.get_headers()
        return self.app.dispatch(
            read_form(BoltRequest(body=request.get_body(), query=request.query_string, headers=headers))
        )


def make_wsgi_app(app: App, engine: Engine, signing_secret: str) -> WSGIApp:
    slack = _Handler(app, path="/slack/events")

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "/")
        if path == "/healthz" and method == "GET":
            try:
                with engine.connect() as conn:
                    conn.execute(text("SELECT 1"))
            except Exception as exc:
                log.error("healthz: database unreachable (%s)", type(exc).__name__)
                return _plain(start_response, "503 Service Unavailable", {"ok": False, "database": "down"})
            return _plain(start_response, "200 OK", {"ok": True})
        flow = app.oauth_flow  # many workspaces: Bolt's install pages (browser GETs, not signed by Slack)
        if flow is not None and path in (flow.install_path, flow.redirect_uri_path):
            if method != "GET":  # browser pages: a POST here is a confused client, not Slack
                return _plain(start_response, "405 Method Not Allowed", {"ok": False})
            try:
                return slack(environ, start_response)
            except Exception as exc:  # a broken database or Slack answer: a plain error, never a traceback
                log.error("install page failed: %s", type(exc).__name__)
                return _plain(start_response, "503 Service Unavailable", {"ok": False})
        if path != "/slack/events":
            return _plain(start_response, "404 Not Found", {"ok": False})
        if method != "POST":
            return _plain(start_response, "405 Method Not Allowed", {"ok": False})
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _plain(start_response, "400 Bad Request", {"ok": False, "error": "malformed_body"})
        if length > MAX_BODY_BYTES or length < 0:
            return _plain(start_response, "413 Payload Too Large", {"ok": False})
        raw = environ["wsgi.input"].read(length) if length else b""
        headers = {k[5:].replace("_", "-").lower(): str(v) for k, v in environ.items() if k.startswith("HTTP_")}
        headers["content-type"] = str(environ.get("CONTENT_TYPE") or "")
        verdict = request_guard.check(signing_secret, headers, raw)
        if verdict.status == 401:
            log.warning("rejected request: bad or stale signature (401)")
            return _plain(start_response, "401 Unauthorized", {"ok": False})
        if verdict.status != 200:
            log.warning("rejected request: %s (400)", verdict.reason)
            return _plain(start_response, "400 Bad Request", {"ok": False, "error": "malformed_body"})
        bolt_environ = {**environ, "wsgi.input": io.BytesIO(raw), "CONTENT_LENGTH": str(len(raw))}
        try:
            return slack(bolt_environ, start_response)
        except Exception as exc:  # the guard should make this unreachable; never a 500 all the same
            log.error("request not handled: %s (400)", type(exc).__name__)
            return _plain(start_response, "400 Bad Request", {"ok": False, "error": "malformed_body"})

    return wsgi


class Traffic:
    """How many HTTP requests are being received or answered right now, so that work done after an
    acknowledgement can stand aside while they are (`wait_quiet`).

    Measured with `bench/ack_bench.py`: under a burst, the after-ack work (Slack calls, queries, the
    once-only claim) took the GIL and the CPU from the acknowledgements still arriving and about
    doubled their tail; standing aside, it leaves the acks close to what they cost alone. A connection
    counts from its first byte until its answer has been sent, or until it closes.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._busy = 0
        self._waiting = 0
        # Connections the kernel holds that the server has not accepted yet (set by `serve`): while
        # the server's loop is behind, they are traffic too, though no channel counts them yet.
        self.pending: Callable[[], bool] = lambda: False

    def begin(self) -> None:
        with self._cond:
            self._busy += 1

    def end(self) -> None:
        with self._cond:
            self._busy -= 1
            if self._busy <= 0 and self._waiting:
                self._cond.notify_all()

    def busy(self) -> int:
        return self._busy

    def wait_quiet(self, until: float) -> None:
        """Return once no request is in progress or waiting to be accepted, or at `until`
        (time.monotonic()) at the latest."""
        with self._cond:
            while (left := until - time.monotonic()) > 0:
                if self._busy <= 0:
                    if not self.pending():
                        return
                    left = min(left, PENDING_POLL)  # the loop will accept it: look again shortly
                self._waiting += 1
                try:
                    self._cond.wait(left)
                finally:
                    self._waiting -= 1


TRAFFIC = Traffic()  # the one HTTP server of this process reports here; Socket Mode never waits on it


def _counting_channel(traffic: Traffic) -> type:
    """waitress's HTTP channel, reporting to `traffic` while it is receiving or answering a request.

    waitress sends a response from the worker thread as it is written (and the loop thread sends what
    is left), so the count ends after `service` or after a write from the loop, whichever empties the
    channel; a kept-alive connection counts again when new bytes arrive, and a closed one never counts.
    """
    from waitress.channel import HTTPChannel

    class CountingChannel(HTTPChannel):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self._counting = threading.Lock()
            self._counted = False
            super().__init__(*args, **kwargs)
            self._count(True)  # accepted: its request is on its way

        def _count(self, on: bool) -> None:
            with self._counting:
                if self._counted == on:
                    return
                if not on and (self.requests or self.request is not None or self.total_outbufs_len):
                    return  # more is on its way in or out on this connection
                self._counted = on
                if on:
                    traffic.begin()
                else:
                    traffic.end()

        def received(self, data: bytes) -> Any:
            if data:
                self._count(True)
            return super().received(data)

        def service(self) -> None:
            super().service()
            self._count(False)

        def handle_write(self) -> None:
            super().handle_write()
            self._count(False)

        def del_channel(self, map: Any = None) -> None:  # noqa: A002 (waitress's name)
            with self._counting:
                if self._counted:
                    self._counted = False
                    traffic.end()
            super().del_channel(map)

    return CountingChannel


def serve(wsgi: WSGIApp, host: str, port: int, threads: int = 8) -> None:
    from waitress.server import create_server

    log.info("serving HTTP on %s:%d (POST /slack/events, GET /healthz)", host, port)
    server = create_server(wsgi, host=host, port=port, threads=threads, ident="coachbot")
    server.channel_class = _counting_channel(TRAFFIC)
    TRAFFIC.pending = lambda: bool(select.select([server.socket], [], [], 0)[0])
    server.run()
