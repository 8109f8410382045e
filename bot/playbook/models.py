"""The playbook: archetypes, gaps, deal-killer traits, drills and prompts, loaded from a data file.

Content is the organization's to change, so it is checked on load and any problem names the file,
the key and the reason instead of failing later inside a Slack handler.

`PlaybookFile` and the models it is made of describe the file: pydantic checks the types, the
required and unknown keys and the lengths, and `PlaybookFile`'s model validator checks the names
that must refer to something else in the file (a drill or brief for an archetype the file does not
define, onboarding milestones for an archetype or gap it lacks). The same models generate
`playbook.schema.json` (see `bot.playbook.schema`), so an editor checks a custom playbook against
exactly these rules while it is typed. `Playbook` is what the rest
of Coachbot reads: the same content with each entry's key and the file it came from.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    ValidationError,
)
from pydantic_core import ErrorDetails

from bot.playbook.content import YAML_LOADER
from bot.playbook.file import (
    CAUSES,
    DEFAULT,
    PROBLEM,
    ArchetypeEntry,
    CauseBrief,
    CauseEntry,
    DealKillerEntry,
    GapEntry,
    NamedEntry,
    OnboardingEntry,
    PlaybookError,
    PlaybookFile,
    Prompts,
)
from bot.playbook.fit_risk import FitRiskEntry
from bot.playbook.learning import LearningRules
from bot.playbook.thresholds import CoachingDebt, LaggingRules, SecondOpinionRules


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


class OnboardingPhase(BaseModel):
    """One phase of the 30/60/90 plan: its name, what it is for, and every new hire's milestones."""

    model_config = ConfigDict(frozen=True)

    name: str
    focus: str
    milestones: list[str]


class Onboarding(BaseModel):
    """The playbook's 30/60/90 content: three phases, plus extra milestones by phase number (1-3) for
    an archetype key (or `default`) and for a gap key."""

    model_config = ConfigDict(frozen=True)

    phases: list[OnboardingPhase]
    by_archetype: dict[str, dict[int, list[str]]]
    by_gap: dict[str, dict[int, list[str]]]
    practice_format: str  # how counted milestones are practised (a key of practice_formats)
    evidence: str  # how a counted milestone is evidenced, as the rep reads it

    @classmethod
    def from_file(cls, entry: OnboardingEntry, archetypes: set[str], gaps: set[str], formats: list[str]) -> Onboarding:
        """Extras only for keys this playbook has: a custom playbook without its own plan gets the
        default playbook's, which may name archetypes and gaps it does not define."""
        practice = entry.practice_format if entry.practice_format in formats else formats[0]
        return cls(
            phases=[OnboardingPhase(**dict(phase)) for phase in entry.phases],
            by_archetype={k: v for k, v in entry.by_archetype.items() if k in archetypes or k == DEFAULT},
            by_gap={k: v for k, v in entry.by_gap.items() if k in gaps},
            practice_format=practice,
            evidence=entry.evidence,
        )


_N = TypeVar("_N", bound=NamedEntry)


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
    pip_coached_share: int = 75
    lagging: LaggingRules = LaggingRules()
    learning: LearningRules = LearningRules()  # what works for whom: floors, ranges, sizing lines
    coaching_debt: CoachingDebt = CoachingDebt()  # where the next coaching hour goes; slip warnings
    second_opinion: SecondOpinionRules = SecondOpinionRules()  # when outcomes contradict the diagnosis
    onboarding: Onboarding
    fit_risk: FitRiskEntry  # the Fit Risk Diagnostic's questions, scoring rules and per-lever moves

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
            pip_coached_share=document.pip.coached_share,
            lagging=document.lagging,
            learning=document.learning,
            coaching_debt=document.coaching_debt,
            second_opinion=document.second_opinion,
            onboarding=Onboarding.from_file(
                document.onboarding, set(document.archetypes), set(document.gaps), list(document.practice_formats)
            ),
            fit_risk=document.fit_risk,
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
    if expected == "array":
        return "missing (must be a list)" if kind == "missing" else "must be a list"
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
    if not path:
        return _shipped_playbook()
    source = str(path)
    try:
        raw = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise PlaybookError(source, [f"cannot be read ({exc.strerror})"]) from None
    return _parse_yaml(raw, source)


@cache
def _shipped_playbook() -> Playbook:
    """The default playbook ships with the code and a `Playbook` is frozen: parsed once per process."""
    return _parse_yaml(resources.files("bot.playbook").joinpath("default.yml").read_text(encoding="utf-8"), "default")


def _parse_yaml(raw: str, source: str) -> Playbook:
    try:
        data = yaml.load(raw, Loader=YAML_LOADER)  # a safe loader (libyaml's when present)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "somewhere"
        raise PlaybookError(source, [f"is not valid YAML ({where}: {getattr(exc, 'problem', exc)})"]) from None
    return parse_playbook(data, source)
