"""The playbook: archetypes, gaps, deal-killer traits, drills and prompts, loaded from a data file.

Content is the organization's to change, so it is checked on load and any problem names the file,
the key and the reason instead of failing later inside a Slack handler.

`PlaybookFile` and the models it is made of describe the file: pydantic checks the types, the
required and unknown keys and the lengths, and `PlaybookFile`'s model validator checks the names
that must refer to something else in the file (a drill or brief for an archetype the file does not
define). The same models generate `playbook.schema.json` (see `bot.playbook.schema`), so an editor
checks a custom playbook against exactly these rules while it is typed. `Playbook` is what the rest
of Coachbot reads: the same content with each entry's key and the file it came from.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn, TypeVar

import yaml
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


class _Named(_Content):
    name: Name = Field(description=f"What people see: headers, buttons, menus (at most {NAME_MAX} characters).")


class ArchetypeEntry(_Named):
    """One way a rep can be wired."""

    summary: Text
    coaching_style: Text
    first_practice_step: Text


class GapEntry(_Named):
    """A skill gap a manager can diagnose, with the drill to practise for it."""

    description: Text
    drills: PerArchetype[Text] = Field(description="A drill per archetype key, and `default` for the others.")


class DealKillerEntry(_Named):
    """A trait weekly skill coaching rarely moves."""

    guidance: Text


class CauseBrief(_Content):
    """What to suspect and how to open the conversation."""

    hypothesis: Text
    opening_question: Text


class CauseEntry(_Named):
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


class Archetype(ArchetypeEntry):
    key: str


class Gap(GapEntry):
    key: str

    def drill_for(self, archetype: str | None) -> str:
        return self.drills.get(archetype or "", self.drills[DEFAULT])


class DealKiller(DealKillerEntry):
    key: str


class Cause(CauseEntry):
    key: str

    def brief_for(self, archetype: str | None) -> CauseBrief:
        return self.briefs.get(archetype or "", self.briefs[DEFAULT])


def with_article(name: str) -> str:
    """`name` after "a" or "an", picked from its first letter: "an Engine", "a Root"."""
    article = "an" if name[:1].lower() in ("a", "e", "i", "o", "u") else "a"
    return f"{article} {name}"


_N = TypeVar("_N", bound=_Named)


class Playbook(BaseModel):
    model_config = ConfigDict(frozen=True)

    source: str
    archetypes: dict[str, Archetype]
    gaps: dict[str, Gap]
    deal_killers: dict[str, DealKiller]
    causes: dict[str, Cause]
    practice_formats: dict[str, str]
    escalation_owners: dict[str, str]
    prompts: Prompts

    @classmethod
    def from_file(cls, document: PlaybookFile, source: str) -> Playbook:
        return cls(
            source=source,
            archetypes={k: Archetype(key=k, **dict(v)) for k, v in document.archetypes.items()},
            gaps={k: Gap(key=k, **dict(v)) for k, v in document.gaps.items()},
            deal_killers={k: DealKiller(key=k, **dict(v)) for k, v in document.deal_killers.items()},
            causes={k: Cause(key=k, **dict(getattr(document.causes, k))) for k in CAUSES},
            practice_formats=document.practice_formats,
            escalation_owners=document.escalation_owners,
            prompts=document.prompts,
        )

    def find_archetype(self, value: str) -> Archetype | None:
        """Match a key or a display name, case-insensitively (roster files use either)."""
        return _find(self.archetypes, value)

    def find_gap(self, value: str) -> Gap | None:
        return _find(self.gaps, value)

    def find_deal_killer(self, value: str) -> DealKiller | None:
        return _find(self.deal_killers, value)

    def archetype_name(self, key: str | None) -> str:
        arch = self.archetypes.get(key or "")
        return arch.name if arch else (key or "unknown")

    def archetype_with_article(self, key: str | None) -> str:
        """The archetype's display name after the right article, e.g. "an Engine"."""
        return with_article(self.archetype_name(key))


def _find(table: dict[str, _N], value: str) -> _N | None:
    wanted = value.strip().lower().replace(" ", "_").replace("-", "_")
    for key, item in table.items():
        if wanted == key or wanted == item.name.lower().replace(" ", "_").replace("-", "_"):
            return item
    return None


# --- loading and problems --------------------------------------------------------------------------


@cache
def _schema() -> dict[str, Any]:
    return PlaybookFile.model_json_schema()


def _schema_at(loc: tuple[int | str, ...]) -> dict[str, Any]:
    """The part of the JSON Schema that describes the value at `loc` ({} when there is none)."""
    root = _schema()

    def resolved(node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            node = root["$defs"][str(node["$ref"]).rsplit("/", 1)[-1]]
        return node

    node = resolved(root)
    for part in loc:
        if isinstance(part, str) and part in node.get("properties", {}):
            node = node["properties"][part]
        elif node.get("patternProperties"):
            node = next(iter(node["patternProperties"].values()))
        elif isinstance(node.get("items"), dict):
            node = node["items"]
        else:
            return {}
        node = resolved(node)
    return node


def _reason(detail: ErrorDetails) -> str:
    """Why the value at the error's key path is refused, in the playbook author's terms."""
    kind, loc, ctx = detail["type"], detail["loc"], detail.get("ctx") or {}
    if kind == PROBLEM:
        return str(ctx["problem"])
    if "[key]" in loc:
        return "keys must be lowercase letters, digits and underscores (max 40)"
    if loc[:1] == ("version",):
        return "must be 1"
    if loc[:2] == ("prompts", "vague_phrases"):
        return "must be a list of phrases"
    if kind == "extra_forbidden":
        if loc[:1] == ("causes",):
            return f"unknown cause; use {', '.join(CAUSES)}"
        return f"unknown key; use {', '.join(_schema_at(loc[:-1]).get('properties', {}))}"
    if kind == "missing" and loc[:1] == ("causes",) and len(loc) == 2:
        return "missing (the coaching model needs all four root causes)"
    expected = _schema_at(loc).get("type")
    if expected == "object":
        return "missing (must be a non-empty mapping)" if kind == "missing" else "must be a non-empty mapping"
    if expected == "string":
        if kind in ("too_long", "string_too_long"):
            return f"{ctx['actual_length']} characters, at most {ctx['max_length']} allowed"
        return "must be text" if kind == "string_type" else "missing or empty text"
    message = detail["msg"]
    return message[:1].lower() + message[1:]


def playbook_problems(error: ValidationError) -> list[str]:
    """One `key.path: reason` line per problem (a list with several bad items counts once)."""
    lines: dict[str, None] = {}
    for detail in error.errors(include_url=False):
        loc = detail["loc"]
        if not loc:
            lines["the top level must be a mapping with archetypes, gaps, ..."] = None
            continue
        if loc[:2] == ("prompts", "vague_phrases"):
            loc = loc[:2]
        path = ".".join(str(part) for part in loc if part != "[key]")
        lines[f"{path}: {_reason(detail)}"] = None
    return list(lines)


def parse_playbook(data: Any, source: str) -> Playbook:
    try:
        document = PlaybookFile.model_validate(data)
    except ValidationError as exc:
        raise PlaybookError(source, playbook_problems(exc)) from None
    return Playbook.from_file(document, source)


def load_playbook(path: str | None = None) -> Playbook:
    """Load the organization's playbook, or the shipped default when no path is given."""
    if path:
        source = str(path)
        try:
            raw = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise PlaybookError(source, [f"cannot be read ({exc.strerror})"]) from None
    else:
        source = "default"
        raw = resources.files("bot.playbook").joinpath("default.yml").read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "somewhere"
        raise PlaybookError(source, [f"is not valid YAML ({where}: {getattr(exc, 'problem', exc)})"]) from None
    return parse_playbook(data, source)
