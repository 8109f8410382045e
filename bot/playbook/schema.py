"""The playbook's JSON Schema, generated from the models that check a playbook on load.

`playbook.schema.json`, next to this module, is the generated file: editors use it to check a
custom playbook while it is typed (`default.yml` points at it in its first line, the comment
`# yaml-language-server: $schema=playbook.schema.json`). A test keeps it equal to what the models
generate; after changing the models, write it again with `python -m bot.playbook.schema`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from bot.playbook.models import PlaybookFile

SCHEMA_FILE = Path(__file__).with_name("playbook.schema.json")


def playbook_schema() -> dict[str, Any]:
    return PlaybookFile.model_json_schema()


def render() -> str:
    """The schema as it is committed: sorted as generated, two-space indents, final newline."""
    return json.dumps(playbook_schema(), indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    SCHEMA_FILE.write_text(render(), encoding="utf-8")
    print(f"wrote {SCHEMA_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
