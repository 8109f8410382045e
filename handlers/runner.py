"""How every listener runs (so that an acknowledgement never waits behind slow work, and nothing is written
before it):
- commands, button clicks and events are acknowledged on Bolt's thread at once; the listener body
  then runs on a small work pool (`deferred`), queued, not holding a Bolt thread;
- view submissions validate before they acknowledge (Slack shows field errors from the ack), so
  they run on the forms pool and the request answers as soon as they acknowledge; after that they
  wait for one of a few work slots (`ack_first`);
- after the acknowledgement and before the body, each request is claimed once by the key Slack
  gives it (`bot.slack.deliveries`): a repeated command, click, form or event is answered once; and a
  person whose own team is another organisation gets a short note instead (`_outsider`).
Bolt runs with process_before_response=True: nothing of Bolt's polls for the acknowledgement.
"""

from __future__ import annotations

import functools
import inspect
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, Protocol

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.context import AppContext
from bot.errors import describe_error
from bot.roster.access import in_workspace, is_own_member
from bot.slack import deliveries
from bot.slack.request_info import describe_request, request_ids
from bot.slack.users import fetch_user, one_request

WORK_SLOTS = 4  # view submissions doing their after-ack work at the same time
FORM_ACK_WAIT = 2.5  # seconds a form's listener has to acknowledge (Slack allows 3)
log = logging.getLogger("coachbot.requests")
SORRY = "Sorry, something went wrong on my side and nothing was changed. Please try again in a minute."
ALREADY = "I already got that one and handled it once, so nothing more was done."
SAVED_BUT = "What you sent was saved, but something went wrong on my side before I could finish answering."
OUTSIDER = "Coachbot here is for members of this workspace only, so I can't do that for you."
# What Bolt hands a wrapper; the listener gets the ones it names.
BOLT_ARGS = ("ack", "body", "context", "client", "respond", "logger", "command", "view", "event", "action")


class _Repeat(BaseException):
    """Raised after the ack of a repeated form: stops the listener (not an Exception, so no listener catches it)."""


def _already_acknowledged(*args: Any, **kwargs: Any) -> None:
    if args or kwargs:
        log.warning("a deferred listener tried to acknowledge with content; it was acknowledged empty")


@functools.cache
def _arg_names(fn: Callable[..., Any]) -> tuple[str, ...]:
    """Listeners are module-level functions: their signatures never change, so read each once."""
    return tuple(inspect.getfullargspec(fn).args)


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

    def wrapper(
        ack: Ack,
        body: dict[str, Any],
        context: BoltContext,
        client: WebClient,
        respond: Respond,
        logger: logging.Logger,
        command: dict[str, Any] | None,
        view: dict[str, Any] | None,
        event: dict[str, Any] | None,
        action: dict[str, Any] | None,
    ) -> None:
        ack()
        available = dict(
            zip(
                BOLT_ARGS,
                (_already_acknowledged, body, context, client, respond, logger, command, view, event, action),
                strict=True,
            )
        )
        work.submit(_scoped(_run_once), ctx, fn, {n: available.get(n) for n in names}, available)

    return _bolt_signature(wrapper, fn)


def _scoped(body: Callable[..., None]) -> Callable[..., None]:
    """Run a listener body inside one request's scope: Slack's record of each user is read once."""

    def run(*args: Any) -> None:
        with one_request():
            body(*args)

    return run


def _run_once(ctx: AppContext, fn: Callable[..., Any], kwargs: dict[str, Any], available: dict[str, Any]) -> None:
    """What Bolt's error handler does for listeners on its own threads, plus the once-only claim."""
    body = available.get("body") or {}
    try:
        claim = deliveries.claim(ctx, body)
    except Exception as error:
        _log_failure(body, error)
        _tell(available, SORRY)
        return
    if claim is deliveries.Claim.REPEAT:
        _repeat_reply(available)
        return
    stored_before = deliveries.commits_so_far()
    try:
        if _outsider(ctx, available):
            _tell(available, OUTSIDER)
            _outsider_home(available)
            return
        fn(**kwargs)
    except Exception as error:
        _log_failure(body, error)
        if deliveries.commits_so_far() > stored_before:
            _tell(available, SAVED_BUT)  # it was stored: the claim stands, and the user is told so
        else:
            deliveries.release(ctx, body)  # nothing was done: the same request may be tried again
            _tell(available, SORRY)


def _outsider_home(available: dict[str, Any]) -> None:
    """An outsider opening the Home tab sees a short note, never the team's data."""
    body, client = available.get("body") or {}, available.get("client")
    event = body.get("event") or {}
    if body.get("type") != "event_callback" or event.get("type") != "app_home_opened" or client is None:
        return
    note = {"type": "section", "text": {"type": "mrkdwn", "text": OUTSIDER}}
    try:
        client.views_publish(user_id=str(event.get("user")), view={"type": "home", "blocks": [note]})
    except Exception as exc:
        log.warning("could not publish the outsider's Home tab (%s)", type(exc).__name__)


def _outsider(ctx: AppContext, available: dict[str, Any]) -> bool:
    """A person whose own team is not this workspace (Slack Connect, Grid siblings): Coachbot is not
    theirs to use here. Workspace events (uninstall, user changes) have no such person."""
    body, client = available.get("body") or {}, available.get("client")
    if body.get("type") == "event_callback":
        event = body.get("event") or {}
        if event.get("type") != "app_home_opened":
            return False
        user_id, team_id = str(event.get("user") or ""), str(body.get("team_id") or "")
        return not in_workspace(fetch_user(client, user_id), team_id) if client and user_id else True
    team_id, user_id = request_ids(body)
    if not user_id or client is None:
        return True
    return not is_own_member(client, body, user_id, team_id)


def _tell(available: dict[str, Any], text: str) -> None:
    body, respond = available.get("body") or {}, available.get("respond")
    if respond is not None and body.get("response_url"):
        try:
            respond(text=text, response_type="ephemeral", replace_original=False)
        except Exception:
            log.warning("could not tell the user about the failure")


def ack_first(
    fn: Callable[..., Any], slots: threading.Semaphore, ctx: AppContext, forms: Executor
) -> Callable[..., Any]:
    """Run a form's listener on the forms pool; answer Slack the moment it acknowledges.

    A view submission validates before it acknowledges (field errors go back in the ack), so the
    listener itself must call ack(). It runs on its own thread; the request's thread waits for that
    ack (an event, not a poll) and returns it to Slack at once. Whatever comes after ack() then
    waits for one of a few work slots, so acknowledgements never queue behind slow work. A plain
    acknowledgement (no field errors, no new view) claims the form once; a repeat stops there.
    """
    names = _arg_names(fn)

    def wrapper(
        ack: Ack,
        body: dict[str, Any],
        context: BoltContext,
        client: WebClient,
        respond: Respond,
        logger: logging.Logger,
        command: dict[str, Any] | None,
        view: dict[str, Any] | None,
        event: dict[str, Any] | None,
        action: dict[str, Any] | None,
    ) -> None:
        acked = threading.Event()
        holding = [False]

        def acknowledge(*args: Any, **ack_kwargs: Any) -> Any:
            result = ack(*args, **ack_kwargs)
            acked.set()
            if not holding[0]:
                slots.acquire()
                holding[0] = True
            if not args and not ack_kwargs:
                if deliveries.claim(ctx, body) is deliveries.Claim.REPEAT:
                    raise _Repeat()
                if _outsider(ctx, available):
                    log.info("form from outside this workspace ignored kind=%s name=%s", *describe_request(body))
                    raise _Repeat()
            return result

        available = dict(
            zip(
                BOLT_ARGS,
                (acknowledge, body, context, client, respond, logger, command, view, event, action),
                strict=True,
            )
        )

        def run() -> None:
            stored_before = deliveries.commits_so_far()
            try:
                fn(**{n: available.get(n) for n in names})
            except _Repeat:
                log.info("repeated form ignored kind=%s name=%s", *describe_request(body))
            except Exception as error:
                _log_failure(body, error)
                if not acked.is_set():  # failed while validating: close the form rather than leave Slack waiting
                    ack()
                elif deliveries.commits_so_far() <= stored_before + 1:  # only the claim itself was stored
                    deliveries.release(ctx, body)
            finally:
                if holding[0]:
                    slots.release()
                acked.set()

        forms.submit(_scoped(run))
        if not acked.wait(timeout=FORM_ACK_WAIT):
            log.warning(
                "form not acknowledged in %.1f s; closed empty kind=%s name=%s", FORM_ACK_WAIT, *describe_request(body)
            )
            ack()
        return None

    return _bolt_signature(wrapper, fn)


class Listeners(Protocol):
    """What a feature's `register` uses to name its listeners: Bolt's App, or `AckFirstApp` around it."""

    def command(self, *args: Any, **kwargs: Any) -> Callable[..., Any]: ...

    def action(self, *args: Any, **kwargs: Any) -> Callable[..., Any]: ...

    def event(self, *args: Any, **kwargs: Any) -> Callable[..., Any]: ...

    def view(self, *args: Any, **kwargs: Any) -> Callable[..., Any]: ...


class AckFirstApp:
    """The App as listener modules see it: listeners are registered deferred (or ack_first for views)."""

    def __init__(self, app: App, slots: threading.Semaphore, work: Executor, forms: Executor, ctx: AppContext):
        self._app, self._slots, self._work, self._forms, self._ctx = app, slots, work, forms, ctx

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
        return self._wrapping(
            self._app.view(*args, **kwargs), lambda fn: ack_first(fn, self._slots, self._ctx, self._forms)
        )
