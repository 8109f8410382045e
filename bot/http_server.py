"""HTTP mode: POST /slack/events (Bolt) and GET /healthz, served by waitress (a production WSGI server)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from sqlalchemy import text
from sqlalchemy.engine import Engine

log = logging.getLogger("coachbot.http")
MAX_BODY_BYTES = 1024 * 1024  # Slack payloads are far smaller; refuse anything absurd early

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _plain(start_response: Callable[..., Any], status: str, body: dict[str, Any]) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def make_wsgi_app(app: App, engine: Engine) -> WSGIApp:
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
        if path == "/slack/events":
            if method != "POST":
                return _plain(start_response, "405 Method Not Allowed", {"ok": False})
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > MAX_BODY_BYTES:
                return _plain(start_response, "413 Payload Too Large", {"ok": False})

            def recording_start(status: str, headers: list[tuple[str, str]], *a: Any) -> Any:
                if status.startswith("401"):
                    log.warning("rejected request: bad or stale signature (401)")
                return start_response(status, headers, *a)

            try:
                return slack(environ, recording_start)
            except ValueError:
                # Bolt parses the body before it checks anything; a malformed payload raises here.
                log.warning("rejected request: malformed body (400)")
                return _plain(start_response, "400 Bad Request", {"ok": False, "error": "malformed_body"})
        return _plain(start_response, "404 Not Found", {"ok": False})

    return wsgi


def serve(wsgi: WSGIApp, host: str, port: int, threads: int = 8) -> None:
    from waitress import serve as waitress_serve

    log.info("serving HTTP on %s:%d (POST /slack/events, GET /healthz)", host, port)
    waitress_serve(wsgi, host=host, port=port, threads=threads, ident="coachbot")
