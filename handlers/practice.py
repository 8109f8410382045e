"""The rep's side of the week: check-ins (button, note, `/checkin`), "I'm blocked", reflections,
and pausing nudges (`/coach pause|resume`, the brief's button)."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient

from bot.practice import flows
from bot.practice.flows import CHECKIN_MAX, NOTE_MAX
from bot.practice.views import NOTE_FORMS, note_modal, pause_modal, pick_commitment_message
from bot.slack.ids import CHECKIN_COMMAND, Action, Form
from bot.slack.text import USER_ID_IN_TEXT, escape_mrkdwn, truncate
from bot.team.home import refresh_home
from handlers.coach_command import Call, subcommand
from handlers.common import (
    answer,
    app_context,
    ids,
    int_or_none,
    open_modal,
    replace_original,
    reply,
    resolve_mention,
    too_long,
    try_dm,
    view_metadata,
    view_value,
)
from handlers.runner import Listeners

COUNT_RE = re.compile(r"^\s*(-?\d+)\b\s*(.*)$", re.S)
NOT_A_COMMITMENT = "That button doesn't point at a commitment I know."
PAUSE_USAGE = "Usage: `/coach pause [@rep] YYYY-MM-DD` or `/coach resume [@rep]`"


def _check_in(
    context: BoltContext,
    client: WebClient,
    body: dict[str, Any],
    commitment_id: int,
    count: int,
    note: str,
    source: str,
    respond: Respond | None,
    container_ts: str | None = None,
) -> None:
    ctx, (team_id, user_id) = app_context(context), ids(context)
    outcome = flows.check_in(ctx, client, body, team_id, user_id, commitment_id, count, note, source, container_ts)
    if respond is not None and outcome.redrawn is not None:
        replace_original(respond, outcome.redrawn)
    answer(respond, client, user_id, outcome.text)
    for person in outcome.refresh:
        refresh_home(ctx, client, team_id, person)


def log_one(ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient, context: BoltContext) -> None:
    ack()
    commitment_id = int_or_none(body["actions"][0].get("value"))
    if commitment_id is None:
        reply(respond, NOT_A_COMMITMENT)
        return
    container_ts = (body.get("container") or {}).get("message_ts")
    _check_in(context, client, body, commitment_id, 1, "", "button", respond, container_ts)


def _note_form_opener(callback_id: Form) -> Any:
    def open_form(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond, context: BoltContext) -> None:
        ack()
        commitment_id = int_or_none(body["actions"][0].get("value"))
        if commitment_id is None:
            reply(respond, NOT_A_COMMITMENT)
            return
        team_id, user_id = ids(context)
        if not flows.own_commitment(app_context(context), team_id, user_id, commitment_id):
            reply(respond, "That commitment isn't yours to log against.")
            return
        open_modal(client, body["trigger_id"], note_modal(commitment_id, callback_id), respond, user_id)

    open_form.__name__ = f"open_{callback_id}"
    return open_form


def note_submitted(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    count = int_or_none(view_value(view, "count"))
    note = (view_value(view, "note") or "").strip()
    if count is None or not 1 <= count <= CHECKIN_MAX:
        ack(response_action="errors", errors={"count": f"A whole number from 1 to {CHECKIN_MAX}."})
        return
    if len(note) > NOTE_MAX:
        ack(response_action="errors", errors={"note": f"Keep it under {NOTE_MAX} characters."})
        return
    ack()
    commitment_id = int_or_none(view_metadata(view).get("commitment"))
    if commitment_id is not None:
        _check_in(context, client, body, commitment_id, count, note, "note", None)


def blocked_submitted(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    reason = (view_value(view, "note") or "").strip()
    if not 3 <= len(reason) <= NOTE_MAX:
        ack(response_action="errors", errors={"note": "Say in a few words what is in the way (under 500)."})
        return
    ack()
    ctx, (team_id, user_id) = app_context(context), ids(context)
    commitment_id = int_or_none(view_metadata(view).get("commitment")) or -1
    try_dm(client, user_id, flows.report_blocked(ctx, client, body, team_id, user_id, commitment_id, reason))


def reflection_submitted(ack: Ack, view: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    text = (view_value(view, "note") or "").strip()
    if not 3 <= len(text) <= NOTE_MAX:
        ack(response_action="errors", errors={"note": "A sentence or two, under 500 characters."})
        return
    ack()
    ctx, (team_id, user_id) = app_context(context), ids(context)
    commitment_id = int_or_none(view_metadata(view).get("commitment")) or -1
    try_dm(client, user_id, flows.save_reflection(ctx, team_id, user_id, commitment_id, text))


def checkin_command(
    ack: Ack, command: dict[str, Any], respond: Respond, client: WebClient, context: BoltContext
) -> None:
    ack()
    text = (command.get("text") or "").strip()
    if problem := too_long(text):
        reply(respond, problem)
        return
    count, note = 1, text
    if match := COUNT_RE.match(text):
        count, note = int(match.group(1)), match.group(2).strip()
    if not 1 <= count <= CHECKIN_MAX:
        reply(
            respond,
            f"The count must be a whole number from 1 to {CHECKIN_MAX}, like `/checkin 2 two calls "
            "with no early pitch`.",
        )
        return
    if len(note) > NOTE_MAX:
        reply(respond, f"Keep the note under {NOTE_MAX} characters.")
        return
    team_id, user_id = ids(context)
    active = flows.active_commitments(app_context(context), team_id, user_id)
    if not active:
        reply(respond, "You don't have an active commitment to log against. Your manager sets one up with `/diagnose`.")
        return
    if len(active) > 1:
        reply(respond, pick_commitment_message([(c.id or 0, c.behavior) for c in active], count, note))
        return
    _check_in(context, client, command, active[0].id or 0, count, note, "command", respond)


def pick_commitment(ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient, context: BoltContext) -> None:
    ack()
    try:
        choice = json.loads(body["actions"][0].get("value") or "")
        commitment_id, count, note = int(choice["c"]), int(choice["n"]), str(choice.get("t", ""))
    except (ValueError, KeyError, TypeError):
        reply(respond, NOT_A_COMMITMENT)
        return
    if not 1 <= count <= CHECKIN_MAX:
        reply(respond, f"The count must be a whole number from 1 to {CHECKIN_MAX}.")
        return
    _check_in(context, client, body, commitment_id, count, note[:NOTE_MAX], "command", respond)


@subcommand("pause", "resume")
def pause_or_resume(call: Call) -> None:
    rep_id, args = call.user_id, call.args
    if args and args[0].startswith(("<", "@")):
        rep, problem = resolve_mention(call.client, args[0], call.team_id)
        if rep is None:
            call.reply(problem or "")
            return
        rep_id, args = rep.id, args[1:]
    until = None
    if call.name == "pause":
        if len(args) != 1:
            call.reply(PAUSE_USAGE)
            return
        try:
            until = date.fromisoformat(args[0])
        except ValueError:
            call.reply(f"`{escape_mrkdwn(truncate(args[0], 20))}` isn't a date like 2026-12-24. {PAUSE_USAGE}")
            return
        if problem := flows.pause_problem(until, call.ctx.clock().date()):
            call.reply(problem)
            return
    elif args:
        call.reply(PAUSE_USAGE)
        return
    call.reply(flows.apply_pause(call.ctx, call.client, call.team_id, call.user_id, rep_id, until))


def open_pause(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond, context: BoltContext) -> None:
    ack()
    rep_id = str(body["actions"][0].get("value", ""))
    if not USER_ID_IN_TEXT.fullmatch(rep_id):
        reply(respond, "That button doesn't say whose nudges to pause.")
        return
    team_id, caller = ids(context)
    today = flows.pause_form_day(app_context(context), client, team_id, caller, rep_id)
    if isinstance(today, str):
        reply(respond, today)
        return
    open_modal(client, body["trigger_id"], pause_modal(rep_id, today), respond, caller)


def pause_submitted(ack: Ack, view: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    ctx = app_context(context)
    rep_id = str(view_metadata(view).get("rep", ""))
    try:
        until: date | None = date.fromisoformat(str(view_value(view, "until")))
    except ValueError:
        until = None
    if problem := flows.pause_problem(until, ctx.clock().date()):
        ack(response_action="errors", errors={"until": problem})
        return
    ack()
    team_id, caller = ids(context)
    try_dm(client, caller, flows.apply_pause(ctx, client, team_id, caller, rep_id, until))


def register(app: Listeners) -> None:
    app.action(Action.CHECKIN_LOG)(log_one)
    for action_id, form in (
        (Action.CHECKIN_NOTE_OPEN, Form.CHECKIN_NOTE),
        (Action.BLOCKED_OPEN, Form.BLOCKED),
        (Action.REFLECTION_OPEN, Form.REFLECTION),
    ):
        assert form in NOTE_FORMS
        app.action(action_id)(_note_form_opener(form))
    app.view(Form.CHECKIN_NOTE)(note_submitted)
    app.view(Form.BLOCKED)(blocked_submitted)
    app.view(Form.REFLECTION)(reflection_submitted)
    app.command(CHECKIN_COMMAND)(checkin_command)
    app.action(Action.CHECKIN_PICK)(pick_commitment)
    app.action(Action.PAUSE_OPEN)(open_pause)
    app.view(Form.PAUSE)(pause_submitted)
