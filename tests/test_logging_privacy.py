"""Log privacy: request lines carry identifiers only, and the scrubber catches partial secrets.

Everything goes through a real handler installed by `configure_logging`, writing to a buffer.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from bot.logging_setup import configure_logging
from bot.slack.request_info import describe_request, request_ids
from tests.conftest import MANAGER, REP, STANDARD_ROWS
from tests.harness import BOT_TOKEN, SIGNING_SECRET

# Shaped like the real thing, made up for the test.
SIGNING = "8f2a6c1e9b7d4f30a5c2e8b1d6f9a3c7"
BOT = "xoxb-1111-2222-AbCdEfGhIjKlMnOpQrStUvWx"
APP = "xapp-1-A0TEST-3333-0f1e2d3c4b5a69788796a5b4c3d2e1f0"


@pytest.fixture
def log_buffer() -> Iterator[io.StringIO]:
    """The app's logging set up as `coachbot run` does, onto a buffer; the old handlers come back after."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    stream = io.StringIO()
    try:
        yield stream
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])


def _log_with(stream: io.StringIO, secrets: list[str]) -> logging.Logger:
    configure_logging("DEBUG", secrets, stream=stream)
    return logging.getLogger("coachbot.test")


def test_truncated_and_partial_secrets_are_redacted(log_buffer):  # type: ignore[no-untyped-def]
    log = _log_with(log_buffer, [SIGNING, BOT, APP])
    log.info("signing secret starts %s", SIGNING[:20])
    log.info("signing secret ends %s", SIGNING[-12:])
    log.info("inside text:%s:and more", SIGNING[9:19])
    log.info("bot token without its prefix %s", BOT[5:])
    log.info("bot token tail %s", BOT[-8:])
    log.warning("app token middle %s", APP[10:30])
    text = log_buffer.getvalue()
    for fragment in (SIGNING[:20], SIGNING[-12:], SIGNING[9:19], BOT[5:], BOT[-8:], APP[10:30], "AbCdEfGh", "6f9a3c7"):
        assert fragment not in text, fragment
    assert text.count("[redacted]") == 6
    assert "inside text:[redacted]:and more" in text and "signing secret starts [redacted]" in text


def test_short_token_tails_and_tokens_glued_to_text_are_redacted(log_buffer):  # type: ignore[no-untyped-def]
    log = _log_with(log_buffer, [])
    log.info("cut short xoxb-1 and xapp-1 and xoxp- and (xoxe-9) and url?token=xoxb-77-abc&x=1")
    text = log_buffer.getvalue()
    assert "xoxb-1 " not in text and "xapp-1" not in text and "xoxp-" not in text and "xoxe-9" not in text
    assert "xoxb-77" not in text and "abc&x" not in text
    assert "cut short [redacted] and [redacted] and [redacted] and (" in text and "url?token=[redacted]" in text


def test_ordinary_text_and_short_overlaps_are_left_alone(log_buffer):  # type: ignore[no-untyped-def]
    log = _log_with(log_buffer, [SIGNING, BOT])
    # Seven characters of a secret are not a fragment; ordinary words are untouched.
    log.info("request team=T0TEAM user=%s kind=command name=/coach outcome=200 seven=%s", MANAGER, SIGNING[:7])
    text = log_buffer.getvalue()
    assert f"request team=T0TEAM user={MANAGER} kind=command name=/coach outcome=200 seven={SIGNING[:7]}" in text
    assert "[redacted]" not in text


def test_exception_text_is_scrubbed_of_partial_secrets(log_buffer):  # type: ignore[no-untyped-def]
    log = _log_with(log_buffer, [SIGNING, BOT])
    try:
        raise ValueError(f"bad signature {SIGNING[4:24]} for token {BOT[:14]} and xoxb-9")
    except ValueError:
        log.exception("verification failed for %s", SIGNING[-10:])
    text = log_buffer.getvalue()
    assert SIGNING[4:24] not in text and BOT[:14] not in text and SIGNING[-10:] not in text and "xoxb-9" not in text
    assert "verification failed for [redacted] (ValueError: bad signature [redacted]" in text
    assert "Traceback" not in text


def test_a_partial_secret_at_the_end_of_a_long_message_is_found(log_buffer):  # type: ignore[no-untyped-def]
    """(How fast the scrubber is belongs in bench/, not here: this checks what it finds.)"""
    log = _log_with(log_buffer, [SIGNING, BOT, APP])
    message = ("lorem ipsum dolor sit amet " * 8000) + SIGNING[3:15]
    for _ in range(5):
        log.info("%s", message)
    text = log_buffer.getvalue()
    assert SIGNING[3:15] not in text and text.count("[redacted]") == 5


def test_request_log_lines_carry_no_typed_text(harness, import_csv, log_buffer):  # type: ignore[no-untyped-def]
    import_csv(*STANDARD_ROWS)
    configure_logging("DEBUG", [SIGNING_SECRET, BOT_TOKEN], stream=log_buffer)
    harness.command(MANAGER, f"profile <@{REP}> private-note about Riley")
    harness.command(MANAGER, "confidential-plan for the quarter")
    harness.command(MANAGER, "")
    harness.action(MANAGER, "my secret words here")
    harness.action(MANAGER, "x" * 61)
    harness.submit(MANAGER, {"callback_id": "note: told him he's on a PIP", "type": "modal"}, {})
    harness.event({"type": "app_mention text=hello there", "user": MANAGER, "text": "hello there"})
    text = log_buffer.getvalue()
    lines = [
        line.split("coachbot.requests ", 1)[1] for line in text.splitlines() if "coachbot.requests request " in line
    ]
    names = [line.split(" name=", 1)[1].split(" outcome=", 1)[0] for line in lines]
    assert names == ["/coach", "/coach", "/coach", "?", "?", "?", "?"], lines
    assert [line.split(" kind=", 1)[1].split(" ", 1)[0] for line in lines] == ["command"] * 3 + [
        "action",
        "action",
        "view",
        "event",
    ]
    for typed in ("profile", "private-note", "confidential", "quarter", "secret words", "PIP", "hello there", "x" * 61):
        assert all(typed not in line for line in lines), typed


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"command": "/coach", "text": "profile <@U1> secret"}, ("command", "/coach")),
        ({"command": "/coach now", "text": ""}, ("command", "?")),
        (
            {"type": "block_actions", "actions": [{"action_id": "coach.diagnose:open"}]},
            ("action", "coach.diagnose:open"),
        ),
        ({"type": "block_actions", "actions": []}, ("action", "?")),
        ({"type": "block_actions", "actions": "oops"}, ("action", "?")),
        ({"type": "view_submission", "view": {"callback_id": 42}}, ("view", "?")),
        ({"type": "view_closed", "view": "not a view"}, ("view", "?")),
        ({"type": "event_callback", "event": {"type": "user_change"}}, ("event", "user_change")),
        ({"type": "something new"}, ("?", "-")),
        ({}, ("unknown", "-")),
    ],
)
def test_describe_request_keeps_only_identifier_shaped_names(body, expected):  # type: ignore[no-untyped-def]
    assert describe_request(body) == expected


def test_request_ids_never_stringify_objects():  # type: ignore[no-untyped-def]
    user_change = {"team_id": "T0TEAM", "event": {"type": "user_change", "user": {"id": REP, "real_name": "Riley"}}}
    assert request_ids(user_change) == ("T0TEAM", REP)
    assert request_ids({"team": "T0TEAM", "user": {"id": "U 1 <script>"}}) == ("", "?")
    assert request_ids({"team": {"id": "T0TEAM"}, "user": {"id": MANAGER}}) == ("T0TEAM", MANAGER)
