"""Slack listeners, one module per feature (the same names as the feature packages in `bot/`).

Each module holds module-level listener functions with Bolt's typed arguments and a small
`register(app)` that names what they listen to. Listeners parse the request, call the feature's
flows and show the answer; they never touch the database themselves and never import one another.
How every listener is run (ack first, once only, outsiders turned away) is in `handlers.runner`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Executor

from slack_bolt import App, BoltContext, BoltResponse

from bot.context import AppContext
from handlers import (
    coach_command,
    coaching,
    fallback,
    install,
    levers,
    onboarding,
    pip,
    practice,
    roster,
    team,
    workspace,
)
from handlers.common import CONTEXT_KEY
from handlers.runner import WORK_SLOTS, AckFirstApp

FEATURES = (coach_command, coaching, practice, team, roster, workspace, pip, onboarding, levers, install)


def register_all(app: App, ctx: AppContext, work: Executor, forms: Executor) -> None:
    def provide_context(context: BoltContext, next: Callable[[], BoltResponse]) -> BoltResponse:  # noqa: A002
        context[CONTEXT_KEY] = ctx  # no I/O: it only hands the listeners the app's context
        return next()

    app.use(provide_context)
    wrapped = AckFirstApp(app, threading.Semaphore(WORK_SLOTS), work, forms, ctx)
    for feature in FEATURES:
        feature.register(wrapped)
    fallback.register(wrapped)  # last: only what nothing else handled
