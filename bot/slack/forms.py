"""Modal building blocks that stay inside Slack's limits: options, input blocks and the modal itself."""

from __future__ import annotations

import json
from typing import Any

from bot.slack import View
from bot.slack import limits as L
from bot.slack.blocks import plain
from bot.slack.ids import FIELD


def option(text: str, value: str) -> dict[str, Any]:
    return {"text": plain(text, L.OPTION_TEXT), "value": value}


def input_block(
    block_id: str, label: str, element: dict[str, Any], optional: bool = False, hint: str | None = None
) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label),
        "element": {"action_id": FIELD, **element},
        "optional": optional,
    }
    if hint:
        block["hint"] = plain(hint)
    return block


def modal(
    callback_id: str, title: str, submit: str | None, blocks: list[dict[str, Any]], metadata: dict[str, Any]
) -> View:
    view: View = {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain(title, L.MODAL_TITLE),
        "close": plain("Cancel", L.MODAL_BUTTON),
        "blocks": blocks[: L.MODAL_BLOCKS],
        "private_metadata": json.dumps(metadata)[: L.PRIVATE_METADATA],
    }
    if submit:
        view["submit"] = plain(submit, L.MODAL_BUTTON)
    return view
