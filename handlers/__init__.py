"""Slack listeners, grouped by kind. Each module has a `register(app, ctx)`.

How listeners run (so that an acknowledgement never waits behind slow work, and nothing is written
before it):
- commands, button clicks and events are acknowledged on Bolt's thread at once; the listener body
  then runs on a small work pool (`deferred`), queued, not holding a Bolt thread;
- view submissions validate before they acknowledge (Slack shows field errors from the ack), so
  they run on Bolt's thread and, once acknowledged, wait for one of a few work slots (`ack_first`).
- After the acknowledgement and before the body, each request is claimed once by the key Slack
  gives it (`bot.deliveries`): a repeated command, click, form or event is answered once.
"""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

from slack_bolt import App

from bot import deliveries
from bot.context import AppContext
from bot.errors import describe_error
from bot.request_info import describe_request, request_ids

WORK_SLOTS = 4  # view submissions doing their after-ack work at the same time
log = logging.getLogger("coachbot.requests")
SORRY = "Sorry, something went wrong on my side and nothing was changed. Please try again in a minute."
ALREADY = "I already got that one and handled it once, so nothing more was done."
# What Bolt hands a wrapper; the listener gets the ones it names.
BOLT_ARGS = ("ack", "body", "context", "client", "respond", "logger", "command", "view", "event", "action")


class _Repeat(BaseException):
    """Raised after the ack of a repeated form: stops the listener (not an Exception, so no listener catches it)."""


def _already_acknowledged(*args: Any, **kwargs: Any) -> None:
    if args or kwargs:
        log.warning("a deferred listener tried to acknowledge with content; it was acknowledged empty")


def _arg_names(fn: Callable[..., Any]) -> list[str]:
    return inspect.getfullargspec(fn).args


def _bolt_signature(wrapper: Callable[..., Any], fn: Callable[..., Any]) -> Callable[..., Any]:
    """Bolt passes arguments by the names a listener declares: the wrapper declares them all."""
    wrapper.__name__ = getattr(fn, "__name__", "listener")
    wrapper.__qualname__ = getattr(fn, "__qualname__", wrapper.__name__)
    wrapper.__doc__ = fn.__doc__
    return wrapper


def _repeat_reply(kwargs: dict[str, Any]) -> None:
    body, respond = kwargs.get("body") or {}, kwargs.get("respond")
    if respond is not None and body.get("response_url"):
        try:
            respond(text=ALREADY, response_type="ephemeral", replace_original=False)
        except Exception as exc:
            log.warning("could not answer a repeated request (%s)", type(exc).__name__)


def _log_failure(body: dict[str, Any], error: BaseException) -> None:
    team, user = request_ids(body)
    kind, name = describe_request(body)
    log.error(
        "failed team=%s user=%s kind=%s name=%s error=%s", team, user, kind, name, describe_error(error), exc_info=error
    )


def deferred(fn: Callable[..., Any], work: Executor, ctx: AppContext) -> Callable[..., Any]:
    """Acknowledge now; claim the request and run the listener body on the work pool."""
    names = _arg_names(fn)

    def wrapper(ack, body, context, client, respond, logger, command, view, event, action):  # type: ignore[no-untyped-def]
        ack()
        available = dict(
            zip(
                BOLT_ARGS,
                (_already_acknowledged, body, context, client, respond, logger, command, view, event, action),
                strict=True,
            )
        )
        work.submit(_run_once, ctx, fn, {n: available.get(n) for n in names}, available)

    return _bolt_signature(wrapper, fn)


def _run_once(ctx: AppContext, fn: Callable[..., Any], kwargs: dict[str, Any], available: dict[str, Any]) -> None:
    """What Bolt's error handler does for listeners on its own threads, plus the once-only claim."""
    body = available.get("body") or {}
    try:
        claim = deliveries.claim(ctx, body)
    except Exception as error:
        _log_failure(body, error)
        _tell_sorry(available)
        return
    if claim is deliveries.Claim.REPEAT:
        _repeat_reply(available)
        return
    try:
        fn(**kwargs)
    except Exception as error:
        _log_failure(body, error)
        deliveries.release(ctx, body)  # nothing was done: the same request may be tried again
        _tell_sorry(available)


def _tell_sorry(available: dict[str, Any]) -> None:
    body, respond = available.get("body") or {}, available.get("respond")
    if respond is not None and body.get("response_url"):
        try:
            respond(text=SORRY, response_type="ephemeral", replace_original=False)
        except Exception:
            log.warning("could not tell the user about the failure")


def ack_first(fn: Callable[..., Any], slots: threading.Semaphore, ctx: AppContext) -> Callable[..., Any]:
    """Acknowledge at once, then claim the form and queue for a work slot.

    A listener runs on Bolt's thread pool and acknowledges by calling ack(). If slow follow-up work
    (Slack calls, queries, Home tabs) from earlier requests kept every thread busy, a new request
    could not even acknowledge. Here, whatever comes after ack() waits for one of a few slots, so
    acknowledgements never queue behind it. A plain acknowledgement (no field errors, no new view)
    claims the form once; a repeat stops there.
    """
    names = _arg_names(fn)

    def wrapper(ack, body, context, client, respond, logger, command, view, event, action):  # type: ignore[no-untyped-def]
        holding, acked = [False], [False]

        def acknowledge(*args: Any, **ack_kwargs: Any) -> Any:
            result = ack(*args, **ack_kwargs)
            acked[0] = True
            if not holding[0]:
                slots.acquire()
                holding[0] = True
            if not args and not ack_kwargs and deliveries.claim(ctx, body) is deliveries.Claim.REPEAT:
                raise _Repeat()
            return result

        available = dict(
            zip(
                BOLT_ARGS,
                (acknowledge, body, context, client, respond, logger, command, view, event, action),
                strict=True,
            )
        )
        try:
            return fn(**{n: available.get(n) for n in names})
        except _Repeat:
            log.info("repeated form ignored kind=%s name=%s", *describe_request(body))
            return None
        except Exception as error:
            _log_failure(body, error)
            if not acked[0]:  # failed while validating: close the form rather than leave Slack waiting
                ack()
            else:
                deliveries.release(ctx, body)
            return None
        finally:
            if holding[0]:
                slots.release()

    return _bolt_signature(wrapper, fn)


class AckFirstApp:
    """The App as listener modules see it: listeners are registered deferred (or ack_first for views)."""

    def __init__(self, app: App, slots: threading.Semaphore, work: Executor, ctx: AppContext):
        self._app, self._slots, self._work, self._ctx = app, slots, work, ctx

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
        return deferred(fn, self._work, self._ctx)

    def command(self, *args: Any, **kwargs: Any) -> Callable[..., Any]:
        return self._wrapping(self._app.command(*args, **kwargs), self._defer)

    def action(self, *args: Any, **kwargs: Any) -> Callable[..., Any]:
        return self._wrapping(self._app.action(*args, **kwargs), self._defer)

    def event(self, *args: Any, **kwargs: Any) -> Callable[..., Any]:
        return self._wrapping(self._app.event(*args, **kwargs), self._defer)

    def view(self, *args: Any, **kwargs: Any) -> Callable[..., Any]:
        return self._wrapping(self._app.view(*args, **kwargs), lambda fn: ack_first(fn, self._slots, self._ctx))


def register_all(app: App, ctx: AppContext, work: Executor) -> None:
    from handlers import actions, checkins, commands, diagnose, events, fallback, manager

    wrapped: Any = AckFirstApp(app, threading.Semaphore(WORK_SLOTS), work, ctx)
    commands.register(wrapped, ctx)
    diagnose.register(wrapped, ctx)
    actions.register(wrapped, ctx)
    checkins.register(wrapped, ctx)
    manager.register(wrapped, ctx)
    events.register(wrapped, ctx)
    fallback.register(wrapped, ctx)  # last: only what nothing else handled
