"""The layout stays readable as features grow: few modules at the top of `bot/`, no module over
400 lines, no function over 80. (The import rules between layers are `lint-imports` contracts.)"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers", "storage")
TOP_LEVEL_MAX = 8
MODULE_LINES_MAX = 400
FUNCTION_LINES_MAX = 80


def _modules() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py") if "migrations" not in p.parts)


def test_few_modules_directly_in_bot() -> None:
    top = sorted(p.name for p in (ROOT / "bot").glob("*.py"))
    assert len(top) <= TOP_LEVEL_MAX, top


def test_every_feature_has_a_handler_module_of_the_same_name() -> None:
    features = {p.name for p in (ROOT / "bot").iterdir() if (p / "flows.py").exists()}
    handlers = {p.stem for p in (ROOT / "handlers").glob("*.py")}
    assert features and features <= handlers, features - handlers


def test_no_module_over_the_line_limit() -> None:
    long = {
        str(p.relative_to(ROOT)): n for p in _modules() if (n := len(p.read_text().splitlines())) > MODULE_LINES_MAX
    }
    assert not long, long


def test_no_function_over_the_line_limit() -> None:
    long = {}
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                size = (node.end_lineno or node.lineno) - node.lineno + 1
                if size > FUNCTION_LINES_MAX:
                    long[f"{path.relative_to(ROOT)}:{node.name}"] = size
    assert not long, long
