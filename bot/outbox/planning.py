"""Which (rep, kind, period) rows should exist by now: weekly nudges, mid-window reminders,
closeouts, managers' weekly summaries and slip warnings (about a rep, to their manager). Planning
only inserts, and a conflict on the natural key does nothing, so any number of passes (or
dispatchers) plan each message once."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, func, select
from sqlmodel.sql.expression import Select

from bot.context import AppContext
from bot.onboarding.service import wake_behaviors
from bot.outbox.report import PassReport
from bot.outbox.rows import aware
from bot.playbook.thresholds import CoachingDebt
from bot.practice.pace import Slip, due_check, slipping, window
from bot.practice.schedule import latest_weekly, local_moment, local_today, zone_for
from storage.db import session_scope
from storage.models import CheckIn, Commitment, Person, ScheduledMessage, Workspace

PLAN_CHUNK = 1000
REMINDER_MIN_WINDOW = 3  # a reminder only makes sense when there is a middle to the window

OutboxRow = dict[str, str | int | datetime | None]
RowKey = tuple[str, str, str, str]
# id, team, starts_on, ends_on, window_days, created_at, rep, rep's zone, nudges paused until
ActiveCommitment = tuple[int | None, str, date, date, int, datetime, str, str, date | None]
# id, person id, starts_on, ends_on, target: a past window that sets a rep's usual pace
PastWindow = tuple[int | None, int, date, date, int]
PACE_DAYS = 182  # windows older than this no longer say what is usual for the rep
PACE_CHUNK = 500


def _insert(session: Session) -> Callable[[type[ScheduledMessage]], PgInsert | SqliteInsert]:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def plan(ctx: AppContext, now: datetime, report: PassReport) -> None:
    default_tz = ctx.settings.default_tz
    with session_scope(ctx.engine) as session:
        workspaces = {w.team_id: w for w in session.exec(select(Workspace).where(Workspace.active))}
        if not workspaces:
            return
        # a day early in UTC at most: a nudge still waits for the rep's own day (`starts_on <= day`)
        wake_behaviors(session, (now + timedelta(hours=14)).date())
        active = _active_commitments(session, workspaces)
        existing = _existing_keys(session)
        rows: list[OutboxRow] = []
        for cid, team_id, starts_on, ends_on, window_days, created_at, rep_id, tz, paused_until in active:
            ws = workspaces[team_id]
            zone = zone_for(tz, default_tz)
            today = local_today(now, zone)
            if paused_until and paused_until > today:
                continue
            wanted: list[tuple[str, str, datetime]] = []
            day, due = latest_weekly(now, zone, ws.nudge_weekday, ws.nudge_hour, ws.nudge_minute)
            if starts_on <= day <= ends_on and due >= aware(created_at):
                wanted.append(("nudge", day.isoformat(), due))
            if ws.reminders_enabled and window_days >= REMINDER_MIN_WINDOW:
                mid = starts_on + timedelta(days=window_days // 2)
                due = local_moment(mid, ws.nudge_hour, ws.nudge_minute, zone)
                if due <= now:
                    wanted.append(("reminder", str(cid), due))
            close_due = local_moment(ends_on + timedelta(days=1), ws.nudge_hour, ws.nudge_minute, zone)
            if close_due <= now:
                wanted.append(("closeout", str(cid), close_due))
            for kind, period, due in wanted:
                key = (team_id, rep_id, kind, period)
                if key not in existing:
                    existing.add(key)
                    rows.append(
                        {
                            "team_id": key[0],
                            "rep_user_id": key[1],
                            "kind": kind,
                            "period": period,
                            "commitment_id": cid,
                            "due_at": due,
                            "status": "pending",
                            "attempts": 0,
                            "created_at": now,
                        }
                    )
        rows += _plan_summaries(ctx, session, workspaces, now)
        rows += _plan_slips(ctx, session, workspaces, active, existing, now)
        rows = interleave(rows)
        stmt = _insert(session)(ScheduledMessage).on_conflict_do_nothing(
            index_elements=["team_id", "rep_user_id", "kind", "period"]
        )
        for start in range(0, len(rows), PLAN_CHUNK):
            session.exec(stmt, params=rows[start : start + PLAN_CHUNK])
        report.planned += len(rows)


def interleave(rows: list[OutboxRow]) -> list[OutboxRow]:
    """Rows in the order they should go: by due time, and within one due time workspace after workspace
    (each one's first row, then each one's second...). Claims follow the insert order, so each batch
    spans many workspaces, which the dispatcher then serves side by side."""
    rank: dict[tuple[object, object], int] = defaultdict(int)
    keyed = []
    for row in rows:
        slot = (row["due_at"], row["team_id"])
        keyed.append((row["due_at"], rank[slot], str(row["team_id"]), row))
        rank[slot] += 1
    keyed.sort(key=lambda k: (k[0], k[1], k[2]))
    return [k[3] for k in keyed]


def _active_commitments(session: Session, workspaces: dict[str, Workspace]) -> Sequence[ActiveCommitment]:
    """Narrow column tuples, not ORM objects: this reads every active commitment each pass.

    `Select(...)` is what sqlmodel's `select()` builds for several columns; it is typed only up to four.
    """
    query: Select[*ActiveCommitment] = Select(
        col(Commitment.id),
        col(Commitment.team_id),
        col(Commitment.starts_on),
        col(Commitment.ends_on),
        col(Commitment.window_days),
        col(Commitment.created_at),
        col(Person.slack_user_id),
        col(Person.tz),
        col(Person.nudges_paused_until),
    )
    return session.exec(
        query.join(Person, col(Person.id) == col(Commitment.person_id)).where(
            Commitment.status == "active", col(Commitment.team_id).in_(list(workspaces)), Person.active
        )
    ).all()


def _existing_keys(session: Session) -> set[RowKey]:
    return {
        (r[0], r[1], r[2], r[3])
        for r in session.exec(
            select(
                ScheduledMessage.team_id,
                ScheduledMessage.rep_user_id,
                ScheduledMessage.kind,
                ScheduledMessage.period,
            )
            .join(Commitment, col(Commitment.id) == col(ScheduledMessage.commitment_id))
            .where(Commitment.status == "active")
        )
    }


def _plan_summaries(
    ctx: AppContext, session: Session, workspaces: dict[str, Workspace], now: datetime
) -> list[OutboxRow]:
    """One weekly summary per manager with reps, at the workspace's summary time in the manager's zone."""
    recent = {
        (r[0], r[1], r[2])
        for r in session.exec(
            select(ScheduledMessage.team_id, ScheduledMessage.rep_user_id, ScheduledMessage.period).where(
                ScheduledMessage.kind == "summary", col(ScheduledMessage.due_at) >= now - timedelta(days=8)
            )
        )
    }
    managers = session.exec(
        select(Person.team_id, Person.manager_user_id)
        .where(col(Person.team_id).in_(list(workspaces)), Person.active, col(Person.manager_user_id).is_not(None))
        .distinct()
    ).all()
    tz_of: dict[tuple[str, str | None], str | None] = {
        (t, u): tz
        for t, u, tz in session.exec(
            select(Person.team_id, Person.slack_user_id, Person.tz).where(
                col(Person.team_id).in_(list(workspaces)), Person.role == "manager"
            )
        )
    }
    rows: list[OutboxRow] = []
    for team_id, manager_id in managers:
        ws = workspaces[team_id]
        zone = zone_for(tz_of.get((team_id, manager_id)), ctx.settings.default_tz)
        day, due = latest_weekly(now, zone, ws.summary_weekday, ws.summary_hour, ws.summary_minute)
        if (team_id, manager_id, day.isoformat()) not in recent:
            rows.append(
                {
                    "team_id": team_id,
                    "rep_user_id": manager_id,
                    "kind": "summary",
                    "period": day.isoformat(),
                    "commitment_id": None,
                    "due_at": due,
                    "status": "pending",
                    "attempts": 0,
                    "created_at": now,
                }
            )
    return rows


def _plan_slips(
    ctx: AppContext,
    session: Session,
    workspaces: dict[str, Workspace],
    active: Sequence[ActiveCommitment],
    existing: set[RowKey],
    now: datetime,
) -> list[OutboxRow]:
    """A heads-up for the manager when a rep is well behind their own usual pace with more than half of
    the window gone (bot/practice/pace.py). Decided here, so a row exists only for a real slip, and its
    natural key (rep, "slip", commitment id) keeps it to one per window. Windows are judged at their daily
    check (pace.due_check), so nothing is read in most passes; reminders off (quiet settings) or a pause
    means no warning."""
    candidates: dict[int, tuple[str, str, ZoneInfo, date, date, datetime]] = {}
    for cid, team_id, starts_on, ends_on, _, _, rep_id, tz, paused_until in active:
        ws = workspaces[team_id]
        if cid is None or not ws.reminders_enabled or (team_id, rep_id, "slip", str(cid)) in existing:
            continue
        zone = zone_for(tz, ctx.settings.default_tz)
        if paused_until and paused_until > local_today(now, zone):
            continue
        check = due_check(starts_on, ends_on, zone, ws.nudge_hour, ws.nudge_minute, now)
        if check is not None:
            candidates[cid] = (team_id, rep_id, zone, starts_on, ends_on, check)
    if not candidates:
        return []
    rules = ctx.playbook.coaching_debt
    # Progress is at most the whole target, so a window at slip_ratio of its target or more cannot be behind.
    possible = {
        cid: (person_id, target)
        for cid, person_id, target, logged in _progress(session, list(workspaces))
        if cid in candidates and logged < rules.slip_ratio * target
    }
    past, checkins = load_pace(session, {cid: person_id for cid, (person_id, _) in possible.items()}, now.date())
    rows: list[OutboxRow] = []
    for cid, (person_id, target) in possible.items():
        team_id, rep_id, zone, starts_on, ends_on, check = candidates[cid]
        current = (cid, person_id, starts_on, ends_on, target)
        if slip_of(current, past.get(person_id, []), checkins, zone, now, rules) is None:
            continue
        existing.add((team_id, rep_id, "slip", str(cid)))
        rows.append(
            {
                "team_id": team_id,
                "rep_user_id": rep_id,  # the rep the warning is about; delivery sends it to their manager
                "kind": "slip",
                "period": str(cid),
                "commitment_id": cid,
                "due_at": check,
                "status": "pending",
                "attempts": 0,
                "created_at": now,
            }
        )
    return rows


def _progress(session: Session, teams: list[str]) -> Sequence[tuple[int | None, int, int, int]]:
    """(id, person, target, logged) of every active commitment: one grouped query, no per-rep reads."""
    return session.exec(
        select(
            col(Commitment.id),
            col(Commitment.person_id),
            col(Commitment.target_count),
            func.coalesce(func.sum(CheckIn.count), 0),
        )
        .outerjoin(CheckIn, col(CheckIn.commitment_id) == col(Commitment.id))
        .where(Commitment.status == "active", col(Commitment.team_id).in_(teams))
        .group_by(col(Commitment.id), col(Commitment.person_id), col(Commitment.target_count))
    ).all()


def load_pace(
    session: Session, current: dict[int, int], today: date
) -> tuple[dict[int, list[PastWindow]], dict[int, list[tuple[datetime, int]]]]:
    """For windows being judged (commitment id -> person id): each rep's recent closed windows, oldest
    first, and the check-ins of those and of the rep's active windows. Two queries per 500 reps."""
    past: dict[int, list[PastWindow]] = defaultdict(list)
    checkins: dict[int, list[tuple[datetime, int]]] = defaultdict(list)
    people = sorted(set(current.values()))
    recent = col(Commitment.status).in_(("met", "missed")) & (
        col(Commitment.ends_on) >= today - timedelta(days=PACE_DAYS)
    )
    query: Select[*PastWindow] = Select(
        col(Commitment.id),
        col(Commitment.person_id),
        col(Commitment.starts_on),
        col(Commitment.ends_on),
        col(Commitment.target_count),
    )
    for start in range(0, len(people), PACE_CHUNK):
        chunk = people[start : start + PACE_CHUNK]
        for row in session.exec(
            query.where(col(Commitment.person_id).in_(chunk), recent).order_by(
                col(Commitment.ends_on), col(Commitment.id)
            )
        ):
            past[row[1]].append(row)
        for cid, created_at, count in session.exec(
            select(CheckIn.commitment_id, CheckIn.created_at, CheckIn.count)
            .join(Commitment, col(Commitment.id) == col(CheckIn.commitment_id))
            .where(
                col(Commitment.person_id).in_(chunk),
                (col(Commitment.status) == "active") | recent,
                col(CheckIn.count) > 0,
            )
        ):
            checkins[cid].append((created_at, count))
    return past, checkins


def slip_of(
    current: PastWindow,
    past: list[PastWindow],
    checkins: dict[int, list[tuple[datetime, int]]],
    zone: ZoneInfo,
    now: datetime,
    rules: CoachingDebt,
) -> Slip | None:
    """The pace rule on loaded rows: the current window against the rep's other closed windows."""
    windows = [
        window(s, e, target, zone, checkins.get(cid or -1, [])) for cid, _, s, e, target in past if cid != current[0]
    ]
    cid, _, starts_on, ends_on, target = current
    return slipping(window(starts_on, ends_on, target, zone, checkins.get(cid or -1, [])), windows, now, rules)
