"""Log privacy: request lines carry identifiers only, the scrubber catches partial secrets, and errors
keep their stack trace but never their message (it can carry payloads and what people typed).

Everything goes through a real handler installed by `configure_logging`, writing to a buffer.
"""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from bot.logging_setup import SafeTracebackFormatter, configure_logging
from bot.slack.request_info import describe_request, request_ids
from tests.conftest import MANAGER, REP, STANDARD_ROWS
from tests.harness import BOT_TOKEN, SIGNING_SECRET, Harness

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


def test_truncated_and_partial_secrets_are_redacted(log_buffer: io.StringIO) -> None:
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


def test_short_token_tails_and_tokens_glued_to_text_are_redacted(log_buffer: io.StringIO) -> None:
    log = _log_with(log_buffer, [])
    log.info("cut short xoxb-1 and xapp-1 and xoxp- and (xoxe-9) and url?token=xoxb-77-abc&x=1")
    text = log_buffer.getvalue()
    assert "xoxb-1 " not in text and "xapp-1" not in text and "xoxp-" not in text and "xoxe-9" not in text
    assert "xoxb-77" not in text and "abc&x" not in text
    assert "cut short [redacted] and [redacted] and [redacted] and (" in text and "url?token=[redacted]" in text


def test_ordinary_text_and_short_overlaps_are_left_alone(log_buffer: io.StringIO) -> None:
    log = _log_with(log_buffer, [SIGNING, BOT])
    # Seven characters of a secret are not a fragment; ordinary words are untouched.
    log.info("request team=T0TEAM user=%s kind=command name=/coach outcome=200 seven=%s", MANAGER, SIGNING[:7])
    text = log_buffer.getvalue()
    assert f"request team=T0TEAM user={MANAGER} kind=command name=/coach outcome=200 seven={SIGNING[:7]}" in text
    assert "[redacted]" not in text


def test_exception_text_is_scrubbed_of_partial_secrets(log_buffer: io.StringIO) -> None:
    log = _log_with(log_buffer, [SIGNING, BOT])
    try:
        raise ValueError(f"bad signature {SIGNING[4:24]} for token {BOT[:14]} and xoxb-9")
    except ValueError:
        log.exception("verification failed for %s", SIGNING[-10:])
    text = log_buffer.getvalue()
    assert SIGNING[4:24] not in text and BOT[:14] not in text and SIGNING[-10:] not in text and "xoxb-9" not in text
    assert "verification failed for [redacted]\nTraceback (most recent call last):\n" in text
    assert "in test_exception_text_is_scrubbed_of_partial_secrets\nValueError\n" in text
    assert "bad signature" not in text and "[redacted]" in text


def _check_note(note: str, token: str) -> None:
    """Fails the way a handler might: the exception's message quotes what the person typed and a token."""
    raise ValueError(f"could not save note {note!r} with {token}")


def _save_note(note: str, token: str) -> None:
    try:
        _check_note(note, token)
    except ValueError as exc:
        raise RuntimeError(f"saving failed: {exc}") from exc


def test_errors_are_logged_with_frames_but_without_messages_tokens_or_typed_text(log_buffer: io.StringIO) -> None:
    log = _log_with(log_buffer, [SIGNING, BOT, APP])
    typed = "told him he's on a PIP"
    try:
        _save_note(typed, f"{BOT} {APP} signed {SIGNING}")
    except RuntimeError:
        log.exception("failed team=T0TEAM kind=view")
    text = log_buffer.getvalue()
    lines = text.splitlines()
    # The frames are all there, oldest exception first, chained the way Python prints it ...
    assert lines[0].endswith("ERROR coachbot.test failed team=T0TEAM kind=view")
    assert lines[1] == "Traceback (most recent call last):"
    assert text.count("Traceback (most recent call last):") == 2
    assert f'File "{__file__}"' in text
    for function in ("in _save_note", "in _check_note", "in test_errors_are_logged_with_frames_but_without"):
        assert function in text, function
    assert "\nValueError\n\nThe above exception was the direct cause of the following exception:\n" in text
    assert lines[-1] == "RuntimeError"
    # ... but no exception's message: not the typed text, not the tokens, not the secret or a piece of it.
    for leaked in (typed, "PIP", "could not save note", "saving failed", BOT, APP, "xoxb-", "xapp-", SIGNING[:8]):
        assert leaked not in text, leaked


def test_database_errors_keep_the_drivers_reason_not_the_sql_parameters(log_buffer: io.StringIO) -> None:
    log = _log_with(log_buffer, [SIGNING])
    engine = create_engine("sqlite://")
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT note FROM no_such_table WHERE note = :n"), {"n": "my private words"})
    except Exception:
        log.error("failed to read notes from postgresql://coach:hunter2pass@db:5432/coachbot", exc_info=True)
    logged = log_buffer.getvalue()
    assert "in _execute_clauseelement" in logged  # SQLAlchemy's frames are kept
    assert logged.rstrip().endswith("\nOperationalError(no such table: no_such_table)")
    assert "my private words" not in logged and "SELECT note" not in logged
    assert "hunter2pass" not in logged and "postgresql://coach:[redacted]@db:5432/coachbot" in logged


def test_the_formatter_alone_never_prints_an_exception_message() -> None:
    """Even a record that skipped the filter keeps only frames and exception types."""
    try:
        _check_note("private words", BOT)
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    formatted = SafeTracebackFormatter("%(message)s").format(record)
    assert formatted.startswith("failed\nTraceback (most recent call last):\n") and "in _check_note" in formatted
    assert formatted.endswith("\nValueError") and "private words" not in formatted and BOT not in formatted


def test_a_partial_secret_at_the_end_of_a_long_message_is_found(log_buffer: io.StringIO) -> None:
    """(How fast the scrubber is belongs in bench/, not here: this checks what it finds.)"""
    log = _log_with(log_buffer, [SIGNING, BOT, APP])
    message = ("lorem ipsum dolor sit amet " * 8000) + SIGNING[3:15]
    for _ in range(5):
        log.info("%s", message)
    text = log_buffer.getvalue()
    assert SIGNING[3:15] not in text and text.count("[redacted]") == 5


def test_request_log_lines_carry_no_typed_text(
    harness: Harness, import_csv: Callable[..., str], log_buffer: io.StringIO
) -> None:
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
def test_describe_request_keeps_only_identifier_shaped_names(body: dict[str, Any], expected: tuple[str, str]) -> None:
    assert describe_request(body) == expected


def test_request_ids_never_stringify_objects() -> None:
    user_change = {"team_id": "T0TEAM", "event": {"type": "user_change", "user": {"id": REP, "real_name": "Riley"}}}
    assert request_ids(user_change) == ("T0TEAM", REP)
    assert request_ids({"team": "T0TEAM", "user": {"id": "U 1 <script>"}}) == ("", "?")
    assert request_ids({"team": {"id": "T0TEAM"}, "user": {"id": MANAGER}}) == ("T0TEAM", MANAGER)
