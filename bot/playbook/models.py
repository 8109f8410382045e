"""The playbook: archetypes, gaps, deal-killer traits, drills and prompts, loaded from a data file.

Content is the organization's to change, so it is checked on load and any problem names the file,
the key and the reason instead of failing later inside a Slack handler.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

CAUSES = ("seat_fit", "coaching_gap", "environmental_drag", "motivation")
KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
NAME_MAX = 40  # names appear in headers, buttons and select options
TEXT_MAX = 600  # keeps any one prompt well inside a 3000-character section


class PlaybookError(Exception):
    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        super().__init__("\n".join(f"playbook {source}: {p}" for p in problems))


@dataclass(frozen=True)
class Archetype:
    key: str
    name: str
    summary: str
    coaching_style: str
    first_practice_step: str


@dataclass(frozen=True)
class Gap:
    key: str
    name: str
    description: str
    drills: dict[str, str]  # archetype key or "default" -> drill

    def drill_for(self, archetype: str | None) -> str:
        return self.drills.get(archetype or "", self.drills["default"])


@dataclass(frozen=True)
class DealKiller:
    key: str
    name: str
    guidance: str


@dataclass(frozen=True)
class CauseBrief:
    hypothesis: str
    opening_question: str


@dataclass(frozen=True)
class Cause:
    key: str
    name: str
    move: str
    briefs: dict[str, CauseBrief]

    def brief_for(self, archetype: str | None) -> CauseBrief:
        return self.briefs.get(archetype or "", self.briefs["default"])


@dataclass(frozen=True)
class Prompts:
    data_first_opening: str
    pushback_seat_fit: str
    pushback_deal_killer: str
    no_profile: str
    seat_conversation: str
    pause_offer: str
    vague_phrases: tuple[str, ...]


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


def with_article(name: str) -> str:
    """`name` after "a" or "an", picked from its first letter: "an Engine", "a Root"."""
    article = "an" if name[:1].lower() in ("a", "e", "i", "o", "u") else "a"
    return f"{article} {name}"


@dataclass(frozen=True)
class Playbook:
    source: str
    archetypes: dict[str, Archetype]
    gaps: dict[str, Gap]
    deal_killers: dict[str, DealKiller]
    causes: dict[str, Cause]
    practice_formats: dict[str, str]
    escalation_owners: dict[str, str]
    prompts: Prompts

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


def _find(table: dict[str, Any], value: str) -> Any:
    wanted = value.strip().lower().replace(" ", "_").replace("-", "_")
    for key, item in table.items():
        if wanted == key or wanted == item.name.lower().replace(" ", "_").replace("-", "_"):
            return item
    return None


class _Checker:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def mapping(self, node: Any, path: str) -> dict[str, Any]:
        if not isinstance(node, dict) or not node:
            self.problems.append(f"{path}: must be a non-empty mapping")
            return {}
        for key in node:
            if not isinstance(key, str) or not KEY_RE.match(key):
                self.problems.append(f"{path}.{key}: keys must be lowercase letters, digits and underscores (max 40)")
        return {k: v for k, v in node.items() if isinstance(k, str)}

    def text(self, node: dict[str, Any], key: str, path: str, limit: int = TEXT_MAX) -> str:
        value = node.get(key) if isinstance(node, dict) else None
        if not isinstance(value, str) or not value.strip():
            self.problems.append(f"{path}.{key}: missing or empty text")
            return ""
        value = " ".join(value.split())
        if len(value) > limit:
            self.problems.append(f"{path}.{key}: {len(value)} characters, at most {limit} allowed")
        return value


def parse_playbook(data: Any, source: str) -> Playbook:
    c = _Checker()
    if not isinstance(data, dict):
        raise PlaybookError(source, ["the top level must be a mapping with archetypes, gaps, ..."])
    if data.get("version") != 1:
        c.problems.append("version: must be 1")

    archetypes: dict[str, Archetype] = {}
    for key, node in c.mapping(data.get("archetypes"), "archetypes").items():
        p = f"archetypes.{key}"
        archetypes[key] = Archetype(
            key=key,
            name=c.text(node, "name", p, NAME_MAX),
            summary=c.text(node, "summary", p),
            coaching_style=c.text(node, "coaching_style", p),
            first_practice_step=c.text(node, "first_practice_step", p),
        )

    def per_archetype(node: Any, path: str) -> dict[str, Any]:
        table = c.mapping(node, path)
        if table and "default" not in table:
            c.problems.append(f"{path}.default: missing (used for archetypes without their own entry)")
        for key in table:
            if key != "default" and key not in archetypes:
                c.problems.append(f"{path}.{key}: '{key}' is not an archetype in this playbook")
        return table

    gaps: dict[str, Gap] = {}
    for key, node in c.mapping(data.get("gaps"), "gaps").items():
        p = f"gaps.{key}"
        drills_node = per_archetype(node.get("drills") if isinstance(node, dict) else None, f"{p}.drills")
        drills = {k: c.text(drills_node, k, f"{p}.drills") for k in drills_node}
        gaps[key] = Gap(
            key=key,
            name=c.text(node, "name", p, NAME_MAX),
            description=c.text(node, "description", p),
            drills=drills,
        )

    killers: dict[str, DealKiller] = {}
    for key, node in c.mapping(data.get("deal_killers"), "deal_killers").items():
        p = f"deal_killers.{key}"
        killers[key] = DealKiller(key=key, name=c.text(node, "name", p, NAME_MAX), guidance=c.text(node, "guidance", p))

    causes: dict[str, Cause] = {}
    causes_node = c.mapping(data.get("causes"), "causes")
    for key in CAUSES:
        if key not in causes_node:
            c.problems.append(f"causes.{key}: missing (the coaching model needs all four root causes)")
    for key, node in causes_node.items():
        p = f"causes.{key}"
        if key not in CAUSES:
            c.problems.append(f"{p}: unknown cause; use {', '.join(CAUSES)}")
            continue
        briefs_node = per_archetype(node.get("briefs") if isinstance(node, dict) else None, f"{p}.briefs")
        briefs = {
            k: CauseBrief(
                hypothesis=c.text(v, "hypothesis", f"{p}.briefs.{k}"),
                opening_question=c.text(v, "opening_question", f"{p}.briefs.{k}"),
            )
            for k, v in briefs_node.items()
        }
        causes[key] = Cause(
            key=key, name=c.text(node, "name", p, NAME_MAX), move=c.text(node, "move", p), briefs=briefs
        )

    formats_node = c.mapping(data.get("practice_formats"), "practice_formats")
    formats = {k: c.text(formats_node, k, "practice_formats", NAME_MAX) for k in formats_node}
    owners_node = c.mapping(data.get("escalation_owners"), "escalation_owners")
    owners = {k: c.text(owners_node, k, "escalation_owners") for k in owners_node}
    prompts_node = c.mapping(data.get("prompts"), "prompts")
    texts = {k: c.text(prompts_node, k, "prompts") for k in PROMPT_KEYS}
    for key, value in texts.items():
        try:
            value.format(**PLACEHOLDERS)
        except (KeyError, IndexError, ValueError) as exc:
            allowed = ", ".join("{" + name + "}" for name in PLACEHOLDERS)
            c.problems.append(f"prompts.{key}: bad placeholder {exc}; use {allowed}")
    phrases = prompts_node.get("vague_phrases", [])
    if not isinstance(phrases, list) or not all(isinstance(x, str) and x.strip() for x in phrases):
        c.problems.append("prompts.vague_phrases: must be a list of phrases")
        phrases = []
    if c.problems:
        raise PlaybookError(source, c.problems)
    return Playbook(
        source=source,
        archetypes=archetypes,
        gaps=gaps,
        deal_killers=killers,
        causes=causes,
        practice_formats=formats,
        escalation_owners=owners,
        prompts=Prompts(**texts, vague_phrases=tuple(x.strip().lower() for x in phrases)),
    )


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
