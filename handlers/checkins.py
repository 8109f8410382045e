"""The rep's side of the week: check-ins (button, note, /checkin), "I'm blocked", reflections, pauses."""

from __future__ import annotations

import json
import logging
import re
from datetime import date, timedelta
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.coaching import service as svc
from bot.coaching import views as rc
from bot.context import AppContext
from bot.practice.schedule import local_today, zone_for
from bot.roster.access import in_workspace
from bot.roster.views import text_message
from bot.slack.delivery import NotSent, OutcomeUnknown, dm_once, failure_reason
from bot.slack.text import MAX_COMMAND_TEXT, USER_ID_IN_TEXT, escape_mrkdwn, truncate
from bot.slack.users import fetch_user
from bot.team.home import refresh_home
from handlers.common import (
    Respond,
    body_team,
    int_or_none,
    is_own_member,
    may_coach,
    replace_original,
    reply,
    try_dm,
    view_metadata,
    view_value,
)
from handlers.diagnose import FORM_FAILED
from storage import queries
from storage.db import session_scope
from storage.models import Person

log = logging.getLogger("coachbot.checkins")
PAUSE_MAX_DAYS = 180
NOT_MAY_PAUSE = "Only the rep, their manager or a Coachbot admin can pause or resume a rep's practice nudges."
CHECKIN_MAX = 20
NOTE_MAX = 500
COUNT_RE = re.compile(r"^\s*(-?\d+)\b\s*(.*)$", re.S)


def register(app: App, ctx: AppContext) -> None:
    def log_and_answer(
        body: dict[str, Any],
        team_id: str,
        user_id: str,
        commitment_id: int,
        count: int,
        note: str,
        source: str,
        respond: Respond | None,
        client: WebClient,
        container_ts: str | None = None,
    ) -> None:
        if not is_own_member(client, body, user_id, team_id):
            answer(respond, client, user_id, "Check-ins are for reps of this workspace.")
            return
        with session_scope(ctx.engine) as session:
            result = svc.log_check_in(
                session, team_id, commitment_id, user_id, count, note, source, ctx.clock(), ctx.settings.default_tz
            )
            commitment = svc.get_commitment(session, team_id, commitment_id) if result.ok else None
            person = session.get(Person, commitment.person_id) if commitment else None
            wiring, _ = svc.wiring_of(session, team_id, person)
        if not result.ok or commitment is None:
            answer(respond, client, user_id, result.message)
            return
        if respond is not None and container_ts and container_ts == commitment.dm_ts:
            archetype = ctx.playbook.archetypes.get(wiring.archetype or "")
            gap = ctx.playbook.gaps.get(commitment.gap)
            replace_original(
                respond,
                rc.commitment_dm(
                    commitment,
                    commitment.manager_user_id,
                    archetype.first_practice_step if archetype else None,
                    gap.drill_for(wiring.archetype) if gap else None,
                    result.logged,
                    ctx.playbook,
                ),
            )
        done = " That's the target. Nice work." if result.logged >= result.target > result.logged - count else ""
        answer(respond, client, user_id, f"Logged {count}. {result.logged} of {result.target} so far.{done}")
        refresh_home(ctx, client, team_id, user_id)
        refresh_home(ctx, client, team_id, commitment.manager_user_id)

    def answer(respond: Respond | None, client: WebClient, user_id: str, text: str) -> None:
        if respond is not None:
            reply(respond, text)
        else:
            try_dm(client, user_id, text)

    @app.action("checkin_log")
    def checkin_log(ack: Any, body: dict[str, Any], respond: Respond, client: WebClient) -> None:
        ack()
        commitment_id = int_or_none(body["actions"][0].get("value"))
        if commitment_id is None:
            reply(respond, "That button doesn't point at a commitment I know.")
            return
        log_and_answer(
            body,
            body_team(body),
            body["user"]["id"],
            commitment_id,
            1,
            "",
            "button",
            respond,
            client,
            (body.get("container") or {}).get("message_ts"),
        )

    def open_note_modal(body: dict[str, Any], client: WebClient, respond: Respond, callback_id: str) -> None:
        commitment_id = int_or_none(body["actions"][0].get("value"))
        if commitment_id is None:
            reply(respond, "That button doesn't point at a commitment I know.")
            return
        with ctx.session() as session:
            commitment = svc.get_commitment(session, body_team(body), commitment_id)
            person = session.get(Person, commitment.person_id) if commitment else None
        if person is None or person.slack_user_id != body["user"]["id"]:
            reply(respond, "That commitment isn't yours to log against.")
            return
        try:
            client.views_open(trigger_id=body["trigger_id"], view=rc.note_modal(commitment_id, callback_id))
        except SlackApiError as exc:
            reply(respond, FORM_FAILED.format(error=exc.response.get("error")))

    def note_form_opener(callback_id: str) -> Any:
        def open_form(ack: Any, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
            ack()
            open_note_modal(body, client, respond, callback_id)

        open_form.__name__ = f"open_{callback_id}"
        return open_form

    for action_id, callback_id in (
        ("checkin_note_open", "checkin_note"),
        ("blocked_open", "blocked"),
        ("reflection_open", "reflection"),
    ):
        app.action(action_id)(note_form_opener(callback_id))

    @app.view("checkin_note")
    def on_checkin_note(ack: Any, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
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
            log_and_answer(body, body_team(body), body["user"]["id"], commitment_id, count, note, "note", None, client)

    @app.view("blocked")
    def on_blocked(ack: Any, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        reason = (view_value(view, "note") or "").strip()
        if not 3 <= len(reason) <= NOTE_MAX:
            ack(response_action="errors", errors={"note": "Say in a few words what is in the way (under 500)."})
            return
        ack()
        team_id, user_id = body_team(body), body["user"]["id"]
        commitment_id = int_or_none(view_metadata(view).get("commitment"))
        if not is_own_member(client, body, user_id, team_id):
            try_dm(client, user_id, "Check-ins are for reps of this workspace.")
            return
        with session_scope(ctx.engine) as session:
            result = svc.log_check_in(
                session,
                team_id,
                commitment_id or -1,
                user_id,
                0,
                reason,
                "blocked",
                ctx.clock(),
                ctx.settings.default_tz,
            )
            commitment = svc.get_commitment(session, team_id, commitment_id or -1)
        if not result.ok or commitment is None:
            try_dm(client, user_id, result.message)
            return
        told = (
            f"<@{user_id}> is blocked on “{escape_mrkdwn(truncate(commitment.behavior, 200))}”: "
            f"{escape_mrkdwn(reason)}"
        )
        try:
            dm_once(client, commitment.manager_user_id, text_message(told), f"blocked:{team_id}:{result.check_in_id}")
        except (SlackApiError, NotSent, OutcomeUnknown) as exc:
            log.warning("blocked reason not confirmed to the manager error=%s", failure_reason(exc))
            try_dm(client, user_id, "I saved what's in the way, but I couldn't confirm your manager got it.")
            return
        try_dm(client, user_id, "Thanks. I've told your manager what's in the way.")

    @app.view("reflection")
    def on_reflection(ack: Any, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        text = (view_value(view, "note") or "").strip()
        if not 3 <= len(text) <= NOTE_MAX:
            ack(response_action="errors", errors={"note": "A sentence or two, under 500 characters."})
            return
        ack()
        team_id, user_id = body_team(body), body["user"]["id"]
        with session_scope(ctx.engine) as session:
            saved = svc.set_reflection(
                session, team_id, int_or_none(view_metadata(view).get("commitment")) or -1, user_id, text
            )
        try_dm(
            client,
            user_id,
            "Reflection saved. Bring it to your next 1:1."
            if saved
            else "I couldn't find that commitment, so nothing was saved.",
        )

    @app.command("/checkin")
    def checkin_command(ack: Any, command: dict[str, Any], respond: Respond, client: WebClient) -> None:
        ack()
        team_id, user_id = command["team_id"], command["user_id"]
        text = (command.get("text") or "").strip()
        if len(text) > MAX_COMMAND_TEXT:
            reply(respond, f"That's too long for me ({len(text)} characters; the limit is {MAX_COMMAND_TEXT}).")
            return
        count, note = 1, text
        match = COUNT_RE.match(text)
        if match:
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
        with ctx.session() as session:
            active = svc.active_commitments_of(session, team_id, user_id)
        if not active:
            reply(
                respond,
                "You don't have an active commitment to log against. Your manager sets one up with `/diagnose`.",
            )
            return
        if len(active) > 1:
            reply(respond, rc.pick_commitment_message([(c.id or 0, c.behavior) for c in active], count, note))
            return
        log_and_answer(command, team_id, user_id, active[0].id or 0, count, note, "command", respond, client)

    @app.action("checkin_pick")
    def checkin_pick(ack: Any, body: dict[str, Any], respond: Respond, client: WebClient) -> None:
        ack()
        try:
            choice = json.loads(body["actions"][0].get("value") or "")
            commitment_id, count, note = int(choice["c"]), int(choice["n"]), str(choice.get("t", ""))
        except (ValueError, KeyError, TypeError):
            reply(respond, "That button doesn't point at a commitment I know.")
            return
        if not 1 <= count <= CHECKIN_MAX:
            reply(respond, f"The count must be a whole number from 1 to {CHECKIN_MAX}.")
            return
        log_and_answer(
            body, body_team(body), body["user"]["id"], commitment_id, count, note[:NOTE_MAX], "command", respond, client
        )

    @app.action("pause_open")
    def pause_open(ack: Any, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        team_id, caller = body_team(body), body["user"]["id"]
        rep_id = str(body["actions"][0].get("value", ""))
        if not USER_ID_IN_TEXT.fullmatch(rep_id):
            reply(respond, "That button doesn't say whose nudges to pause.")
            return
        with ctx.session() as session:
            person = queries.get_person(session, team_id, rep_id)
        if person is None:
            reply(respond, f"<@{rep_id}> isn't on the Coachbot roster, so there is nothing to pause.")
            return
        if caller != rep_id and not may_coach(ctx, client, caller, person, team_id):
            reply(respond, NOT_MAY_PAUSE)
            return
        today = local_today(ctx.clock(), zone_for(person.tz, ctx.settings.default_tz))
        try:
            client.views_open(trigger_id=body["trigger_id"], view=rc.pause_modal(rep_id, today))
        except SlackApiError as exc:
            reply(respond, FORM_FAILED.format(error=exc.response.get("error")))

    @app.view("pause")
    def on_pause(ack: Any, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        rep_id = str(view_metadata(view).get("rep", ""))
        today = ctx.clock().date()
        try:
            until = date.fromisoformat(str(view_value(view, "until")))
        except ValueError:
            until = None
        if problem := pause_problem(until, today):
            ack(response_action="errors", errors={"until": problem})
            return
        ack()
        team_id, caller = body_team(body), body["user"]["id"]
        text = apply_pause(ctx, client, team_id, caller, rep_id, until)
        try_dm(client, caller, text)


def pause_problem(until: date | None, today: date) -> str | None:
    if until is None or until <= today:
        return "Pick a date after today."
    if until > today + timedelta(days=PAUSE_MAX_DAYS):
        return f"Pause for at most {PAUSE_MAX_DAYS} days at a time."
    return None


def apply_pause(ctx: AppContext, client: WebClient, team_id: str, caller: str, rep_id: str, until: date | None) -> str:
    """Pause or resume a rep's nudges (the rep, their manager or an admin); returns the answer."""
    with ctx.session() as session:
        person = queries.get_person(session, team_id, rep_id) if USER_ID_IN_TEXT.fullmatch(rep_id) else None
    if person is None:
        return NOT_MAY_PAUSE
    if caller == rep_id:
        allowed = in_workspace(fetch_user(client, caller), team_id)
    else:
        allowed = may_coach(ctx, client, caller, person, team_id)
    if not allowed:
        return NOT_MAY_PAUSE
    today = local_today(ctx.clock(), zone_for(person.tz, ctx.settings.default_tz))
    with session_scope(ctx.engine) as session:
        svc.pause_nudges(session, team_id, rep_id, until, today)
    who = "your" if caller == rep_id else f"<@{rep_id}>'s"
    if until is None:
        return f"Practice nudges for {who} commitments are back on."
    return (
        f"Practice nudges for {who} commitments are paused until {until.isoformat()}. "
        "Commitment windows are extended by the paused days, not failed."
    )
