"""The playbook file's shape: pydantic models for every section, with the checks pydantic cannot
express (placeholders, references between sections) as validators. `bot.playbook.schema` turns the
same models into `playbook.schema.json`; `bot.playbook.models` builds the `Playbook` the app reads."""

from __future__ import annotations

import re
from functools import cache
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic_core import ErrorDetails, InitErrorDetails

from bot.playbook.content import (
    KEY_PATTERN,
    KEY_RE,
    NAME_MAX,
    PROBLEM,
    Content,
    Name,
    Text,
    one_line,
    problem,
    reject,
    shipped_section,
)
from bot.playbook.fit_risk import FitRiskEntry, shipped_fit_risk
from bot.playbook.learning import LearningRules
from bot.playbook.thresholds import CoachingDebt, LaggingRules, PipRules, SecondOpinionRules

CAUSES = ("seat_fit", "coaching_gap", "environmental_drag", "motivation")
DEFAULT = "default"  # the per-archetype entry for archetypes without their own
PHASES = (1, 2, 3)  # the 30/60/90 plan: days 1-30, 31-60, 61-90
MILESTONE_MAX = 150  # a milestone is one line in a plan, a modal and a DM
MILESTONES_MAX = 8  # per phase: more than this is a list, not a plan
COUNT_MAX = 50  # a counted milestone's target: the same ceiling as a prescribed commitment's
# "5× Lead a discovery call..." (or "5x ..."): a milestone that is a behavior, counted by check-ins
COUNTED = re.compile(r"^(\d{1,3})\s?[×x]\s+(?=\S)")

PROMPT_KEYS = (
    "data_first_opening",
    "pushback_seat_fit",
    "pushback_deal_killer",
    "no_profile",
    "seat_conversation",
    "pause_offer",
)
PLACEHOLDERS = {
    "archetype": "A",
    "seat_archetype": "S",
    "a_archetype": "an A",
    "a_seat_archetype": "an S",
    "traits": "T",
}


class PlaybookError(Exception):
    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        super().__init__("\n".join(f"playbook {source}: {p}" for p in problems))


# --- value types -----------------------------------------------------------------------------------


def _placeholders(value: str) -> str:
    try:
        value.format(**PLACEHOLDERS)
    except (KeyError, IndexError, ValueError) as exc:
        allowed = ", ".join("{" + name + "}" for name in PLACEHOLDERS)
        reject(f"bad placeholder {exc}; use {allowed}")
    return value


Key = Annotated[str, StringConstraints(pattern=KEY_PATTERN)]
PromptText = Annotated[Text, AfterValidator(_placeholders)]
Phrase = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1)]
Line = Annotated[str, BeforeValidator(one_line), StringConstraints(min_length=1, max_length=MILESTONE_MAX)]


def _counted(title: str) -> str:
    """A counted milestone's count must be one a commitment can take."""
    match = COUNTED.match(title)
    if match and not 1 <= int(match.group(1)) <= COUNT_MAX:
        reject(f"a counted milestone asks for 1 to {COUNT_MAX} times (found {match.group(1)})")
    return title


MilestoneLine = Annotated[Line, AfterValidator(_counted)]


def _milestone_count(titles: list[str]) -> list[str]:
    if not 1 <= len(titles) <= MILESTONES_MAX:
        reject(f"list 1 to {MILESTONES_MAX} milestones, one per item (found {len(titles)})")
    return titles


def _phase_numbers(table: Any) -> Any:
    """Keys are phase numbers: YAML reads `1:` as a number, JSON (an editor's view) as "1"; both count."""
    if not isinstance(table, dict):
        return table
    wrong = [key for key in table if str(key) not in map(str, PHASES)]
    if wrong:
        details = [
            InitErrorDetails(type=problem("phase numbers are 1, 2 and 3"), loc=(str(key),), input=key) for key in wrong
        ]
        raise ValidationError.from_exception_data("phase table", details)
    return {int(key): titles for key, titles in table.items()}


def _numbered_phases(schema: dict[str, Any]) -> None:
    """In the JSON Schema, a phase table's keys are "1", "2" and "3" and nothing else."""
    schema["patternProperties"] = {"^[1-3]$": schema.pop("additionalProperties")}
    schema["additionalProperties"] = False


Milestones = Annotated[
    list[MilestoneLine],
    AfterValidator(_milestone_count),
    Field(json_schema_extra={"minItems": 1, "maxItems": MILESTONES_MAX}),
]
# Extra milestones by phase number, e.g. {1: [...], 3: [...]}.
PhaseTable = Annotated[
    dict[int, Milestones],
    Field(min_length=1, json_schema_extra=_numbered_phases),
    BeforeValidator(_phase_numbers),
]

_V = TypeVar("_V")


def _needs_default(table: dict[str, _V]) -> dict[str, _V]:
    if DEFAULT not in table:
        detail = InitErrorDetails(
            type=problem("missing (used for archetypes without their own entry)"), loc=(DEFAULT,), input=table
        )
        raise ValidationError.from_exception_data("per-archetype table", [detail])
    return table


# Entries under keys the organization chooses. Keys are what roster files and the database use.
Table = Annotated[dict[Key, _V], Field(min_length=1, json_schema_extra={"additionalProperties": False})]
# One entry per archetype key, plus `default` for every archetype without its own.
PerArchetype = Annotated[
    dict[Key, _V],
    AfterValidator(_needs_default),
    Field(json_schema_extra={"required": [DEFAULT], "additionalProperties": False}),
]


# --- the file --------------------------------------------------------------------------------------


class NamedEntry(Content):
    name: Name = Field(description=f"What people see: headers, buttons, menus (at most {NAME_MAX} characters).")


class ArchetypeEntry(NamedEntry):
    """One way a rep can be wired."""

    summary: Text
    coaching_style: Text
    first_practice_step: Text


class GapEntry(NamedEntry):
    """A skill gap a manager can diagnose, with the drill to practise for it."""

    description: Text
    drills: PerArchetype[Text] = Field(description="A drill per archetype key, and `default` for the others.")


class DealKillerEntry(NamedEntry):
    """A trait weekly skill coaching rarely moves."""

    guidance: Text


class CauseBrief(Content):
    """What to suspect and how to open the conversation."""

    hypothesis: Text
    opening_question: Text


class CauseEntry(NamedEntry):
    """One of the coaching model's root causes, in the organization's words."""

    move: Text
    briefs: PerArchetype[CauseBrief] = Field(description="A brief per archetype key, and `default` for the others.")


class RootCauses(Content):
    """The coaching model's four root causes: all four, and no others."""

    seat_fit: CauseEntry
    coaching_gap: CauseEntry
    environmental_drag: CauseEntry
    motivation: CauseEntry


class Prompts(Content):
    """What Coachbot says in briefs. Placeholders: {archetype}, {seat_archetype}, {traits}, and
    {a_archetype}, {a_seat_archetype} (the same names after "a" or "an")."""

    data_first_opening: PromptText
    pushback_seat_fit: PromptText
    pushback_deal_killer: PromptText
    no_profile: PromptText
    seat_conversation: PromptText
    pause_offer: PromptText
    vague_phrases: tuple[Phrase, ...] = Field(
        (), description="Commitments using any of these phrases cannot be counted; the prescribe form refuses them."
    )


def _keys(table: Any) -> set[str]:
    return {key for key in table if isinstance(key, str)} if isinstance(table, dict) else set()


def _unknown(name: Any, known: set[str], what: str, loc: tuple[str, ...]) -> list[InitErrorDetails]:
    """A problem when `name` is a well-formed key that is not one of `known` (a malformed key has its own)."""
    if not isinstance(name, str) or not KEY_RE.match(name) or name in known:
        return []
    return [InitErrorDetails(type=problem(f"'{name}' is not {what} in this playbook"), loc=(*loc, name), input=name)]


def _reference_problems(data: Any) -> list[InitErrorDetails]:
    """Entries under a key that is not an archetype (or gap) of this file: per-archetype drills and
    briefs, and the onboarding plan's extras.

    Works on the raw data, so these are reported together with any other problem in the file; a
    part too broken to read is skipped here (its own problem is reported)."""
    if not isinstance(data, dict):
        return []
    archetypes, gaps = _keys(data.get("archetypes")), _keys(data.get("gaps"))
    problems: list[InitErrorDetails] = []
    for section, field in (("gaps", "drills"), ("causes", "briefs")):
        entries = data.get(section)
        for key, entry in entries.items() if archetypes and isinstance(entries, dict) else ():
            table = entry.get(field) if isinstance(entry, dict) else None
            if (section == "causes" and key not in CAUSES) or not isinstance(table, dict):
                continue
            for name in table:
                problems += _unknown(name, {*archetypes, DEFAULT}, "an archetype", (section, key, field))
    onboarding = data.get("onboarding")
    extras = (("by_archetype", archetypes and {*archetypes, DEFAULT}, "an archetype"), ("by_gap", gaps, "a gap"))
    for field, known, what in extras:
        table = onboarding.get(field) if isinstance(onboarding, dict) else None
        for name in table if known and isinstance(table, dict) else ():
            problems += _unknown(name, known, what, ("onboarding", field))
    practice = onboarding.get("practice_format") if isinstance(onboarding, dict) else None
    formats = _keys(data.get("practice_formats"))
    if formats and isinstance(practice, str) and KEY_RE.match(practice) and practice not in formats:
        reason = problem(f"'{practice}' is not a practice format in this playbook")
        problems.append(InitErrorDetails(type=reason, loc=("onboarding", "practice_format"), input=practice))
    return problems


def _again(detail: ErrorDetails) -> InitErrorDetails:
    """A reported error in the form that raises it again."""
    ctx = detail.get("ctx") or {}
    if detail["type"] == PROBLEM:
        return InitErrorDetails(type=problem(str(ctx["problem"])), loc=detail["loc"], input=detail["input"])
    again = InitErrorDetails(type=detail["type"], loc=detail["loc"], input=detail["input"])
    if ctx:
        again["ctx"] = ctx
    return again


class OnboardingPhaseEntry(Content):
    """One phase of a new hire's 30/60/90 plan."""

    name: Name
    focus: Line = Field(description="One line on what the phase is for.")
    milestones: Milestones = Field(description="What every new hire does in this phase, one short title each.")


def _three_phases(phases: list[OnboardingPhaseEntry]) -> list[OnboardingPhaseEntry]:
    if len(phases) != len(PHASES):
        reject(f"list exactly three phases, in order: days 1-30, 31-60, 61-90 (found {len(phases)})")
    return phases


class OnboardingEntry(Content):
    """The 30/60/90 plan Coachbot drafts for a new hire: every phase's milestones, then extras for
    the hire's archetype and for each gap their assessment flagged. The manager edits the draft."""

    phases: Annotated[
        list[OnboardingPhaseEntry],
        AfterValidator(_three_phases),
        Field(json_schema_extra={"minItems": len(PHASES), "maxItems": len(PHASES)}),
    ] = Field(description="Days 1-30, 31-60 and 61-90, in that order.")
    by_archetype: dict[Key, PhaseTable] = Field(
        default_factory=dict,
        description="Extra milestones per archetype key (or `default`), by phase number.",
        json_schema_extra={"additionalProperties": False},
    )
    by_gap: dict[Key, PhaseTable] = Field(
        default_factory=dict,
        description="Extra milestones per gap key, by phase number.",
        json_schema_extra={"additionalProperties": False},
    )
    practice_format: Key | None = Field(
        default=None,
        description="How counted milestones (`5× ...`) are practised: a key of `practice_formats` "
        "(the first one when left out).",
    )
    evidence: Line = Field(
        default="Check in each time it happens; your manager sees the count.",
        description="How a counted milestone is evidenced, as the rep reads it.",
    )


@cache
def shipped_onboarding() -> OnboardingEntry:
    """The default playbook's plan, so a custom playbook written before plans existed still drafts one."""
    return OnboardingEntry.model_validate(shipped_section("onboarding"))


class PlaybookFile(Content):
    """A Coachbot playbook: archetypes, gaps, deal-killer traits, root causes and prompts.

    Keys (engine, time_pressure, ...) are lowercase letters, digits and underscores: they are what
    roster files and the database use. Names and texts are what people see."""

    model_config = ConfigDict(title="Coachbot playbook")

    version: Literal[1] = Field(description="The playbook format: 1.")
    archetypes: Table[ArchetypeEntry] = Field(description="The archetypes reps are wired as, by key.")
    gaps: Table[GapEntry] = Field(description="Skill gaps, by key.")
    deal_killers: Table[DealKillerEntry] = Field(description="Deal-killer traits, by key.")
    causes: RootCauses
    practice_formats: Table[Name] = Field(description="Ways to rehearse a commitment before trying it on a buyer.")
    escalation_owners: Table[Text] = Field(description="Who owns each kind of environmental drag.")
    prompts: Prompts
    pip: PipRules = Field(default_factory=PipRules, description="PIP readiness settings (optional).")
    onboarding: OnboardingEntry = Field(
        default_factory=shipped_onboarding,
        description="The 30/60/90 plan for new hires (optional: without it, the default playbook's plan).",
    )
    fit_risk: FitRiskEntry = Field(default_factory=shipped_fit_risk, description="The Fit Risk Diagnostic (optional).")
    lagging: LaggingRules = Field(
        default_factory=LaggingRules, description="Lines for reading coached behaviors beside the numbers (optional)."
    )
    learning: LearningRules = Field(default_factory=LearningRules, description="What works for whom (optional).")
    coaching_debt: CoachingDebt = Field(default_factory=CoachingDebt, description="Where the next hour goes (optional)")
    second_opinion: SecondOpinionRules = Field(
        default_factory=SecondOpinionRules,
        description="When outcomes that do not fit the diagnosis call for a second look, and how it reads (optional).",
    )

    @model_validator(mode="wrap")
    @classmethod
    def _references(cls, data: Any, handler: ModelWrapValidatorHandler[PlaybookFile]) -> PlaybookFile:
        """Every per-archetype drill and brief names an archetype of this file (or `default`)."""
        problems = _reference_problems(data)
        try:
            document = handler(data)
        except ValidationError as exc:
            if not problems:
                raise
            raise ValidationError.from_exception_data(exc.title, [*map(_again, exc.errors()), *problems]) from None
        if problems:
            raise ValidationError.from_exception_data(cls.__name__, problems)
        return document
