"""The app factory: builds a Bolt app wired to a context, so tests build their own."""

from __future__ import annotations

import logging
import time
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

from slack_bolt import App, BoltResponse
from slack_bolt.request import BoltRequest
from slack_sdk import WebClient

from bot.context import AppContext
from bot.slack_client import make_web_client
from storage import queries

log = logging.getLogger("coachbot.requests")
SORRY = "Sorry, something went wrong on my side and nothing was changed. Please try again in a minute."


def describe_request(body: dict[str, Any]) -> tuple[str, str]:
    """(kind, name) of a request for the log line: never its free text or any scores."""
    if "command" in body:
        sub = (body.get("text") or "").split(" ", 1)[0][:20]
        return "command", f"{body['command']} {sub}".strip()
    kind = body.get("type", "unknown")
    if kind == "block_actions":
        acts = body.get("actions") or [{}]
        return "action", str(acts[0].get("action_id", "?"))[:60]
    if kind in ("view_submission", "view_closed"):
        return "view", str((body.get("view") or {}).get("callback_id", "?"))[:60]
    if kind == "event_callback":
        return "event", str((body.get("event") or {}).get("type", "?"))[:60]
    return str(kind)[:30], "-"


class CoachbotApp(App):
    """Bolt's App plus one log line per handled request, in HTTP and Socket Mode alike."""

    def dispatch(self, req: BoltRequest) -> BoltResponse:
        started = time.perf_counter()
        resp = super().dispatch(req)
        kind, name = describe_request(req.body if isinstance(req.body, dict) else {})
        log.info(
            "request team=%s user=%s kind=%s name=%s outcome=%s ms=%.1f",
            req.context.team_id,
            req.context.user_id,
            kind,
            name,
            resp.status,
            (time.perf_counter() - started) * 1000,
        )
        return resp


def create_app(
    ctx: AppContext,
    client: WebClient | None = None,
    listener_executor: Executor | None = None,
) -> App:
    app = CoachbotApp(
        token=None if client else ctx.settings.bot_token,
        signing_secret=ctx.settings.signing_secret,
        client=client or make_web_client(ctx.settings),
        process_before_response=False,
        listener_executor=listener_executor or ThreadPoolExecutor(max_workers=16),
        logger=logging.getLogger("coachbot.bolt"),
    )

    @app.middleware
    def skip_redelivery(req: BoltRequest, resp: BoltResponse, next):  # type: ignore[no-untyped-def]
        # Slack redelivers an event (X-Slack-Retry-Num) when our ack was slow; handle it once.
        event_id = req.body.get("event_id") if isinstance(req.body, dict) else None
        if event_id and not queries.claim_delivery(ctx.session, req.context.team_id or "-", f"event:{event_id}"):
            return BoltResponse(status=200, body="", headers={"x-coachbot-duplicate": "1"})
        return next()

    @app.error
    def on_error(error: Exception, body: dict[str, Any], context: Any, logger: logging.Logger) -> None:
        kind, name = describe_request(body or {})
        log.error(
            "failed team=%s user=%s kind=%s name=%s error=%s",
            context.get("team_id"),
            context.get("user_id"),
            kind,
            name,
            type(error).__name__,
        )
        respond = context.get("respond")
        if respond is not None and (body or {}).get("response_url"):
            try:
                respond(text=SORRY, response_type="ephemeral", replace_original=False)
            except Exception:  # the user may be gone; there is nothing more to tell them
                log.warning("could not tell the user about the failure")

    from handlers import register_all

    register_all(app, ctx)
    return app
