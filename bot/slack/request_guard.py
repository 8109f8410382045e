"""Checks on a request from Slack before anything parses it: the signature on the raw bytes, then
the body's encoding, syntax and shape. A request that fails gets 401 (signature) or 400 (the rest),
never a 500, and never reaches Bolt or a listener.

The shape check covers the fields that Bolt and Coachbot's listeners read (ids are strings, the
objects they look into are objects, lists are lists), so a signed but malformed payload cannot
make either raise.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

MAX_AGE_SECONDS = 60 * 5
MAX_DEPTH = 24
NoneType = type(None)

# Where these keys occur (top level, or inside an event, message, view…), their values must have these types.
STRINGS = (str, NoneType)
KEY_TYPES: dict[str, tuple[type, ...]] = {
    **{
        k: STRINGS
        for k in (
            "type",
            "team_id",
            "user_id",
            "channel_id",
            "enterprise_id",
            "api_app_id",
            "trigger_id",
            "response_url",
            "callback_id",
            "action_id",
            "event_id",
            "command",
            "user_team",
            "private_metadata",
            "hash",
            "value",
            "block_id",
            "action_ts",
            "message_ts",
            "ts",
            "tab",
            "selected_date",
            "selected_time",
            "selected_user",
            "selected_conversation",
            "selected_channel",
            "id",
            "tz",
        )
    },
    **{k: (str, dict, NoneType) for k in ("enterprise", "team", "user", "channel")},
    **{
        k: (dict, NoneType)
        for k in ("event", "view", "message", "previous_message", "item", "container", "state", "selected_option")
    },
    **{k: (list, NoneType) for k in ("actions", "authorizations", "selected_options", "selected_users")},
    "is_enterprise_install": (bool, str, NoneType),
    "is_ext_shared_channel": (bool, str, NoneType),
    "deleted": (bool, NoneType),
    "profile": (dict, NoneType),
}


LISTS_OF_OBJECTS = frozenset({"actions", "authorizations", "selected_options"})


@dataclass(frozen=True)
class Verdict:
    status: int  # 200 when the request may go on to Bolt
    reason: str
    body: dict[str, Any] | None = None


def signature_ok(secret: str, headers: Mapping[str, str], raw: bytes, now: float | None = None) -> bool:
    """Slack's v0 signature over the raw bytes (no decoding first: a non-UTF-8 body is still checked)."""
    timestamp = headers.get("x-slack-request-timestamp", "")
    signature = headers.get("x-slack-signature", "")
    if not secret or not timestamp.isdigit() or not signature.startswith("v0="):
        return False
    if abs((now if now is not None else time.time()) - int(timestamp)) > MAX_AGE_SECONDS:
        return False
    base = b"v0:" + timestamp.encode() + b":" + raw
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


def _depth_ok(value: Any) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return False
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return True


def _types_problem(value: Any, path: str = "") -> str | None:
    """Walk the whole body: every known key holds the type Bolt and the listeners expect.

    The keys of a form's `state.values` are the app's block and action ids, not fields: they are
    walked into without being checked by name.
    """
    stack: list[tuple[Any, str, int]] = [(value, path, 0)]  # (item, where, levels of id-keys left)
    while stack:
        item, where, id_levels = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                expected = KEY_TYPES.get(key) if id_levels == 0 else None
                if expected is not None and not isinstance(child, expected):
                    return f"{where}{key} has the wrong type"
                listed = isinstance(child, list) and id_levels == 0 and key in LISTS_OF_OBJECTS
                if listed and not all(isinstance(item, dict) for item in child):
                    return f"{where}{key} holds something other than objects"
                if isinstance(child, dict | list):
                    ids = (
                        2
                        if (key == "values" and where.endswith("state.") and id_levels == 0)
                        else max(id_levels - 1, 0)
                    )
                    stack.append((child, f"{where}{key}.", ids))
        elif isinstance(item, list):
            stack.extend((child, where, 0) for child in item if isinstance(child, dict | list))
    return None


def _selections_problem(body: dict[str, Any]) -> str | None:
    """Options are objects and picked users or conversations are ids, wherever a form or click has them."""
    stack: list[Any] = [body]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            options = item.get("selected_options")
            if options is not None and not all(isinstance(o, dict) for o in options):
                return "selected options that are not objects"
            for key in ("selected_users", "selected_conversations", "selected_channels"):
                picked = item.get(key)
                if picked is not None and not (isinstance(picked, list) and all(isinstance(p, str) for p in picked)):
                    return f"{key} that are not ids"
            stack.extend(v for v in item.values() if isinstance(v, dict | list))
        elif isinstance(item, list):
            stack.extend(v for v in item if isinstance(v, dict | list))
    return None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _user_id(body: dict[str, Any]) -> Any:
    user = body.get("user")
    return user.get("id") if isinstance(user, dict) else user


def shape_problem(body: Any) -> str | None:
    """Why this parsed body cannot be a request Slack sends; None when it can be handled."""
    if not isinstance(body, dict):
        return "the body is not an object"
    if not _depth_ok(body):
        return "the body is nested too deeply"
    if problem := _types_problem(body):
        return problem
    for key in ("event", "view"):  # Bolt reads body.get("event", {}).get(...) and body["view"].get(...)
        if key in body and not isinstance(body[key], dict):
            return f"{key} that is not an object"
    url = body.get("response_url")
    if url is not None and not (isinstance(url, str) and url.startswith(("https://", "http://"))):
        return "a response URL that is not a web address"
    if "ssl_check" in body and "command" not in body:
        return None  # Slack's periodic certificate check on a slash command URL; Bolt answers it
    if "command" in body:
        missing = [k for k in ("command", "team_id", "user_id", "trigger_id") if not body.get(k)]
        return f"a command without {', '.join(missing)}" if missing else None
    kind = body.get("type")
    if not isinstance(kind, str) or not kind:
        return "no request type"
    if kind == "event_callback":
        event = body.get("event")
        if not isinstance(event, dict) or not event.get("type"):
            return "an event without its event object"
        if not body.get("team_id"):
            return "an event without a team"
        user = event.get("user")
        if event["type"] == "app_home_opened" and not (isinstance(user, str) and user):
            return "a Home tab event without its user"
        if event["type"] == "user_change" and not (isinstance(user, dict) and isinstance(user.get("id"), str)):
            return "a user change without the user"
        return None
    if kind == "url_verification":
        return None if isinstance(body.get("challenge"), str) else "a URL check without its challenge"
    interactive = ("block_actions", "view_submission", "view_closed", "shortcut", "message_action", "block_suggestion")
    if kind in interactive:
        # Slack sends the acting user and the team as objects in interactive payloads.
        user, team = body.get("user"), body.get("team")
        if not isinstance(user, dict) or not isinstance(user.get("id"), str) or not user["id"]:
            return f"a {kind} without its user"
        if not (team is None or (isinstance(team, dict) and isinstance(team.get("id"), str | NoneType))):
            return f"a {kind} whose team is not an object"
        if problem := _selections_problem(body):
            return problem
    if kind == "block_actions":
        actions = body.get("actions")
        if not actions or not all(isinstance(a, dict) for a in actions):
            return "a click without its actions"
        if not all(isinstance(a.get("action_id"), str) and a["action_id"] for a in actions):
            return "a click without its action id"  # Bolt's matchers read action["action_id"]
    if kind in ("view_submission", "view_closed"):
        view = _dict(body.get("view"))
        if not view.get("id") or not isinstance(view.get("callback_id"), str) or not view.get("type"):
            return "a form without its view"
        values = _dict(view.get("state")).get("values") or {}
        if not isinstance(values, dict) or not all(
            isinstance(block, dict) and all(isinstance(element, dict) for element in block.values())
            for block in values.values()
        ):
            return "a form whose state is not readable"
    return None


def check(secret: str, headers: Mapping[str, str], raw: bytes) -> Verdict:
    """Signature first; only then is the body decoded and parsed."""
    if not signature_ok(secret, headers, raw):
        return Verdict(401, "bad or stale signature")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return Verdict(400, "the body is not UTF-8")
    content_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    try:
        if content_type == "application/json":
            body: Any = json.loads(text)
        elif content_type == "application/x-www-form-urlencoded":
            form = dict(parse_qsl(text, keep_blank_values=True))
            body = json.loads(form["payload"]) if "payload" in form else form
        else:
            return Verdict(400, "unsupported content type")
    except (ValueError, RecursionError):
        return Verdict(400, "the body cannot be parsed")
    if problem := shape_problem(body):
        return Verdict(400, problem)
    return Verdict(200, "ok", body)
