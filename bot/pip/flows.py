"""PIPs as use cases: the readiness check (with a draft button), the draft form, starting the plan
once, and closing it once. Only the rep's manager or an admin may do any of it; the rules are read
again at every step, and Slack is asked only between transactions."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.context import AppContext
from bot.pip import rules, service, views
from bot.pip.rules import OUTCOMES, Readiness, Terms
from bot.roster.access import may_coach
from bot.slack import Message, View
from bot.slack.delivery import NotSent, OutcomeUnknown, dm_once, failure_reason
from bot.slack.text import escape_mrkdwn
from bot.slack.users import coachable_problem, fetch_user
from bot.team.flows import manager_today
from bot.team.home import refresh_home
from storage import queries
from storage.db import session_scope
from storage.models import Person

log = logging.getLogger("coachbot.pip")
NOT_YOURS = "Only a rep's manager or a Coachbot admin can check PIP readiness for them."
NOT_YOURS_TO_WRITE = "Only a rep's manager or a Coachbot admin can write or close a PIP for them."
BUTTON_LOST = "That button doesn't say which rep and gap it is for. Run `/coach pip @rep` again."


def _gap_name(ctx: AppContext, gap: str) -> str:
    return ctx.playbook.gaps[gap].name if gap in ctx.playbook.gaps else gap


def _person(ctx: AppContext, team_id: str, rep_id: str) -> Person | None:
    with ctx.session() as session:
        return queries.get_person(session, team_id, rep_id)


def _running(ctx: AppContext, team_id: str, person: Person) -> views.Card | None:
    assert person.id is not None
    with ctx.session() as session:
        pip = service.active_pip(session, team_id, person.id)
    return service.card(pip, person.slack_user_id, ctx.playbook) if pip else None


def _check(ctx: AppContext, team_id: str, person: Person, gap: str | None) -> Readiness:
    with ctx.session() as session:
        history = service.history_of(session, team_id, person)
    return rules.check(history, ctx.playbook, gap)


def readiness(
    ctx: AppContext, client: WebClient, team_id: str, caller: str, rep_id: str, gap: str | None = None
) -> Message | str:
    """The rule-by-rule readiness check, or why it cannot be shown."""
    person = _person(ctx, team_id, rep_id)
    if not may_coach(ctx.settings, client, caller, person, team_id):
        return NOT_YOURS
    if person is None:
        return f"<@{rep_id}> isn't on the Coachbot roster, so there is no coaching record to check."
    if gap is not None and gap not in ctx.playbook.gaps:
        found = ctx.playbook.find_gap(gap)
        if found is None:
            return f"`{gap[:40]}` isn't a gap in the playbook. Leave it out and I'll pick the stalled one."
        gap = found.key
    return views.readiness_message(rep_id, _check(ctx, team_id, person, gap), _running(ctx, team_id, person))


def _still_ready(ctx: AppContext, client: WebClient, team_id: str, caller: str, rep_id: str, gap: str) -> Person | str:
    """The rep, when the caller may write their PIP and every rule still holds for this gap; else why not."""
    person = _person(ctx, team_id, rep_id)
    if not may_coach(ctx.settings, client, caller, person, team_id):
        return NOT_YOURS_TO_WRITE
    if person is None or gap not in ctx.playbook.gaps:
        return f"<@{rep_id}> isn't on the Coachbot roster any more, so there is no PIP to write."
    if problem := coachable_problem(fetch_user(client, rep_id), team_id, f"<@{rep_id}>"):
        return f"No PIP was written: {problem}"
    if (running := _running(ctx, team_id, person)) is not None:
        gap_name = escape_mrkdwn(running.gap_name)
        return f"<@{rep_id}> already has a PIP running on {gap_name}; close it before starting another."
    result = _check(ctx, team_id, person, gap)
    if not result.ready:
        return (
            f"A PIP for <@{rep_id}> is no longer the honest next step, so I didn't go on. "
            f"{views.NEXT_MOVES[result.move]} Run `/coach pip <@{rep_id}>` to see the rules as they stand."
        )
    return person


def draft_form(ctx: AppContext, client: WebClient, team_id: str, caller: str, value: str) -> View | str:
    """The draft form for the rep and gap on the button, once the readiness rules are read again."""
    rep_id, _, gap = value.partition("|")
    if not rep_id or not gap:
        return BUTTON_LOST
    person = _still_ready(ctx, client, team_id, caller, rep_id, gap)
    if isinstance(person, str):
        return person
    assert person.id is not None
    with ctx.session() as session:
        pack = service.evidence_of(session, team_id, person.id, gap)
    latest = pack.commitments[-1] if pack.commitments else None
    behavior, count = (latest.behavior, latest.target) if latest else ("", 1)
    if latest is not None:
        days = max((latest.ends_on - latest.starts_on).days + 1, 1)
        count = min(max(round(latest.target * 7 / days), 1), 50)
    today = manager_today(ctx, team_id, caller)
    return views.draft_modal(rep_id, gap, _gap_name(ctx, gap), behavior, count, pack, ctx.playbook, today)


def _tell_rep(client: WebClient, rep_id: str, message: Message, key: str) -> str:
    """A DM sent once; what to add to the manager's answer when it could not be confirmed."""
    try:
        dm_once(client, rep_id, message, key)
        return ""
    except (SlackApiError, NotSent, OutcomeUnknown) as exc:
        log.warning("pip DM not confirmed key=%s error=%s", key.split(":", 1)[0], failure_reason(exc))
        return " I couldn't confirm the DM reached them; the plan is in their Home tab either way."


def start(
    ctx: AppContext, client: WebClient, team_id: str, caller: str, rep_id: str, gap: str, terms: Terms, key: str
) -> Message | str | None:
    """Store the PIP once and send it to the rep; the answer for the caller (None for a repeated form),
    with *Share as canvas* once the plan started."""
    with ctx.session() as session:
        if service.pip_by_key(session, key) is not None:
            return None
    person = _still_ready(ctx, client, team_id, caller, rep_id, gap)
    if isinstance(person, str):
        return person
    today = manager_today(ctx, team_id, caller)
    with session_scope(ctx.engine) as session:
        made = service.create_pip(session, team_id, person, caller, gap, terms, today, key)
    if not made.created:
        same = made.pip.submission_key == key[:64]
        return None if same else f"<@{rep_id}> already has a PIP running; nothing changed."
    card = service.card(made.pip, rep_id, ctx.playbook)
    note = _tell_rep(client, rep_id, views.plan_message(card), f"pip:{team_id}:{card.id}")
    for who in dict.fromkeys((rep_id, caller, made.pip.manager_user_id)):
        refresh_home(ctx, client, team_id, who)
    started = (
        f"Started <@{rep_id}>'s PIP on {escape_mrkdwn(card.gap_name)}: {terms.weekly_count} a week, "
        f"{terms.sessions_per_week} coaching session(s) a week from <@{card.manager_id}>, "
        f"{terms.weeks} weeks, reviewed every two.{note}"
    )
    return views.started_message(started, card.id)


@dataclass(frozen=True)
class Closing:
    """`/coach pip close @rep OUTCOME [note]` as typed."""

    rep_id: str
    outcome: str
    note: str


def close(ctx: AppContext, client: WebClient, team_id: str, caller: str, closing: Closing) -> str:
    """Record how the rep's running PIP ended, once, and tell the rep."""
    if closing.outcome not in OUTCOMES:
        return "Say how it ended: `closed`, `reseated` or `separated`."
    if len(closing.note) > rules.NOTE_MAX:
        return f"Keep the note to {rules.NOTE_MAX} characters or fewer (this is {len(closing.note)})."
    person = _person(ctx, team_id, closing.rep_id)
    if not may_coach(ctx.settings, client, caller, person, team_id):
        return NOT_YOURS_TO_WRITE
    running = _running(ctx, team_id, person) if person else None
    if person is None or running is None:
        return f"<@{closing.rep_id}> has no PIP running, so there is nothing to close."
    with session_scope(ctx.engine) as session:
        changed = service.close_pip(session, team_id, running.id, closing.outcome, closing.note, caller, ctx.clock())
    if not changed:
        return f"<@{closing.rep_id}>'s PIP was already closed; nothing changed."
    message = views.closed_message(running, closing.outcome, caller, closing.note)
    note = _tell_rep(client, closing.rep_id, message, f"pip-closed:{team_id}:{running.id}")
    for who in dict.fromkeys((closing.rep_id, caller, running.manager_id)):
        refresh_home(ctx, client, team_id, who)
    ended = OUTCOMES[closing.outcome]
    return f"Recorded: <@{closing.rep_id}>'s PIP on {escape_mrkdwn(running.gap_name)} ended ({ended}).{note}"
