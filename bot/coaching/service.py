"""Use cases for the weekly cycle: diagnose, prescribe, check in, pause. Each takes a session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from bot.coaching.rules import GENERAL_GAP, Brief, CommitmentDraft, HistoryItem, RepWiring, build_brief
from bot.playbook.models import Playbook
from bot.practice.schedule import local_today, zone_for
from bot.roster.service import ensure_person
from bot.slack.users import SlackUser
from storage import queries
from storage.models import CheckIn, Commitment, Diagnosis, Person, WiringProfile

DRAFT = "draft"  # a prescribed commitment whose DM to the rep has not gone out yet


def wiring_of(session: Session, team_id: str, person: Person | None) -> tuple[RepWiring, WiringProfile | None]:
    if person is None or person.id is None:
        return RepWiring(), None
    profile = queries.latest_profile(session, team_id, person.id)
    seat = queries.get_seat(session, team_id, person.seat_id)
    if profile is None:
        return RepWiring(seat_archetype=seat.archetype if seat else None), None
    return RepWiring(
        archetype=profile.archetype,
        seat_archetype=seat.archetype if seat else None,
        deal_killers=tuple(profile.deal_killers),
        gaps=tuple(profile.gaps),
    ), profile


def logged_count(session: Session, team_id: str, commitment_id: int) -> int:
    total = session.exec(
        select(func.coalesce(func.sum(CheckIn.count), 0)).where(
            CheckIn.team_id == team_id, CheckIn.commitment_id == commitment_id
        )
    ).one()
    return int(total)


def recent_history(
    session: Session, team_id: str, person_id: int, playbook: Playbook, limit: int = 3
) -> list[HistoryItem]:
    diagnoses = session.exec(
        select(Diagnosis)
        .where(Diagnosis.team_id == team_id, Diagnosis.person_id == person_id)
        .order_by(col(Diagnosis.created_at).desc())
        .limit(limit)
    ).all()
    commitments = session.exec(
        select(Commitment)
        .where(Commitment.team_id == team_id, Commitment.person_id == person_id, Commitment.status != DRAFT)
        .order_by(col(Commitment.created_at).desc())
        .limit(limit)
    ).all()
    items = [
        HistoryItem(
            d.created_at.date(),
            "diagnosis",
            playbook.causes[d.cause].name + (f" ({playbook.gaps[d.gap].name})" if d.gap in playbook.gaps else ""),
            "escalated" if d.escalate else "",
        )
        for d in diagnoses
        if d.cause in playbook.causes
    ]
    for c in commitments:
        assert c.id is not None
        logged = logged_count(session, team_id, c.id)
        items.append(
            HistoryItem(
                c.created_at.date(),
                "commitment",
                f"{c.behavior} ({c.target_count}×)",
                f"{c.status}, {logged}/{c.target_count} logged",
            )
        )
    items.sort(key=lambda i: i.when, reverse=True)
    return items[: limit * 2]


@dataclass(frozen=True)
class DiagnosisResult:
    diagnosis: Diagnosis
    brief: Brief
    created: bool


def record_diagnosis(
    session: Session,
    playbook: Playbook,
    team_id: str,
    rep: SlackUser,
    manager_id: str,
    cause: str,
    gap: str | None,
    drag: str | None,
    evidence: str,
    submission_key: str,
    now: datetime | None = None,
) -> DiagnosisResult:
    """Store one diagnosis per modal submission (a repeated submit returns the first, created=False)."""
    existing = session.exec(select(Diagnosis).where(Diagnosis.submission_key == submission_key)).first()
    person = queries.get_person(session, team_id, rep.id) or ensure_person(session, team_id, rep)
    assert person.id is not None
    wiring, profile = wiring_of(session, team_id, person)
    gap = gap if gap in playbook.gaps else None
    drag = drag if (cause == "environmental_drag" and drag in playbook.escalation_owners) else None
    brief = build_brief(playbook, cause, wiring, gap, drag)
    if existing is not None:
        return DiagnosisResult(existing, brief, False)
    diagnosis = Diagnosis(
        team_id=team_id,
        person_id=person.id,
        manager_user_id=manager_id,
        cause=cause,
        gap=gap,
        drag=drag,
        evidence=evidence.strip()[:2000],
        pushback=brief.pushback,
        escalate=cause == "environmental_drag",
        profile_version=profile.version if profile else None,
        submission_key=submission_key[:64],
        created_at=now or datetime.now(UTC),
    )
    session.add(diagnosis)
    try:
        session.flush()
    except IntegrityError:  # a concurrent duplicate submit won the race
        session.rollback()
        first = session.exec(select(Diagnosis).where(Diagnosis.submission_key == submission_key)).one()
        return DiagnosisResult(first, brief, False)
    return DiagnosisResult(diagnosis, brief, True)


def get_diagnosis(session: Session, team_id: str, diagnosis_id: int) -> Diagnosis | None:
    return session.exec(select(Diagnosis).where(Diagnosis.team_id == team_id, Diagnosis.id == diagnosis_id)).first()


def get_commitment(session: Session, team_id: str, commitment_id: int) -> Commitment | None:
    return session.exec(select(Commitment).where(Commitment.team_id == team_id, Commitment.id == commitment_id)).first()


def active_commitment(session: Session, team_id: str, person_id: int, gap: str) -> Commitment | None:
    return session.exec(
        select(Commitment).where(
            Commitment.team_id == team_id,
            Commitment.person_id == person_id,
            Commitment.gap == gap,
            Commitment.status == "active",
        )
    ).first()


class PrescribeStatus(StrEnum):
    CREATED = "created"
    DUPLICATE = "duplicate"  # the same form again: nothing new
    NEEDS_CONFIRMATION = "needs_confirmation"  # another commitment for the gap appeared meanwhile


@dataclass(frozen=True)
class PrescribeResult:
    status: PrescribeStatus
    commitment: Commitment | None = None
    replaced: Commitment | None = None


def prescribe(
    session: Session,
    team_id: str,
    diagnosis: Diagnosis,
    manager_id: str,
    draft: CommitmentDraft,
    today: date,
    confirm_replace: bool,
    submission_key: str,
    now: datetime | None = None,
) -> PrescribeResult:
    """Draft the commitment (one active per rep and gap; replacing needs explicit confirmation).

    It stays a draft until the rep's DM went out (`activate`), so that no Slack call happens while
    this transaction is open and a commitment the rep never heard of is never active.
    """
    existing = session.exec(select(Commitment).where(Commitment.submission_key == submission_key)).first()
    if existing is not None:
        return PrescribeResult(PrescribeStatus.DUPLICATE, existing)
    gap = diagnosis.gap or GENERAL_GAP
    current = active_commitment(session, team_id, diagnosis.person_id, gap)
    if current is not None and not confirm_replace:
        return PrescribeResult(PrescribeStatus.NEEDS_CONFIRMATION, replaced=current)
    commitment = Commitment(
        team_id=team_id,
        person_id=diagnosis.person_id,
        manager_user_id=manager_id,
        diagnosis_id=diagnosis.id,
        gap=gap,
        behavior=draft.behavior,
        target_count=draft.target_count,
        window_days=draft.window_days,
        practice_format=draft.practice_format,
        evidence=draft.evidence,
        starts_on=today,
        ends_on=today + timedelta(days=draft.window_days - 1),
        submission_key=submission_key[:64],
        status=DRAFT,
        created_at=now or datetime.now(UTC),
    )
    session.add(commitment)
    session.flush()
    return PrescribeResult(PrescribeStatus.CREATED, commitment, current)


def activate(
    session: Session, team_id: str, commitment_id: int, channel: str | None, ts: str | None, now: datetime
) -> Commitment | None:
    """The rep has the DM: the draft becomes the active commitment for its gap, replacing the
    current one (the manager confirmed that, or there was none). Returns the replaced one."""
    draft = get_commitment(session, team_id, commitment_id)
    if draft is None or draft.status != DRAFT:
        return None
    current = active_commitment(session, team_id, draft.person_id, draft.gap)
    if current is not None:
        current.status, current.closed_at = "replaced", now
        session.add(current)
        session.flush()
    draft.status, draft.dm_channel, draft.dm_ts = "active", channel, ts
    session.add(draft)
    session.flush()
    return current


def discard_draft(session: Session, team_id: str, commitment_id: int) -> None:
    """The rep could not be reached: the draft goes, as if it had never been written."""
    draft = get_commitment(session, team_id, commitment_id)
    if draft is not None and draft.status == DRAFT:
        session.delete(draft)


@dataclass(frozen=True)
class CheckInResult:
    ok: bool
    message: str
    logged: int = 0
    target: int = 0
    check_in_id: int | None = None


def log_check_in(
    session: Session,
    team_id: str,
    commitment_id: int,
    user_id: str,
    count: int,
    note: str,
    source: str,
    now: datetime,
    default_tz: str,
) -> CheckInResult:
    """Record a check-in by the rep who owns the commitment, inside its window (in the rep's time zone)."""
    commitment = get_commitment(session, team_id, commitment_id)
    person = session.get(Person, commitment.person_id) if commitment else None
    if commitment is None or person is None or person.slack_user_id != user_id:
        return CheckInResult(False, "That commitment isn't yours to log against.")
    if commitment.status != "active":
        return CheckInResult(False, f"That commitment is closed ({commitment.status}), so it can't take check-ins.")
    today = local_today(now, zone_for(person.tz, default_tz))
    if today > commitment.ends_on:
        return CheckInResult(False, f"That commitment's window closed on {commitment.ends_on.isoformat()}.")
    assert commitment.id is not None
    check_in = CheckIn(
        team_id=team_id, commitment_id=commitment.id, count=count, note=note[:500], source=source, created_at=now
    )
    session.add(check_in)
    session.flush()
    logged = logged_count(session, team_id, commitment.id)
    return CheckInResult(True, "", logged, commitment.target_count, check_in.id)


def active_commitments_of(session: Session, team_id: str, user_id: str) -> list[Commitment]:
    person = queries.get_person(session, team_id, user_id)
    if person is None:
        return []
    return list(
        session.exec(
            select(Commitment)
            .where(Commitment.team_id == team_id, Commitment.person_id == person.id, Commitment.status == "active")
            .order_by(col(Commitment.id))
        )
    )


def pause_nudges(session: Session, team_id: str, rep_user_id: str, until: date | None, today: date) -> bool:
    """Pause (or, with None, resume) a rep's nudges. Active windows are extended by the paused days."""
    person = queries.get_person(session, team_id, rep_user_id)
    if person is None:
        return False
    already = person.nudges_paused_until if person.nudges_paused_until and person.nudges_paused_until > today else today
    # Pausing further extends the windows; pausing less (or resuming) gives back the days not used,
    # but never more than the pause added to that commitment.
    change = (until - already).days if until is not None else -(already - today).days
    if change:
        assert person.id is not None
        for commitment in session.exec(
            select(Commitment).where(
                Commitment.team_id == team_id, Commitment.person_id == person.id, Commitment.status == "active"
            )
        ):
            delta = change if change > 0 else -min(-change, commitment.paused_days)
            commitment.ends_on += timedelta(days=delta)
            commitment.window_days += delta
            commitment.paused_days += delta
            session.add(commitment)
    person.nudges_paused_until = until
    person.updated_at = datetime.now(UTC)
    session.add(person)
    return True


def set_reflection(session: Session, team_id: str, commitment_id: int, user_id: str, text: str) -> bool:
    commitment = get_commitment(session, team_id, commitment_id)
    person = session.get(Person, commitment.person_id) if commitment else None
    if commitment is None or person is None or person.slack_user_id != user_id:
        return False
    commitment.reflection = text[:1000]
    session.add(commitment)
    return True


def add_profile(
    session: Session,
    team_id: str,
    rep: SlackUser,
    archetype: str,
    scores: tuple[int, int, int],
    deal_killers: list[str],
    gaps: list[str],
    today: date,
) -> WiringProfile:
    person = queries.get_person(session, team_id, rep.id) or ensure_person(session, team_id, rep)
    assert person.id is not None
    return queries.add_profile_version(session, team_id, person.id, archetype, scores, deal_killers, gaps, today)
