"""Dispatch across many workspaces: a bounded pool sends concurrently, each workspace within its own
rate budget; a 429 from one workspace holds back that workspace alone (for its Retry-After, in every
dispatcher), nothing is doubled or lost; no workspace starves behind a big one; and crash resolution
reads history within a per-workspace budget."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, col, select

from bot.context import AppContext
from bot.outbox.dispatcher import Dispatcher
from bot.outbox.report import PassReport
from bot.settings import Settings
from bot.slack.budget import Rate, RateBudget
from bot.slack.client import make_dispatch_client
from storage.models import ScheduledMessage, SlackBudget
from tests import seed
from tests.fleet import NOW, nudge_key, seed_fleet, team_id
from tests.harness import BOT_TOKEN
from tests.slack_fake import Failure, sent_keys


def _dispatcher(slack, engine, playbook, database_url, name: str = "host-a:1:a", **kw) -> Dispatcher:
    settings = Settings(bot_token=BOT_TOKEN, database_url=database_url, slack_api_url=slack.api_url)
    ctx = AppContext(settings=settings, engine=engine, playbook=playbook)
    return Dispatcher(ctx, make_dispatch_client(settings), worker_id=name, **kw)


def _nudges(fake) -> list[str]:
    return [k for k in sent_keys(fake) if ":nudge:" in k]


def _posts(fake, team: str, status: int = 200) -> list:
    with fake.lock:
        return [c for c in fake.calls if c.method == "chat.postMessage" and c.team == team and c.status == status]


def _nudge_rows(engine) -> list[ScheduledMessage]:
    with Session(engine) as s:
        return list(s.exec(select(ScheduledMessage).where(ScheduledMessage.kind == "nudge")))


def _time_passes(engine, seconds: float) -> None:
    """Real time passes for the shared budget and the outbox's "not before" marks (as seed.age_claims)."""
    shift = timedelta(seconds=seconds)
    with Session(engine) as s:
        for b in s.exec(select(SlackBudget)):
            b.available_at -= shift
            s.add(b)
        for row in s.exec(select(ScheduledMessage).where(col(ScheduledMessage.next_attempt_at).is_not(None))):
            row.next_attempt_at = seed_aware(row.next_attempt_at) - shift
            s.add(row)
        s.commit()


@pytest.mark.runs_long
def test_a_429_burst_from_one_workspace_holds_back_that_workspace_alone(slack, engine, playbook, database_url):
    """Workspace 0 answers its first three posts with 429 + Retry-After 1: its lane waits each one out
    (no attempt counted, nothing posted twice) while the other workspaces' nudges all go out first."""
    expected = seed_fleet(engine, 4, 6, slack.fake)
    slack.fake.throttle_team(team_id(0), retry_after=1, times=3)
    report = _dispatcher(slack, engine, playbook, database_url).run_pass(NOW)

    keys = _nudges(slack.fake)
    assert len(keys) == len(set(keys)) and set(keys) == expected
    assert report.throttled == 3 and report.sent == 24
    assert len(_posts(slack.fake, team_id(0), 429)) == 3
    assert all(not _posts(slack.fake, team_id(t), 429) for t in (1, 2, 3))
    rows = _nudge_rows(engine)
    assert {r.status for r in rows} == {"sent"} and {r.attempts for r in rows} == {1}  # a 429 is not an attempt
    # The others did not wait: all of them were posted before workspace 0's first accepted post (3 s later).
    with slack.fake.lock:
        order = [c.team for c in slack.fake.calls if c.method == "chat.postMessage" and c.status == 200]
    first_of_0 = order.index(team_id(0))
    assert Counter(order[:first_of_0]) == {team_id(1): 6, team_id(2): 6, team_id(3): 6}


def test_a_long_retry_after_hands_the_workspace_back_and_every_dispatcher_holds_it_back(
    slack, engine, playbook, database_url
):
    """Retry-After 30 s: the pass does not wait for it. Workspace 0's claimed rows go back to the
    outbox, due when Slack allows; a second dispatcher claims none of them meanwhile (the hold is in
    the database); once the time has passed they go out, each once."""
    expected = seed_fleet(engine, 3, 4, slack.fake)
    slack.fake.throttle_team(team_id(0), retry_after=30)
    first = _dispatcher(slack, engine, playbook, database_url, "host-a:1:a")
    report = first.run_pass(NOW)
    assert report.sent == 8 and report.throttled == 1
    held = [r for r in _nudge_rows(engine) if r.team_id == team_id(0)]
    assert {r.status for r in held} == {"pending"} and {r.attempts for r in held} == {0}
    assert all(seed_aware(r.next_attempt_at) > NOW + timedelta(seconds=20) for r in held)

    second = _dispatcher(slack, engine, playbook, database_url, "host-b:2:b")
    assert second.run_pass(NOW + timedelta(seconds=40)).sent == 0  # past the row's time, not Slack's
    assert len(_posts(slack.fake, team_id(0))) == 0 and len(_posts(slack.fake, team_id(0), 429)) == 1

    _time_passes(engine, 31)
    assert second.run_pass(NOW + timedelta(minutes=2)).sent == 4
    keys = _nudges(slack.fake)
    assert len(keys) == len(set(keys)) and set(keys) == expected
    assert {r.status for r in _nudge_rows(engine)} == {"sent"}


def seed_aware(moment: datetime | None) -> datetime:
    assert moment is not None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@pytest.mark.sqlite_only
def test_the_pool_is_bounded_one_call_per_workspace_at_a_time(slack, engine, playbook, database_url):
    expected = seed_fleet(engine, 12, 3, slack.fake)
    slack.fake.latency = 0.03
    report = _dispatcher(slack, engine, playbook, database_url, threads=4).run_pass(NOW)
    assert report.sent == 36 and set(_nudges(slack.fake)) == expected
    assert 1 < slack.fake.max_in_flight <= 4  # concurrent, and never more than the pool
    assert slack.fake.max_in_flight_per_team == 1


@pytest.mark.sqlite_only
def test_a_big_workspace_does_not_starve_the_small_ones(slack, engine, playbook, database_url):
    """Workspace 0 has six nudges and may post two a second; four small workspaces have two each. The
    lanes take turns, so every small workspace is done before the big one's third post (a second in)."""
    expected = seed_fleet(engine, 1, 6, slack.fake) | set()
    for t in range(1, 5):
        expected |= {nudge_key(t, r) for r in range(2)}
    seed_fleet_more(engine, slack.fake)
    budget = RateBudget({"chat.postMessage": Rate(2.0, 1)})
    report = _dispatcher(slack, engine, playbook, database_url, budget=budget).run_pass(NOW)
    assert report.sent == 14 and sorted(_nudges(slack.fake)) == sorted(expected)
    with slack.fake.lock:
        order = [c.team for c in slack.fake.calls if c.method == "chat.postMessage" and c.status == 200]
    third_of_big = [i for i, t in enumerate(order) if t == team_id(0)][2]
    assert all(order.index(team_id(t)) < third_of_big for t in range(1, 5))
    assert sum(1 for t in order[:third_of_big] if t != team_id(0)) == 8


def seed_fleet_more(engine, fake) -> None:
    """Workspaces 1-4 with two reps each, next to workspace 0 (seeded first)."""
    from sqlmodel import Session as S

    from storage.models import Commitment, Person, Workspace
    from tests.fleet import START, rep_id

    with S(engine) as s:
        for t in range(1, 5):
            s.add(Workspace(team_id=team_id(t), name=f"W{t}", reminders_enabled=False))
            for r in range(2):
                p = Person(team_id=team_id(t), slack_user_id=rep_id(t, r), display_name="R", tz="UTC")
                p.dm_channel = f"D{rep_id(t, r)}"
                s.add(p)
                s.flush()
                s.add(
                    Commitment(
                        team_id=team_id(t),
                        person_id=p.id or 0,
                        manager_user_id="UMGR",
                        gap="discovery",
                        behavior="Discovery calls with no pitch before minute 12",
                        target_count=3,
                        window_days=7,
                        practice_format="drill",
                        evidence="recordings",
                        starts_on=START,
                        ends_on=START + timedelta(days=6),
                        submission_key=f"more-{t}-{r}",
                        created_at=datetime(2026, 11, 12, 12, tzinfo=UTC),
                    )
                )
                fake.add_user(rep_id(t, r), f"Small{t}x{r}", tz="UTC", team_id=team_id(t))
        s.commit()


def test_crash_resolution_reads_history_within_one_request_a_minute_per_workspace(
    slack, engine, playbook, database_url
):
    """A pass dies after claiming (nothing posted), and three posts of workspace 0 lose their answers.
    The rows that never reached a post are sent again without any history read; the three that may
    have been posted are checked one conversation a minute for that workspace, whichever of two
    dispatchers runs, and none is posted twice."""
    expected = seed_fleet(engine, 2, 5, slack.fake)
    minute = timedelta(minutes=1)
    crashed = _dispatcher(slack, engine, playbook, database_url, "host-x:1:x", history_interval=minute)
    crashed.plan(NOW, PassReport())
    assert len(crashed.claim(NOW)) >= 10  # every due row claimed, then the process dies
    seed.age_claims(engine)
    first = _dispatcher(slack, engine, playbook, database_url, "host-a:1:a", history_interval=minute)
    second = _dispatcher(slack, engine, playbook, database_url, "host-b:2:b", history_interval=minute)
    slack.fake.failures_for_team(team_id(0), Failure("chat.postMessage", status=500, after=True, times=3))
    first.run_pass(NOW)
    assert slack.fake.calls_to("conversations.history") == []  # claimed, never posted: no look-up
    assert len([r for r in _nudge_rows(engine) if r.status == "sending"]) == 3

    reads: list[int] = []
    for minutes in range(1, 6):
        before = len(slack.fake.calls_to("conversations.history"))
        for dispatcher in (second, first):  # two dispatchers in the same minute
            seed.age_claims(engine)
            dispatcher.run_pass(NOW + timedelta(minutes=minutes))
        reads.append(len(slack.fake.calls_to("conversations.history")) - before)
        if not [r for r in _nudge_rows(engine) if r.status == "sending"]:
            break
        _time_passes(engine, 61)
    assert reads == [1, 1, 1]  # one conversation a minute for the workspace, three minutes for three
    keys = _nudges(slack.fake)
    assert len(keys) == len(set(keys)) and set(keys) == expected
    assert {r.status for r in _nudge_rows(engine)} == {"sent"}
