"""A batch's data is read up front, so a pass over thousands of reps is a few queries, not a few per rep."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from storage.models import CheckIn, Commitment, OnboardingPlan, Person, ScheduledMessage, WiringProfile, Workspace


@dataclass
class BatchData:
    """Everything a batch of messages needs, read with a handful of queries instead of per message."""

    workspaces: dict[str, Workspace]
    people: dict[tuple[str, str], Person]
    commitments: dict[int, Commitment]
    active_by_person: dict[int, list[Commitment]]
    logged: dict[int, int]
    archetypes: dict[int, str]
    plan_starts: dict[int, date]  # person id -> onboarding plan start, for the phase line in nudges

    @classmethod
    def load(cls, session: Session, batch: list[ScheduledMessage]) -> BatchData:
        teams = {r.team_id for r in batch}
        workspaces = {w.team_id: w for w in session.exec(select(Workspace).where(col(Workspace.team_id).in_(teams)))}
        reps = {r.rep_user_id for r in batch}
        people = {
            (p.team_id, p.slack_user_id): p
            for p in session.exec(
                select(Person).where(col(Person.team_id).in_(teams), col(Person.slack_user_id).in_(reps))
            )
        }
        person_ids = [p.id for p in people.values()]
        referenced = {r.commitment_id for r in batch if r.commitment_id}
        commitments = {
            c.id: c
            for c in session.exec(
                select(Commitment).where(
                    or_(
                        col(Commitment.id).in_(referenced),
                        (col(Commitment.person_id).in_(person_ids)) & (Commitment.status == "active"),
                    )
                )
            )
        }
        active_by_person: dict[int, list[Commitment]] = defaultdict(list)
        for c in sorted(commitments.values(), key=lambda c: c.id or 0):
            if c.status == "active":
                active_by_person[c.person_id].append(c)
        logged = {
            cid: int(total)
            for cid, total in session.exec(
                select(CheckIn.commitment_id, func.sum(CheckIn.count))
                .where(col(CheckIn.commitment_id).in_(list(commitments)))
                .group_by(col(CheckIn.commitment_id))
            )
        }
        archetypes: dict[int, str] = {}
        versions: dict[int, int] = {}
        for pid, version, archetype in session.exec(
            select(WiringProfile.person_id, WiringProfile.version, WiringProfile.archetype).where(
                col(WiringProfile.person_id).in_(person_ids)
            )
        ):
            if version > versions.get(pid, 0):
                versions[pid], archetypes[pid] = version, archetype
        plan_starts = dict(
            session.exec(
                select(col(OnboardingPlan.person_id), col(OnboardingPlan.start_date)).where(
                    col(OnboardingPlan.person_id).in_(person_ids)
                )
            ).all()
        )
        return cls(
            workspaces,
            people,
            {k: v for k, v in commitments.items() if k is not None},
            active_by_person,
            logged,
            archetypes,
            plan_starts,
        )
