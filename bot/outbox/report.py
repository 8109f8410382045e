"""What one pass did, counted per outcome: the CLI prints it and the scheduler logs it."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field


@dataclass
class PassReport:
    planned: int = 0
    sent: int = 0
    skipped: int = 0
    unreachable: int = 0
    retrying: int = 0
    failed: int = 0
    resolved: int = 0
    unconfirmed: int = 0
    unverified: int = 0
    closed: int = 0
    pruned: int = 0
    errors: list[str] = field(default_factory=list)
    throttled: int = 0  # 429s from Slack, each waited out for its workspace alone
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, counter: str, n: int = 1) -> None:
        """Count one outcome (the dispatcher's threads count into one report)."""
        with self._lock:
            setattr(self, counter, getattr(self, counter) + n)

    def describe(self) -> str:
        return (
            f"dispatch: planned {self.planned}, sent {self.sent}, skipped {self.skipped}, "
            f"unreachable {self.unreachable}, retrying {self.retrying}, failed {self.failed}, "
            f"resolved after a crash {self.resolved}, unconfirmed {self.unconfirmed}, "
            f"never verified {self.unverified}, "
            f"commitments closed {self.closed}, old rows pruned {self.pruned}"
        )
