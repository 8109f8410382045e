"""How alike two coaching cases are: by the rep's wiring and by the words of the diagnosis evidence.

A case is one past diagnosis that has at least one closed commitment (something was tried and the
outcome is known). Words are compared with Okapi BM25, computed here in plain Python so the
ranking can be read and tested; bot.cases.service runs the same arithmetic inside the database
over an incremental term index, and the tests hold the two to the same answers. Pure: no database,
no Slack.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from bot.cases.opinion import SecondOpinion

# BM25's usual constants: how quickly repeating a word stops adding (k1) and how much a long
# evidence text is discounted against the average (b).
K1 = 1.2
B = 0.75
MAX_QUERY_TERMS = 24  # the rarest words of the query are kept; the SQL stays a bounded size
TERM_MAX = 40  # longer "words" (pasted links, ids) are cut to this many characters
SHOWN = 3  # similar cases shown in the diagnose form
SCORE_DIGITS = 6  # scores are compared rounded, so Python and either database order ties alike

# How much each likeness counts. Words weigh most because the evidence is the manager's own account
# of the situation; the same diagnosed gap and the same archetype come next; the rest refine.
W_ARCHETYPE = 3.0
W_SEAT = 2.0
W_KILLERS = 2.0
W_FLAGGED = 1.0
W_GAP = 2.0
W_WORDS = 4.0

# Words that say nothing about a situation. Kept short on purpose: evidence is brief and specific.
# The backfill in migration 0013 carries a frozen copy of this list and of `tokens`; a test keeps
# the two equal.
STOPWORDS = frozenset(
    """a an and are as at be been but by can could did do does for from had has have he her his how i if
    in into is it its just me more most my no not of on or our she so than that the their them then there
    they this to too us was we were what when which who will with would you your""".split()  # noqa: SIM905
)
_WORD = re.compile(r"[^\W_]+")


def tokens(text: str) -> list[str]:
    """The words of a text as the index keeps them: lower case, letters and digits only, no stop
    words or single characters, a plain plural "s" dropped (calls → call), at most TERM_MAX long."""
    found = []
    for word in _WORD.findall(text.lower()):
        if len(word) < 2 or word in STOPWORDS:
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        found.append(word[:TERM_MAX])
    return found


def term_counts(text: str) -> Counter[str]:
    return Counter(tokens(text))


def idf(df: int, docs: int) -> float:
    """Inverse document frequency in the form that never goes negative (a word in most cases still
    counts a little, never against)."""
    return math.log(1 + (docs - df + 0.5) / (df + 0.5))


def query_weights(query: Mapping[str, int], df: Mapping[str, int], docs: int) -> dict[str, float]:
    """Each query word's weight (idf times how often the query says it), for the rarest
    MAX_QUERY_TERMS words that occur in any case; ties kept alphabetically."""
    known = [t for t in query if df.get(t, 0) > 0]
    known.sort(key=lambda t: (df[t], t))
    return {t: idf(df[t], docs) * query[t] for t in sorted(known[:MAX_QUERY_TERMS])}


def bm25(weights: Mapping[str, float], doc: Mapping[str, int], doc_len: int, avg_len: float) -> float:
    """The BM25 score of one case's evidence for the query words' weights."""
    score = 0.0
    norm = K1 * (1 - B + B * doc_len / avg_len) if avg_len > 0 else K1
    for term, weight in weights.items():
        tf = doc.get(term, 0)
        if tf:
            score += weight * tf * (K1 + 1) / (tf + norm)
    return score


def words_ceiling(weights: Mapping[str, float]) -> float:
    """What no case can reach (every word repeated without end): dividing by it puts the words on
    a 0-1 scale beside the wiring without looking at the other cases."""
    return sum(weights.values()) * (K1 + 1)


@dataclass(frozen=True)
class Wiring:
    """What a case is compared on besides words: the rep's wiring when diagnosed and the gap.
    `seat_risk` is None when no seat is recorded; `profiled` is False without a wiring profile."""

    archetype: str | None = None
    seat_risk: bool | None = None
    killers: frozenset[str] = frozenset()
    flagged: frozenset[str] = frozenset()
    gap: str | None = None
    profiled: bool = False


def overlap(a: frozenset[str], b: frozenset[str]) -> float:
    """Jaccard overlap; two empty sets are alike (neither rep has a deal-killer flagged)."""
    union = len(a | b)
    return 1.0 if union == 0 else len(a & b) / union


def wiring_score(query: Wiring, case: Wiring) -> float:
    score = 0.0
    if query.archetype and case.archetype == query.archetype:
        score += W_ARCHETYPE
    if query.seat_risk is not None and case.seat_risk == query.seat_risk:
        score += W_SEAT
    if query.profiled and case.profiled:
        score += W_KILLERS * overlap(query.killers, case.killers)
        score += W_FLAGGED * overlap(query.flagged, case.flagged)
    if query.gap and case.gap == query.gap:
        score += W_GAP
    return score


def matched_on(query: Wiring, case: Wiring, words: Iterable[str]) -> list[str]:
    """What the two cases share, in words a manager reads at a glance."""
    reasons = []
    if query.archetype and case.archetype == query.archetype:
        reasons.append("archetype")
    if query.seat_risk is not None and case.seat_risk == query.seat_risk:
        reasons.append("seat fit")
    if query.profiled and case.profiled and query.killers & case.killers:
        reasons.append("deal-killer flags")
    if query.profiled and case.profiled and query.flagged & case.flagged:
        reasons.append("flagged gaps")
    if query.gap and case.gap == query.gap:
        reasons.append("the gap")
    shared = sorted(set(words))
    if shared:
        reasons.append("words: " + ", ".join(shared[:5]))
    return reasons


@dataclass(frozen=True)
class Doc:
    """One case as the pure ranking sees it (the tests build these; the service builds SQL)."""

    case_id: int
    created_at: datetime
    wiring: Wiring
    terms: Mapping[str, int] = field(default_factory=dict)

    @property
    def length(self) -> int:
        return sum(self.terms.values())


def score(query: Wiring, weights: Mapping[str, float], doc: Doc, avg_len: float) -> float:
    ceiling = words_ceiling(weights)
    words = bm25(weights, doc.terms, doc.length, avg_len) / ceiling if ceiling else 0.0
    return round(wiring_score(query, doc.wiring) + W_WORDS * words, SCORE_DIGITS)


def rank(query: Wiring, text: str, docs: Sequence[Doc], limit: int = SHOWN) -> list[tuple[Doc, float]]:
    """The most similar cases, best first; equal scores go to the more recent case, then the
    higher id, so the order never depends on how the rows came back."""
    df: Counter[str] = Counter()
    for doc in docs:
        df.update(set(doc.terms))
    avg_len = sum(d.length for d in docs) / len(docs) if docs else 0.0
    weights = query_weights(term_counts(text), df, len(docs))
    scored = [(doc, score(query, weights, doc, avg_len)) for doc in docs]
    scored.sort(key=lambda pair: (-pair[1], -pair[0].created_at.timestamp(), -pair[0].case_id))
    return scored[:limit]


def flags_text(keys: Iterable[str]) -> str:
    """A set of keys as the index stores it (",a,b,"), so one LIKE finds a key without a JSON query."""
    ordered = sorted(set(keys))
    return "," + ",".join(ordered) + "," if ordered else ""


def flags_of(stored: str) -> frozenset[str]:
    return frozenset(k for k in stored.split(",") if k)


@dataclass(frozen=True)
class SimilarCase:
    """One similar past case, as the diagnose form shows it."""

    rep_user_id: str
    diagnosed_on: date
    cause: str
    gap: str
    evidence: str
    behavior: str  # the latest commitment tried under it
    target: int
    logged: int
    status: str  # met | missed
    met: int  # closed commitments under this diagnosis that were met ...
    closed: int  # ... of this many
    reasons: tuple[str, ...]
    score: float


@dataclass(frozen=True)
class CaseAdvice:
    """What the diagnose form adds for one rep: a second opinion, if the outcomes call for one, and
    the most similar past cases the caller may see."""

    opinion: SecondOpinion | None
    similar: list[SimilarCase]
    everyone: bool  # the caller is an admin: cases from the whole workspace
