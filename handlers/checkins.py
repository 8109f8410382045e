"""Check-in buttons on the rep's commitment DM, and pausing a rep's nudges."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import coaching_service as svc
from bot import render_coaching as rc
from bot.context import AppContext
from bot.text import USER_ID_IN_TEXT
from handlers.common import Respond, body_team, int_or_none, may_coach, reply, try_dm, view_metadata, view_value
from handlers.diagnose import FORM_FAILED, NOT_YOUR_REP
from storage import queries
from storage.db import session_scope
from storage.models import Person

PAUSE_MAX_DAYS = 180


def register(app: App, ctx: AppContext) -> None:
    @app.action("checkin_log")
    def checkin_log(ack: Any, body: dict[str, Any], respond: Respond) -> None:
        ack()
        team_id, user_id = body_team(body), body["user"]["id"]
        commitment_id = int_or_none(body["actions"][0].get("value"))
        if commitment_id is None:
            reply(respond, "That button doesn't point at a commitment I know.")
            return
        with session_scope(ctx.engine) as session:
            result = svc.log_check_in(session, team_id, commitment_id, user_id, 1, "", "button", ctx.clock().date())
            if not result.ok:
                reply(respond, result.message)
                return
            commitment = svc.get_commitment(session, team_id, commitment_id)
            person = session.get(Person, commitment.person_id) if commitment else None
            wiring, _ = svc.wiring_of(session, team_id, person)
        assert commitment is not None
        archetype = ctx.playbook.archetypes.get(wiring.archetype or "")
        gap = ctx.playbook.gaps.get(commitment.gap)
        message = rc.commitment_dm(
            commitment,
            commitment.manager_user_id,
            archetype.first_practice_step if archetype else None,
            gap.drill_for(wiring.archetype) if gap else None,
            result.logged,
            ctx.playbook,
        )
        respond(replace_original=True, **message)
        done = " That's the target. Nice work." if result.logged == result.target else ""
        reply(respond, f"Logged. {result.logged} of {result.target} so far.{done}")

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
        if caller != rep_id and not may_coach(ctx, client, caller, person):
            reply(respond, NOT_YOUR_REP)
            return
        try:
            client.views_open(trigger_id=body["trigger_id"], view=rc.pause_modal(rep_id, ctx.clock().date()))
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
        if until is None or until <= today:
            ack(response_action="errors", errors={"until": "Pick a date after today."})
            return
        if until > today + timedelta(days=PAUSE_MAX_DAYS):
            ack(response_action="errors", errors={"until": f"Pause for at most {PAUSE_MAX_DAYS} days at a time."})
            return
        ack()
        team_id, caller = body_team(body), body["user"]["id"]
        with session_scope(ctx.engine) as session:
            person = queries.get_person(session, team_id, rep_id) if USER_ID_IN_TEXT.fullmatch(rep_id) else None
            if person is None or (caller != rep_id and not may_coach(ctx, client, caller, person)):
                try_dm(client, caller, NOT_YOUR_REP)
                return
            svc.pause_nudges(session, team_id, rep_id, until)
        try_dm(client, caller, f"Practice nudges for <@{rep_id}> are paused until {until.isoformat()}.")
