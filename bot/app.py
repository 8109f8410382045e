"""The app factory: builds a Bolt app wired to a context, so tests build their own."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

from slack_bolt import App, BoltResponse
from slack_bolt.request import BoltRequest
from slack_sdk import WebClient
from slack_sdk.oauth.installation_store import Installation

from bot.context import AppContext
from bot.errors import describe_error
from bot.slack import deliveries
from bot.slack.client import make_web_client
from bot.slack.http_server import TRAFFIC
from bot.slack.request_guard import shape_problem
from bot.slack.request_info import describe_request

log = logging.getLogger("coachbot.requests")
# Form listeners run on the listener pool until they acknowledge (handlers.ack_first); other listener
# bodies run on the work pool after acknowledging (handlers.deferred): acks never wait for slow work.
LISTENER_THREADS = 32
WORK_THREADS = 4
# How long after-ack work stands aside for requests still arriving (HTTP mode): bounded so that a
# modal still opens well within Slack's 3 s trigger, and so that steady traffic cannot starve the work.
YIELD_SECONDS = 0.5
SORRY = "Sorry, something went wrong on my side and nothing was changed. Please try again in a minute."
P = ParamSpec("P")
T = TypeVar("T")


class AfterAckPool(ThreadPoolExecutor):
    """The work pool. Each task starts once no HTTP request is being received or answered, or at most
    YIELD_SECONDS after it was queued: under a burst, acknowledgements keep the CPU and the GIL, and
    the work catches up in the gaps (bench/RESULTS.md, 2026-12-06)."""

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        until = time.monotonic() + YIELD_SECONDS

        def when_quiet() -> T:
            TRAFFIC.wait_quiet(until)
            return fn(*args, **kwargs)

        return super().submit(when_quiet)


class CoachbotApp(App):
    """Bolt's App plus one log line per handled request, in HTTP and Socket Mode alike."""

    def dispatch(self, req: BoltRequest) -> BoltResponse:
        started = time.perf_counter()
        if isinstance(req.body, dict) and (problem := shape_problem(req.body)):
            # HTTP requests were checked before parsing (bot.slack.http_server); Socket Mode envelopes are here.
            log.warning("rejected request: %s (400)", problem)
            return BoltResponse(status=400, body="")
        resp = super().dispatch(req)
        if resp.status == 404:  # a kind of request no listener is for: acknowledged, not an error
            resp = BoltResponse(status=200, body="")
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


def _oauth(ctx: AppContext, client: WebClient) -> dict[str, Any]:
    """Many workspaces: Bolt's OAuth flow and per-workspace authorization (bot.slack.installs)."""
    from bot.install.flows import installed
    from bot.slack.installs import NOT_INSTALLED, build_installs

    installs = ctx.installs = ctx.installs or build_installs(ctx.settings, ctx.engine, client)

    def on_installed(installation: Installation) -> None:
        try:
            installed(ctx, str(installation.team_id or ""), installation.team_name or "")
        except Exception as exc:  # the tokens are stored; the first request from the workspace activates it
            log.error(
                "install of team=%s stored, workspace not marked active: %s", installation.team_id, describe_error(exc)
            )

    return {
        "oauth_flow": installs.oauth_flow(on_installed),
        "authorize": installs.authorize(),
        "user_facing_authorize_error_message": NOT_INSTALLED,
    }


def create_app(
    ctx: AppContext,
    client: WebClient | None = None,
    listener_executor: Executor | None = None,
    work_executor: Executor | None = None,
) -> App:
    executor = listener_executor or ThreadPoolExecutor(max_workers=LISTENER_THREADS, thread_name_prefix="listener")
    web = client or make_web_client(ctx.settings)
    many = _oauth(ctx, web) if ctx.settings.oauth else {}
    app = CoachbotApp(
        token=None if client or many else ctx.settings.bot_token,
        signing_secret=ctx.settings.signing_secret,
        client=web,
        **many,
        # Listener bodies already run after the acknowledgement on Coachbot's own pools (handlers), so
        # Bolt answers as soon as a listener returns instead of polling every 10 ms for the ack.
        process_before_response=True,
        listener_executor=executor,
        logger=logging.getLogger("coachbot.bolt"),
        # Named, Bolt logs under the same name as its base logger (unnamed, it would call
        # inspect.stack() to name itself after the calling file: milliseconds per app built).
        name="coachbot.bolt",
    )

    @app.error
    def on_error(error: Exception, body: dict[str, Any], context: Any, logger: logging.Logger) -> None:
        kind, name = describe_request(body or {})
        log.error(
            "failed team=%s user=%s kind=%s name=%s error=%s",
            context.get("team_id"),
            context.get("user_id"),
            kind,
            name,
            describe_error(error),
        )
        respond = context.get("respond")
        if respond is not None and (body or {}).get("response_url"):
            try:
                respond(text=SORRY, response_type="ephemeral", replace_original=False)
            except Exception:  # the user may be gone; there is nothing more to tell them
                log.warning("could not tell the user about the failure")

    from bot.team.home import HomeRefresher
    from handlers import register_all

    deliveries.watch_commits(ctx.engine)
    work = work_executor or AfterAckPool(max_workers=WORK_THREADS, thread_name_prefix="work")
    ctx.home_refresher = HomeRefresher(ctx, app.client, work)
    register_all(app, ctx, work, executor)
    return app
