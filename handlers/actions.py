"""Button clicks. Ack first, then act; a click that no longer applies gets a clear answer."""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot import render, roster_service
from bot.context import AppContext
from bot.slack_users import fetch_user
from handlers.common import Respond, body_team, int_or_none, reply, try_dm
from storage import queries
from storage.db import session_scope


def register(app: App, ctx: AppContext) -> None:
    def decide(body: dict[str, Any], client: WebClient, respond: Respond, accept: bool) -> None:
        team_id, rep_id = body_team(body), body["user"]["id"]
        request_id = int_or_none(body["actions"][0].get("value"))
        if request_id is None:
            reply(respond, "That button doesn't carry a request I understand.")
            return
        rep = fetch_user(client, rep_id)
        if rep is None:
            return
        with session_scope(ctx.engine) as session:
            req_manager = None
            if accept:
                req = queries.get_request(session, team_id, request_id)
                req_manager = fetch_user(client, req.manager_user_id) if req else None
            decision = roster_service.decide_request(session, team_id, request_id, rep, req_manager, accept)
        if not decision.ok:
            reply(respond, decision.message)
            return
        respond(replace_original=True, **render.text_message(decision.message))
        if decision.manager_user_id:  # best effort: the decision stands; the manager sees it in /coach team
            verb = "accepted" if accept else "declined"
            try_dm(client, decision.manager_user_id, f"<@{rep_id}> {verb} your coaching request.")

    @app.action("manager_request_accept")
    def accept(ack: Any, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        decide(body, client, respond, accept=True)

    @app.action("manager_request_decline")
    def decline(ack: Any, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        decide(body, client, respond, accept=False)
