"""Every renderer stays inside Block Kit limits, even with oversized content; the limits themselves
are Slack's documented ones, and agree with slack_sdk's block and view models where those check them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block, Option
from slack_sdk.models.views import View

from bot.playbook.models import Playbook
from bot.roster import views as render
from bot.roster.views import WiringCard
from bot.slack import limits as L
from bot.slack.blocks import actions, button, context, fields, header, plain, section
from bot.slack.limits import check_blocks, check_message, check_view
from bot.slack.text import escape_mrkdwn, parse_user_mention


def _card(**kw: Any) -> WiringCard:
    base: dict[str, Any] = dict(
        rep_user_id="U1",
        rep_name="R" * 500,
        manager_user_id="U2",
        archetype="root",
        seat_name="S" * 100,
        seat_archetype="engine",
        coachability=1,
        drive=100,
        resilience=50,
        deal_killers=["coaching_resistance", "ethical_flexibility", "commission_breath"],
        gaps=[
            "time_pressure",
            "discovery",
            "objection_handling",
            "closing",
            "pipeline_discipline",
            "prospecting_consistency",
        ],
        start_date=date(2026, 1, 1),
        version=3,
        assessed_on=date(2026, 1, 1),
        versions=3,
    )
    base.update(kw)
    return WiringCard(**base)


def test_checker_catches_violations() -> None:
    too_many = {"text": "x", "blocks": [{"type": "divider"}] * 51}
    assert check_message(too_many) == ["51 blocks, at most 50"]
    long_header = {"text": "x", "blocks": [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}]}
    assert check_message(long_header)
    long_section = {"text": "x", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "s" * 3001}}]}
    assert check_message(long_section)
    assert check_view({"type": "modal", "title": {"type": "plain_text", "text": "t" * 25}, "blocks": []})


def test_builders_truncate_to_limits() -> None:
    blocks = [
        header("h" * 500),
        section("s" * 5000, button("b" * 200, "a", value="v" * 5000)),
        *fields([("label", "f" * 3000)] * 12),
        context(*["c" * 4000] * 12),
        actions(*[button("b", f"a{i}") for i in range(30)]),
    ]
    assert check_message({"text": "x", "blocks": blocks}) == []
    assert [_sdk_problem(b) for b in blocks] == [None] * len(blocks)
    assert len(plain("p" * 500)["text"]) == L.PLACEHOLDER == 150


def test_wiring_card_within_limits_with_oversized_names(playbook: Playbook) -> None:
    for card in (_card(), _card(archetype=None), _card(start_date=None, seat_archetype=None)):
        msg = render.wiring_card(card, playbook, date(2026, 2, 1))
        assert check_message(msg) == [], msg


def test_other_messages_within_limits(playbook: Playbook) -> None:
    reps: list[tuple[str, str | None]] = [(f"U{i:05d}", "engine") for i in range(500)]
    for msg in (
        render.help_message(),
        render.team_list("U1", reps, playbook),
        render.team_list("U1", [], playbook),
        render.manager_request_dm(1, "U1", "U2"),
        render.text_message("x"),
    ):
        assert check_message(msg) == []


def test_user_text_is_escaped_in_cards(playbook: Playbook) -> None:
    msg = render.wiring_card(
        _card(rep_name="<!channel> boss", seat_name="<https://evil|click>"), playbook, date(2026, 2, 1)
    )
    dump = str(msg["blocks"][1:])
    assert "<!channel>" not in dump and "<https://evil" not in dump
    assert escape_mrkdwn("<!here> & <@U1>") == "&lt;!here&gt; &amp; &lt;@U1&gt;"


def test_mention_forms() -> None:
    assert parse_user_mention("<@U123ABC|jo>").user_id == "U123ABC"
    assert parse_user_mention("<@W123ABC>").user_id == "W123ABC"
    assert parse_user_mention("@jo").problem and parse_user_mention("jo").problem
    assert "group mention" in (parse_user_mention("<!subteam^S123|@sales>").problem or "")


# The cross-check below: one block per documented limit, built at the limit and one past it. Our checker
# and slack_sdk's models (to_dict() validates a block and everything inside it) must both accept the
# first and both reject the second. The numbers are Slack's, written out, so a table that drifts fails.


def _plain(n: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": "p" * n}


def _mrkdwn(n: int) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": "m" * n}


def _option(text: int = 1, value: int = 1) -> dict[str, Any]:
    return {"text": _plain(text), "value": "v" * value}


def _button(text: int = 5, value: int = 1, url: int = 0, action_id: int = 3) -> dict[str, Any]:
    b = {"type": "button", "text": _plain(text), "action_id": "a" * action_id, "value": "v" * value}
    return {**b, "url": "u" * url} if url else b


def _input(element: dict[str, Any], label: int = 5, hint: int = 0) -> dict[str, Any]:
    block = {"type": "input", "label": _plain(label), "element": {"action_id": "a", **element}}
    return {**block, "hint": _plain(hint)} if hint else block


def _select(options: list[dict[str, Any]], placeholder: int = 5, kind: str = "static_select") -> dict[str, Any]:
    element = {"type": kind, "action_id": "a", "placeholder": _plain(placeholder), "options": options}
    return {"type": "section", "text": _mrkdwn(5), "accessory": element}


def _sdk_problem(block: dict[str, Any]) -> str | None:
    """slack_sdk's objection to a block, or None. Options are checked on their own: a select's
    to_dict() does not validate the options inside it."""
    element = block.get("accessory") or block.get("element") or {}
    try:
        parsed = Block.parse(block)
        assert parsed is not None, block.get("type")
        parsed.to_dict()
        for option in element.get("options", []):
            Option(**option).validate_json()
    except SlackObjectFormationError as exc:
        return str(exc)
    return None


BLOCK_CASES: list[tuple[str, int, Callable[[int], dict[str, Any]], str]] = [
    ("section text", 3000, lambda n: {"type": "section", "text": _mrkdwn(n)}, "text longer than 3000"),
    ("section fields", 10, lambda n: {"type": "section", "fields": [_mrkdwn(5)] * n}, "more than 10 fields"),
    ("header text", 150, lambda n: {"type": "header", "text": _plain(n)}, "header text must be 1..150 characters"),
    ("context elements", 10, lambda n: {"type": "context", "elements": [_mrkdwn(5)] * n}, "1..10 elements"),
    ("actions elements", 25, lambda n: {"type": "actions", "elements": [_button()] * n}, "1..25 elements"),
    ("input label", 2000, lambda n: _input({"type": "plain_text_input"}, label=n), "label must be 1..2000 characters"),
    ("input hint", 2000, lambda n: _input({"type": "plain_text_input"}, hint=n), "hint must be 1..2000 characters"),
    (
        "placeholder",
        150,
        lambda n: _input({"type": "plain_text_input", "placeholder": _plain(n)}),
        "placeholder longer than 150",
    ),
    (
        "button text",
        75,
        lambda n: {"type": "actions", "elements": [_button(text=n)]},
        "button text must be 1..75 characters",
    ),
    (
        "button value",
        2000,
        lambda n: {"type": "actions", "elements": [_button(value=n)]},
        "button value longer than 2000",
    ),
    ("button url", 3000, lambda n: {"type": "actions", "elements": [_button(url=n)]}, "button url longer than 3000"),
    ("action_id", 255, lambda n: {"type": "actions", "elements": [_button(action_id=n)]}, "action_id longer than 255"),
    ("block_id", 255, lambda n: {"type": "divider", "block_id": "b" * n}, "block_id longer than 255"),
    ("select options", 100, lambda n: _select([_option()] * n), "more than 100 options"),
    (
        "multi-select options",
        100,
        lambda n: _select([_option()] * n, kind="multi_static_select"),
        "more than 100 options",
    ),
    ("select placeholder", 150, lambda n: _select([_option()], placeholder=n), "placeholder longer than 150"),
    ("option text", 75, lambda n: _select([_option(text=n)]), "option text longer than 75"),
    ("option value", 150, lambda n: _select([_option(value=n)]), "option value longer than 150"),
    (
        "overflow options",
        5,
        lambda n: {
            "type": "section",
            "text": _mrkdwn(5),
            "accessory": {"type": "overflow", "options": [_option()] * n},
        },
        "more than 5 options",
    ),
    (
        "markdown text",
        12000,
        lambda n: {"type": "markdown", "text": "m" * n},
        "markdown text must be 1..12000 characters",
    ),
]


@pytest.mark.parametrize(("limit", "build", "problem"), [c[1:] for c in BLOCK_CASES], ids=[c[0] for c in BLOCK_CASES])
def test_block_limits_are_slacks_and_agree_with_slack_sdk(
    limit: int, build: Callable[[int], dict[str, Any]], problem: str
) -> None:
    at, over = build(limit), build(limit + 1)
    assert check_blocks([at], L.MESSAGE_BLOCKS) == []
    assert _sdk_problem(at) is None
    assert check_blocks([over], L.MESSAGE_BLOCKS) == [f"blocks[0] ({over['type']}): {problem}"]
    assert _sdk_problem(over) is not None


def _modal(
    title: int = 5, blocks: int = 1, submit: int = 0, close: int = 0, metadata: int = 0, callback_id: int = 0
) -> dict[str, Any]:
    view: dict[str, Any] = {"type": "modal", "title": _plain(title), "blocks": [{"type": "divider"}] * blocks}
    for key, n, value in (
        ("submit", submit, _plain(submit)),
        ("close", close, _plain(close)),
        ("private_metadata", metadata, "p" * metadata),
        ("callback_id", callback_id, "c" * callback_id),
    ):
        if n:
            view[key] = value
    return view


VIEW_CASES: list[tuple[str, int, Callable[[int], dict[str, Any]], str]] = [
    ("title", 24, lambda n: _modal(title=n), "view title must be 1..24 characters"),
    ("submit", 24, lambda n: _modal(submit=n), "view submit must be 1..24 characters"),
    ("close", 24, lambda n: _modal(close=n), "view close must be 1..24 characters"),
    ("blocks", 100, lambda n: _modal(blocks=n), "101 blocks, at most 100"),
    ("private_metadata", 3000, lambda n: _modal(metadata=n), "private_metadata longer than 3000"),
    ("callback_id", 255, lambda n: _modal(callback_id=n), "callback_id longer than 255"),
]


def _sdk_view_problem(view: dict[str, Any]) -> str | None:
    try:
        View(**view).to_dict()
    except SlackObjectFormationError as exc:
        return str(exc)
    return None


@pytest.mark.parametrize(("limit", "build", "problem"), [c[1:] for c in VIEW_CASES], ids=[c[0] for c in VIEW_CASES])
def test_modal_limits_are_slacks_and_agree_with_slack_sdk(
    limit: int, build: Callable[[int], dict[str, Any]], problem: str
) -> None:
    at, over = build(limit), build(limit + 1)
    assert check_view(at) == [] and _sdk_view_problem(at) is None
    assert check_view(over) == [problem]
    assert _sdk_view_problem(over) is not None


def test_limits_slack_sdk_does_not_model() -> None:
    """Documented limits slack_sdk leaves to Slack: checkbox and radio groups hold 10 options, a table
    100 rows of 20 cells, a modal with an input block needs a submit button, and a Home tab 100 blocks."""
    for kind in ("checkboxes", "radio_buttons"):
        assert check_blocks([_input({"type": kind, "options": [_option()] * 10})], 50) == []
        assert check_blocks([_input({"type": kind, "options": [_option()] * 11})], 50) == [
            "blocks[0] (input): more than 10 options"
        ]
    row = [{"type": "raw_text", "text": "c"}] * 20
    assert check_blocks([{"type": "table", "rows": [row] * 100}], 50) == []
    assert check_blocks([{"type": "table", "rows": [row] * 101}], 50) == ["blocks[0] (table): 1..100 rows"]
    assert check_blocks([{"type": "table", "rows": [[*row, row[0]]]}], 50) == [
        "blocks[0] (table): a row has more than 20 cells"
    ]
    with_input = {"type": "modal", "title": _plain(5), "blocks": [_input({"type": "plain_text_input"})]}
    assert check_view(with_input) == ["a modal with input blocks needs a submit button"]
    assert check_view({**with_input, "submit": _plain(4)}) == []
    home = {"type": "home", "blocks": [{"type": "divider"}] * 100}
    assert check_view(home) == [] and _sdk_view_problem(home) is None
    assert check_view({**home, "blocks": [{"type": "divider"}] * 101}) == ["101 blocks, at most 100"]
    assert check_message({"text": "x" * 40000}) == [] and check_message({"text": "x" * 40001}) == [
        "text longer than 40000"
    ]
