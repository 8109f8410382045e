"""30/60/90 plans as use cases: draft the form, start the plan (once), check a milestone off (once).

Who may: the rep's manager or an admin drafts and starts a plan; the rep or their manager (or an
admin) checks a step off. Slack is asked only between transactions.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.context import AppContext
from bot.onboarding import service, views
from bot.onboarding.rules import PLAN_DAYS, MilestoneDraft, counted, draft_plan, plan_day
from bot.practice.schedule import local_today, zone_for
from bot.roster.access import in_workspace, may_coach
from bot.slack import Message, View
from bot.slack.delivery import NotSent, OutcomeUnknown, dm_once, failure_reason
from bot.slack.text import escape_mrkdwn, truncate
from bot.slack.users import coachable_problem, fetch_user
from bot.team.home import refresh_home
from storage import queries
from storage.db import session_scope
from storage.models import Person

log = logging.getLogger("coachbot.onboarding")
NOT_YOURS = "Only a rep's manager or a Coachbot admin can set up their onboarding plan."


def _phase_names(ctx: AppContext) -> list[str]:
    return [phase.name for phase in ctx.playbook.onboarding.phases]


def plan_form(ctx: AppContext, client: WebClient, team_id: str, caller: str, rep_id: str) -> View | str:
    """The plan form, drafted from the playbook and the hire's wiring; or why there is none to draft."""
    with ctx.session() as session:
        person = queries.get_person(session, team_id, rep_id)
        plan = service.plan_of(session, team_id, person.id) if person and person.id else None
        profile = queries.latest_profile(session, team_id, person.id) if person and person.id else None
    if not may_coach(ctx.settings, client, caller, person, team_id):
        return NOT_YOURS
    if person is None:
        return f"<@{rep_id}> isn't on the Coachbot roster yet."
    if plan is not None:
        return f"<@{rep_id}> already has a plan (started {plan.start_date.isoformat()}); it is in their Home tab."
    if person.start_date is None:
        return f"<@{rep_id}> has no start date on record. Add it with the roster import (`start_date`), then try again."
    if plan_day(person.start_date, ctx.clock().date()) > PLAN_DAYS:
        return f"<@{rep_id}> started more than 90 days ago, so they are past onboarding."
    drafts = draft_plan(ctx.playbook, profile.archetype if profile else None, list(profile.gaps) if profile else [])
    return views.plan_modal(rep_id, person.start_date, drafts, _phase_names(ctx))


def _steps(ctx: AppContext, team_id: str, plan_id: int) -> list[views.Step]:
    with ctx.session() as session:
        rows = service.milestones_of(session, team_id, plan_id)
        counting = service.counting_of(session, team_id, [m.id for m in rows if m.id is not None])
    return [
        views.Step(m.id or 0, m.phase, m.title, m.due_day, m.done_at is not None, counting.get(m.id or 0)) for m in rows
    ]


def _plan_message(ctx: AppContext, team_id: str, person: Person, manager_id: str, plan_id: int) -> Message:
    assert person.start_date is not None
    day = plan_day(person.start_date, ctx.clock().date())
    steps = _steps(ctx, team_id, plan_id)
    return views.plan_message(person.slack_user_id, manager_id, day, steps, _phase_names(ctx))


def start_plan(
    ctx: AppContext, client: WebClient, team_id: str, caller: str, rep_id: str, drafts: list[MilestoneDraft], key: str
) -> str | None:
    """Store the plan once and send it to the rep; the answer for the manager (None for a repeated form)."""
    with ctx.session() as session:
        person = queries.get_person(session, team_id, rep_id)
        profile = queries.latest_profile(session, team_id, person.id) if person and person.id else None
    if not may_coach(ctx.settings, client, caller, person, team_id):
        return NOT_YOURS
    if person is None or person.start_date is None:
        return f"<@{rep_id}> has no start date on record any more, so no plan was started."
    if plan_day(person.start_date, ctx.clock().date()) > PLAN_DAYS:
        return f"<@{rep_id}> started more than 90 days ago, so no plan was started."
    if problem := coachable_problem(fetch_user(client, rep_id), team_id, f"<@{rep_id}>"):
        return f"No plan was started: {problem}"
    now = ctx.clock()
    terms = service.BehaviorTerms(ctx.playbook.onboarding.practice_format, ctx.playbook.onboarding.evidence)
    today = local_today(now, zone_for(person.tz, ctx.settings.default_tz))
    with session_scope(ctx.engine) as session:
        archetype = profile.archetype if profile else None
        made = service.create_plan(
            session, team_id, person, caller, person.start_date, archetype, drafts, key, terms, (today, now)
        )
    plan_id = made.plan.id
    assert plan_id is not None
    if not made.created:
        return None if made.plan.submission_key == key[:64] else f"<@{rep_id}> already has a plan; nothing changed."
    message = _plan_message(ctx, team_id, person, caller, plan_id)
    note = ""
    try:
        dm_once(client, rep_id, message, f"plan:{team_id}:{plan_id}")
    except (SlackApiError, NotSent, OutcomeUnknown) as exc:
        log.warning("plan DM not confirmed team=%s plan=%s error=%s", team_id, plan_id, failure_reason(exc))
        note = " I couldn't confirm the DM reached them; the plan is in their Home tab either way."
    refresh_home(ctx, client, team_id, rep_id)
    refresh_home(ctx, client, team_id, caller)
    behaviors = sum(counted(d.title)[0] is not None for d in drafts)
    measured = f" {behaviors} of them are counted by check-ins, like any commitment." if behaviors else ""
    return f"Started <@{rep_id}>'s 30/60/90 plan with {len(drafts)} milestones.{measured}{note}"


@dataclass(frozen=True)
class Checked:
    """What to tell the person; the plan redrawn; `done` when this click checked the step off."""

    text: str
    redrawn: Message | None = None
    done: bool = False


def milestone_done(ctx: AppContext, client: WebClient, team_id: str, user_id: str, milestone_id: int) -> Checked:
    """Check a step off once; the rep, their manager or an admin may."""
    with ctx.session() as session:
        found = service.milestone_owner(session, team_id, milestone_id)
        counting = service.counting_of(session, team_id, [milestone_id]).get(milestone_id)
    if found is None:
        return Checked("I couldn't find that step any more.")
    milestone, plan, person = found
    if user_id == person.slack_user_id:
        allowed = in_workspace(fetch_user(client, user_id), team_id)
    else:
        allowed = may_coach(ctx.settings, client, user_id, person, team_id)
    if not allowed:
        return Checked("Only the rep, their manager or a Coachbot admin can check off this plan's steps.")
    if counting is not None and counting.status in ("active", service.WAITING):
        return Checked(
            "This step is counted by check-ins: it is checked off by itself when its window closes with "
            f"the count reached ({counting.logged} of {counting.target} so far)."
        )
    with session_scope(ctx.engine) as session:
        changed = service.check_off(session, team_id, milestone_id, user_id, ctx.clock())
    assert plan.id is not None
    redrawn = _plan_message(ctx, team_id, person, plan.manager_user_id, plan.id)
    for who in {person.slack_user_id, plan.manager_user_id}:
        refresh_home(ctx, client, team_id, who)
    title = escape_mrkdwn(truncate(milestone.title, 80))
    return Checked(f"Done: {title}." if changed else f"That step was already checked off: {title}.", redrawn, changed)
