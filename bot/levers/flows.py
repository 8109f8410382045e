"""The levers as use cases: import a metrics file, and show a manager their team's make-up and their
reps' coached behaviors beside the numbers, or an admin the whole organisation.

Who may: a manager sees their own reps (by name); an admin of this workspace sees the organisation,
where no figure covers fewer than five people and no rep is named. Slack is asked (who the caller
is) outside any transaction."""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.context import AppContext
from bot.levers import fitrisk_views, service, views
from bot.levers.composition import Member, compose
from bot.levers.facts import facts_of
from bot.levers.fitrisk import ORG, Answers, compare, prefill, score
from bot.levers.lagging import trend
from bot.levers.metrics_file import LAYOUT, check_rows
from bot.levers.retention import MIN_GROUP, retention
from bot.playbook.models import Playbook
from bot.roster.access import NOT_ALLOWED, in_workspace, is_admin
from bot.roster.import_rows import read_rows
from bot.slack import Message, View
from bot.slack.delivery import NotSent, OutcomeUnknown, dm_once, failure_reason
from bot.slack.users import fetch_user
from storage.db import session_scope

log = logging.getLogger("coachbot.levers")
NOT_ADMIN = "Only Coachbot admins can see the whole organisation. `/coach mix` shows your own team."
NO_REPS = "You have no reps on the Coachbot roster yet, so there is no team to show."
IMPORT_ATTEMPTS = 3  # a file whose rows an import alongside keeps storing first is checked this often
TREND_WINDOWS = 3  # four-week windows in the team trend: the last twelve weeks


def import_metrics(engine: Engine, team_id: str, path: str, now: datetime, dry_run: bool = False) -> service.Stored:
    """Check the whole file against this workspace's roster, then store it in one transaction (or,
    for a dry run, count what would change). Problems raise ImportRejected; nothing is kept then."""
    raw = read_rows(path, LAYOUT)
    for _ in range(IMPORT_ATTEMPTS - 1):
        try:
            return _store_file(engine, team_id, raw, now, dry_run)
        except IntegrityError:  # an import running alongside stored the same rows first: count again
            continue
    return _store_file(engine, team_id, raw, now, dry_run)


def _store_file(
    engine: Engine, team_id: str, raw: list[dict[str, Any]], now: datetime, dry_run: bool
) -> service.Stored:
    with session_scope(engine) as session:
        rows = check_rows(raw, service.resolver(session, team_id), now.date())
        stored = service.store_metrics(session, team_id, rows, now)
        if dry_run:
            session.rollback()
    return stored


def _caller(ctx: AppContext, client: WebClient, team_id: str, caller: str) -> tuple[bool, bool]:
    """(of this workspace, admin of it), from Slack's record of the caller: a deactivated account or a
    bot (even one named in COACHBOT_ADMINS, or flagged admin by Slack) is neither."""
    user = fetch_user(client, caller)
    if user is None or user.deleted or user.is_bot:
        return False, False
    return in_workspace(user, team_id), is_admin(ctx.settings, user, caller, team_id)


def team_view(ctx: AppContext, client: WebClient, team_id: str, caller: str) -> Message | str:
    """The caller's own team: mix, seats, mismatches by name, DNA spread, span and the next hire."""
    member, _ = _caller(ctx, client, team_id, caller)
    if not member:
        return NOT_ALLOWED
    with ctx.session() as session:
        reps = [r.member for r in service.active_reps(service.load_roster(session, team_id), caller)]
    if not reps:
        return NO_REPS
    return views.team_message("Your team's make-up", compose(ctx.playbook, reps, manager_reps=len(reps)), named=True)


def org_view(ctx: AppContext, client: WebClient, team_id: str, caller: str) -> Message | str:
    """Every team and the organisation as a whole, plus retention groups of five or more (admins)."""
    _, admin = _caller(ctx, client, team_id, caller)
    if not admin:
        return NOT_ADMIN
    with ctx.session() as session:
        report = org_report(session, ctx.playbook, team_id, ctx.clock().date())
    return report or "Nobody is on the Coachbot roster yet. Import it with `coachbot import FILE`."


def org_report(session: Session, playbook: Playbook, team_id: str, today: date) -> Message | None:
    """The org view's message (None with nobody on the roster): six column queries however large."""
    roster = service.load_roster(session, team_id)
    everyone = service.active_reps(roster)
    if not everyone:
        return None
    tenures = service.tenures(session, playbook, team_id, roster)
    names = service.manager_names(roster)
    records = service.records(session, team_id, everyone, today)
    by_manager: dict[str, list[Member]] = {}
    for rep in everyone:
        by_manager.setdefault(rep.manager or "", []).append(rep.member)
    rows = [
        views.TeamRow(names.get(m) or (f"<@{m}>" if m else "no manager"), compose(playbook, reps, len(reps)))
        for m, reps in sorted(by_manager.items(), key=lambda kv: (names.get(kv[0]) or kv[0]).casefold())
    ]
    org = compose(playbook, [rep.member for rep in everyone])
    with_figures = [r for r in records.values() if r.figures]
    org_trend = trend(with_figures, today) if len(with_figures) >= MIN_GROUP else []
    return views.org_message(rows, org, retention(tenures, today), org_trend)


def numbers_view(ctx: AppContext, client: WebClient, team_id: str, caller: str) -> Message | str:
    """The caller's reps: coached behaviors (commitments met) beside the imported numbers, with the
    reading for each, and the team's trend."""
    member, _ = _caller(ctx, client, team_id, caller)
    if not member:
        return NOT_ALLOWED
    today = ctx.clock().date()
    with ctx.session() as session:
        people = service.active_reps(service.load_roster(session, team_id), caller)
        if not people:
            return NO_REPS
        if not service.has_metrics(session, team_id):
            return (
                "No numbers have been imported yet. An admin loads quota attainment and pipeline figures with "
                "`coachbot import-metrics FILE` (see the README)."
            )
        records = service.records(session, team_id, people, today)
    return views.numbers_message(list(records.values()), today, ctx.playbook.lagging)


# --- the Fit Risk Diagnostic -------------------------------------------------------------------------

NOT_YOUR_DIAGNOSTIC = (
    "The Fit Risk Diagnostic is for a manager's own team, or for the whole organisation (admins: `/coach fitrisk org`)."
)


def fitrisk_form(ctx: AppContext, client: WebClient, team_id: str, caller: str, org: bool) -> View | str:
    """The ten questions, pre-filled from the caller's team (a manager) or the organisation (an admin
    asking for `org`, or an admin without reps of their own)."""
    member, admin = _caller(ctx, client, team_id, caller)
    if not member:
        return NOT_ALLOWED
    today = ctx.clock().date()
    with ctx.session() as session:
        own = service.active_reps(service.load_roster(session, team_id), caller)
        if org or (admin and not own):
            if not admin:
                return NOT_ADMIN
            scope, facts = ORG, facts_of(session, team_id, None, today)
        elif own:
            scope, facts = caller, facts_of(session, team_id, caller, today)
        else:
            return NO_REPS
    return fitrisk_views.fitrisk_modal(ctx.playbook, prefill(ctx.playbook, facts), scope)


def fitrisk_result(
    ctx: AppContext, client: WebClient, team_id: str, caller: str, scope: str, answers: Answers, key: str
) -> str | None:
    """Score and keep the run once (per form), then DM the result with the change since the last run
    of the same scope. Returns a problem to tell the caller, or None."""
    member, admin = _caller(ctx, client, team_id, caller)
    if not member or (scope == ORG and not admin) or scope not in (ORG, caller):
        return NOT_YOUR_DIAGNOSTIC
    result = score(ctx.playbook, answers.values)
    with session_scope(ctx.engine) as session:
        run, previous = service.record_run(session, team_id, scope, caller, answers, result, key, ctx.clock())
    if run is None:
        return None  # the same form again: its result went out the first time
    message = fitrisk_views.result_message(result, compare(previous, result), scope)
    try:
        dm_once(client, caller, message, f"fitrisk:{team_id}:{run}")
    except (SlackApiError, NotSent, OutcomeUnknown) as exc:
        log.warning("fit risk result not confirmed team=%s run=%s error=%s", team_id, run, failure_reason(exc))
    return None
