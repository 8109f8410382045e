"""Plans and milestones in the database: created once per form, checked off once per milestone."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, update
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.coaching.rules import milestone_gap
from bot.onboarding.progress import PeerRecord, Progress, StepRecord, progress
from bot.onboarding.rules import PLAN_DAYS, Counting, MilestoneDraft, behavior_window, counted, plan_day
from storage.models import CheckIn, Commitment, Milestone, OnboardingPlan, Person, PlanOffer

WAITING = "waiting"  # a counted milestone's commitment whose phase has not begun yet
MILESTONE_KEY = "milestone:"  # a counted milestone's commitment has this + the milestone id as its key
CHECK_INS = "check-ins"  # who checked off a counted milestone: its commitment closed met


def plan_of(session: Session, team_id: str, person_id: int) -> OnboardingPlan | None:
    return session.exec(
        select(OnboardingPlan).where(OnboardingPlan.team_id == team_id, OnboardingPlan.person_id == person_id)
    ).first()


def milestones_of(session: Session, team_id: str, plan_id: int) -> list[Milestone]:
    return list(
        session.exec(
            select(Milestone)
            .where(Milestone.team_id == team_id, Milestone.plan_id == plan_id)
            .order_by(col(Milestone.phase), col(Milestone.position))
        )
    )


@dataclass(frozen=True)
class BehaviorTerms:
    """What every counted milestone's commitment says about practice and evidence (from the playbook)."""

    practice_format: str
    evidence: str


@dataclass(frozen=True)
class Created:
    plan: OnboardingPlan
    created: bool  # False: this form was already stored (a repeat), or the rep already has a plan


def create_plan(
    session: Session,
    team_id: str,
    person: Person,
    manager_id: str,
    start: date,
    archetype: str | None,
    drafts: list[MilestoneDraft],
    submission_key: str,
    terms: BehaviorTerms,
    when: tuple[date, datetime],
) -> Created:
    """One plan per rep and per submitted form; the unique keys settle a race between two submits.
    Counted milestones become commitments in the same transaction (see `_open_behaviors`); `when` is
    the rep's own date today and the moment now."""
    assert person.id is not None
    existing = plan_of(session, team_id, person.id)
    if existing is not None:
        return Created(existing, False)
    plan = OnboardingPlan(
        team_id=team_id,
        person_id=person.id,
        manager_user_id=manager_id,
        start_date=start,
        archetype=archetype,
        submission_key=submission_key[:64],
    )
    try:
        with session.begin_nested():
            session.add(plan)
            session.flush()
    except IntegrityError:
        found = plan_of(session, team_id, person.id)
        assert found is not None
        return Created(found, False)
    assert plan.id is not None
    positions: dict[int, int] = {}
    for draft in drafts:
        positions[draft.phase] = positions.get(draft.phase, 0) + 1
        session.add(
            Milestone(
                team_id=team_id,
                plan_id=plan.id,
                phase=draft.phase,
                position=positions[draft.phase],
                title=draft.title[:150],
                due_day=draft.due_day,
            )
        )
    session.flush()
    _open_behaviors(session, plan, person.id, milestones_of(session, team_id, plan.id), terms, when)
    return Created(plan, True)


def _open_behaviors(
    session: Session,
    plan: OnboardingPlan,
    person_id: int,
    milestones: list[Milestone],
    terms: BehaviorTerms,
    when: tuple[date, datetime],
) -> None:
    """Each counted milestone still ahead becomes a commitment for its phase's days, so it is nudged,
    counted and closed met or missed like any other. One whose phase is later waits (`WAITING`) until
    `wake_behaviors` sees its first day; one already past its due day stays a step to check off."""
    today, now = when
    for milestone in milestones:
        target, words = counted(milestone.title)
        window = behavior_window(plan.start_date, milestone.phase, milestone.due_day, today) if target else None
        if target is None or window is None:
            continue
        starts, ends = window
        session.add(
            Commitment(
                team_id=plan.team_id,
                person_id=person_id,
                manager_user_id=plan.manager_user_id,
                gap=milestone_gap(milestone.id or 0),
                behavior=words[:300],
                target_count=target,
                window_days=(ends - starts).days + 1,
                practice_format=terms.practice_format,
                evidence=terms.evidence[:300],
                status="active" if starts <= today else WAITING,
                starts_on=starts,
                ends_on=ends,
                submission_key=f"{MILESTONE_KEY}{milestone.id}",
                created_at=now,
            )
        )
    session.flush()


def wake_behaviors(session: Session, today: date) -> int:
    """Counted milestones whose phase has begun become active commitments (one statement per pass)."""
    result = session.execute(
        update(Commitment)
        .where(col(Commitment.status) == WAITING, col(Commitment.starts_on) <= today)
        .values(status="active")
    )
    return int(getattr(result, "rowcount", 0) or 0)


def settle_behavior(session: Session, commitment: Commitment, now: datetime) -> None:
    """A counted milestone's commitment closed met: the milestone is done (once)."""
    if commitment.status != "met" or not commitment.submission_key.startswith(MILESTONE_KEY):
        return
    milestone_id = int(commitment.submission_key.removeprefix(MILESTONE_KEY))
    session.execute(
        update(Milestone)
        .where(
            col(Milestone.id) == milestone_id,
            col(Milestone.team_id) == commitment.team_id,
            col(Milestone.done_at).is_(None),
        )
        .values(done_at=now, done_by=CHECK_INS)
    )


def counting_of(session: Session, team_id: str, milestone_ids: list[int]) -> dict[int, Counting]:
    """The commitments behind counted milestones, by milestone id, with what was logged against them."""
    keys = [f"{MILESTONE_KEY}{mid}" for mid in milestone_ids]
    if not keys:
        return {}
    logged = func.coalesce(func.sum(CheckIn.count), 0)
    rows = session.execute(
        sa_select(col(Commitment.submission_key), col(Commitment.status), col(Commitment.target_count), logged)
        .outerjoin(CheckIn, col(CheckIn.commitment_id) == col(Commitment.id))
        .where(col(Commitment.team_id) == team_id, col(Commitment.submission_key).in_(keys))
        .group_by(col(Commitment.submission_key), col(Commitment.status), col(Commitment.target_count))
    )
    return {
        int(key.removeprefix(MILESTONE_KEY)): Counting(status, int(count), target)
        for key, status, target, count in rows
    }


def check_off(session: Session, team_id: str, milestone_id: int, user_id: str, now: datetime) -> bool:
    """Mark a milestone done; False when it already was (a repeated click changes nothing)."""
    result = session.execute(
        update(Milestone)
        .where(col(Milestone.id) == milestone_id, col(Milestone.team_id) == team_id, col(Milestone.done_at).is_(None))
        .values(done_at=now, done_by=user_id)
    )
    return bool(getattr(result, "rowcount", 0))


def milestone_owner(
    session: Session, team_id: str, milestone_id: int
) -> tuple[Milestone, OnboardingPlan, Person] | None:
    """The milestone with its plan and rep, all of this workspace."""
    milestone = session.get(Milestone, milestone_id)
    if milestone is None or milestone.team_id != team_id:
        return None
    plan = session.get(OnboardingPlan, milestone.plan_id)
    person = session.get(Person, plan.person_id) if plan else None
    if plan is None or person is None or plan.team_id != team_id or person.team_id != team_id:
        return None
    return milestone, plan, person


PlanRow = tuple[int, int, date, str | None]  # plan id, person id, start, archetype


def _plan_rows(session: Session, team_id: str, where: Any) -> list[PlanRow]:
    columns = (col(OnboardingPlan.id), col(OnboardingPlan.person_id), col(OnboardingPlan.start_date))
    return [
        (plan_id or 0, person_id, start, archetype)
        for plan_id, person_id, start, archetype in session.exec(
            select(*columns, col(OnboardingPlan.archetype)).where(OnboardingPlan.team_id == team_id, where)
        )
    ]


def progress_of(session: Session, team_id: str, people: list[Person], today: date) -> dict[int, Progress]:
    """Each rep's plan progress (by person id): five column queries however many reps and earlier hires
    (plain rows, not ORM objects: a large workspace has thousands of steps)."""
    ids = [p.id for p in people if p.id is not None]
    plans = _plan_rows(session, team_id, col(OnboardingPlan.person_id).in_(ids))
    if not plans:
        return {}
    archetypes = {archetype for *_, archetype in plans if archetype}
    peer_plans = _plan_rows(session, team_id, col(OnboardingPlan.archetype).in_(archetypes)) if archetypes else []
    steps: dict[int, list[StepRecord]] = defaultdict(list)
    for plan_id, step_id, title, due_day, done_at in session.execute(
        sa_select(
            col(Milestone.plan_id),
            col(Milestone.id),
            col(Milestone.title),
            col(Milestone.due_day),
            col(Milestone.done_at),
        ).where(col(Milestone.team_id) == team_id, col(Milestone.plan_id).in_([p[0] for p in plans]))
    ):
        steps[plan_id].append(StepRecord(step_id or 0, title, due_day, done_at.date() if done_at else None))
    done: dict[int, list[date]] = defaultdict(list)
    for plan_id, done_at in session.exec(
        select(col(Milestone.plan_id), col(Milestone.done_at)).where(
            Milestone.team_id == team_id,
            col(Milestone.plan_id).in_([p[0] for p in peer_plans]),
            col(Milestone.done_at).is_not(None),
        )
    ):
        if done_at is not None:
            done[plan_id].append(done_at.date())
    met: dict[int, list[date]] = defaultdict(list)
    for person_id, closed_at in session.exec(
        select(col(Commitment.person_id), col(Commitment.closed_at)).where(
            Commitment.team_id == team_id,
            col(Commitment.person_id).in_({p[1] for p in [*plans, *peer_plans]}),
            Commitment.status == "met",
        )
    ):
        if closed_at is not None:
            met[person_id].append(closed_at.date())
    by_archetype: dict[str, list[PeerRecord]] = defaultdict(list)
    for plan_id, person_id, start, archetype in sorted(peer_plans, key=lambda p: p[2]):
        if archetype:
            by_archetype[archetype].append(PeerRecord.of(start, done[plan_id] + met[person_id]))
    found: dict[int, Progress] = {}
    for plan_id, person_id, start, archetype in plans:
        peers = by_archetype.get(archetype or "", [])
        found[person_id] = progress(start, today, steps[plan_id], met[person_id], peers)
    return found


def without_plan(session: Session, team_id: str, today: date) -> list[tuple[str, str, date]]:
    """Reps in (or about to start) their first 90 days with a manager and no plan: (rep, manager, start)."""
    planned = select(OnboardingPlan.person_id).where(OnboardingPlan.team_id == team_id)
    people = session.exec(
        select(Person).where(
            Person.team_id == team_id,
            Person.active,
            col(Person.manager_user_id).is_not(None),
            col(Person.start_date).is_not(None),
            col(Person.id).not_in(planned),
        )
    )
    return [
        (p.slack_user_id, p.manager_user_id or "", p.start_date)
        for p in people
        if p.start_date is not None and plan_day(p.start_date, today) <= PLAN_DAYS
    ]


Offer = tuple[PlanOffer, Person]  # a plan offer with its hire


def claim_offers(session: Session, team_id: str, today: date) -> list[Offer]:
    """Hires starting within `PLAN_DAYS` days ago or later, active, with a manager, no plan and never
    offered: claimed once each (the unique key settles two imports at once), one batch per manager."""
    planned = select(OnboardingPlan.person_id).where(OnboardingPlan.team_id == team_id)
    offered = select(PlanOffer.person_id).where(PlanOffer.team_id == team_id)
    hires = session.exec(
        select(Person)
        .where(
            Person.team_id == team_id,
            Person.active,
            col(Person.manager_user_id).is_not(None),
            col(Person.start_date) >= today - timedelta(days=PLAN_DAYS - 1),
            col(Person.id).not_in(planned),
            col(Person.id).not_in(offered),
        )
        .order_by(col(Person.start_date), col(Person.id))
    ).all()
    batches: dict[str, str] = {}
    claimed: list[Offer] = []
    for hire in hires:
        manager = hire.manager_user_id or ""
        if hire.id is None or manager == hire.slack_user_id:
            continue
        batch = batches.setdefault(manager, f"offer:{team_id}:{uuid.uuid4().hex[:20]}")
        offer = PlanOffer(team_id=team_id, person_id=hire.id, manager_user_id=manager, batch_key=batch)
        try:
            with session.begin_nested():
                session.add(offer)
                session.flush()
        except IntegrityError:
            continue
        claimed.append((offer, hire))
    return claimed


def stale_offers(session: Session, team_id: str, before: datetime) -> list[Offer]:
    """Offers claimed before `before` whose DM was never settled (the import stopped half way). One
    whose hire has left or has another manager by now is dropped: only the current manager is told."""
    rows = session.exec(
        select(PlanOffer, Person)
        .join(Person, col(Person.id) == col(PlanOffer.person_id))
        .where(PlanOffer.team_id == team_id, PlanOffer.status == "sending", col(PlanOffer.created_at) < before)
        .order_by(col(PlanOffer.id))
    ).all()
    kept: list[Offer] = []
    for offer, person in rows:
        if person.active and person.manager_user_id == offer.manager_user_id:
            kept.append((offer, person))
        else:
            session.delete(offer)
    session.flush()
    return kept


def settle_offers(
    session: Session,
    team_id: str,
    batch_key: str,
    status: str | None,
    where: tuple[str | None, str] | None,
    now: datetime,
) -> None:
    """The batch's DM went out (`sent`), may have (`unconfirmed`), or certainly did not (None: the rows
    go, so the next import offers those hires again)."""
    scope = (col(PlanOffer.team_id) == team_id, col(PlanOffer.batch_key) == batch_key)
    if status is None:
        session.execute(delete(PlanOffer).where(*scope))
        return
    channel, ts = where or (None, None)
    session.execute(
        update(PlanOffer).where(*scope).values(status=status, sent_at=now, slack_channel=channel, slack_ts=ts)
    )


def person_by_id(session: Session, team_id: str, person_id: int) -> Person | None:
    person = session.get(Person, person_id)
    return person if person is not None and person.team_id == team_id else None
