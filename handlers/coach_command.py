"""`/coach`: one slash command whose first word picks a subcommand. Feature modules register their
subcommands here (`subcommand`), so the router knows none of them and no feature imports another."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient

from bot.context import AppContext
from bot.roster.views import help_message
from bot.slack.ids import COACH_COMMAND
from bot.slack.text import escape_mrkdwn, truncate
from handlers.common import app_context, ids, reply, too_long
from handlers.runner import Listeners

TOKEN_RE = re.compile(r"<[^>]*>|\S+")
UNKNOWN = "I don't know `{sub}`. Try `/coach help` to see what I can do."


@dataclass(frozen=True)
class Call:
    """One `/coach …` as a subcommand sees it: who, where, and the words after its name."""

    ctx: AppContext
    client: WebClient
    respond: Respond
    team_id: str
    user_id: str
    name: str
    args: list[str]
    trigger_id: str = ""  # for a subcommand that opens a form (valid for 3 s)

    def reply(self, message: dict[str, Any] | str) -> None:
        reply(self.respond, message)


Subcommand = Callable[[Call], None]
SUBCOMMANDS: dict[str, Subcommand] = {}


def subcommand(*names: str) -> Callable[[Subcommand], Subcommand]:
    """Register a subcommand under one or more names; a two-word name ("settings channel") wins
    over its first word."""

    def add(fn: Subcommand) -> Subcommand:
        for name in names:
            SUBCOMMANDS[name] = fn
        return fn

    return add


def coach(ack: Ack, command: dict[str, Any], respond: Respond, client: WebClient, context: BoltContext) -> None:
    ack()
    text = (command.get("text") or "").strip()
    if problem := too_long(text):
        reply(respond, problem)
        return
    words = TOKEN_RE.findall(text)
    team_id, user_id = ids(context)
    lowered = [w.lower() for w in words[:2]]
    for taken in (2, 1):
        if len(lowered) >= taken and (fn := SUBCOMMANDS.get(" ".join(lowered[:taken]))):
            call = Call(app_context(context), client, respond, team_id, user_id, lowered[taken - 1], words[taken:])
            fn(replace(call, trigger_id=str(command.get("trigger_id") or "")))
            return
    if not words or lowered[0] == "help":
        reply(respond, help_message())
        return
    reply(respond, UNKNOWN.format(sub=escape_mrkdwn(truncate(words[0], 30))))


def register(app: Listeners) -> None:
    app.command(COACH_COMMAND)(coach)
