"""Who manages whom, as use cases: ask to manage a rep, answer that request, assign (admins), and
show a wiring card or a team. Slack is asked only between transactions."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.context import AppContext
from bot.roster import service as roster_service
from bot.roster import views
from bot.roster.access import NOT_ALLOWED, can_view_rep, in_workspace, is_admin, is_own_member
from bot.slack import Message
from bot.slack.delivery import NotSent, OutcomeUnknown, dm_once, failure_reason
from bot.slack.users import SlackUser, coachable_problem, fetch_user
from storage import queries
from storage.db import session_scope

log = logging.getLogger("coachbot.actions")


def wiring_card(ctx: AppContext, client: WebClient, team_id: str, caller: str, rep_id: str) -> Message | str:
    """The rep's wiring card for the rep, their manager or an admin; otherwise why not."""
    with ctx.session() as session:
        person = queries.get_person(session, team_id, rep_id)
        card = roster_service.load_wiring_card(session, team_id, rep_id)
    me = fetch_user(client, caller)
    allowed = in_workspace(me, team_id) and (
        can_view_rep(caller, person, viewer_is_admin=False) or is_admin(ctx.settings, me, caller, team_id)
    )
    if not allowed:
        return NOT_ALLOWED
    if card is None:
        return (
            f"<@{rep_id}> isn't on the Coachbot roster yet. An admin can add them with "
            "`coachbot import` or `/coach assign`."
        )
    return views.wiring_card(card, ctx.playbook, ctx.clock().date())


def team_list(ctx: AppContext, team_id: str, manager_id: str) -> Message:
    with ctx.session() as session:
        reps = roster_service.team_of(session, team_id, manager_id)
    return views.team_list(manager_id, reps, ctx.playbook)


def request_to_manage(ctx: AppContext, client: WebClient, team_id: str, manager: SlackUser, rep: SlackUser) -> str:
    """Ask the rep (by DM, once) to accept the manager; returns the answer for the manager."""
    with session_scope(ctx.engine) as session:
        person = queries.get_person(session, team_id, rep.id)
        already = person is not None and person.manager_user_id == manager.id
        outcome = None if already else roster_service.request_to_manage(session, team_id, manager, rep)
    if outcome is None:
        return f"You already coach <@{rep.id}>."
    if not outcome.created:
        return f"You already asked <@{rep.id}>; they haven't answered yet."
    message = views.manager_request_dm(outcome.request_id, manager.id, outcome.current_manager)
    try:
        dm_once(client, rep.id, message, f"request:{team_id}:{outcome.request_id}")
    except (SlackApiError, NotSent) as exc:
        with session_scope(ctx.engine) as session:
            roster_service.withdraw_request(session, team_id, outcome.request_id)
        return f"I couldn't send <@{rep.id}> a direct message ({failure_reason(exc)}), so I didn't create the request."
    except OutcomeUnknown:
        return f"I've asked <@{rep.id}>, but Slack did not confirm the message arrived. Check with them."
    return f"I've asked <@{rep.id}> to accept you as their manager. I'll let you know their answer."


def assign(ctx: AppContext, team_id: str, rep: SlackUser, manager: SlackUser) -> str | None:
    """Make `manager` the rep's manager; returns the previous manager, if another."""
    with session_scope(ctx.engine) as session:
        previous = roster_service.set_manager(session, team_id, rep, manager)
    return previous if previous and previous != manager.id else None


def decide(
    ctx: AppContext,
    client: WebClient,
    body: dict[str, Any],
    team_id: str,
    rep_id: str,
    request_id: int,
    accept: bool,
) -> roster_service.Decision:
    """The rep accepts or declines a manager's request; the manager is told once."""
    rep = fetch_user(client, rep_id)
    if rep is None or not is_own_member(client, body, rep_id, team_id):
        return roster_service.Decision(False, "Only people in this workspace can answer coaching requests here.")
    with ctx.session() as session:
        req = queries.find_request(session, team_id, request_id)
        manager_id = req.manager_user_id if req else None
    req_manager = fetch_user(client, manager_id) if accept and manager_id else None
    if req_manager is not None and coachable_problem(req_manager, team_id):
        req_manager = None
    with session_scope(ctx.engine) as session:
        decision = roster_service.decide_request(session, team_id, request_id, rep, req_manager, accept)
    if decision.ok and decision.manager_user_id:  # the decision stands; the manager also sees it in /coach team
        verb = "accepted" if accept else "declined"
        message = views.text_message(f"<@{rep_id}> {verb} your coaching request.")
        try:
            dm_once(client, decision.manager_user_id, message, f"decision:{team_id}:{request_id}")
        except (SlackApiError, NotSent, OutcomeUnknown) as exc:
            log.warning("decision not confirmed to the manager error=%s", failure_reason(exc))
    return decision


def update_person(ctx: AppContext, team_id: str, user: SlackUser) -> None:
    """Keep a person's time zone, name and deactivation current (reminders follow the rep's zone)."""
    with session_scope(ctx.engine) as session:
        queries.update_person_from_slack(session, team_id, user.id, user.tz, user.name, user.deleted)


def deactivate_workspace(ctx: AppContext, team_id: str) -> bool:
    """Stop all sending for a workspace (uninstalled, or its token revoked); False if it already was."""
    with session_scope(ctx.engine) as session:
        changed = queries.deactivate_workspace(session, team_id)
    ctx.known_active_teams.discard(team_id)
    return changed
