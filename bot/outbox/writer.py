"""The outbox writes of a pass's sending threads, grouped into one transaction at a time.

Right before its post a thread records the row's channel (`heartbeat`: the claim is still this
dispatcher's, and a post may now begin) and waits until that is committed; after the post it hands
over the outcome and goes on. One writer thread commits whatever is waiting, for every thread at
once: on PostgreSQL in one statement per kind (UPDATE ... FROM VALUES), elsewhere row by row in one
transaction. A crash before an outcome is written leaves the row claimed with its channel recorded,
which crash resolution checks against the conversation's history (never a blind resend).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Integer, String, column, update, values
from sqlmodel import col

from bot.errors import describe_error
from storage.db import session_scope
from storage.models import ScheduledMessage

log = logging.getLogger("coachbot.dispatch")


@dataclass
class _Heartbeat:
    row_id: int
    channel: str
    done: threading.Event = field(default_factory=threading.Event)
    ok: bool = False


@dataclass
class _Sent:
    row_id: int
    channel: str | None
    ts: str | None
    at: datetime


class OutboxWriter:
    def __init__(self, engine: Any, worker_id: str):
        self.engine, self.worker_id = engine, worker_id
        self._beats: list[_Heartbeat] = []
        self._sent: list[_Sent] = []
        self._begun: set[int] = set()  # rows whose post may have begun (heartbeat committed), until `began`
        self._closed = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="coachbot-outbox-writer", daemon=True)
        self._thread.start()

    def heartbeat(self, row_id: int, channel: str) -> bool:
        """True once the channel is recorded on a row this dispatcher still holds (committed)."""
        beat = _Heartbeat(row_id, channel[:32])
        with self._cond:
            if self._closed:
                return False
            self._beats.append(beat)
            self._cond.notify()
        beat.done.wait()
        if beat.ok:
            with self._cond:
                self._begun.add(row_id)
        return beat.ok

    def began(self, row_id: int) -> bool:
        """Whether a post of the row began (a heartbeat of it was committed); asked once per row."""
        with self._cond:
            if row_id in self._begun:
                self._begun.discard(row_id)
                return True
            return False

    def sent(self, row_id: int, channel: str | None, ts: str | None, at: datetime) -> None:
        with self._cond:
            self._sent.append(_Sent(row_id, channel, ts, at))
            self._cond.notify()

    def close(self) -> None:
        """Writes what is waiting, then stops."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not (self._beats or self._sent or self._closed):
                    self._cond.wait()
                beats, sent = self._beats, self._sent
                self._beats, self._sent = [], []
                if not beats and not sent:
                    return
            try:
                with session_scope(self.engine) as session:
                    if sent:
                        self._write_sent(session, sent)
                    held = self._write_beats(session, beats) if beats else set()
            except Exception as exc:  # nothing posted for these beats; sent rows are checked in the history later
                log.error("outbox write failed (%d rows) error=%s", len(beats) + len(sent), describe_error(exc))
                held = set()
            for beat in beats:
                beat.ok = beat.row_id in held
                beat.done.set()

    def _postgres(self, session: Any) -> bool:
        return bool(session.get_bind().dialect.name == "postgresql")

    def _write_beats(self, session: Any, beats: list[_Heartbeat]) -> set[int]:
        moment = datetime.now(UTC)
        mine = (col(ScheduledMessage.status) == "sending", col(ScheduledMessage.claimed_by) == self.worker_id)
        if not self._postgres(session):
            held = set()
            for beat in beats:
                stmt = (
                    update(ScheduledMessage)
                    .where(col(ScheduledMessage.id) == beat.row_id, *mine)
                    .values(claimed_at=moment, slack_channel=beat.channel)
                )
                if session.exec(stmt).rowcount == 1:
                    held.add(beat.row_id)
            return held
        data = values(column("id", Integer), column("ch", String), name="beat").data(
            [(b.row_id, b.channel) for b in beats]
        )
        stmt = (
            update(ScheduledMessage)
            .where(col(ScheduledMessage.id) == data.c.id, *mine)
            .values(claimed_at=moment, slack_channel=data.c.ch)
            .returning(col(ScheduledMessage.id))
        )
        return {int(i) for i in session.exec(stmt).scalars()}

    def _write_sent(self, session: Any, sent: list[_Sent]) -> None:
        mine = col(ScheduledMessage.claimed_by) == self.worker_id
        if not self._postgres(session):
            for s in sent:
                session.exec(
                    update(ScheduledMessage)
                    .where(col(ScheduledMessage.id) == s.row_id, mine)
                    .values(status="sent", sent_at=s.at, slack_channel=s.channel, slack_ts=s.ts, last_error=None)
                )
            return
        data = values(column("id", Integer), column("ch", String), column("ts", String), name="sent").data(
            [(s.row_id, s.channel, s.ts) for s in sent]
        )
        session.exec(
            update(ScheduledMessage)
            .where(col(ScheduledMessage.id) == data.c.id, mine)
            .values(status="sent", sent_at=sent[0].at, slack_channel=data.c.ch, slack_ts=data.c.ts, last_error=None)
        )
