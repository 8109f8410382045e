"""The outcome ledger in the database: counted as each commitment closes (one upsert inside the
closing transaction), corrected when a closed outcome changes, rebuilt from the commitments when
asked, and read for the prescribe form in a constant number of statements whatever the history.

The archetype a commitment counts under is the one of the wiring profile its diagnosis was made
against (the rep's latest profile when the manager diagnosed and prescribed): it never changes
afterwards, so counting as commitments close and rebuilding from scratch always agree, and a
later assessment does not move old outcomes to a new archetype."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, func, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from bot.learning import rules
from bot.learning.views import SHOW_WINDOW, Advice
from bot.playbook.models import Playbook
from storage.models import CheckIn, Commitment, Diagnosis, OutcomeLedger, WiringProfile

SHAPE = ("team_id", "archetype", "gap", "cause", "practice_format", "weekly_pace")


@dataclass(frozen=True)
class Key:
    team_id: str
    archetype: str
    gap: str
    cause: str
    practice_format: str
    weekly_pace: int


def key_of(commitment: Commitment, cause: str | None, archetype: str | None) -> Key:
    days = rules.practice_days(commitment.window_days, commitment.paused_days)
    return Key(
        commitment.team_id,
        archetype or rules.NONE,
        commitment.gap,
        cause or rules.NONE,
        commitment.practice_format,
        rules.weekly_pace(commitment.target_count, days),
    )


def _shape(session: Session, commitment: Commitment) -> Key:
    """The ledger key of one commitment: two small reads (its diagnosis and that diagnosis's profile)."""
    diagnosis = session.get(Diagnosis, commitment.diagnosis_id) if commitment.diagnosis_id else None
    archetype = None
    if diagnosis is not None and diagnosis.profile_version is not None:
        archetype = session.exec(
            select(WiringProfile.archetype).where(
                WiringProfile.person_id == commitment.person_id, WiringProfile.version == diagnosis.profile_version
            )
        ).first()
    return key_of(commitment, diagnosis.cause if diagnosis else None, archetype)


def _add(session: Session, key: Key, met: int, missed: int) -> None:
    """One atomic upsert: two dispatchers closing commitments of the same shape at once both count."""
    table = OutcomeLedger.__table__  # type: ignore[attr-defined]
    values = {**key.__dict__, "met": max(met, 0), "missed": max(missed, 0), "updated_at": datetime.now(UTC)}
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=list(SHAPE),
        set_={"met": table.c.met + met, "missed": table.c.missed + missed, "updated_at": values["updated_at"]},
    )
    session.execute(statement)


def record_change(session: Session, commitment: Commitment, before: str) -> None:
    """Count a commitment whose status just went from `before` to its current one: a close (active
    to met or missed) adds one; a closed outcome that changes (met to missed, or reopened) moves or
    takes back its count. Call it inside the transaction that changes the status."""
    was = before if rules.counts_in_ledger(commitment.gap, before) else None
    now = commitment.status if rules.counts_in_ledger(commitment.gap, commitment.status) else None
    if was == now:
        return
    key = _shape(session, commitment)
    _add(session, key, (now == "met") - (was == "met"), (now == "missed") - (was == "missed"))


def record_close(session: Session, commitment: Commitment) -> None:
    """The closeout's one call (bot.outbox.delivery): an active commitment has just closed."""
    record_change(session, commitment, "active")


def rebuild(session: Session, team_id: str | None = None) -> int:
    """Count every closed commitment again (one workspace, or all), with the same key as the
    incremental count. Returns the number of ledger rows written."""
    query = (
        select(Commitment, Diagnosis.cause, WiringProfile.archetype)
        .join(Diagnosis, col(Diagnosis.id) == col(Commitment.diagnosis_id), isouter=True)
        .join(
            WiringProfile,
            (col(WiringProfile.person_id) == col(Commitment.person_id))
            & (col(WiringProfile.version) == col(Diagnosis.profile_version)),
            isouter=True,
        )
        .where(col(Commitment.status).in_(rules.CLOSED))
    )
    wipe = delete(OutcomeLedger)
    if team_id is not None:
        query, wipe = query.where(Commitment.team_id == team_id), wipe.where(col(OutcomeLedger.team_id) == team_id)
    tally: Counter[tuple[Key, str]] = Counter()
    for commitment, cause, archetype in session.exec(query):
        if rules.counts_in_ledger(commitment.gap, commitment.status):
            tally[(key_of(commitment, cause, archetype), commitment.status)] += 1
    session.execute(wipe)
    keys = sorted({k for k, _ in tally}, key=lambda k: tuple(k.__dict__.values()))
    rows = [{**k.__dict__, "met": tally[(k, "met")], "missed": tally[(k, "missed")]} for k in keys]
    now = datetime.now(UTC)
    for start in range(0, len(rows), 500):
        session.execute(insert(OutcomeLedger), [{**r, "updated_at": now} for r in rows[start : start + 500]])
    return len(rows)


def ledger_cells(session: Session, team_id: str, archetype: str, gap: str) -> list[rules.LedgerCell]:
    """Every ledger row for an archetype and gap in one workspace, each with the distinct reps behind
    its format and weekly target: two statements, whatever the history."""
    found = session.exec(
        select(OutcomeLedger).where(
            OutcomeLedger.team_id == team_id, OutcomeLedger.archetype == archetype, OutcomeLedger.gap == gap
        )
    ).all()
    if not found:
        return []
    spread = rep_spread(session, team_id, archetype, gap)
    return [
        rules.LedgerCell(
            r.cause,
            r.practice_format,
            r.weekly_pace,
            r.met,
            r.missed,
            spread.get((r.practice_format, r.weekly_pace)) or frozenset(),
        )
        for r in found
    ]


def rep_spread(session: Session, team_id: str, archetype: str, gap: str) -> dict[tuple[str, int], frozenset[int]]:
    """Which reps closed commitments of each (practice format, weekly target) for an archetype and gap,
    with the same shape as the ledger's count: one DISTINCT statement over the workspace's closed
    commitments on that gap (the ledger holds counts, not people, and the privacy floor needs
    people). Rows returned are bounded by reps x formats x sizes, not by the history's length."""
    found = session.exec(
        select(
            Commitment.person_id, Commitment.practice_format, Commitment.target_count,
            col(Commitment.window_days) - col(Commitment.paused_days),
        )
        .distinct()
        .join(Diagnosis, col(Diagnosis.id) == col(Commitment.diagnosis_id))
        .join(
            WiringProfile,
            (col(WiringProfile.person_id) == col(Commitment.person_id))
            & (col(WiringProfile.version) == col(Diagnosis.profile_version)),
        )
        .where(
            Commitment.team_id == team_id, Commitment.gap == gap, col(Commitment.status).in_(rules.CLOSED),
            WiringProfile.archetype == archetype,
        )
    )  # fmt: skip
    reps: dict[tuple[str, int], set[int]] = {}
    for person_id, fmt, target, days in found:  # days: the window less its paused days, as in key_of
        pace = rules.weekly_pace(target, max(1, int(days)))
        reps.setdefault((fmt, pace), set()).add(person_id)
    return {k: frozenset(v) for k, v in reps.items()}


def own_history(session: Session, team_id: str, person_id: int, limit: int) -> list[rules.PastOutcome]:
    """The rep's last closed commitments (not plan milestones), newest first, with what was logged
    in each: one statement."""
    logged = func.coalesce(func.sum(CheckIn.count), 0)
    found = session.exec(
        select(Commitment, logged)
        .join(CheckIn, col(CheckIn.commitment_id) == col(Commitment.id), isouter=True)
        .where(
            Commitment.team_id == team_id,
            Commitment.person_id == person_id,
            col(Commitment.status).in_(rules.CLOSED),
            col(Commitment.gap).not_like("onboarding:%"),
        )
        .group_by(col(Commitment.id))
        .order_by(col(Commitment.closed_at).desc(), col(Commitment.id).desc())
        .limit(limit)
    )
    return [
        rules.past_outcome(
            c.target_count, int(count), rules.practice_days(c.window_days, c.paused_days), c.status == "met"
        )
        for c, count in found
    ]


def advice_for(
    session: Session, playbook: Playbook, team_id: str, person_id: int, archetype: str | None, gap: str
) -> Advice:
    """What the prescribe form shows: the best-evidenced shapes for the rep's archetype and gap
    across the workspace, and which weekly targets look right for this rep. Three statements."""
    learning = playbook.learning
    comparable = archetype is not None and gap in playbook.gaps
    cells = ledger_cells(session, team_id, archetype or "", gap) if comparable else []
    history = own_history(session, team_id, person_id, learning.own_history)
    comfortable = rules.comfortable_targets(history, cells, learning, SHOW_WINDOW)
    middle = (comfortable[0] + comfortable[1]) / 2 if comfortable else 1.0
    sized = rules.size(middle, history, rules.band_records(cells, learning), learning, rules.streak_of(history))
    return Advice(
        archetype=archetype,
        gap=gap if gap in playbook.gaps else None,
        shapes=rules.best_shapes(cells, learning),
        cells=cells,
        history=history,
        comfortable=comfortable,
        sized=sized,
    )


def sizing_for(
    session: Session, playbook: Playbook, commitment: Commitment, archetype: str | None
) -> tuple[rules.Sizing, list[rules.PastOutcome]]:
    """How likely the commitment just sent is to be met, from the same reads as the form."""
    advice = advice_for(session, playbook, commitment.team_id, commitment.person_id, archetype, commitment.gap)
    pace = commitment.target_count * rules.WEEK / rules.practice_days(commitment.window_days, commitment.paused_days)
    history = advice.history
    records = rules.band_records(advice.cells, playbook.learning)
    return rules.size(pace, history, records, playbook.learning, rules.streak_of(history)), history
