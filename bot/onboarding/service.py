"""Plans and milestones in the database: created once per form, checked off once per milestone."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.onboarding.progress import PeerRecord, Progress, StepRecord, progress
from bot.onboarding.rules import PLAN_DAYS, MilestoneDraft, plan_day
from storage.models import Commitment, Milestone, OnboardingPlan, Person


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
) -> Created:
    """One plan per rep and per submitted form; the unique keys settle a race between two submits."""
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
    return Created(plan, True)


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


def progress_of(session: Session, team_id: str, people: list[Person], today: date) -> dict[int, Progress]:
    """Each rep's plan progress (by person id), in four queries however many reps and earlier hires."""
    ids = [p.id for p in people if p.id is not None]
    plans = list(
        session.exec(
            select(OnboardingPlan).where(OnboardingPlan.team_id == team_id, col(OnboardingPlan.person_id).in_(ids))
        )
    )
    if not plans:
        return {}
    archetypes = {p.archetype for p in plans if p.archetype}
    peer_plans = list(
        session.exec(
            select(OnboardingPlan).where(
                OnboardingPlan.team_id == team_id, col(OnboardingPlan.archetype).in_(archetypes)
            )
        )
    )
    every = {p.id: p for p in [*plans, *peer_plans] if p.id is not None}
    steps: dict[int, list[StepRecord]] = defaultdict(list)
    for m in session.exec(
        select(Milestone).where(Milestone.team_id == team_id, col(Milestone.plan_id).in_(list(every)))
    ):
        steps[m.plan_id].append(StepRecord(m.id or 0, m.title, m.due_day, m.done_at.date() if m.done_at else None))
    met: dict[int, list[date]] = defaultdict(list)
    for person_id, closed_at in session.exec(
        select(col(Commitment.person_id), col(Commitment.closed_at)).where(
            Commitment.team_id == team_id,
            col(Commitment.person_id).in_({p.person_id for p in every.values()}),
            Commitment.status == "met",
        )
    ):
        if closed_at is not None:
            met[person_id].append(closed_at.date())
    found: dict[int, Progress] = {}
    for plan in plans:
        peers = [
            PeerRecord(p.start_date, [s.done_on for s in steps[p.id or 0] if s.done_on] + met[p.person_id])
            for p in every.values()
            if p.id != plan.id and plan.archetype and p.archetype == plan.archetype
        ]
        found[plan.person_id] = progress(plan.start_date, today, steps[plan.id or 0], met[plan.person_id], peers)
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
