"""Use cases around the manager's week: where the summary goes, posting it, logging coaching time."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session, select

from bot.levers.lagging import WINDOWS, Figure, RepRecord
from bot.levers.service import figures_of
from bot.levers.views import numbers_message
from bot.playbook.models import Playbook
from bot.slack.blocks import context as context_block
from bot.slack.delivery import SLACK_FAILURES, failure_reason
from bot.team.data import TeamData, load_team
from bot.team.summary import MINUTES_MAX, MINUTES_MIN, build_summary, summary_messages
from storage.models import CoachingSession, ManagerSetting, Person, SessionAttendee

log = logging.getLogger("coachbot.summary")


def summary_channel(session: Session, team_id: str, manager_id: str) -> str | None:
    setting = session.exec(
        select(ManagerSetting).where(ManagerSetting.team_id == team_id, ManagerSetting.manager_user_id == manager_id)
    ).first()
    channel = setting.summary_channel if setting else None
    # Only channels (C…/G…) hold summaries; anything else (an old DM id) means the manager's own DM.
    return channel if channel and channel.startswith(("C", "G")) else None


def set_summary_channel(session: Session, team_id: str, manager_id: str, channel: str | None) -> None:
    setting = session.exec(
        select(ManagerSetting).where(ManagerSetting.team_id == team_id, ManagerSetting.manager_user_id == manager_id)
    ).first()
    if setting is None:
        setting = ManagerSetting(team_id=team_id, manager_user_id=manager_id)
    setting.summary_channel, setting.updated_at = channel, datetime.now(UTC)
    session.add(setting)


def all_summary_channels(session: Session, team_id: str) -> list[tuple[str, str]]:
    return [
        (s.manager_user_id, s.summary_channel)
        for s in session.exec(select(ManagerSetting).where(ManagerSetting.team_id == team_id))
        if s.summary_channel
    ]


CHANNEL_GONE = ("not_in_channel", "channel_not_found", "is_archived")  # a summary then falls back to a DM


def channel_privacy_problem(client: WebClient, channel_id: str) -> str | None:
    """Why a channel cannot hold wiring data (public, or the bot is not in it); None when fine."""
    try:
        info = client.conversations_info(channel=channel_id)["channel"]
    except SlackApiError as exc:
        if exc.response.get("error") in ("channel_not_found", "not_in_channel"):
            return (
                "I can't see that channel. If it is private, invite me first with `/invite @Coachbot`, then try again."
            )
        raise
    if info.get("is_im") or info.get("is_mpim") or not str(info.get("id") or channel_id).startswith(("C", "G")):
        return (
            "The summary carries wiring data, so it goes only to a private channel with me in it, "
            "or to your own DMs (`dm`), never to a direct message with someone else."
        )
    if info.get("is_ext_shared") or info.get("is_shared") or info.get("is_pending_ext_shared"):
        return (
            "That channel is shared with another organisation. The summary carries wiring data, so it only "
            "goes to a private channel of this workspace (or to your DMs)."
        )
    if not info.get("is_private"):
        return (
            "That channel is public. The summary carries wiring data, so it only goes to a private "
            "channel (or to your DMs)."
        )
    if not info.get("is_member"):
        return "I'm not in that private channel yet. Invite me with `/invite @Coachbot`, then try again."
    return None


def build_messages(
    session: Session, playbook: Playbook, team_id: str, manager_id: str, today: date
) -> list[dict[str, Any]] | None:
    data = load_team(session, team_id, manager_id, today)
    if not data.reps:
        return None
    figures = figures_of(session, data.team_id, [r.person.id for r in data.reps if r.person.id is not None], today)
    messages = summary_messages(build_summary(data, playbook, figures))
    if (numbers := _numbers(session, data, today, playbook, figures)) is not None:
        messages.append(numbers)  # posted in the summary's thread, like any continuation
    return messages


def numbers_records(
    session: Session, data: TeamData, today: date, figures: dict[int, list[Figure]] | None = None
) -> list[RepRecord]:
    """The team's reps with their closed commitments and imported figures; empty until figures exist
    for any of them (one query, none when the caller read the figures already: the closed
    commitments are already loaded)."""
    if figures is None:
        figures = figures_of(session, data.team_id, [r.person.id for r in data.reps if r.person.id is not None], today)
    if not figures:
        return []
    since = today - timedelta(weeks=max(WINDOWS))
    return [
        RepRecord(
            r.person.display_name or f"<@{r.person.slack_user_id}>",
            [
                (c.closed_at.date(), c.status == "met")
                for c in r.closed
                if c.closed_at and c.closed_at.date() > since and c.status in ("met", "missed")
            ],
            figures.get(r.person.id or -1, []),
        )
        for r in data.reps
    ]


def _numbers(
    session: Session, data: TeamData, today: date, playbook: Playbook, figures: dict[int, list[Figure]]
) -> dict[str, Any] | None:
    """Coached behaviors beside the imported numbers, once any are on record for these reps."""
    records = numbers_records(session, data, today, figures)
    if not records:
        return None
    return numbers_message(records, today, playbook.lagging)


def post_messages(
    client: WebClient, channel: str, messages: list[dict[str, Any]], metadata: dict[str, Any] | None = None
) -> str:
    """Post the first message, and any continuations in its thread. Returns the first message's ts."""
    extra: dict[str, Any] = {"metadata": metadata} if metadata else {}
    first = client.chat_postMessage(channel=channel, **messages[0], **extra)
    ts = str(first["ts"])
    for message in messages[1:]:
        try:  # the first message is the delivery; a lost continuation must not cause a resend
            client.chat_postMessage(channel=first.get("channel") or channel, thread_ts=ts, **message)
        except (SlackApiError, OSError) as exc:
            log.warning("summary continuation not posted channel=%s error=%s", channel, type(exc).__name__)
            break
    return ts


@dataclass(frozen=True)
class SummaryDelivery:
    """Where a summary went (`channel` None: the caller's `before_post` stopped it) and its first ts."""

    channel: str | None
    ts: str | None = None


def _checked_problem(client: WebClient, channel: str) -> str | None:
    try:
        return channel_privacy_problem(client, channel)
    except SLACK_FAILURES as exc:
        return f"I couldn't check that it is still private ({failure_reason(exc)})."


def deliver_summary(
    client: WebClient,
    manager_id: str,
    channel: str | None,
    messages: list[dict[str, Any]],
    metadata: dict[str, Any] | None = None,
    before_post: Callable[[str], bool] | None = None,
) -> SummaryDelivery:
    """Post to the manager's private channel, or else to their own DM with a line saying why.

    A channel made public or shared since it was set, or one Coachbot was removed from, never gets
    the wiring data: the DM does. `before_post(target)` runs right before each post (the outbox
    renews its claim there) and may stop it. A Slack error on the final post is raised."""
    note = ""
    if channel and (problem := _checked_problem(client, channel)):
        note = f"I couldn't post your summary to <#{channel}>: {problem} So here it is in a DM."
        log.warning("summary channel refused manager=%s", manager_id)
    elif channel:
        if before_post is not None and not before_post(channel):
            return SummaryDelivery(None)
        try:
            return SummaryDelivery(channel, post_messages(client, channel, messages, metadata))
        except SlackApiError as exc:
            error = str(exc.response.get("error"))
            if error not in CHANNEL_GONE:
                raise
            note = f"I couldn't post your summary to <#{channel}> ({error}), so here it is in a DM."
            log.warning("summary channel unusable manager=%s error=%s", manager_id, error)
    dm = client.conversations_open(users=manager_id)["channel"]["id"]
    if note:
        messages = [{**messages[0], "blocks": [context_block(note), *messages[0]["blocks"][:49]]}, *messages[1:]]
    if before_post is not None and not before_post(dm):
        return SummaryDelivery(None)
    return SummaryDelivery(dm, post_messages(client, dm, messages, metadata))


@dataclass(frozen=True)
class LoggedSession:
    id: int
    kind: str
    minutes: int
    reps: list[str]


def log_session(
    session: Session,
    team_id: str,
    manager_id: str,
    kind: str,
    minutes: int,
    reps: list[Person],
    occurred_on: date,
    note: str = "",
) -> LoggedSession:
    record = CoachingSession(
        team_id=team_id,
        manager_user_id=manager_id,
        kind=kind,
        minutes=minutes,
        occurred_on=occurred_on,
        note=note[:500],
    )
    session.add(record)
    session.flush()
    assert record.id is not None
    for rep in reps:
        assert rep.id is not None
        session.add(SessionAttendee(team_id=team_id, session_id=record.id, person_id=rep.id))
    session.flush()
    return LoggedSession(record.id, kind, minutes, [r.slack_user_id for r in reps])


@dataclass(frozen=True)
class SessionProblem:
    """What is wrong with a coaching session, and which form field it belongs to."""

    field: str
    text: str


def session_problem(kind: str | None, minutes: int | None, rep_count: int) -> SessionProblem | None:
    if kind is None:
        return SessionProblem("kind", "Kind must be one of: 1:1, call-review, role-play, group.")
    if minutes is None or not MINUTES_MIN <= minutes <= MINUTES_MAX:
        return SessionProblem("minutes", f"Minutes must be a whole number from {MINUTES_MIN} to {MINUTES_MAX}.")
    if rep_count == 0:
        return SessionProblem("reps", "Name at least one rep.")
    if kind == "group" and rep_count < 2:
        return SessionProblem(
            "reps", "A group session has at least two reps; log a 1:1, call review or role-play for one rep."
        )
    if kind != "group" and rep_count > 1:
        return SessionProblem("reps", "Only group sessions have several reps. Use `group` or log each rep separately.")
    return None
