"""What a request is, in a few words fit for a log line: never its free text or any scores.

Only app-defined identifiers are logged (the slash command, an action_id, a view callback_id, an
event type). They still arrive inside the payload, so each is checked against a narrow charset and
logged as `?` when it does not fit: nothing a user typed can ride along in a look-alike field.
"""

from __future__ import annotations

import re
from typing import Any

SAFE_NAME_RE = re.compile(r"[A-Za-z0-9_./:-]{1,60}")
UNKNOWN = "?"


def safe_name(value: Any) -> str:
    """`value` when it is an identifier-shaped string (safe charset, at most 60 characters), else `?`."""
    return value if isinstance(value, str) and SAFE_NAME_RE.fullmatch(value) else UNKNOWN


def _field(obj: Any, key: str) -> Any:
    """obj[key] when obj is a dict; payload parts are not always the shape Slack documents."""
    return obj.get(key) if isinstance(obj, dict) else None


def describe_request(body: dict[str, Any]) -> tuple[str, str]:
    """(kind, name) of a request for the log line. A command's text is never included."""
    if "command" in body:
        return "command", safe_name(body.get("command"))
    kind = body.get("type")
    if kind == "block_actions":
        actions = body.get("actions")
        first = actions[0] if isinstance(actions, list) and actions else None
        return "action", safe_name(_field(first, "action_id"))
    if kind in ("view_submission", "view_closed"):
        return "view", safe_name(_field(body.get("view"), "callback_id"))
    if kind == "event_callback":
        return "event", safe_name(_field(body.get("event"), "type"))
    return (safe_name(kind) if kind is not None else "unknown"), "-"


def request_ids(body: dict[str, Any]) -> tuple[str, str]:
    """(team id, user id) of a command, interactive payload or event body, for the log line.

    Some events carry a whole user object where an id is expected (`user_change`): its id is used,
    and anything that is not identifier-shaped is logged as `?`, never stringified.
    """
    team = body.get("team_id") or _field(body.get("team"), "id") or ""
    event_user = _field(body.get("event"), "user")
    if isinstance(event_user, dict):
        event_user = event_user.get("id")
    user = body.get("user_id") or _field(body.get("user"), "id") or event_user or ""
    return (safe_name(team) if team else ""), (safe_name(user) if user else "")
