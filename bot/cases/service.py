"""The case index in the database: written when a diagnosis is recorded, read for the diagnose form.

Why an incremental index rather than scoring on request: a workspace with 50,000 closed
commitments has tens of thousands of cases, and tokenizing every evidence text for each /diagnose
would not fit the three seconds Slack gives a form to open. So each diagnosis is tokenized once, in
its own transaction: one case row (with the rep's wiring then), one row per word with its count,
and per-workspace word frequencies kept by upsert. A lookup then costs five statements whatever
the history: the query words' frequencies, one scoring statement in which the database adds up
BM25 over the postings of those words (the same arithmetic as bot.cases.rules) beside the wiring
likeness and keeps the best three, and two reads for what those three tried and which words they
share. Only cases with a closed commitment count (something was tried and the outcome is known).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Float, Numeric, case, cast, func
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from bot.cases import opinion, rules
from bot.cases.opinion import SecondOpinion
from bot.cases.rules import CaseAdvice, SimilarCase, Wiring
from bot.levers.lagging import read
from bot.levers.service import figures_of
from bot.playbook.models import Playbook
from bot.roster.views import WiringCard
from storage.models import CaseDoc, CaseTerm, CaseTermDf, CheckIn, Commitment, Diagnosis, Person, Seat, WiringProfile

GENERAL = "general"
CLOSED = ("met", "missed")


def index_case(session: Session, diagnosis: Diagnosis) -> None:
    """Add one recorded diagnosis to the index, inside the transaction that stored it."""
    assert diagnosis.id is not None
    profile = None
    if diagnosis.profile_version is not None:
        profile = session.exec(
            select(WiringProfile).where(
                WiringProfile.person_id == diagnosis.person_id, WiringProfile.version == diagnosis.profile_version
            )
        ).first()
    seat = session.exec(
        select(Seat.archetype).join(Person, col(Person.seat_id) == col(Seat.id)).where(Person.id == diagnosis.person_id)
    ).first()
    counts = rules.term_counts(diagnosis.evidence)
    length = sum(counts.values())
    killers, flagged = (
        sorted(set(profile.deal_killers)) if profile else [],
        sorted(set(profile.gaps)) if profile else [],
    )
    archetype = profile.archetype if profile else ""
    doc = CaseDoc(
        team_id=diagnosis.team_id,
        diagnosis_id=diagnosis.id,
        person_id=diagnosis.person_id,
        archetype=archetype,
        seat_risk=None if not (archetype and seat) else archetype != seat,
        profiled=profile is not None,
        deal_killers=rules.flags_text(killers),
        flagged_gaps=rules.flags_text(flagged),
        killer_count=len(killers),
        flagged_count=len(flagged),
        cause=diagnosis.cause,
        gap=diagnosis.gap or GENERAL,
        length=length,
        created_at=diagnosis.created_at,
    )
    session.add(doc)
    session.flush()
    assert doc.id is not None
    terms = sorted(counts.items())
    if terms:
        rows = [{"team_id": doc.team_id, "term": t, "case_id": doc.id, "tf": n, "doc_len": length} for t, n in terms]
        session.execute(CaseTerm.__table__.insert(), rows)  # type: ignore[attr-defined]
    _count_words(session, doc.team_id, [("", 1, length), *((t, 1, n) for t, n in terms)])


def _count_words(session: Session, team_id: str, rows: list[tuple[str, int, int]]) -> None:
    """One upsert for all of a case's words, in term order so two diagnoses recorded at once take
    their row locks in the same order (no deadlock on PostgreSQL)."""
    table = CaseTermDf.__table__  # type: ignore[attr-defined]
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).values(
        [{"team_id": team_id, "term": t, "docs": d, "uses": u} for t, d, u in rows]
    )
    statement = statement.on_conflict_do_update(
        index_elements=["team_id", "term"],
        set_={"docs": table.c.docs + statement.excluded.docs, "uses": table.c.uses + statement.excluded.uses},
    )
    session.execute(statement)


def _overlap(stored: Any, count: Any, keys: frozenset[str]) -> ColumnElement[float]:
    """rules.overlap in SQL, from the ",a,b," text and its key count."""
    if not keys:
        return case((count == 0, 1.0), else_=0.0)
    inter = sum((case((stored.contains(f",{k},", autoescape=True), 1), else_=0) for k in sorted(keys)), start=0)
    union = len(keys) + count - inter
    return case((union == 0, 1.0), else_=cast(inter, Float) / union)


def _wiring_sql(q: Wiring) -> ColumnElement[float]:
    """rules.wiring_score in SQL."""
    parts: list[ColumnElement[float]] = []
    if q.archetype:
        parts.append(case((col(CaseDoc.archetype) == q.archetype, rules.W_ARCHETYPE), else_=0.0))
    if q.seat_risk is not None:
        parts.append(case((col(CaseDoc.seat_risk) == q.seat_risk, rules.W_SEAT), else_=0.0))
    if q.profiled:
        likeness = rules.W_KILLERS * _overlap(col(CaseDoc.deal_killers), col(CaseDoc.killer_count), q.killers)
        likeness += rules.W_FLAGGED * _overlap(col(CaseDoc.flagged_gaps), col(CaseDoc.flagged_count), q.flagged)
        parts.append(case((col(CaseDoc.profiled).is_(True), likeness), else_=0.0))
    if q.gap:
        parts.append(case((col(CaseDoc.gap) == q.gap, rules.W_GAP), else_=0.0))
    return sum(parts, start=cast(0.0, Float))


def _frequencies(session: Session, team_id: str, terms: list[str]) -> tuple[dict[str, int], int, float]:
    """Document frequencies of the query words, the number of cases and their average length."""
    df: dict[str, int] = {}
    docs, uses = 0, 0
    for term, n, total in session.exec(
        select(CaseTermDf.term, CaseTermDf.docs, CaseTermDf.uses).where(
            CaseTermDf.team_id == team_id, col(CaseTermDf.term).in_(["", *terms])
        )
    ):
        if term == "":
            docs, uses = n, total
        elif n > 0:
            df[term] = n
    return df, docs, (uses / docs if docs else 0.0)


def _scoring(team_id: str, rep_person_id: int, viewer: str | None, q: Wiring, weights: dict[str, float], avg: float):  # type: ignore[no-untyped-def]
    """The one statement that ranks every visible case: wiring likeness plus BM25 over the postings."""
    visible = sa_select(col(Person.id)).where(col(Person.team_id) == team_id, col(Person.manager_user_id) == viewer)
    closed_q: Any = (
        sa_select(
            col(Commitment.diagnosis_id).label("diagnosis_id"),
            func.max(col(Commitment.id)).label("last"),
            func.sum(case((col(Commitment.status) == "met", 1), else_=0)).label("met"),
            func.count().label("closed"),
        )
        .where(col(Commitment.team_id) == team_id, col(Commitment.status).in_(CLOSED))
        .where(col(Commitment.diagnosis_id).is_not(None), col(Commitment.person_id) != rep_person_id)
        .group_by(col(Commitment.diagnosis_id))
    )
    if viewer is not None:
        closed_q = closed_q.where(col(Commitment.person_id).in_(visible))
    closed = closed_q.subquery()
    total = _wiring_sql(q)
    query = sa_select(CaseDoc, closed.c.last, closed.c.met, closed.c.closed).join(
        closed, closed.c.diagnosis_id == col(CaseDoc.diagnosis_id)
    )
    if weights:
        tf = cast(col(CaseTerm.tf), Float)
        norm = rules.K1 * (1 - rules.B) + (rules.K1 * rules.B / avg) * cast(col(CaseTerm.doc_len), Float)
        weight = case(weights, value=col(CaseTerm.term), else_=0.0)
        words = (
            sa_select(
                col(CaseTerm.case_id).label("case_id"),
                func.sum(weight * tf * (rules.K1 + 1) / (tf + norm)).label("bm25"),
            )
            .where(col(CaseTerm.team_id) == team_id, col(CaseTerm.term).in_(sorted(weights)))
            .group_by(col(CaseTerm.case_id))
            .subquery()
        )
        query = query.outerjoin(words, words.c.case_id == col(CaseDoc.id))
        total = total + func.coalesce(words.c.bm25, 0.0) * (rules.W_WORDS / rules.words_ceiling(weights))
    score = func.round(cast(total, Numeric), rules.SCORE_DIGITS).label("score")
    query = query.add_columns(score).where(col(CaseDoc.team_id) == team_id, col(CaseDoc.person_id) != rep_person_id)
    if viewer is not None:
        query = query.where(col(CaseDoc.person_id).in_(visible))
    return query.order_by(score.desc(), col(CaseDoc.created_at).desc(), col(CaseDoc.id).desc()).limit(rules.SHOWN)


def _wiring_of(doc: CaseDoc) -> Wiring:
    return Wiring(
        archetype=doc.archetype or None,
        seat_risk=doc.seat_risk,
        killers=rules.flags_of(doc.deal_killers),
        flagged=rules.flags_of(doc.flagged_gaps),
        gap=doc.gap,
        profiled=doc.profiled,
    )


def similar_cases(
    session: Session, team_id: str, rep_person_id: int, query: Wiring, text: str, viewer: str | None
) -> list[SimilarCase]:
    """The three cases most like the rep's, among those `viewer` may see: their own reps' (a
    manager) or everyone's in the workspace (None: an admin). Never the rep's own cases (their
    history is in the form already). Four statements at most, whatever the number of cases."""
    counts = rules.term_counts(text)
    df, docs, avg = _frequencies(session, team_id, sorted(counts))
    if docs == 0:
        return []
    weights = rules.query_weights(counts, df, docs)
    top = session.execute(_scoring(team_id, rep_person_id, viewer, query, weights, avg)).all()
    if not top:
        return []
    last_ids = [row.last for row in top]
    logged = func.coalesce(
        sa_select(func.sum(col(CheckIn.count)))
        .where(col(CheckIn.commitment_id) == col(Commitment.id))
        .scalar_subquery(),
        0,
    )
    tried = {
        row[0]: row
        for row in session.execute(
            sa_select(
                col(Commitment.id), col(Commitment.behavior), col(Commitment.target_count), col(Commitment.status),
                logged, col(Diagnosis.evidence), col(Person.slack_user_id),
            )
            .join(Diagnosis, col(Diagnosis.id) == col(Commitment.diagnosis_id))
            .join(Person, col(Person.id) == col(Commitment.person_id))
            .where(col(Commitment.team_id) == team_id, col(Commitment.id).in_(last_ids))
        )
    }  # fmt: skip
    shared: dict[int, list[str]] = {}
    if weights:
        for case_id, term in session.exec(
            select(CaseTerm.case_id, CaseTerm.term).where(
                col(CaseTerm.team_id) == team_id,
                col(CaseTerm.case_id).in_([row[0].id for row in top]),
                col(CaseTerm.term).in_(sorted(weights)),
            )
        ):
            shared.setdefault(case_id, []).append(term)
    found = []
    for doc, last, met, closed, score in top:
        _, behavior, target, status, count, evidence, rep_user_id = tried[last]
        found.append(
            SimilarCase(
                rep_user_id, doc.created_at.date(), doc.cause, doc.gap, evidence, behavior, target, int(count),
                status, int(met), int(closed), tuple(rules.matched_on(query, _wiring_of(doc), shared.get(doc.id, []))),
                float(score),
            )
        )  # fmt: skip
    return found


def query_for(session: Session, team_id: str, rep_person_id: int, note: str) -> tuple[str, str | None]:
    """What the rep's current case says: the note typed with /diagnose and the evidence of their
    latest diagnosis, and that diagnosis's gap (one statement)."""
    latest = session.exec(
        select(Diagnosis.evidence, Diagnosis.gap)
        .where(Diagnosis.team_id == team_id, col(Diagnosis.person_id) == rep_person_id)
        .order_by(col(Diagnosis.created_at).desc(), col(Diagnosis.id).desc())
        .limit(1)
    ).first()
    if latest is None:
        return note, None
    evidence, gap = latest
    return f"{note}\n{evidence}", gap or GENERAL


HISTORY_DAYS = 120  # as far back as the weekly summary reads cycles and diagnoses (bot.team.data)


def opinion_for(
    session: Session, playbook: Playbook, team_id: str, person_id: int, today: date
) -> SecondOpinion | None:
    """The rep's second opinion, if any, from the same horizon the weekly summary reads: closed
    commitments with their check-in totals, diagnoses, and imported figures (three statements)."""
    since = datetime.combine(today - timedelta(days=HISTORY_DAYS), time(0), tzinfo=UTC)
    logged = func.coalesce(
        sa_select(func.sum(col(CheckIn.count)))
        .where(col(CheckIn.commitment_id) == col(Commitment.id))
        .scalar_subquery(),
        0,
    )
    cycles = [
        opinion.Cycle(cid, gap, behavior, status, int(count), target, closed_at.date())
        for cid, gap, behavior, status, target, closed_at, count in session.execute(
            sa_select(
                col(Commitment.id), col(Commitment.gap), col(Commitment.behavior), col(Commitment.status),
                col(Commitment.target_count), col(Commitment.closed_at), logged,
            ).where(
                col(Commitment.team_id) == team_id, col(Commitment.person_id) == person_id,
                col(Commitment.status).in_(CLOSED), col(Commitment.closed_at) >= since,
            )
        )
        if closed_at is not None
    ]  # fmt: skip
    diagnoses = [
        opinion.Diagnosed(gap or GENERAL, cause, created_at.date())
        for gap, cause, created_at in session.exec(
            select(Diagnosis.gap, Diagnosis.cause, Diagnosis.created_at).where(
                col(Diagnosis.team_id) == team_id,
                col(Diagnosis.person_id) == person_id,
                col(Diagnosis.created_at) >= since,
            )
        )
    ]
    figures = figures_of(session, team_id, [person_id], today).get(person_id, [])
    verdict = None
    if figures:
        closed = [(c.closed_on, c.status == "met") for c in cycles]
        verdict = read(closed, figures, today, playbook.lagging).verdict
    return opinion.second_opinion(
        sorted(cycles, key=lambda c: (c.closed_on, c.commitment_id)), diagnoses, verdict, playbook.second_opinion
    )


def current_wiring(card: WiringCard, gap: str | None) -> Wiring:
    """The rep's wiring now, as a case to compare with."""
    arch, seat = card.archetype, card.seat_archetype
    return Wiring(
        archetype=arch,
        seat_risk=None if not (arch and seat) else arch != seat,
        killers=frozenset(card.deal_killers),
        flagged=frozenset(card.gaps),
        gap=gap,
        profiled=card.version is not None,
    )


def advice_for(
    session: Session,
    playbook: Playbook,
    team_id: str,
    person_id: int,
    card: WiringCard,
    note: str,
    viewer: str | None,
    today: date,
) -> CaseAdvice:
    """Everything the diagnose form shows from the case index, in a fixed number of statements."""
    text, gap = query_for(session, team_id, person_id, note)
    similar = similar_cases(session, team_id, person_id, current_wiring(card, gap), text, viewer)
    return CaseAdvice(opinion_for(session, playbook, team_id, person_id, today), similar, viewer is None)
