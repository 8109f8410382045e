"""Block Kit limits, checked the way Slack would reject a payload. Used by tests and the Web API fake.

Every number below is Slack's documented limit, from the reference page named beside it (Slack's
developer docs, https://docs.slack.dev/reference/...). tests/test_block_limits.py also checks a set of
over-limit payloads against slack_sdk's block and view models, so the two cannot drift apart silently.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# Surfaces. block-kit/blocks: "up to 50 blocks in each message, and 100 blocks in modals or Home tabs".
MESSAGE_BLOCKS = 50
MODAL_BLOCKS = 100
HOME_BLOCKS = 100
# Text objects. block-kit/composition-objects/text-object: 1 to 3000 characters.
TEXT_OBJECT = 3000
# block-kit/blocks/section-block: text 1..3000; at most 10 fields of at most 2000 characters each.
SECTION_TEXT = 3000
FIELD_TEXT = 2000
FIELDS_PER_SECTION = 10
# block-kit/blocks/header-block: plain_text, at most 150 characters.
HEADER_TEXT = 150
# block-kit/blocks/context-block: at most 10 elements (images and text objects).
CONTEXT_ELEMENTS = 10
# block-kit/blocks/actions-block: at most 25 elements.
ACTIONS_ELEMENTS = 25
# block-kit/blocks/input-block: label and hint are plain_text of at most 2000 characters each.
INPUT_LABEL = 2000
INPUT_HINT = 2000
# block-kit/blocks/markdown-block: at most 12,000 characters.
MARKDOWN_TEXT = 12000
# block-kit/blocks/table-block: at most 100 rows of at most 20 cells; at most 20 column settings.
TABLE_ROWS = 100
TABLE_CELLS = 20
TABLE_COLUMN_SETTINGS = 20
TABLES_PER_MESSAGE = 1  # a message carries one table
# block-kit/blocks/data-visualization-block: title at most 50 characters; a bar, line or area chart
# has 1..6 series named in at most 20 characters, each with 1..20 points whose labels are the axis
# categories (at most 20 characters each); axis titles at most 50; at most two charts per message.
CHART_TITLE = 50
CHART_SERIES = 6
CHART_SERIES_NAME = 20
CHART_POINTS = 20
CHART_LABEL = 20
CHART_AXIS_TITLE = 50
CHARTS_PER_MESSAGE = 2
# block_id (every block page) and action_id (every block-element page): at most 255 characters.
BLOCK_ID = 255
ACTION_ID = 255
# block-kit/block-elements/*: a placeholder is plain_text of at most 150 characters.
PLACEHOLDER = 150
# block-kit/block-elements/button-element: text 75, value 2000, url 3000, accessibility_label 75.
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
URL = 3000
ACCESSIBILITY_LABEL = 75
# block-kit/block-elements/select-menu-element and multi-select-menu-element: at most 100 options or
# 100 option groups; composition-objects/option-group-object: label 75, at most 100 options.
OPTIONS = 100
OPTION_GROUPS = 100
OPTION_GROUP_LABEL = 75
# checkboxes-element and radio-button-group-element: at most 10 options; overflow-menu-element: 5.
CHECKBOX_OPTIONS = 10
RADIO_OPTIONS = 10
OVERFLOW_OPTIONS = 5
# block-kit/composition-objects/option-object: text 75, value 150, description 75 (url 3000).
OPTION_TEXT = 75
OPTION_VALUE = 150
OPTION_DESCRIPTION = 75
# block-kit/block-elements/plain-text-input-element: min_length 0..3000, max_length 1..3000.
TEXT_INPUT_LENGTH = 3000
# views/modal-views: title, submit and close at most 24 characters; private_metadata and
# callback_id at most 3000 and 255; submit is required when the blocks hold an input block.
MODAL_TITLE = 24
MODAL_BUTTON = 24
PRIVATE_METADATA = 3000
CALLBACK_ID = 255
# methods/chat.postMessage: Slack truncates message text longer than 40,000 characters.
MESSAGE_TEXT = 40000

# Option counts by element type; select menus (and anything else with options) take OPTIONS.
_OPTION_LIMITS = {"checkboxes": CHECKBOX_OPTIONS, "radio_buttons": RADIO_OPTIONS, "overflow": OVERFLOW_OPTIONS}

Checker = Callable[[dict[str, Any], str], list[str]]


def _text_len(obj: Any) -> int:
    return len(obj.get("text", "")) if isinstance(obj, dict) else 0


def _length(where: str, what: str, obj: Any, limit: int, required: bool = False, plain: bool = False) -> list[str]:
    """Problems with a text object (or a missing one) that must be 1..limit characters, if present."""
    if obj is None:
        return [f"{where}: {what} is required"] if required else []
    n = _text_len(obj)
    problems = [] if 1 <= n <= limit else [f"{where}: {what} must be 1..{limit} characters"]
    if plain and isinstance(obj, dict) and obj.get("type") != "plain_text":
        problems.append(f"{where}: {what} must be plain_text")
    return problems


def _check_section(block: dict[str, Any], where: str) -> list[str]:
    problems: list[str] = []
    if "text" not in block and "fields" not in block:
        problems.append(f"{where}: needs text or fields")
    if _text_len(block.get("text")) > SECTION_TEXT:
        problems.append(f"{where}: text longer than {SECTION_TEXT}")
    if "text" in block and _text_len(block.get("text")) == 0:
        problems.append(f"{where}: empty text")
    fields = block.get("fields", [])
    if len(fields) > FIELDS_PER_SECTION:
        problems.append(f"{where}: more than {FIELDS_PER_SECTION} fields")
    problems += [f"{where}: field longer than {FIELD_TEXT}" for f in fields if _text_len(f) > FIELD_TEXT]
    if "accessory" in block:
        problems += _check_element(block["accessory"], where)
    return problems


def _check_header(block: dict[str, Any], where: str) -> list[str]:
    problems: list[str] = []
    n = _text_len(block.get("text"))
    if n == 0 or n > HEADER_TEXT:
        problems.append(f"{where}: header text must be 1..{HEADER_TEXT} characters")
    if block.get("text", {}).get("type") != "plain_text":
        problems.append(f"{where}: header text must be plain_text")
    return problems


def _check_context(block: dict[str, Any], where: str) -> list[str]:
    problems: list[str] = []
    elements = block.get("elements", [])
    if not 1 <= len(elements) <= CONTEXT_ELEMENTS:
        problems.append(f"{where}: 1..{CONTEXT_ELEMENTS} elements")
    problems += [f"{where}: element text longer than {TEXT_OBJECT}" for e in elements if _text_len(e) > TEXT_OBJECT]
    return problems


def _check_actions(block: dict[str, Any], where: str) -> list[str]:
    problems: list[str] = []
    elements = block.get("elements", [])
    if not 1 <= len(elements) <= ACTIONS_ELEMENTS:
        problems.append(f"{where}: 1..{ACTIONS_ELEMENTS} elements")
    for e in elements:
        problems += _check_element(e, where)
    return problems


def _check_input(block: dict[str, Any], where: str) -> list[str]:
    problems = _length(where, "label", block.get("label"), INPUT_LABEL, required=True, plain=True)
    problems += _length(where, "hint", block.get("hint"), INPUT_HINT, plain=True)
    if not isinstance(block.get("element"), dict):
        problems.append(f"{where}: element is required")
    return problems + _check_element(block.get("element") or {}, where)


def _check_markdown(block: dict[str, Any], where: str) -> list[str]:
    text = block.get("text")
    if not isinstance(text, str) or not 1 <= len(text) <= MARKDOWN_TEXT:
        return [f"{where}: markdown text must be 1..{MARKDOWN_TEXT} characters"]
    return []


def _check_table(block: dict[str, Any], where: str) -> list[str]:
    problems: list[str] = []
    rows = block.get("rows") or []
    if not 1 <= len(rows) <= TABLE_ROWS:
        problems.append(f"{where}: 1..{TABLE_ROWS} rows")
    if any(not isinstance(row, list) or len(row) > TABLE_CELLS for row in rows):
        problems.append(f"{where}: a row has more than {TABLE_CELLS} cells")
    if len(block.get("column_settings") or []) > TABLE_COLUMN_SETTINGS:
        problems.append(f"{where}: more than {TABLE_COLUMN_SETTINGS} column settings")
    return problems


def _check_series(chart: dict[str, Any], where: str) -> list[str]:
    problems: list[str] = []
    axis = chart.get("axis_config") or {}
    categories = axis.get("categories") or []
    if not categories or any(not isinstance(c, str) or not 1 <= len(c) <= CHART_LABEL for c in categories):
        problems.append(f"{where}: 1..{CHART_POINTS} categories of 1..{CHART_LABEL} characters")
    for label in ("x_label", "y_label"):
        if len(str(axis.get(label, ""))) > CHART_AXIS_TITLE:
            problems.append(f"{where}: {label} longer than {CHART_AXIS_TITLE}")
    series = chart.get("series") or []
    if not 1 <= len(series) <= CHART_SERIES:
        problems.append(f"{where}: 1..{CHART_SERIES} series")
    names = [s.get("name", "") for s in series]
    if len(set(names)) < len(names) or any(not 1 <= len(n) <= CHART_SERIES_NAME for n in names):
        problems.append(f"{where}: series names must be unique, 1..{CHART_SERIES_NAME} characters")
    for s in series:
        data = s.get("data") or []
        if not 1 <= len(data) <= CHART_POINTS:
            problems.append(f"{where}: a series has 1..{CHART_POINTS} points")
        if any(p.get("label") not in categories or not isinstance(p.get("value"), int | float) for p in data):
            problems.append(f"{where}: every point needs a number and a label among the categories")
    return problems


def _check_chart(block: dict[str, Any], where: str) -> list[str]:
    problems: list[str] = []
    title = block.get("title")
    if not isinstance(title, str) or not 1 <= len(title) <= CHART_TITLE:
        problems.append(f"{where}: title must be 1..{CHART_TITLE} characters")
    chart = block.get("chart") or {}
    if chart.get("type") in ("bar", "line", "area"):
        problems += _check_series(chart, where)
    elif chart.get("type") == "pie":
        segments = chart.get("segments") or []
        if not 1 <= len(segments) <= CHART_SERIES or any(s.get("value", 0) <= 0 for s in segments):
            problems.append(f"{where}: 1..{CHART_SERIES} segments, each above 0")
    else:
        problems.append(f"{where}: chart type must be bar, line, area or pie")
    return problems


def _unchecked(block: dict[str, Any], where: str) -> list[str]:
    return []


_BLOCK_CHECKS: dict[str, Checker] = {
    "section": _check_section,
    "header": _check_header,
    "context": _check_context,
    "actions": _check_actions,
    "input": _check_input,
    "markdown": _check_markdown,
    "table": _check_table,
    "data_visualization": _check_chart,
    "divider": _unchecked,
    "image": _unchecked,
    "rich_text": _unchecked,
    "file": _unchecked,
    "video": _unchecked,
}


def check_blocks(blocks: list[dict[str, Any]], max_blocks: int) -> list[str]:
    problems: list[str] = []
    if len(blocks) > max_blocks:
        problems.append(f"{len(blocks)} blocks, at most {max_blocks}")
    for i, block in enumerate(blocks):
        where = f"blocks[{i}] ({block.get('type')})"
        if len(block.get("block_id", "")) > BLOCK_ID:
            problems.append(f"{where}: block_id longer than {BLOCK_ID}")
        check = _BLOCK_CHECKS.get(str(block.get("type")))
        problems += check(block, where) if check else [f"{where}: unknown block type"]
    kinds = [str(b.get("type")) for b in blocks]
    if kinds.count("table") > TABLES_PER_MESSAGE:
        problems.append(f"{kinds.count('table')} tables, at most {TABLES_PER_MESSAGE}")
    if kinds.count("data_visualization") > CHARTS_PER_MESSAGE:
        problems.append(f"{kinds.count('data_visualization')} charts, at most {CHARTS_PER_MESSAGE}")
    return problems


def _check_option(o: dict[str, Any], where: str) -> list[str]:
    problems: list[str] = []
    if _text_len(o.get("text")) > OPTION_TEXT:
        problems.append(f"{where}: option text longer than {OPTION_TEXT}")
    if len(str(o.get("value", ""))) > OPTION_VALUE:
        problems.append(f"{where}: option value longer than {OPTION_VALUE}")
    if _text_len(o.get("description")) > OPTION_DESCRIPTION:
        problems.append(f"{where}: option description longer than {OPTION_DESCRIPTION}")
    if len(o.get("url", "")) > URL:
        problems.append(f"{where}: option url longer than {URL}")
    return problems


def _check_options(e: dict[str, Any], where: str) -> list[str]:
    problems: list[str] = []
    options = e.get("options") or []
    limit = _OPTION_LIMITS.get(str(e.get("type")), OPTIONS)
    if len(options) > limit:
        problems.append(f"{where}: more than {limit} options")
    groups = e.get("option_groups") or []
    if len(groups) > OPTION_GROUPS:
        problems.append(f"{where}: more than {OPTION_GROUPS} option groups")
    for g in groups:
        if _text_len(g.get("label")) > OPTION_GROUP_LABEL:
            problems.append(f"{where}: option group label longer than {OPTION_GROUP_LABEL}")
        if len(g.get("options") or []) > OPTIONS:
            problems.append(f"{where}: more than {OPTIONS} options in a group")
        options = [*options, *(g.get("options") or [])]
    for o in options:
        problems += _check_option(o, where)
    return problems


def _check_button(e: dict[str, Any], where: str) -> list[str]:
    problems: list[str] = []
    n = _text_len(e.get("text"))
    if n == 0 or n > BUTTON_TEXT:
        problems.append(f"{where}: button text must be 1..{BUTTON_TEXT} characters")
    if len(e.get("value", "")) > BUTTON_VALUE:
        problems.append(f"{where}: button value longer than {BUTTON_VALUE}")
    if len(e.get("url", "")) > URL:
        problems.append(f"{where}: button url longer than {URL}")
    if len(e.get("accessibility_label", "")) > ACCESSIBILITY_LABEL:
        problems.append(f"{where}: button accessibility_label longer than {ACCESSIBILITY_LABEL}")
    return problems


def _check_text_input(e: dict[str, Any], where: str) -> list[str]:
    problems: list[str] = []
    if "max_length" in e and not 1 <= e["max_length"] <= TEXT_INPUT_LENGTH:
        problems.append(f"{where}: max_length must be 1..{TEXT_INPUT_LENGTH}")
    if "min_length" in e and not 0 <= e["min_length"] <= TEXT_INPUT_LENGTH:
        problems.append(f"{where}: min_length must be 0..{TEXT_INPUT_LENGTH}")
    return problems


def _check_element(e: dict[str, Any], where: str) -> list[str]:
    problems: list[str] = []
    if len(e.get("action_id", "")) > ACTION_ID:
        problems.append(f"{where}: action_id longer than {ACTION_ID}")
    if e.get("type") == "button":
        problems += _check_button(e, where)
    if e.get("type") == "plain_text_input":
        problems += _check_text_input(e, where)
    problems += _check_options(e, where)
    if _text_len(e.get("placeholder")) > PLACEHOLDER:
        problems.append(f"{where}: placeholder longer than {PLACEHOLDER}")
    return problems


def check_message(payload: dict[str, Any]) -> list[str]:
    problems = check_blocks(payload.get("blocks") or [], MESSAGE_BLOCKS)
    if len(payload.get("text") or "") > MESSAGE_TEXT:
        problems.append(f"text longer than {MESSAGE_TEXT}")
    if not payload.get("text") and not payload.get("blocks"):
        problems.append("a message needs text or blocks")
    return problems


def check_view(view: dict[str, Any]) -> list[str]:
    blocks = view.get("blocks", [])
    if view.get("type") == "home":
        problems = check_blocks(blocks, HOME_BLOCKS)
    else:
        problems = check_blocks(blocks, MODAL_BLOCKS)
        for key, limit in (("title", MODAL_TITLE), ("submit", MODAL_BUTTON), ("close", MODAL_BUTTON)):
            if key in view:
                n = _text_len(view[key])
                if n == 0 or n > limit:
                    problems.append(f"view {key} must be 1..{limit} characters")
        if "title" not in view:
            problems.append("a modal needs a title")
        if "submit" not in view and any(b.get("type") == "input" for b in blocks):
            problems.append("a modal with input blocks needs a submit button")
    if len(view.get("private_metadata", "")) > PRIVATE_METADATA:
        problems.append(f"private_metadata longer than {PRIVATE_METADATA}")
    if len(view.get("callback_id", "")) > CALLBACK_ID:
        problems.append(f"callback_id longer than {CALLBACK_ID}")
    return problems
