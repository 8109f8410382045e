"""Logging with secrets scrubbed at the handler, so no code path can leak a token by accident.

Errors keep their stack trace: every frame (file, line, function) is logged, but no exception's
message is. Messages carry request payloads, SQL parameters and user-typed text, so each exception in a
traceback is shown as its type alone, or for a database error with the driver's reason (see
`bot.errors.describe_error`). The whole record, traceback included, then goes through the scrubber.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from collections.abc import Iterable
from types import TracebackType
from typing import TextIO

from bot.errors import describe_error

# A Slack token prefix and whatever non-space follows it: a token cut short is still a token.
TOKEN_RE = re.compile(r"(?:xox[a-z]-|xapp-)\S*")
# A password written into a URL (postgresql://user:password@host/db) or a libpq keyword string.
URL_PASSWORD_RE = re.compile(r"(://[^:/?#@\s]*):[^@\s/]+@")
KEYWORD_PASSWORD_RE = re.compile(r"\b(password|passwd|pwd)=\S+", re.IGNORECASE)
REDACTED = "[redacted]"
CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"
ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]


def _frames(tb: TracebackType) -> list[str]:
    """`  File "…", line N, in function` for each frame, as Python prints them (long runs of a repeated
    frame collapsed), without the source lines."""
    frames = [
        traceback.FrameSummary(frame.f_code.co_filename, lineno, frame.f_code.co_name, lookup_line=False, line="")
        for frame, lineno in traceback.walk_tb(tb)
    ]
    return traceback.StackSummary.from_list(frames).format()


def safe_traceback(error: BaseException) -> str:
    """`error`'s traceback as Python prints it, chained exceptions included, with each exception's
    message replaced by `describe_error` (its type, or a database driver's reason)."""
    chain: list[BaseException] = []  # newest first
    current: BaseException | None = error
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        if current.__cause__ is not None:
            current = current.__cause__
        elif current.__suppress_context__:
            current = None
        else:
            current = current.__context__
    parts: list[str] = []
    for i in range(len(chain) - 1, -1, -1):
        exc = chain[i]
        if i < len(chain) - 1:
            parts.append(CAUSE if exc.__cause__ is chain[i + 1] else CONTEXT)
        if exc.__traceback__ is not None:
            parts.append("Traceback (most recent call last):\n")
            parts.extend(_frames(exc.__traceback__))
        parts.append(describe_error(exc) + "\n")
    return "".join(parts).rstrip("\n")


# Any run of this many characters copied from a configured secret is redacted, so a secret that was
# truncated, split or wrapped in other text (the first 20 characters, the last 12) still never shows.
FRAGMENT = 8


class RedactingFilter(logging.Filter):
    """Rewrites each record's message (and exception text) with tokens and secret fragments removed."""

    def __init__(self, secrets: Iterable[str] = ()):
        super().__init__()
        self.secrets = [s for s in secrets if s]
        # Built once: every FRAGMENT-long piece of every secret, so a message is checked in one pass.
        self._fragments = frozenset(
            s[i : i + FRAGMENT] for s in self.secrets if len(s) >= FRAGMENT for i in range(len(s) - FRAGMENT + 1)
        )
        # Secrets too short to have fragments are still replaced when they appear whole.
        self._short = [s for s in self.secrets if len(s) < FRAGMENT]

    def scrub(self, text: str) -> str:
        """`text` without Slack tokens, URL or keyword passwords, whole short secrets or any FRAGMENT-long
        run of a longer secret."""
        text = TOKEN_RE.sub(REDACTED, text)
        text = URL_PASSWORD_RE.sub(rf"\1:{REDACTED}@", text)
        text = KEYWORD_PASSWORD_RE.sub(rf"\1={REDACTED}", text)
        for secret in self._short:
            text = text.replace(secret, REDACTED)
        if not self._fragments or len(text) < FRAGMENT:
            return text
        fragments = self._fragments
        spans: list[list[int]] = []  # merged [start, end) of matching windows
        for i in range(len(text) - FRAGMENT + 1):
            if text[i : i + FRAGMENT] in fragments:
                if spans and i <= spans[-1][1]:
                    spans[-1][1] = i + FRAGMENT
                else:
                    spans.append([i, i + FRAGMENT])
        if not spans:
            return text
        out, last = [], 0
        for start, end in spans:
            out.append(text[last:start])
            out.append(REDACTED)
            last = end
        out.append(text[last:])
        return "".join(out)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # arguments that do not fit the format: log the format alone, not a crash
            message = f"{record.msg} (log arguments did not fit the message)"
        cleaned = self.scrub(message)
        if record.exc_info and record.exc_info[1] is not None:
            # The frames, without the exception messages (they can carry payloads and typed text),
            # formatted here so that whatever formats the record next has only this safe text.
            record.exc_text = self.scrub(safe_traceback(record.exc_info[1]))
        elif record.exc_text:
            record.exc_text = self.scrub(record.exc_text)
        record.exc_info = None
        if record.stack_info:
            record.stack_info = self.scrub(record.stack_info)
        # The message is final now: no arguments left for a later % to expand into it.
        record.msg, record.args = cleaned, None
        return True


class SafeTracebackFormatter(logging.Formatter):
    """A formatter that never prints an exception's message: a record reaching it with its exception
    still attached (no RedactingFilter on the way) gets the same message-free traceback."""

    def formatException(self, ei: ExcInfo) -> str:
        return safe_traceback(ei[1]) if ei[1] is not None else ""


# slack_sdk and Bolt log whole request bodies (wiring scores included) at DEBUG, so they stay at WARNING
# even when COACHBOT_LOG_LEVEL=DEBUG.
NOISY_LOGGERS = ("slack_bolt", "slack_sdk", "coachbot.bolt", "urllib3", "waitress")


def configure_logging(level: str, secrets: Iterable[str], stream: TextIO | None = None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(SafeTracebackFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)
