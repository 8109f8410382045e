"""Seed commitments through the real services (the same code the Slack handlers call)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from bot import coaching_service as svc
from bot.coaching import CommitmentDraft
from bot.playbook import Playbook
from bot.slack_users import SlackUser
from storage.db import session_scope


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


def commitment(  # type: ignore[no-untyped-def]
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
        return made.commitment.id
