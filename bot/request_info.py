"""What a request is, in a few words fit for a log line: never its free text or any scores."""

from __future__ import annotations

from typing import Any


def describe_request(body: dict[str, Any]) -> tuple[str, str]:
    """(kind, name) of a request for the log line."""
    if "command" in body:
        sub = (body.get("text") or "").split(" ", 1)[0][:20]
        return "command", f"{body['command']} {sub}".strip()
    kind = body.get("type", "unknown")
    if kind == "block_actions":
        acts = body.get("actions") or [{}]
        return "action", str(acts[0].get("action_id", "?"))[:60]
    if kind in ("view_submission", "view_closed"):
        return "view", str((body.get("view") or {}).get("callback_id", "?"))[:60]
    if kind == "event_callback":
        return "event", str((body.get("event") or {}).get("type", "?"))[:60]
    return str(kind)[:30], "-"


def request_ids(body: dict[str, Any]) -> tuple[str, str]:
    """(team id, user id) of a command, interactive payload or event body."""
    team = body.get("team_id") or (body.get("team") or {}).get("id") or ""
    user = body.get("user_id") or (body.get("user") or {}).get("id") or (body.get("event") or {}).get("user") or ""
    return str(team), str(user)
