"""Old finished outbox rows and old delivery keys are pruned after their documented retention;
nothing that planning or the once-only claims still need goes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlmodel import Session, select

from storage.models import Commitment, ProcessedDelivery, ScheduledMessage
from tests import seed
from tests.conftest import MANAGER, REP, REP2, STANDARD_ROWS
from tests.rows import present

NOW = datetime(2026, 11, 16, 15, 0, tzinfo=UTC)


def _row(period: str, status: str, age_days: int, commitment_id: int | None, kind: str = "nudge") -> ScheduledMessage:
    moment = NOW - timedelta(days=age_days)
    return ScheduledMessage(
        team_id="T0TEAM",
        rep_user_id=REP,
        kind=kind,
        period=period,
        commitment_id=commitment_id,
        due_at=moment,
        status=status,
        created_at=moment,
    )


def test_a_pass_prunes_only_what_has_outlived_its_retention(cli, engine, playbook, import_csv):
    import_csv(*STANDARD_ROWS)
    active = seed.commitment(engine, playbook, seed.slack_user(REP), MANAGER, date(2026, 11, 12), key="a")
    closed = seed.commitment(engine, playbook, seed.slack_user(REP2), MANAGER, date(2026, 7, 1), key="b")
    wall = datetime.now(UTC)
    with Session(engine) as s:
        c = present(s.get(Commitment, closed))
        c.status = "met"
        s.add(c)
        s.add(_row("old-closed", "sent", 100, closed))  # goes
        s.add(_row("old-summary", "sent", 100, None, kind="summary"))  # goes
        s.add(_row("old-active", "sent", 100, active))  # stays: planning reads it while active
        s.add(_row("recent", "sent", 10, closed))  # stays: within 90 days
        s.add(ProcessedDelivery(team_id="T0TEAM", delivery_key="cmd:old", seen_at=wall - timedelta(days=8)))
        s.add(ProcessedDelivery(team_id="T0TEAM", delivery_key="cmd:new", seen_at=wall - timedelta(days=1)))
        s.commit()
    code, out, err = cli("dispatch", "--now", NOW.isoformat())
    assert code == 0, err
    assert "old rows pruned 3" in out
    with Session(engine) as s:
        periods = {r.period for r in s.exec(select(ScheduledMessage)).all()}
        keys = {k.delivery_key for k in s.exec(select(ProcessedDelivery)).all()}
    assert {"old-active", "recent"} <= periods
    assert not {"old-closed", "old-summary"} & periods
    assert keys == {"cmd:new"}
