"""Button clicks. Ack first, then act; a click that no longer applies gets a clear answer."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.context import AppContext
from bot.roster import service as roster_service
from bot.roster import views as render
from bot.slack.delivery import NotSent, OutcomeUnknown, dm_once, failure_reason
from bot.slack.users import coachable_problem, fetch_user
from handlers.common import Respond, body_team, int_or_none, is_own_member, replace_original, reply
from storage import queries
from storage.db import session_scope

log = logging.getLogger("coachbot.actions")


def register(app: App, ctx: AppContext) -> None:
    def decide(body: dict[str, Any], client: WebClient, respond: Respond, accept: bool) -> None:
        team_id, rep_id = body_team(body), body["user"]["id"]
        request_id = int_or_none(body["actions"][0].get("value"))
        if request_id is None:
            reply(respond, "That button doesn't carry a request I understand.")
            return
        rep = fetch_user(client, rep_id)
        if rep is None or not is_own_member(client, body, rep_id, team_id):
            reply(respond, "Only people in this workspace can answer coaching requests here.")
            return
        with ctx.session() as session:
            req = queries.find_request(session, team_id, request_id)
            manager_id = req.manager_user_id if req else None
        req_manager = fetch_user(client, manager_id) if accept and manager_id else None
        if req_manager is not None and coachable_problem(req_manager, team_id):
            req_manager = None
        with session_scope(ctx.engine) as session:
            decision = roster_service.decide_request(session, team_id, request_id, rep, req_manager, accept)
        if not decision.ok:
            reply(respond, decision.message)
            return
        replace_original(respond, render.text_message(decision.message))
        if decision.manager_user_id:  # the decision stands; the manager also sees it in /coach team
            verb = "accepted" if accept else "declined"
            message = render.text_message(f"<@{rep_id}> {verb} your coaching request.")
            try:
                dm_once(client, decision.manager_user_id, message, f"decision:{team_id}:{request_id}")
            except (SlackApiError, NotSent, OutcomeUnknown) as exc:
                log.warning("decision not confirmed to the manager error=%s", failure_reason(exc))

    @app.action("manager_request_accept")
    def accept(ack: Any, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        decide(body, client, respond, accept=True)

    @app.action("manager_request_decline")
    def decline(ack: Any, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        decide(body, client, respond, accept=False)
