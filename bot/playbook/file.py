"""The playbook file's shape: pydantic models for every section, with the checks pydantic cannot
express (placeholders, references between sections) as validators. `bot.playbook.schema` turns the
same models into `playbook.schema.json`; `bot.playbook.models` builds the `Playbook` the app reads."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, NoReturn, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic_core import ErrorDetails, InitErrorDetails, PydanticCustomError

CAUSES = ("seat_fit", "coaching_gap", "environmental_drag", "motivation")
KEY_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
KEY_RE = re.compile(KEY_PATTERN)
NAME_MAX = 40  # names appear in headers, buttons and select options
TEXT_MAX = 600  # keeps any one prompt well inside a 3000-character section
DEFAULT = "default"  # the per-archetype entry for archetypes without their own
PROBLEM = "playbook_problem"  # the pydantic error type whose message is already the finished reason

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


def _problem(reason: str) -> PydanticCustomError:
    """A validation error whose message is `reason`, ready for the `file: key.path: reason` line."""
    return PydanticCustomError(PROBLEM, "{problem}", {"problem": reason})


def _reject(reason: str) -> NoReturn:
    raise _problem(reason)


# --- value types -----------------------------------------------------------------------------------


def _one_line(value: Any) -> Any:
    """Text as it is shown: runs of whitespace (YAML line breaks included) become one space; an
    empty value (`name:` with nothing after it) counts as empty text."""
    if value is None:
        return ""
    return " ".join(value.split()) if isinstance(value, str) else value


def _placeholders(value: str) -> str:
    try:
        value.format(**PLACEHOLDERS)
    except (KeyError, IndexError, ValueError) as exc:
        allowed = ", ".join("{" + name + "}" for name in PLACEHOLDERS)
        _reject(f"bad placeholder {exc}; use {allowed}")
    return value


Key = Annotated[str, StringConstraints(pattern=KEY_PATTERN)]
Name = Annotated[str, BeforeValidator(_one_line), StringConstraints(min_length=1, max_length=NAME_MAX)]
Text = Annotated[str, BeforeValidator(_one_line), StringConstraints(min_length=1, max_length=TEXT_MAX)]
PromptText = Annotated[Text, AfterValidator(_placeholders)]
Phrase = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1)]

_V = TypeVar("_V")


def _needs_default(table: dict[str, _V]) -> dict[str, _V]:
    if DEFAULT not in table:
        detail = InitErrorDetails(
            type=_problem("missing (used for archetypes without their own entry)"), loc=(DEFAULT,), input=table
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


class _Content(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NamedEntry(_Content):
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


class CauseBrief(_Content):
    """What to suspect and how to open the conversation."""

    hypothesis: Text
    opening_question: Text


class CauseEntry(NamedEntry):
    """One of the coaching model's root causes, in the organization's words."""

    move: Text
    briefs: PerArchetype[CauseBrief] = Field(description="A brief per archetype key, and `default` for the others.")


class RootCauses(_Content):
    """The coaching model's four root causes: all four, and no others."""

    seat_fit: CauseEntry
    coaching_gap: CauseEntry
    environmental_drag: CauseEntry
    motivation: CauseEntry


class Prompts(_Content):
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


def _reference_problems(data: Any) -> list[InitErrorDetails]:
    """Per-archetype entries (drills, briefs) under a key that is not an archetype of this file.

    Works on the raw data, so these are reported together with any other problem in the file; a
    part too broken to read is skipped here (its own problem is reported)."""
    if not isinstance(data, dict) or not isinstance(data.get("archetypes"), dict) or not data["archetypes"]:
        return []
    known = {*data["archetypes"], DEFAULT}
    problems: list[InitErrorDetails] = []
    for section, field in (("gaps", "drills"), ("causes", "briefs")):
        entries = data.get(section)
        for key, entry in entries.items() if isinstance(entries, dict) else ():
            table = entry.get(field) if isinstance(entry, dict) else None
            if (section == "causes" and key not in CAUSES) or not isinstance(table, dict):
                continue
            for name in table:
                if isinstance(name, str) and KEY_RE.match(name) and name not in known:
                    reason = f"'{name}' is not an archetype in this playbook"
                    problems.append(
                        InitErrorDetails(type=_problem(reason), loc=(section, key, field, name), input=name)
                    )
    return problems


def _again(detail: ErrorDetails) -> InitErrorDetails:
    """A reported error in the form that raises it again."""
    ctx = detail.get("ctx") or {}
    if detail["type"] == PROBLEM:
        return InitErrorDetails(type=_problem(str(ctx["problem"])), loc=detail["loc"], input=detail["input"])
    again = InitErrorDetails(type=detail["type"], loc=detail["loc"], input=detail["input"])
    if ctx:
        again["ctx"] = ctx
    return again


class PipRules(_Content):
    """How a PIP readiness check weighs the manager's own coaching."""

    coached_share: int = Field(
        default=75,
        ge=1,
        le=100,
        description="Percent of the 60-minutes-a-week baseline the rep must have been coached over the "
        "stalled cycles before a PIP is fair.",
    )


class PlaybookFile(_Content):
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


# --- what the rest of Coachbot reads ---------------------------------------------------------------
