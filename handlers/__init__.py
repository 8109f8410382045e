"""Slack listeners, grouped by kind. Each module has a `register(app, ctx)`.

How listeners run (so that an acknowledgement never waits behind slow work):
- commands, button clicks and events are acknowledged on Bolt's thread at once; the listener body
  then runs on a small work pool (`deferred`), queued, not holding a Bolt thread;
- view submissions validate before they acknowledge (Slack shows field errors from the ack), so
  they run on Bolt's thread and, once acknowledged, wait for one of a few work slots (`ack_first`).
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

from slack_bolt import App

from bot.context import AppContext
from bot.request_info import describe_request, request_ids

WORK_SLOTS = 4  # view submissions doing their after-ack work at the same time
log = logging.getLogger("coachbot.requests")
SORRY = "Sorry, something went wrong on my side and nothing was changed. Please try again in a minute."


def _already_acknowledged(*args: Any, **kwargs: Any) -> None:
    if args or kwargs:
        log.warning("a deferred listener tried to acknowledge with content; it was acknowledged empty")


def deferred(fn: Callable[..., Any], work: Executor) -> Callable[..., Any]:
    """Acknowledge now; run the listener body on the work pool."""

    @functools.wraps(fn)
    def wrapper(**kwargs: Any) -> None:
        ack = kwargs.get("ack")
        if ack is not None:
            ack()
            kwargs["ack"] = _already_acknowledged
        work.submit(_run_reporting_errors, fn, kwargs)

    return wrapper


def _run_reporting_errors(fn: Callable[..., Any], kwargs: dict[str, Any]) -> None:
    """What Bolt's error handler does for listeners on its own threads: log, and tell the user politely."""
    try:
        fn(**kwargs)
    except Exception as error:
        body = kwargs.get("body") or kwargs.get("command") or {}
        team, user = request_ids(body)
        kind, name = describe_request(body)
        log.error("failed team=%s user=%s kind=%s name=%s error=%s", team, user, kind, name, type(error).__name__)
        respond = kwargs.get("respond")
        if respond is not None and body.get("response_url"):
            try:
                respond(text=SORRY, response_type="ephemeral", replace_original=False)
            except Exception:
                log.warning("could not tell the user about the failure")


def ack_first(fn: Callable[..., Any], slots: threading.Semaphore) -> Callable[..., Any]:
    """Acknowledge at once, then queue for a work slot.

    A listener runs on Bolt's thread pool and acknowledges by calling ack(). If slow follow-up work
    (Slack calls, queries, Home tabs) from earlier requests kept every thread busy, a new request
    could not even acknowledge. Here, whatever comes after ack() waits for one of a few slots, so
    acknowledgements never queue behind it. Bolt injects arguments by name through `inspect.unwrap`.
    """

    @functools.wraps(fn)
    def wrapper(**kwargs: Any) -> Any:
        real_ack = kwargs.get("ack")
        holding = [False]
        if real_ack is None:  # events are acknowledged by Bolt before the listener runs
            slots.acquire()
            holding[0] = True
        else:

            def ack(*args: Any, **ack_kwargs: Any) -> Any:
                result = real_ack(*args, **ack_kwargs)
                if not holding[0]:
                    slots.acquire()
                    holding[0] = True
                return result

            kwargs["ack"] = ack
        try:
            return fn(**kwargs)
        finally:
            if holding[0]:
                slots.release()

    return wrapper


class AckFirstApp:
    """The App as listener modules see it: listeners are registered deferred (or ack_first for views)."""

    def __init__(self, app: App, slots: threading.Semaphore, work: Executor):
        self._app, self._slots, self._work = app, slots, work

    def __getattr__(self, name: str) -> Any:
        return getattr(self._app, name)

    def _wrapping(
        self, bolt_decorator: Callable[..., Any], wrap: Callable[[Callable[..., Any]], Any]
    ) -> Callable[..., Any]:
        def register(fn: Callable[..., Any]) -> Callable[..., Any]:
            bolt_decorator(wrap(fn))
            return fn

        return register

    def _defer(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        return deferred(fn, self._work)

    def command(self, *args: Any, **kwargs: Any) -> Callable[..., Any]:
        return self._wrapping(self._app.command(*args, **kwargs), self._defer)

    def action(self, *args: Any, **kwargs: Any) -> Callable[..., Any]:
        return self._wrapping(self._app.action(*args, **kwargs), self._defer)

    def event(self, *args: Any, **kwargs: Any) -> Callable[..., Any]:
        return self._wrapping(self._app.event(*args, **kwargs), self._defer)

    def view(self, *args: Any, **kwargs: Any) -> Callable[..., Any]:
        return self._wrapping(self._app.view(*args, **kwargs), lambda fn: ack_first(fn, self._slots))


def register_all(app: App, ctx: AppContext, work: Executor) -> None:
    from handlers import actions, checkins, commands, diagnose, events, fallback, manager

    wrapped: Any = AckFirstApp(app, threading.Semaphore(WORK_SLOTS), work)
    commands.register(wrapped, ctx)
    diagnose.register(wrapped, ctx)
    actions.register(wrapped, ctx)
    checkins.register(wrapped, ctx)
    manager.register(wrapped, ctx)
    events.register(wrapped, ctx)
    fallback.register(wrapped, ctx)  # last: only what nothing else handled
