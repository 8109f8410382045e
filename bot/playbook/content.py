"""What every section of the playbook file shares: the base of its models (unknown keys refused,
values frozen), the problem error whose message is the finished reason, the key pattern, text as it
is shown, and the shipped default playbook for the sections a custom one may leave out.

Imports nothing else of `bot.playbook`, so every section's module can import it."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import Annotated, Any, NoReturn

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, StringConstraints
from pydantic_core import PydanticCustomError

PROBLEM = "playbook_problem"  # the pydantic error type whose message is already the finished reason
KEY_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
KEY_RE = re.compile(KEY_PATTERN)
NAME_MAX = 40  # names appear in headers, buttons and select options
TEXT_MAX = 600  # keeps any one prompt well inside a 3000-character section


class Content(BaseModel):
    """A part of the playbook file: unknown keys are refused, and nothing changes after loading."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def problem(reason: str) -> PydanticCustomError:
    """A validation error whose message is `reason`, ready for the `file: key.path: reason` line."""
    return PydanticCustomError(PROBLEM, "{problem}", {"problem": reason})


def reject(reason: str) -> NoReturn:
    raise problem(reason)


def one_line(value: Any) -> Any:
    """Text as it is shown: runs of whitespace (YAML line breaks included) become one space; an
    empty value (`name:` with nothing after it) counts as empty text."""
    if value is None:
        return ""
    return " ".join(value.split()) if isinstance(value, str) else value


Name = Annotated[str, BeforeValidator(one_line), StringConstraints(min_length=1, max_length=NAME_MAX)]
Text = Annotated[str, BeforeValidator(one_line), StringConstraints(min_length=1, max_length=TEXT_MAX)]


# libyaml's safe loader parses the playbook ~8x faster than PyYAML's pure-Python one (every command
# loads it once); the same documents and errors, so fall back to the pure one where libyaml is absent.
YAML_LOADER: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@cache
def _shipped_document() -> dict[str, Any]:
    text = resources.files("bot.playbook").joinpath("default.yml").read_text(encoding="utf-8")
    document: dict[str, Any] = yaml.load(text, Loader=YAML_LOADER)  # a safe loader
    return document


def shipped_section(*path: str) -> Any:
    """A part of the default playbook as written (validate it before use): what a custom playbook
    that leaves an optional section out gets instead."""
    node: Any = _shipped_document()
    for key in path:
        node = node[key]
    return node
