"""Posting a message exactly once when Slack's answer can be lost.

Every message worth guarding carries a key in Slack message metadata. When a post ends with an
unknown outcome (a 5xx, a reset connection, a timeout: Slack may have posted it), the
conversation's history is searched for that key before anything is sent again. A search that
fails is "could not verify", which is never read as "not sent".
"""

from __future__ import annotations

import enum
import logging
import time
from dataclasses import dataclass
from http.client import HTTPException
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger("coachbot.delivery")

DIRECT_EVENT = "coachbot_direct"
# Errors after which Slack may or may not have acted on the request.
UNKNOWN_OUTCOME: tuple[type[BaseException], ...] = (TimeoutError, ConnectionError, HTTPException)
# Errors after which Slack gave no answer: the request never reached it, or the outcome is unknown.
NO_ANSWER: tuple[type[BaseException], ...] = (URLError, *UNKNOWN_OUTCOME)
# Any failed Slack call: refused by Slack, or no answer.
SLACK_FAILURES: tuple[type[BaseException], ...] = (SlackApiError, *NO_ANSWER)
HISTORY_PAGES = 5
MAX_POSTS = 3


class Lookup(enum.Enum):
    FOUND = "found"
    ABSENT = "absent"
    UNVERIFIED = "unverified"


@dataclass(frozen=True)
class Search:
    result: Lookup
    ts: str | None = None
    reason: str = ""


class NotSent(Exception):
    """The message certainly did not go out (the DM could not be opened, or the post never reached Slack)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class OutcomeUnknown(Exception):
    """Slack may have posted the message, and its history could not tell: do not send it again."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def metadata(event_type: str, key: str) -> dict[str, Any]:
    return {"event_type": event_type, "event_payload": {"key": key}}


def failure_reason(exc: BaseException) -> str:
    if isinstance(exc, NotSent | OutcomeUnknown):
        return exc.reason
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error") or f"http {exc.response.status_code}")
    return type(exc).__name__


def find_messages(
    client: WebClient, channel: str, event_type: str, keys: set[str], oldest: float, limit: int = 200
) -> tuple[dict[str, str], str]:
    """Every message of `keys` found in the channel since `oldest` (a Unix time), key -> ts, and why
    the rest could not be told apart from "absent" ("" when the history was read to its end). Stops
    as soon as every key is found."""
    found: dict[str, str] = {}
    cursor = None
    for _ in range(HISTORY_PAGES):
        try:
            resp = client.conversations_history(
                channel=channel, oldest=f"{oldest:.6f}", limit=limit, include_all_metadata=True, cursor=cursor
            )
        except SLACK_FAILURES as exc:
            return found, f"history lookup failed: {failure_reason(exc)}"
        for message in resp.get("messages") or []:
            meta = message.get("metadata") or {}
            key = (meta.get("event_payload") or {}).get("key")
            if meta.get("event_type") == event_type and key in keys:
                found[str(key)] = str(message.get("ts"))
        cursor = ((resp.get("response_metadata") or {}).get("next_cursor")) or None
        if found.keys() >= keys or not resp.get("has_more") or not cursor:
            return found, ""
    return found, "history too long to search"


def find_message(client: WebClient, channel: str, event_type: str, key: str, oldest: float) -> Search:
    """Look for the message with this key in the channel since `oldest` (a Unix time)."""
    found, unread = find_messages(client, channel, event_type, {key}, oldest, limit=100)
    if key in found:
        return Search(Lookup.FOUND, ts=found[key])
    return Search(Lookup.UNVERIFIED, reason=unread) if unread else Search(Lookup.ABSENT)


def post_once(client: WebClient, channel: str, message: dict[str, Any], key: str) -> str:
    """Post `message` to `channel` once; returns its ts.

    Raises SlackApiError when Slack refused it and NotSent when it never reached Slack (nothing was
    posted either way), OutcomeUnknown when it may have been posted and the history could not
    confirm either way.
    """
    since = time.time() - 60
    reason = ""
    for _ in range(MAX_POSTS):
        try:
            resp = client.chat_postMessage(channel=channel, metadata=metadata(DIRECT_EVENT, key), **message)
            return str(resp["ts"])
        except SlackApiError as exc:
            if exc.response.status_code < 500:
                raise
            reason = failure_reason(exc)
        except URLError as exc:  # never reached Slack (the client already retried those)
            raise NotSent(f"could not reach Slack: {type(exc.reason).__name__}") from exc
        except UNKNOWN_OUTCOME as exc:
            reason = failure_reason(exc)
        log.warning("post outcome unknown key=%s error=%s; checking the history", key.split(":", 1)[0], reason)
        search = find_message(client, channel, DIRECT_EVENT, key, since)
        if search.result is Lookup.FOUND and search.ts:
            return search.ts
        if search.result is Lookup.UNVERIFIED:
            raise OutcomeUnknown(f"{reason}; {search.reason}")
    raise OutcomeUnknown(f"{reason} on {MAX_POSTS} tries, and none is in the history")


def dm_once(client: WebClient, user_id: str, message: dict[str, Any], key: str) -> tuple[str, str]:
    """A DM posted once: (channel, ts). Same errors as `post_once`; opening the DM posts nothing, so
    a failure there is NotSent."""
    try:
        channel = str(client.conversations_open(users=user_id)["channel"]["id"])
    except NO_ANSWER as exc:
        raise NotSent(f"could not open the DM: {failure_reason(exc)}") from exc
    return channel, post_once(client, channel, message, key)


def dm_if_absent(client: WebClient, user_id: str, message: dict[str, Any], key: str, since: float) -> str | None:
    """For a repeated request whose first answer may not have gone out: post the DM only when the
    conversation's history shows it is not there. Returns the ts found or posted; None when the
    history could not tell (then nothing is sent: never twice)."""
    try:
        channel = str(client.conversations_open(users=user_id)["channel"]["id"])
    except NO_ANSWER as exc:
        raise NotSent(f"could not open the DM: {failure_reason(exc)}") from exc
    search = find_message(client, channel, DIRECT_EVENT, key, since)
    if search.result is Lookup.FOUND:
        return search.ts
    if search.result is Lookup.UNVERIFIED:
        log.warning("repeat not answered key=%s: %s", key.split(":", 1)[0], search.reason)
        return None
    return post_once(client, channel, message, key)
