"""HTTP mode: POST /slack/events (Bolt) and GET /healthz, served by waitress (a production WSGI server)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from sqlalchemy import text
from sqlalchemy.engine import Engine

from bot.slack import request_guard

log = logging.getLogger("coachbot.http")
MAX_BODY_BYTES = 1024 * 1024  # Slack payloads are far smaller; refuse anything absurd early

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _plain(start_response: Callable[..., Any], status: str, body: dict[str, Any]) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def make_wsgi_app(app: App, engine: Engine, signing_secret: str) -> WSGIApp:
    slack = SlackRequestHandler(app, path="/slack/events")

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


def serve(wsgi: WSGIApp, host: str, port: int, threads: int = 8) -> None:
    from waitress import serve as waitress_serve

    log.info("serving HTTP on %s:%d (POST /slack/events, GET /healthz)", host, port)
    waitress_serve(wsgi, host=host, port=port, threads=threads, ident="coachbot")
