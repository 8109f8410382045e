"""Plans offered from the roster import: after an import commits, each manager with hires in (or
about to start) their first 90 days and no plan gets one DM listing them, a *Review the plan* button
per hire that opens the same form as `/coach plan @rep`.

Once per hire: every offer is a `plan_offer` row claimed before the DM goes out (the unique key
settles two imports at once) and settled after it, outside any transaction. A DM that certainly did
not go out removes its rows (the next import offers those hires again); one whose outcome Slack
left unknown, and the history could not settle, is never sent again. An import that stopped
between claiming and settling leaves rows the next import finds: their DM is looked for in the
manager's conversation before it is sent. Only the hire's own manager is written to; never the hire.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.engine import Engine

from bot.context import AppContext
from bot.onboarding import service, views
from bot.onboarding.flows import NOT_YOURS, plan_form
from bot.roster.access import may_coach
from bot.slack import Message, View
from bot.slack.delivery import NotSent, OutcomeUnknown, dm_if_absent, dm_once, failure_reason
from storage.db import session_scope

log = logging.getLogger("coachbot.onboarding")
STALE_AFTER = timedelta(minutes=15)  # a claimed offer this old was left by an import that stopped
LOOK_BACK = 60.0  # seconds before the claim from which a stale batch's DM is looked for
SENT, UNCONFIRMED = "sent", "unconfirmed"
GONE = "<@{rep}> is no longer on the active roster, so there is no plan to set up from this message."
MISSING = "I couldn't find that hire on this workspace's roster."


@dataclass(frozen=True)
class Batch:
    """One DM: a manager's hires offered by one import (or left unsettled by an earlier one)."""

    key: str
    manager_id: str
    hires: list[views.OfferedHire]
    since: float | None = None  # an earlier import's batch: its DM is looked for from then on


@dataclass
class OfferReport:
    """What the import's output says about the offers."""

    managers: int = 0
    hires: int = 0
    problems: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        asked = (
            f"Asked {self.managers} manager(s) by DM to review and confirm a 30/60/90 plan for {self.hires} hire(s)."
        )
        return ([asked] if self.managers else []) + self.problems


def _as_unix(moment: datetime) -> float:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _batches(offers: list[service.Offer], stale: bool) -> list[Batch]:
    grouped: dict[str, list[service.Offer]] = defaultdict(list)
    for offer, hire in offers:
        grouped[offer.batch_key].append((offer, hire))
    batches = []
    for key, rows in grouped.items():
        hires = [views.OfferedHire(h.id or 0, h.slack_user_id, h.start_date) for _, h in rows if h.start_date]
        since = min(_as_unix(o.created_at) for o, _ in rows) - LOOK_BACK if stale else None
        batches.append(Batch(key, rows[0][0].manager_user_id, hires, since))
    return batches


def _deliver(client: WebClient, batch: Batch, message: Message) -> tuple[str | None, str]:
    """(channel, ts) of the batch's DM; a stale batch's is looked for first (channel unknown then)."""
    if batch.since is None:
        return dm_once(client, batch.manager_id, message, batch.key)
    found = dm_if_absent(client, batch.manager_id, message, batch.key, batch.since)
    if found is None:
        raise OutcomeUnknown("an earlier import's DM could not be looked up in the conversation")
    return None, found


def _send(engine: Engine, client: WebClient, team_id: str, batch: Batch, now: datetime, report: OfferReport) -> None:
    message = views.plan_offer_message(batch.hires, now.date())
    status: str | None = SENT
    where: tuple[str | None, str] | None = None
    try:
        where = _deliver(client, batch, message)
    except (SlackApiError, NotSent) as exc:
        status = None
        report.problems.append(
            f"Could not DM manager {batch.manager_id} ({failure_reason(exc)}); the next import offers their "
            f"{len(batch.hires)} hire(s) again."
        )
    except OutcomeUnknown as exc:
        status = UNCONFIRMED
        report.problems.append(
            f"Slack did not confirm the DM to manager {batch.manager_id} ({exc.reason}); it is not sent again, "
            "so check with them."
        )
    log.info("plan offer team=%s hires=%s status=%s", team_id, len(batch.hires), status or "not sent")
    with session_scope(engine) as session:
        service.settle_offers(session, team_id, batch.key, status, where, now)
    if status == SENT:
        report.managers += 1
        report.hires += len(batch.hires)


def offer_plans(engine: Engine, client: WebClient, team_id: str, now: datetime) -> OfferReport:
    """After an import has committed: claim every hire not yet offered, then DM each manager once."""
    with session_scope(engine) as session:
        stale = service.stale_offers(session, team_id, now - STALE_AFTER)
        fresh = service.claim_offers(session, team_id, now.date())
        batches = _batches(stale, stale=True) + _batches(fresh, stale=False)
    report = OfferReport()
    for batch in batches:
        _send(engine, client, team_id, batch, now, report)
    return report


def review_form(ctx: AppContext, client: WebClient, team_id: str, caller: str, person_id: int) -> View | str:
    """The plan form behind an offer's button, for the hire's manager or an admin; otherwise why not
    (a hire who left the roster, has a plan by now or is past day 90 gets a plain answer)."""
    with ctx.session() as session:
        hire = service.person_by_id(session, team_id, person_id)
    if hire is None or not hire.active:
        if not may_coach(ctx.settings, client, caller, hire, team_id):
            return NOT_YOURS
        return GONE.format(rep=hire.slack_user_id) if hire else MISSING
    return plan_form(ctx, client, team_id, caller, hire.slack_user_id)
