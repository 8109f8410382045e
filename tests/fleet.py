"""Many workspaces with many reps, written as rows directly (fast enough for hundreds of reps in a test
and 100,000 in bench/dispatch_scale_bench.py): each rep has an active commitment whose weekly nudge
is due on Monday 2026-11-16 at 09:00 UTC, and a known DM channel (`D` + user id)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from sqlmodel import Session

from storage.models import Commitment, Person, Workspace
from tests.seed import _insert

START = date(2026, 11, 12)  # a Thursday: the window is open on the Monday after
DUE = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 16, 9, 0, 30, tzinfo=UTC)


def team_id(t: int) -> str:
    return f"TW{t:04d}"


def rep_id(t: int, r: int) -> str:
    return f"UW{t:04d}R{r:03d}"


def nudge_key(t: int, r: int) -> str:
    return f"{team_id(t)}:{rep_id(t, r)}:nudge:{DUE.date().isoformat()}"


def seed_fleet(engine, teams: int, reps: int, fake=None, dm_channels: bool = True, first: int = 0) -> set[str]:
    """`teams` workspaces of `reps` reps (numbered from `first`); returns the keys of the nudges due. With
    `fake`, the reps are also users of the Web API fake, in their own workspace (so its per-workspace
    knobs apply)."""
    numbers = range(first, first + teams)
    with Session(engine) as s:
        _insert(s, Workspace, [{"team_id": team_id(t), "name": f"W{t}", "reminders_enabled": False} for t in numbers])
        people = _insert(
            s,
            Person,
            [
                {
                    "team_id": team_id(t),
                    "slack_user_id": rep_id(t, r),
                    "display_name": f"Rep {t}-{r}",
                    "tz": "UTC",
                    "manager_user_id": f"UW{t:04d}MGR",
                    "dm_channel": f"D{rep_id(t, r)}" if dm_channels else None,
                }
                for t in numbers
                for r in range(reps)
            ],
            ids=True,
        )
        _insert(
            s,
            Commitment,
            [
                {
                    "team_id": team_id(first + i // reps),
                    "person_id": person_id,
                    "manager_user_id": f"UW{first + i // reps:04d}MGR",
                    "gap": "discovery",
                    "behavior": "Discovery calls with no pitch before minute 12",
                    "target_count": 3,
                    "window_days": 7,
                    "practice_format": "drill",
                    "evidence": "recordings",
                    "status": "active",
                    "starts_on": START,
                    "ends_on": date(2026, 11, 18),
                    "submission_key": f"fleet-{person_id}",
                    "created_at": datetime.combine(START, time(12), tzinfo=UTC),
                }
                for i, person_id in enumerate(people)
            ],
        )
        s.commit()
    if fake is not None:
        for t in numbers:
            for r in range(reps):
                fake.add_user(rep_id(t, r), f"Rep{t}x{r}", tz="UTC", team_id=team_id(t))
    return {nudge_key(t, r) for t in numbers for r in range(reps)}
