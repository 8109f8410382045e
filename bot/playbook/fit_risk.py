"""The playbook's `fit_risk` section: the Fit Risk Diagnostic's ten questions, the rules that turn an
answer into points for a lever (hiring, coaching or composition), and per lever what its leak means
and the first move. Scoring is content an organization tunes, so it lives in the playbook and is
checked on load like every other section.

`bot.playbook.file` imports this module for `PlaybookFile`, so nothing here imports that one; what
they share (the problem error type, the key pattern, the base model) comes from `bot.playbook.content`."""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic_core import InitErrorDetails

from bot.playbook.content import KEY_PATTERN, Content, one_line, problem, shipped_section
from bot.playbook.content import PROBLEM as PROBLEM  # the same error type as bot.playbook.file's

LEVERS = ("hiring", "coaching", "composition")
UNITS = ("percent", "minutes", "count", "number")
WHOLE_UNITS = ("minutes", "count")  # answered in whole numbers; percent and number take decimals
QUESTIONS = 10
QUESTION_MAX = 150  # the input label in the modal: one readable line
LABEL_MAX = 40  # the short name in evidence lines
MOVE_MAX = 600  # the first move: a few sentences, well inside one section
POINTS_MAX = 20
VALUE_MAX = 100_000  # no question needs a bigger answer (minutes a week, reps, ...)
# What Coachbot can work out from its own data and pre-fill; the data gathering computes each one.
FACT_KEYS = (
    "seat_misfit_share",  # % of reps whose archetype is not the one their seat needs
    "deal_killer_hire_share",  # % of the last 12 months' hires with at least one deal-killer flag
    "coaching_minutes_per_rep",  # logged coaching minutes per rep per week
    "skill_diagnosis_share",  # % of diagnoses whose cause was a coaching (skill) gap
    "commitments_met_share",  # % of commitments closed met over the last 12 weeks
    "one_to_one_share",  # % of logged coaching minutes spent with one rep
    "reps_per_manager",  # reps per manager (the average, for an organization)
    "ramp_behind_share",  # % of the last year's hires whose 30/60/90 plan finished behind
    "first_year_exit_share",  # % of hires who left within their first year
)


def _one_of(allowed: tuple[str, ...], what: str, tail: str = "") -> AfterValidator:
    def check(value: str) -> str:
        if value not in allowed:
            raise problem(f"'{value}' is not {what}; use {', '.join(allowed)}{tail}")
        return value

    return AfterValidator(check)


Label = Annotated[str, BeforeValidator(one_line), StringConstraints(min_length=1, max_length=LABEL_MAX)]
Line = Annotated[str, BeforeValidator(one_line), StringConstraints(min_length=1, max_length=QUESTION_MAX)]
Move = Annotated[str, BeforeValidator(one_line), StringConstraints(min_length=1, max_length=MOVE_MAX)]
Lever = Annotated[str, _one_of(LEVERS, "a lever"), Field(json_schema_extra={"enum": list(LEVERS)})]
Unit = Annotated[str, _one_of(UNITS, "a unit"), Field(json_schema_extra={"enum": list(UNITS)})]
FactKey = Annotated[
    str,
    _one_of(FACT_KEYS, "a fact Coachbot knows", " (or leave `fact` out)"),
    Field(json_schema_extra={"enum": list(FACT_KEYS)}),
]
Figure = Annotated[float, Field(ge=-VALUE_MAX, le=VALUE_MAX, allow_inf_nan=False)]


class ScoringRule(Content):
    """Points for a lever when an answer is past a threshold: above it, or below it (strictly)."""

    lever: Lever
    above: Figure | None = Field(default=None, description="Points when the answer is greater than this.")
    below: Figure | None = Field(default=None, description="Points when the answer is less than this.")
    points: int = Field(ge=1, le=POINTS_MAX)

    @model_validator(mode="after")
    def _one_threshold(self) -> ScoringRule:
        if (self.above is None) == (self.below is None):
            raise problem("give exactly one threshold: `above` or `below`")
        return self

    @property
    def side(self) -> str:
        return "above" if self.above is not None else "below"

    @property
    def threshold(self) -> float:
        return self.above if self.above is not None else (self.below or 0.0)

    def passed(self, answer: float) -> bool:
        """Strictly past the threshold: an answer equal to it adds nothing."""
        return answer > self.threshold if self.side == "above" else answer < self.threshold


class FitRiskQuestion(Content):
    """One question: what is asked, in what unit and range, what Coachbot can pre-fill it from, and
    which answers add points to which lever."""

    key: Annotated[str, StringConstraints(pattern=KEY_PATTERN)]
    label: Label = Field(description=f"A short name for evidence lines (at most {LABEL_MAX} characters).")
    text: Line = Field(description=f"The question as asked (at most {QUESTION_MAX} characters).")
    unit: Unit
    min: Figure = 0
    max: Figure
    fact: FactKey | None = Field(default=None, description="The fact Coachbot pre-fills the answer from, if any.")
    rules: list[ScoringRule] = Field(min_length=1, description="Every rule whose threshold is passed adds its points.")

    @model_validator(mode="after")
    def _ranges(self) -> FitRiskQuestion:
        """A range that makes sense for the unit, and thresholds an answer in it can pass."""
        problems: list[InitErrorDetails] = []
        if self.min >= self.max:
            problems.append(_detail(("max",), self.max, f"must be greater than min ({self.min:g})"))
        elif self.unit == "percent" and not 0 <= self.min < self.max <= 100:
            problems.append(_detail(("max",), self.max, "a percent question runs within 0 to 100"))
        for i, rule in enumerate(self.rules if not problems else ()):
            edge = self.max if rule.side == "above" else self.min
            if not self.min <= rule.threshold <= self.max or rule.threshold == edge:
                reason = f"{rule.threshold:g} can never be passed: answers run {self.min:g} to {self.max:g}"
                problems.append(_detail(("rules", i, rule.side), rule.threshold, reason))
        if problems:
            raise ValidationError.from_exception_data("fit risk question", problems)
        return self


def _detail(loc: tuple[str | int, ...], value: Any, reason: str) -> InitErrorDetails:
    return InitErrorDetails(type=problem(reason), loc=loc, input=value)


class LeverEntry(Content):
    """What a lever's leak means and what to do about it first."""

    name: Label
    meaning: Line = Field(description="One line: what it means when this lever leaks most.")
    first_move: Move = Field(description="The first move for this quarter when this lever leaks most.")


class FitRiskLevers(Content):
    hiring: LeverEntry
    coaching: LeverEntry
    composition: LeverEntry


def _ten_questions(questions: list[FitRiskQuestion]) -> list[FitRiskQuestion]:
    if len(questions) != QUESTIONS:
        raise problem(f"list exactly {QUESTIONS} questions (found {len(questions)})")
    keys = [q.key for q in questions]
    twice = sorted({k for k in keys if keys.count(k) > 1})
    if twice:
        raise problem(f"each question needs its own key ({', '.join(twice)} used twice)")
    return questions


class FitRiskEntry(Content):
    """The Fit Risk Diagnostic: ten questions answered in one form, scored into points per lever;
    the lever with the most points is the biggest leak. Without this section, the default playbook's."""

    levers: FitRiskLevers
    questions: Annotated[
        list[FitRiskQuestion],
        AfterValidator(_ten_questions),
        Field(json_schema_extra={"minItems": QUESTIONS, "maxItems": QUESTIONS}),
    ]

    def lever_name(self, lever: str) -> str:
        entry: LeverEntry | None = getattr(self.levers, lever, None)
        return entry.name if entry else lever


@cache
def shipped_fit_risk() -> FitRiskEntry:
    """The default playbook's diagnostic, so a custom playbook without the section still runs one."""
    return FitRiskEntry.model_validate(shipped_section("fit_risk"))
