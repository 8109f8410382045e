"""Logging with secrets scrubbed at the handler, so no code path can leak a token by accident."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from typing import TextIO

# A Slack token prefix and whatever non-space follows it: a token cut short is still a token.
TOKEN_RE = re.compile(r"(?:xox[a-z]-|xapp-)\S*")
REDACTED = "[redacted]"
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
        """`text` without Slack tokens, whole short secrets or any FRAGMENT-long run of a longer secret."""
        text = TOKEN_RE.sub(REDACTED, text)
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
            # Tracebacks can carry payloads; keep the exception type and a scrubbed message only.
            exc = record.exc_info[1]
            cleaned = f"{cleaned} ({type(exc).__name__}: {self.scrub(str(exc)[:2000])[:300]})"
            record.exc_info, record.exc_text = None, None
        # The message is final now: no arguments left for a later % to expand into it.
        record.msg, record.args = cleaned, None
        return True


def configure_logging(level: str, secrets: Iterable[str], stream: TextIO | None = None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # slack_sdk and Bolt log whole request bodies (wiring scores included) at DEBUG, so they stay
    # at WARNING even when COACHBOT_LOG_LEVEL=DEBUG.
    for noisy in ("slack_bolt", "slack_sdk", "coachbot.bolt", "urllib3", "waitress"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
