"""Safe text for Slack: escaping user input for mrkdwn and reading user mentions."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Slack sends mentions as <@U123|name> (escaping on) or <@U123>; W ids are Enterprise Grid users.
MENTION_RE = re.compile(r"^<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>$")
PLAIN_AT_RE = re.compile(r"^@[\w.\-]{1,80}$")
SPECIAL_RE = re.compile(r"^<!(?:channel|here|everyone|subteam\^[A-Z0-9]+)(?:\|[^>]*)?>$")
MAX_COMMAND_TEXT = 2000
USER_ID_IN_TEXT = re.compile(r"[UW][A-Z0-9]{2,31}")


def escape_mrkdwn(text: str) -> str:
    """Make user text inert in mrkdwn: no <!channel>, no fake links or mentions."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


@dataclass(frozen=True)
class MentionResult:
    user_id: str | None = None
    problem: str | None = None  # a polite sentence for the caller when user_id is None


def parse_user_mention(token: str) -> MentionResult:
    """Read one user reference from command text, explaining what was wrong when it is not one."""
    token = token.strip()
    if not token:
        return MentionResult(problem="Please mention a person, like `@Jordan`.")
    m = MENTION_RE.match(token)
    if m:
        return MentionResult(user_id=m.group(1))
    if SPECIAL_RE.match(token):
        return MentionResult(problem="That is a group mention, not a person. Please mention one person.")
    if token.startswith("<#"):
        return MentionResult(problem="That is a channel, not a person. Please mention one person.")
    if PLAIN_AT_RE.match(token):
        shown = escape_mrkdwn(truncate(token, 40))
        return MentionResult(
            problem=f"I couldn't tell who `{shown}` is. Pick the person from Slack's autocomplete "
            "so the name turns into a mention, then try again."
        )
    return MentionResult(problem="Please mention a person, like `@Jordan`.")


def split_args(text: str) -> list[str]:
    return text.split()
