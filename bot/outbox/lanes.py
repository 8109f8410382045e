"""Sending claimed rows concurrently across workspaces, each within its own rate budget.

Rows wait in one lane per workspace. A bounded pool of threads serves the lanes: a thread takes the
lane that has been ready longest, sends one row, and puts the lane back in line. So

- at most `threads` Web API calls are in flight, and at most one per workspace;
- a workspace waits for its budget (bot.slack.budget) *in line*, without holding a thread;
- a workspace answered 429 is held back for Retry-After alone, the others go on; held back for longer
  than `hold` seconds, its queued rows are handed back to the outbox (pending, due again when Slack
  allows) instead of keeping the pass open;
- a workspace refused again and again (a 429 storm, however short each Retry-After) is handed back
  the same way after REFUSALS refusals in a row, so it cannot keep the pass open either;
- a row that made no post (skipped, paused, workspace gone, claim lost) gives its token back
  (`done(..., posted=False)`), so only real posts spend the workspace's budget;
- lanes ready at the same moment are served in the order they became ready (round robin), so none
  starves however many rows another one has.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

from bot.slack.budget import RateBudget

T = TypeVar("T")
HOLD_SECONDS = 5.0
REFUSALS = 8  # 429s in a row for one workspace before its rows go back to the outbox


class Lanes(Generic[T]):
    def __init__(
        self,
        budget: RateBudget,
        method: str,
        release: Callable[[str, list[T], float], None],
        hold: float = HOLD_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.budget, self.method, self.release, self.hold, self.clock = budget, method, release, hold, clock
        self._queues: dict[str, deque[T]] = {}
        self._heap: list[tuple[float, int, str]] = []  # (ready at, order, workspace): lanes waiting for a thread
        self._waiting: set[str] = set()  # lanes in the heap
        self._busy: set[str] = set()  # lanes with a row being sent
        self._refused: dict[str, tuple[int, float]] = {}  # lane -> 429s in a row, and their Retry-After total
        self._order = itertools.count()
        self._queued = 0
        self._closed = False
        self._cond = threading.Condition()

    def _line_up(self, team_id: str, at: float) -> None:
        heapq.heappush(self._heap, (at, next(self._order), team_id))
        self._waiting.add(team_id)

    def add(self, team_id: str, item: T) -> None:
        with self._cond:
            self._queues.setdefault(team_id, deque()).append(item)
            self._queued += 1
            if team_id not in self._waiting and team_id not in self._busy:
                self._line_up(team_id, self.clock())
            self._cond.notify()

    def queued(self) -> int:
        with self._cond:
            return self._queued

    def wait_below(self, count: int) -> None:
        """Blocks until fewer than `count` rows wait (the feeder then claims more)."""
        with self._cond:
            while self._queued >= count:
                self._cond.wait(1.0)

    def close(self) -> None:
        """No more rows will be added: threads stop once every lane is empty."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def next(self) -> tuple[str, T] | None:
        """The next row to send and its workspace (the lane is then busy until `done`), or None: all done."""
        with self._cond:
            while True:
                timeout: float | None = None
                if self._heap:
                    ready_at, _, team_id = self._heap[0]
                    now = self.clock()
                    if ready_at <= now:
                        heapq.heappop(self._heap)
                        wait = self.budget.take(team_id, self.method)
                        if wait > 0:
                            heapq.heappush(self._heap, (now + wait, next(self._order), team_id))
                            continue
                        self._waiting.discard(team_id)
                        self._busy.add(team_id)
                        self._queued -= 1
                        self._cond.notify_all()  # the feeder may be waiting for room
                        return team_id, self._queues[team_id].popleft()
                    timeout = ready_at - now
                elif self._closed and not self._busy:
                    return None
                self._cond.wait(timeout)

    def done(self, team_id: str, item: T, retry_after: float | None = None, posted: bool = True) -> None:
        """The row was handled; with `retry_after`, Slack refused it (429): it goes back to the front of
        its lane, and the lane waits that long (or is handed back to the outbox when that is too long).
        `posted=False`: the row made no call of the lane's method, and the token it took goes back."""
        handed_back: list[T] = []
        hand_back_for = 0.0
        with self._cond:
            self._busy.discard(team_id)
            queue = self._queues[team_id]
            if retry_after is None:
                self._refused.pop(team_id, None)
                if not posted:
                    self.budget.refund(team_id, self.method)
            else:
                self.budget.block(team_id, self.method, retry_after)
                queue.appendleft(item)
                self._queued += 1
                times, total = self._refused.get(team_id, (0, 0.0))
                times, total = self._refused[team_id] = (times + 1, total + retry_after)
                if total > self.hold or times >= REFUSALS:  # not before `hold`: not again in this pass
                    hand_back_for = max(total, self.hold)
                    self._refused.pop(team_id, None)
                    handed_back = list(queue)
                    queue.clear()
                    self._queued -= len(handed_back)
            if queue:
                self._line_up(team_id, self.clock() + (retry_after or 0.0))
            else:
                del self._queues[team_id]
            self._cond.notify_all()
        if handed_back:
            self.release(team_id, handed_back, hand_back_for)
