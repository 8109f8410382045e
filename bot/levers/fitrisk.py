"""The Fit Risk Diagnostic's rules: which of the three levers (hiring, coaching, team composition)
leaks most. Coachbot pre-fills the answers it has data for, the manager checks or overrides them
(an override needs a reason, so a changed figure can be trusted later), the answers are scored with
the playbook's rules into points per lever, and the lever with the most points is the leak, shown
with the answers that put it there and the first move for the quarter. Pure: the playbook and plain
values in, plain values out.

A rule adds its points when the answer is strictly past its threshold (`above: 20` means more than
20), so an answer right on a threshold adds nothing. Ties go to hiring, then composition, then
coaching: the upstream lever first, because coaching cannot make up for a person or a seat that was
wrong from the start. The leak depends on the points alone, so a stored run's leak reads the same."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.playbook.fit_risk import FACT_KEYS, LEVERS, WHOLE_UNITS, FitRiskQuestion, ScoringRule
from bot.playbook.models import Playbook

__all__ = [
    "ANSWER_MAX", "ESTIMATE", "FACT_KEYS", "LEVERS", "NO_DATA", "ORG", "REASON_BLOCK", "REASON_MAX", "REASON_MIN",
    "TIE_ORDER", "Answers", "Fact", "Facts", "Prefilled", "Result",
    "block_id", "check_answers", "compare", "leak_of", "prefill", "score", "with_unit",
]  # fmt: skip

TIE_ORDER = ("hiring", "composition", "coaching")  # who wins a tie; see the module docstring
ORG = "org"  # the scope of an admin's run over the whole workspace (a manager's run: their user id)
NO_DATA = "no data yet"
ESTIMATE = "No data in Coachbot; your best estimate."
REASON_BLOCK = "fit_risk_reason"  # the reason input's block id; questions use block_id(key)
REASON_MIN, REASON_MAX = 10, 500
ANSWER_MAX = 12  # characters an answer input takes
_WHOLE = re.compile(r"\s*-?[0-9]{1,6}\s*")  # ASCII digits only: no "1e3", no "²", no "١٢"
_DECIMAL = re.compile(r"\s*-?[0-9]{1,6}(?:\.[0-9]{1,2})?\s*")
_PERCENT = re.compile(r"\s*(-?[0-9]{1,6}(?:\.[0-9]{1,2})?)\s*%?\s*")


def block_id(question_key: str) -> str:
    """The block id of a question's input (and the key of its field error)."""
    return f"q_{question_key}"


@dataclass(frozen=True)
class Fact:
    """What Coachbot knows for one fact key: the figure, and in plain words where it came from
    ("from 14 reps' wiring and seats"); `value` None with "no data yet" when it knows nothing."""

    value: float | None
    source: str = NO_DATA

    @classmethod
    def missing(cls) -> Fact:
        return cls(None, NO_DATA)


Facts = dict[str, Fact]  # keyed by FACT_KEYS


@dataclass(frozen=True)
class Prefilled:
    """One question as the form opens: Coachbot's answer (as the input shows it) or None for blank,
    and the line that says where it came from."""

    key: str
    value: str | None
    source: str


@dataclass(frozen=True)
class Answers:
    """A checked submission: every answer by question key, the questions whose pre-filled figure the
    manager changed, and why (None when nothing was changed and no reason was given)."""

    values: dict[str, float]
    overridden: tuple[str, ...]
    reason: str | None


@dataclass(frozen=True)
class Result:
    """Points per lever (in LEVERS order), the leak, the evidence lines for it, and what to do."""

    points: dict[str, int]
    leak: str
    names: dict[str, str]  # lever key -> the playbook's name for it
    evidence: tuple[str, ...]
    meaning: str
    first_move: str

    @property
    def clear(self) -> bool:
        """No answer passed any threshold: the leak is only the tie-break's pick."""
        return not any(self.points.values())


# --- pre-fill ---------------------------------------------------------------------------------------


def _shown(value: float, unit: str) -> str:
    """A figure as an input shows it: whole for minutes and counts, else at most one decimal."""
    if unit in WHOLE_UNITS:
        return str(round(value))
    return f"{round(value, 1) + 0.0:.1f}".rstrip("0").rstrip(".")


def with_unit(value: float, unit: str) -> str:
    """A figure in words: "35%", "25 minutes", "7.5"."""
    text = _shown(value, unit)
    if unit == "percent":
        return f"{text}%"
    if unit == "minutes":
        return f"{text} minute" + ("" if text == "1" else "s")
    return text


def prefill(playbook: Playbook, facts: Mapping[str, Fact]) -> list[Prefilled]:
    """Each question with Coachbot's figure where it has one (held within the question's range) and
    where it came from; blank with "your best estimate" where it has none."""
    out: list[Prefilled] = []
    for q in playbook.fit_risk.questions:
        fact = facts.get(q.fact) if q.fact else None
        if fact is None or fact.value is None or not math.isfinite(fact.value):
            out.append(Prefilled(q.key, None, ESTIMATE))
            continue
        value = min(max(fact.value, q.min), q.max)
        out.append(Prefilled(q.key, _shown(value, q.unit), f"Coachbot's figure, {fact.source}."))
    return out


# --- checking a submission ----------------------------------------------------------------------------


def _parse(text: str | None, q: FitRiskQuestion) -> tuple[float | None, str | None]:
    """(the answer, None) or (None, why it cannot be used), in the question's unit and range."""
    text = (text or "").strip()
    if not text:
        return None, "Answer this one; your best estimate is fine."
    if q.unit in WHOLE_UNITS:
        match, found = _WHOLE.fullmatch(text), text
        example = "Give a whole number of minutes, like 45." if q.unit == "minutes" else "Give a whole number, like 7."
    elif q.unit == "percent":
        match = _PERCENT.fullmatch(text)
        found, example = (match.group(1) if match else text), "Give a percentage, like 35 or 12.5."
    else:
        match, found, example = _DECIMAL.fullmatch(text), text, "Give a number, like 7 or 7.5."
    if match is None:
        return None, example
    value = float(found)
    if not q.min <= value <= q.max:
        return None, f"Give a figure from {with_unit(q.min, q.unit)} to {with_unit(q.max, q.unit)}."
    return value, None


def _reason_problem(text: str, required: str | None) -> str | None:
    """Why the reason cannot be kept; `required` names the changed answers when one is needed."""
    if not text:
        return f"You changed Coachbot's figure for {required}: say why here." if required else None
    if len(text) < REASON_MIN:
        return f"Say why in a sentence (at least {REASON_MIN} characters)."
    if len(text) > REASON_MAX:
        return f"Keep it to {REASON_MAX} characters or fewer (this is {len(text)})."
    if not text.isprintable():
        return "There is a character here that can't be shown; retype it."
    return None


def check_answers(
    playbook: Playbook,
    raw: Mapping[str, str | None],
    prefilled: Mapping[str, str | None] | Sequence[Prefilled],
    reason: str | None,
) -> tuple[Answers | None, dict[str, str]]:
    """Check a submission: `raw` holds each input's text by block id, `prefilled` what the form opened
    with (by question key, as the modal's metadata carries it). Returns (answers, {}) or (None,
    {block id: problem}) for Slack's field errors. A changed pre-filled figure needs a reason."""
    before = prefilled if isinstance(prefilled, Mapping) else {p.key: p.value for p in prefilled}
    values: dict[str, float] = {}
    overridden: list[str] = []
    errors: dict[str, str] = {}
    for q in playbook.fit_risk.questions:
        value, problem = _parse(raw.get(block_id(q.key)), q)
        if value is None:
            errors[block_id(q.key)] = problem or ""
            continue
        values[q.key] = value
        was, _ = _parse(before.get(q.key), q) if before.get(q.key) is not None else (None, None)
        if was is not None and was != value:
            overridden.append(q.key)
    labels = {q.key: q.label for q in playbook.fit_risk.questions}
    changed = ", ".join(labels[k] for k in overridden) or None
    why = " ".join((reason or "").split())
    if (problem := _reason_problem(why, changed)) is not None:
        errors[REASON_BLOCK] = problem
    if errors:
        return None, errors
    return Answers(values, tuple(overridden), why or None), {}


# --- scoring ----------------------------------------------------------------------------------------


def leak_of(points: Mapping[str, int]) -> str:
    """The lever with the most points; a tie goes to the earlier lever in TIE_ORDER."""
    return max(TIE_ORDER, key=lambda lever: (points.get(lever, 0), -TIE_ORDER.index(lever)))


def _threshold(rule: ScoringRule, unit: str) -> str:
    return f"{'above' if rule.side == 'above' else 'below'} {with_unit(rule.threshold, unit)}"


def score(playbook: Playbook, answers: Mapping[str, float]) -> Result:
    """Points per lever from every rule an answer passes; the leak, and its evidence in words (the
    answers that added to it, most points first). Questions without an answer add nothing."""
    content = playbook.fit_risk
    points = dict.fromkeys(LEVERS, 0)
    added: list[tuple[FitRiskQuestion, float, str, list[ScoringRule]]] = []
    for q in content.questions:
        if q.key not in answers:
            continue
        value = answers[q.key]
        for lever in LEVERS:
            passed = [r for r in q.rules if r.lever == lever and r.passed(value)]
            if passed:
                points[lever] += sum(r.points for r in passed)
                added.append((q, value, lever, passed))
    leak = leak_of(points)
    lines = sorted(
        (_evidence(q, value, rules) for q, value, lever, rules in added if lever == leak), key=lambda e: -e[0]
    )
    entry = getattr(content.levers, leak)
    names = {lever: content.lever_name(lever) for lever in LEVERS}
    return Result(points, leak, names, tuple(text for _, text in lines), entry.meaning, entry.first_move)


def _evidence(q: FitRiskQuestion, value: float, rules: list[ScoringRule]) -> tuple[int, str]:
    """(points, "Coaching minutes per rep a week: 25 minutes, below 60 minutes and below 30 minutes (+5)")."""
    added = sum(r.points for r in rules)
    passed = " and ".join(_threshold(r, q.unit) for r in rules)
    return added, f"{q.label}: {with_unit(value, q.unit)}, {passed} (+{added})"


# --- the change since the last run ------------------------------------------------------------------


def compare(previous: Result | Mapping[str, int] | None, current: Result) -> str | None:
    """One line on what changed since the last run (`previous` is its Result or its stored points per
    lever); None when there was no last run."""
    if previous is None:
        return None
    stored = previous.points if isinstance(previous, Result) else previous
    before = {lever: int(stored.get(lever, 0)) for lever in LEVERS}
    now = {lever: current.points.get(lever, 0) for lever in LEVERS}
    names, was, leak = current.names, leak_of(before), current.leak
    if before == now:
        return "No change since the last run: every lever has the same points."
    moves = ", ".join(
        f"{names[lever]} {before[lever]} → {now[lever]}" for lever in LEVERS if before[lever] != now[lever]
    )
    if not any(before.values()):
        return f"Last run, no answer passed a threshold; now {names[leak]} leads with {now[leak]} points."
    if current.clear:
        return f"No answer passes a threshold now; last run, {names[was]} led with {before[was]} points."
    if was != leak:
        return f"Since the last run the biggest leak moved from {names[was]} to {names[leak]} ({moves})."
    trend = "up" if now[leak] > before[leak] else "down" if now[leak] < before[leak] else "unchanged"
    return f"{names[leak]} is still the biggest leak, its points {trend} since the last run ({moves})."
