"""The levers in the database: storing an imported metrics file (once, whatever the number of
re-imports), and reading what composition, retention and the leading-vs-lagging view need in a
fixed number of column queries however many reps there are."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.levers.composition import Member
from bot.levers.fitrisk import Answers, Result
from bot.levers.lagging import QUARTER, WINDOWS, Figure, RepRecord
from bot.levers.metrics_file import MetricRow, Resolver
from bot.levers.retention import Tenure
from bot.playbook.models import Playbook
from storage.models import Commitment, EmploymentEvent, FitRiskRun, Person, RepMetric, Seat, WiringProfile


def resolver(session: Session, team_id: str) -> Resolver:
    """Rep cells name someone on this workspace's roster, by Slack user id or email (any case)."""
    ids: dict[str, int] = {}
    for person_id, user_id, email in session.exec(
        select(Person.id, Person.slack_user_id, Person.email).where(Person.team_id == team_id)
    ):
        if person_id is None:
            continue
        ids[user_id] = person_id
        if email:
            ids[email.casefold()] = person_id
    return lambda ref: ids.get(ref) or ids.get(ref.casefold())


@dataclass
class Stored:
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    events_added: int = 0
    events_known: int = 0

    def describe(self) -> str:
        return (
            f"metrics: {self.added} period(s) added, {self.changed} updated, {self.unchanged} unchanged; "
            f"employment events: {self.events_added} added, {self.events_known} already on record"
        )


def _store_figures(
    session: Session,
    team_id: str,
    row: MetricRow,
    existing: dict[tuple[int, str, date], RepMetric],
    stored: Stored,
    now: datetime,
) -> None:
    assert row.period is not None
    key = (row.person_id, row.period.kind, row.period.start)
    metric = existing.get(key)
    if metric is None:
        metric = RepMetric(team_id=team_id, person_id=row.person_id, period=key[1], period_start=key[2])
        existing[key] = metric
        stored.added += 1
    elif all(getattr(metric, name) == value for name, value in row.figures.items()):
        stored.unchanged += 1
        return
    else:
        stored.changed += 1
    for name, value in row.figures.items():
        setattr(metric, name, value)
    metric.updated_at = now
    session.add(metric)


def store_metrics(session: Session, team_id: str, rows: list[MetricRow], now: datetime) -> Stored:
    """Upsert each rep's figures by period (a figure the file leaves out keeps its stored value) and
    add events not yet on record; the unique keys make a repeated or concurrent import harmless."""
    people = list({r.person_id for r in rows})
    existing = {
        (m.person_id, m.period, m.period_start): m
        for m in session.exec(
            select(RepMetric).where(RepMetric.team_id == team_id, col(RepMetric.person_id).in_(people))
        )
    }
    known = {
        (e.person_id, e.kind, e.occurred_on)
        for e in session.exec(
            select(EmploymentEvent).where(
                EmploymentEvent.team_id == team_id, col(EmploymentEvent.person_id).in_(people)
            )
        )
    }
    stored = Stored()
    for row in rows:
        if row.period is not None:
            _store_figures(session, team_id, row, existing, stored, now)
        if row.event is not None and row.event_date is not None:
            if (row.person_id, row.event, row.event_date) in known:
                stored.events_known += 1
                continue
            known.add((row.person_id, row.event, row.event_date))
            session.add(
                EmploymentEvent(
                    team_id=team_id,
                    person_id=row.person_id,
                    kind=row.event,
                    occurred_on=row.event_date,
                    exit_type=row.exit_type,
                    created_at=now,
                )
            )
            stored.events_added += 1
    session.flush()
    return stored


def _month_days(start: date) -> int:
    following = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return (following - start).days


def records(session: Session, team_id: str, people: list[RosterRow], today: date) -> dict[int, RepRecord]:
    """Closed commitments of the last 12 weeks and figures reaching into the last quarter, by person
    id: two column queries however many reps."""
    ids = [p.person_id for p in people]
    found = {p.person_id: RepRecord(p.name) for p in people}
    since = datetime.combine(today - timedelta(weeks=max(WINDOWS)), time.min, UTC)
    for person_id, closed_at, status in session.exec(
        select(Commitment.person_id, Commitment.closed_at, Commitment.status).where(
            Commitment.team_id == team_id,
            col(Commitment.person_id).in_(ids),
            col(Commitment.status).in_(("met", "missed")),
            col(Commitment.closed_at) >= since,
        )
    ):
        if closed_at is not None:
            found[person_id].closed.append((closed_at.date(), status == "met"))
    for person_id, figures in figures_of(session, team_id, ids, today).items():
        found[person_id].figures = figures
    return found


def figures_of(session: Session, team_id: str, person_ids: list[int], today: date) -> dict[int, list[Figure]]:
    """Each rep's figures for periods reaching into the last quarter: one column query."""
    columns = (col(RepMetric.person_id), col(RepMetric.period), col(RepMetric.period_start))
    figures = (col(RepMetric.quota_attainment), col(RepMetric.pipeline_quality))
    found: dict[int, list[Figure]] = defaultdict(list)
    for person_id, period, start, attainment, quality in session.execute(
        sa_select(*columns, *figures).where(
            col(RepMetric.team_id) == team_id,
            col(RepMetric.person_id).in_(person_ids),
            col(RepMetric.period_start) >= today - QUARTER - timedelta(days=31),
        )
    ):
        days = _month_days(start) if period == "month" else 7
        found[person_id].append(Figure(start, attainment, quality, days))
    return found


def has_metrics(session: Session, team_id: str) -> bool:
    return bool(session.exec(select(func.count()).select_from(RepMetric).where(RepMetric.team_id == team_id)).one())


@dataclass(frozen=True)
class RosterRow:
    """One person with their latest wiring and their seat, as plain values."""

    person_id: int
    user_id: str
    display_name: str
    role: str
    active: bool
    manager: str | None
    start: date | None
    archetype: str | None = None
    scores: tuple[int, int, int] | None = None
    deal_killers: tuple[str, ...] = ()
    seat_archetype: str | None = None

    @property
    def name(self) -> str:
        return self.display_name or f"<@{self.user_id}>"

    @property
    def member(self) -> Member:
        return Member(self.name, self.archetype, self.seat_archetype, self.scores, self.deal_killers)


def load_roster(session: Session, team_id: str) -> list[RosterRow]:
    """Everyone on the workspace's roster with their latest profile and seat: three column queries
    (people, latest profiles, seats), not ORM rows, since an organisation has thousands."""
    person = (Person.id, Person.slack_user_id, Person.display_name, Person.role, Person.active)
    people = session.execute(
        sa_select(*map(col, person), col(Person.manager_user_id), col(Person.start_date), col(Person.seat_id))
        .where(col(Person.team_id) == team_id)
        .order_by(col(Person.display_name), col(Person.id))
    ).all()
    latest = (
        sa_select(col(WiringProfile.person_id), func.max(WiringProfile.version).label("version"))
        .where(col(WiringProfile.team_id) == team_id)
        .group_by(col(WiringProfile.person_id))
        .subquery()
    )
    wiring = (WiringProfile.archetype, WiringProfile.coachability, WiringProfile.drive, WiringProfile.resilience)
    profiles = {
        row[0]: row[1:]
        for row in session.execute(
            sa_select(col(WiringProfile.person_id), *map(col, wiring), col(WiringProfile.deal_killers)).join(
                latest,
                (col(WiringProfile.person_id) == latest.c.person_id) & (col(WiringProfile.version) == latest.c.version),
            )
        )
    }
    seats = dict(
        session.execute(sa_select(col(Seat.id), col(Seat.archetype)).where(col(Seat.team_id) == team_id)).all()
    )
    found = []
    for pid, user_id, name, role, active, manager, start, seat_id in people:
        profile = profiles.get(pid)
        found.append(
            RosterRow(
                pid, user_id, name, role, active, manager, start,
                archetype=profile[0] if profile else None,
                scores=(profile[1], profile[2], profile[3]) if profile else None,
                deal_killers=tuple(profile[4] or ()) if profile else (),
                seat_archetype=seats.get(seat_id),
            )
        )  # fmt: skip
    return found


def active_reps(roster: list[RosterRow], manager_id: str | None = None) -> list[RosterRow]:
    """Active reps of one manager, or of the whole workspace with None."""
    return [r for r in roster if r.role == "rep" and r.active and (manager_id is None or r.manager == manager_id)]


def manager_names(roster: list[RosterRow]) -> dict[str, str]:
    return {r.user_id: r.display_name for r in roster if r.role == "manager" and r.display_name}


def tenures(session: Session, playbook: Playbook, team_id: str, roster: list[RosterRow]) -> list[Tenure]:
    """Everyone who has been a rep here (left or not), with starts and exits from the events, falling
    back on the roster's start date: one more query."""
    starts: dict[int, date] = {}
    exits: dict[int, tuple[date, bool]] = {}
    for person_id, kind, on, exit_type in session.execute(
        sa_select(
            col(EmploymentEvent.person_id),
            col(EmploymentEvent.kind),
            col(EmploymentEvent.occurred_on),
            col(EmploymentEvent.exit_type),
        ).where(col(EmploymentEvent.team_id) == team_id)
    ):
        if kind == "start":
            starts[person_id] = min(on, starts.get(person_id, on))
        else:
            exits[person_id] = max((on, exit_type == "voluntary"), exits.get(person_id, (date.min, False)))
    found = []
    for r in roster:
        if r.role != "rep":
            continue
        kind = playbook.archetypes.get(r.archetype or "")
        exit_on, voluntary = exits.get(r.person_id, (None, None))
        found.append(
            Tenure(
                archetype=kind.name if kind else (r.archetype or "no profile"),
                fits_seat=(r.archetype == r.seat_archetype) if r.archetype and r.seat_archetype else None,
                flagged=bool(r.deal_killers),
                start=starts.get(r.person_id, r.start),
                exit_on=exit_on,
                voluntary=voluntary,
            )
        )
    return found


def record_run(
    session: Session,
    team_id: str,
    scope: str,
    caller: str,
    answers: Answers,
    result: Result,
    key: str,
    now: datetime,
) -> tuple[int | None, dict[str, int] | None]:
    """Keep a Fit Risk run once per submitted form (None for a repeat), with the points of the
    previous run of the same scope, so the result can say what changed."""
    if session.exec(select(FitRiskRun.id).where(FitRiskRun.submission_key == key[:64])).first() is not None:
        return None, None
    previous = session.exec(
        select(FitRiskRun.points)
        .where(FitRiskRun.team_id == team_id, FitRiskRun.scope == scope)
        .order_by(col(FitRiskRun.created_at).desc(), col(FitRiskRun.id).desc())
    ).first()
    run = FitRiskRun(
        team_id=team_id,
        scope=scope,
        run_by=caller,
        answers=dict(answers.values),
        overridden=list(answers.overridden),
        reason=(answers.reason or "")[:500],
        points=dict(result.points),
        leak=result.leak,
        submission_key=key[:64],
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(run)
            session.flush()
    except IntegrityError:  # the same form, stored by a concurrent request a moment ago
        return None, None
    return run.id, ({str(k): int(v) for k, v in previous.items()} if previous is not None else None)
