"""Logging with secrets scrubbed at the handler, so no code path can leak a token by accident."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from typing import TextIO

TOKEN_RE = re.compile(r"\b(xox[a-z]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+)")
REDACTED = "[redacted]"


class RedactingFilter(logging.Filter):
    def __init__(self, secrets: Iterable[str] = ()):
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = TOKEN_RE.sub(REDACTED, message)
        for secret in self.secrets:
            cleaned = cleaned.replace(secret, REDACTED)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            # Tracebacks can carry payloads; keep the exception type and a scrubbed message only.
            exc = record.exc_info[1]
            record.msg = f"{record.msg} ({type(exc).__name__}: {TOKEN_RE.sub(REDACTED, str(exc))[:300]})"
            record.exc_info, record.exc_text = None, None
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
