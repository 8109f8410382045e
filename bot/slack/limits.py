"""Block Kit limits, checked the way Slack would reject a payload. Used by tests and the Web API fake."""

from __future__ import annotations

from typing import Any

MESSAGE_BLOCKS = 50
MODAL_BLOCKS = 100
HOME_BLOCKS = 100
SECTION_TEXT = 3000
FIELD_TEXT = 2000
FIELDS_PER_SECTION = 10
HEADER_TEXT = 150
PLAIN_LABEL = 150
MODAL_TITLE = 24
MODAL_BUTTON = 24
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
ACTION_ID = 255
BLOCK_ID = 255
CONTEXT_ELEMENTS = 10
ACTIONS_ELEMENTS = 25
OPTION_TEXT = 75
OPTIONS = 100
PRIVATE_METADATA = 3000
MESSAGE_TEXT = 40000


def _text_len(obj: Any) -> int:
    return len(obj.get("text", "")) if isinstance(obj, dict) else 0


def check_blocks(blocks: list[dict[str, Any]], max_blocks: int) -> list[str]:
    problems: list[str] = []
    if len(blocks) > max_blocks:
        problems.append(f"{len(blocks)} blocks, at most {max_blocks}")
    for i, block in enumerate(blocks):
        where = f"blocks[{i}] ({block.get('type')})"
        if len(block.get("block_id", "")) > BLOCK_ID:
            problems.append(f"{where}: block_id longer than {BLOCK_ID}")
        kind = block.get("type")
        if kind == "section":
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
        elif kind == "header":
            n = _text_len(block.get("text"))
            if n == 0 or n > HEADER_TEXT:
                problems.append(f"{where}: header text must be 1..{HEADER_TEXT} characters")
            if block.get("text", {}).get("type") != "plain_text":
                problems.append(f"{where}: header text must be plain_text")
        elif kind == "context":
            elements = block.get("elements", [])
            if not 1 <= len(elements) <= CONTEXT_ELEMENTS:
                problems.append(f"{where}: 1..{CONTEXT_ELEMENTS} elements")
            problems += [
                f"{where}: element text longer than {SECTION_TEXT}" for e in elements if _text_len(e) > SECTION_TEXT
            ]
        elif kind == "actions":
            elements = block.get("elements", [])
            if not 1 <= len(elements) <= ACTIONS_ELEMENTS:
                problems.append(f"{where}: 1..{ACTIONS_ELEMENTS} elements")
            for e in elements:
                problems += _check_element(e, where)
        elif kind == "input":
            label = _text_len(block.get("label"))
            if label == 0 or label > PLAIN_LABEL:
                problems.append(f"{where}: label must be 1..{PLAIN_LABEL} characters")
            if _text_len(block.get("hint")) > PLAIN_LABEL:
                problems.append(f"{where}: hint longer than {PLAIN_LABEL}")
            problems += _check_element(block.get("element", {}), where)
        elif kind not in ("divider", "image", "rich_text", "file", "video"):
            problems.append(f"{where}: unknown block type")
    return problems


def _check_element(e: dict[str, Any], where: str) -> list[str]:
    problems: list[str] = []
    if len(e.get("action_id", "")) > ACTION_ID:
        problems.append(f"{where}: action_id longer than {ACTION_ID}")
    if e.get("type") == "button":
        n = _text_len(e.get("text"))
        if n == 0 or n > BUTTON_TEXT:
            problems.append(f"{where}: button text must be 1..{BUTTON_TEXT} characters")
        if len(e.get("value", "")) > BUTTON_VALUE:
            problems.append(f"{where}: button value longer than {BUTTON_VALUE}")
    options = e.get("options", [])
    if len(options) > OPTIONS:
        problems.append(f"{where}: more than {OPTIONS} options")
    problems += [
        f"{where}: option text longer than {OPTION_TEXT}" for o in options if _text_len(o.get("text")) > OPTION_TEXT
    ]
    if _text_len(e.get("placeholder")) > PLAIN_LABEL:
        problems.append(f"{where}: placeholder longer than {PLAIN_LABEL}")
    return problems


def check_message(payload: dict[str, Any]) -> list[str]:
    problems = check_blocks(payload.get("blocks") or [], MESSAGE_BLOCKS)
    if len(payload.get("text") or "") > MESSAGE_TEXT:
        problems.append(f"text longer than {MESSAGE_TEXT}")
    if not payload.get("text") and not payload.get("blocks"):
        problems.append("a message needs text or blocks")
    return problems


def check_view(view: dict[str, Any]) -> list[str]:
    if view.get("type") == "home":
        return check_blocks(view.get("blocks", []), HOME_BLOCKS)
    problems = check_blocks(view.get("blocks", []), MODAL_BLOCKS)
    for key, limit in (("title", MODAL_TITLE), ("submit", MODAL_BUTTON), ("close", MODAL_BUTTON)):
        if key in view:
            n = _text_len(view[key])
            if n == 0 or n > limit:
                problems.append(f"view {key} must be 1..{limit} characters")
    if "title" not in view:
        problems.append("a modal needs a title")
    if len(view.get("private_metadata", "")) > PRIVATE_METADATA:
        problems.append(f"private_metadata longer than {PRIVATE_METADATA}")
    return problems
