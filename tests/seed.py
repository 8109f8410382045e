"""Seed commitments through the real services (the same code the Slack handlers call)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from bot.coaching import service as svc
from bot.coaching.rules import CommitmentDraft
from bot.playbook.models import Playbook
from bot.slack.users import SlackUser
from storage.db import session_scope
from tests.rows import id_of


def slack_user(user_id: str, tz: str = "America/Chicago", team_id: str = "T0TEAM") -> SlackUser:
    return SlackUser(
        id=user_id,
        team_id=team_id,
        name=user_id.title(),
        tz=tz,
        email=f"{user_id.lower()}@x.io",
        is_bot=False,
        deleted=False,
        is_admin=False,
    )


def commitment(
    engine,
    playbook: Playbook,
    rep: SlackUser,
    manager_id: str,
    starts_on: date,
    window: int = 7,
    target: int = 3,
    gap: str = "discovery",
    key: str | None = None,
) -> int:
    with session_scope(engine) as session:
        person = svc.ensure_person(session, rep.team_id, rep)
        if person.manager_user_id is None:
            person.manager_user_id = manager_id
            session.add(person)
        result = svc.record_diagnosis(
            session,
            playbook,
            rep.team_id,
            rep,
            manager_id,
            "coaching_gap",
            gap,
            None,
            "Seeded evidence for a test.",
            submission_key=f"diag-{key or rep.id}",
            now=datetime.combine(starts_on, time(11), tzinfo=UTC),
        )
        draft = CommitmentDraft(
            "Discovery calls with no pitch before minute 12", target, window, "drill", "Recordings shared"
        )
        made = svc.prescribe(
            session,
            rep.team_id,
            result.diagnosis,
            manager_id,
            draft,
            starts_on,
            False,
            submission_key=f"presc-{key or rep.id}",
            now=datetime.combine(starts_on, time(12), tzinfo=UTC),
        )
        assert made.commitment is not None and made.commitment.id is not None
        # As after the rep's DM went out (handlers.diagnose.prescribe_and_send).
        svc.activate(
            session, rep.team_id, made.commitment.id, None, None, datetime.combine(starts_on, time(12), tzinfo=UTC)
        )
        return made.commitment.id


def _insert(session, model, rows: list[dict], ids: bool = False) -> list[int]:
    """Many rows of one table in one statement, without building an ORM object per row (building
    them was most of a large test's time). Every other column is what the model itself fills in
    (its defaults), taken from one instance of it."""
    from sqlalchemy import insert

    if not rows:
        return []
    filled = model(**rows[0]).model_dump(exclude={"id"})
    values = [{**filled, **row} for row in rows]
    if not ids:
        session.execute(insert(model), values)
        return []
    made = session.execute(insert(model).returning(model.id, sort_by_parameter_order=True), values)
    return [int(i) for i in made.scalars()]


def bulk_team(
    engine,
    team_id: str,
    manager: str,
    n: int,
    prefix: str,
    statuses: tuple[str, ...] = ("missed", "missed", "active"),
) -> None:
    """n reps with profiles, weekly commitments (closed, then active), check-ins and a group session,
    written as rows directly: fast enough for 1,000 reps (tests and bench/summary_bench.py)."""
    from sqlmodel import Session

    from storage.models import CheckIn, CoachingSession, Commitment, Person, SessionAttendee, WiringProfile

    first = date(2026, 10, 29)
    with Session(engine) as s:
        people = _insert(
            s,
            Person,
            [
                {
                    "team_id": team_id,
                    "slack_user_id": f"{prefix}{i:04d}",
                    "display_name": f"Rep {i}",
                    "tz": "UTC",
                    "manager_user_id": manager,
                    "start_date": date(2026, 10, 1),
                }
                for i in range(n)
            ],
            ids=True,
        )
        _insert(
            s,
            WiringProfile,
            [
                {
                    "team_id": team_id,
                    "person_id": person_id,
                    "version": 1,
                    "archetype": "engine",
                    "coachability": 50,
                    "drive": 50,
                    "resilience": 50,
                    "deal_killers": ["commission_breath"] if i % 7 == 0 else [],
                    "gaps": ["closing", "time_pressure"],
                }
                for i, person_id in enumerate(people)
            ],
        )
        commitments = _insert(
            s,
            Commitment,
            [
                {
                    "team_id": team_id,
                    "person_id": person_id,
                    "manager_user_id": manager,
                    "gap": "closing",
                    "behavior": "End every meeting with a dated next step",
                    "target_count": 3,
                    "practice_format": "drill",
                    "evidence": "CRM",
                    "status": status,
                    "starts_on": first + timedelta(days=7 * k),
                    "ends_on": first + timedelta(days=7 * k + 6),
                    "submission_key": f"{manager}-{person_id}-{k}",
                    "created_at": datetime.combine(first + timedelta(days=7 * k), time(9), tzinfo=UTC),
                    "closed_at": None
                    if status == "active"
                    else datetime.combine(first + timedelta(days=7 * k + 7), time(9), tzinfo=UTC),
                }
                for person_id in people
                for k, status in enumerate(statuses)
            ],
            ids=True,
        )
        _insert(
            s,
            CheckIn,
            [
                {
                    "team_id": team_id,
                    "commitment_id": cid,
                    "count": 1,
                    "created_at": datetime(2026, 11, 12, 9, tzinfo=UTC),
                }
                for cid in commitments
            ],
        )
        group = CoachingSession(
            team_id=team_id, manager_user_id=manager, kind="group", minutes=30, occurred_on=date(2026, 11, 12)
        )
        s.add(group)
        s.flush()
        _insert(s, SessionAttendee, [{"team_id": team_id, "session_id": id_of(group), "person_id": p} for p in people])
        s.commit()


def age_claims(engine, minutes: float = 3) -> None:
    """Real time passes for the outbox: claims (and "check again after" marks) become this much older.

    Whether a claim is still alive is judged in real time, not by a pass's `--now`; a test that jumps
    ahead in schedule time ages the claims the same way instead of sleeping.
    """
    from sqlmodel import Session, select

    from storage.models import ScheduledMessage

    shift = timedelta(minutes=minutes)
    with Session(engine) as session:
        for row in session.exec(select(ScheduledMessage).where(ScheduledMessage.status == "sending")):
            if row.claimed_at is not None:
                row.claimed_at -= shift
            if row.next_attempt_at is not None:
                row.next_attempt_at -= shift
            session.add(row)
        session.commit()
