"""Small Block Kit builders that cannot exceed Slack's per-element limits (they truncate)."""

from __future__ import annotations

from typing import Any

from bot.slack import limits as L
from bot.slack.text import truncate

Block = dict[str, Any]


def plain(text: str, limit: int = L.PLACEHOLDER) -> dict[str, Any]:
    """A plain_text object cut to `limit`: by default a placeholder's 150, which fits input labels and hints too."""
    return {"type": "plain_text", "text": truncate(text, limit), "emoji": True}


def mrkdwn(text: str, limit: int = L.SECTION_TEXT) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": truncate(text, limit)}


def header(text: str) -> Block:
    return {"type": "header", "text": plain(text, L.HEADER_TEXT)}


def section(text: str, accessory: dict[str, Any] | None = None) -> Block:
    block: Block = {"type": "section", "text": mrkdwn(text)}
    if accessory:
        block["accessory"] = accessory
    return block


def fields(pairs: list[tuple[str, str]]) -> list[Block]:
    """Label/value pairs as sections of at most ten fields each."""
    items = [mrkdwn(f"*{label}*\n{value}", L.FIELD_TEXT) for label, value in pairs]
    return [
        {"type": "section", "fields": items[i : i + L.FIELDS_PER_SECTION]}
        for i in range(0, len(items), L.FIELDS_PER_SECTION)
    ]


def context(*texts: str) -> Block:
    return {"type": "context", "elements": [mrkdwn(t, L.TEXT_OBJECT) for t in texts[: L.CONTEXT_ELEMENTS]]}


def divider() -> Block:
    return {"type": "divider"}


def button(text: str, action_id: str, value: str = "", style: str | None = None) -> dict[str, Any]:
    b: dict[str, Any] = {"type": "button", "text": plain(text, L.BUTTON_TEXT), "action_id": action_id}
    if value:
        b["value"] = value[: L.BUTTON_VALUE]
    if style:
        b["style"] = style
    return b


def actions(*elements: dict[str, Any], block_id: str | None = None) -> Block:
    block: Block = {"type": "actions", "elements": list(elements[: L.ACTIONS_ELEMENTS])}
    if block_id:
        block["block_id"] = block_id
    return block


def table(rows: list[list[str]], right_aligned: tuple[int, ...] = ()) -> Block:
    """A table of plain cells, the first row its header; rows and cells past Slack's limits are dropped
    (callers say so in the text beside it). Columns in `right_aligned` hold figures."""
    cells = [[{"type": "raw_text", "text": cell or "-"} for cell in row[: L.TABLE_CELLS]] for row in rows]
    width = max((len(row) for row in cells), default=0)
    settings = [{"align": "right" if i in right_aligned else "left"} for i in range(width)]
    return {"type": "table", "rows": cells[: L.TABLE_ROWS], "column_settings": settings[: L.TABLE_COLUMN_SETTINGS]}


def chart(kind: str, title: str, categories: list[str], series: dict[str, list[float]], y_label: str = "") -> Block:
    """A bar, line or area chart: one value per category in each named series. Labels are cut to
    Slack's lengths here, so callers pass what they would say; the same figures go in text too."""
    labels = [truncate(c, L.CHART_LABEL) for c in categories[: L.CHART_POINTS]]
    plotted = [
        {
            "name": truncate(name, L.CHART_SERIES_NAME),
            "data": [{"label": lb, "value": v} for lb, v in zip(labels, values, strict=False)],
        }
        for name, values in list(series.items())[: L.CHART_SERIES]
    ]
    axis: dict[str, Any] = {"categories": labels}
    if y_label:
        axis["y_label"] = truncate(y_label, L.CHART_AXIS_TITLE)
    return {
        "type": "data_visualization",
        "title": truncate(title, L.CHART_TITLE),
        "chart": {"type": kind, "series": plotted, "axis_config": axis},
    }
