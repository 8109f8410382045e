"""An outside attack on the concurrent dispatch path (bot/outbox/pool.py, lanes.py, writer.py): faults
in the database and in Slack's answers while many workspaces send at once. Each test asserts on what
Slack received (the fake's calls, the message keys it holds) and on the outbox rows: never twice,
never lost, nothing posted without a committed heartbeat, and a pass that always ends."""

from __future__ import annotations

import sqlite3
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta

import pytest
from sqlalchemy import event, update
from sqlmodel import Session, col, select

from bot.context import AppContext
from bot.outbox.dispatcher import Dispatcher
from bot.outbox.lanes import REFUSALS
from bot.outbox.report import PassReport
from bot.settings import Settings
from bot.slack.budget import MAX_RETRY_AFTER, Rate, RateBudget
from bot.slack.client import make_dispatch_client
from bot.slack.installs import build_installs
from storage.db import make_engine
from storage.models import Person, ScheduledMessage, Workspace
from tests import seed
from tests.fleet import NOW, nudge_key, rep_id, seed_fleet, team_id
from tests.harness import CLIENT_ID, CLIENT_SECRET, STATE_SECRET
from tests.test_dispatch_scale import _dispatcher, _nudge_rows, _nudges, _posts, _time_passes, seed_aware

WRITER = "coachbot-outbox-writer"


@contextmanager
def database_fails(engine, when: Callable[[str], bool], times: int = 10_000) -> Iterator[list[str]]:
    """The database refuses the statements `when` picks (as a locked SQLite or a restarting
    PostgreSQL would), at most `times` times; yields the statements refused."""
    refused: list[str] = []

    def fail(conn, cursor, statement, parameters, context, executemany) -> None:
        if len(refused) < times and when(statement):
            refused.append(statement)
            raise sqlite3.OperationalError("database is locked")

    event.listen(engine, "before_cursor_execute", fail)
    try:
        yield refused
    finally:
        event.remove(engine, "before_cursor_execute", fail)


def on_thread(prefix: str, *words: str) -> Callable[[str], bool]:
    def picks(statement: str) -> bool:
        text = statement.lower()
        return threading.current_thread().name.startswith(prefix) and all(w in text for w in words)

    return picks


def _pass_within(dispatcher: Dispatcher, now=NOW, seconds: float = 20.0) -> PassReport:
    """The pass, which must end: a thread that died or a lane that never empties fails here, not hangs."""
    done: list[PassReport] = []
    runner = threading.Thread(target=lambda: done.append(dispatcher.run_pass(now)), daemon=True)
    runner.start()
    runner.join(seconds)
    assert not runner.is_alive(), "the pass never ended"
    assert done, "the pass raised"
    return done[0]


def _once(fake, expected: set[str]) -> None:
    keys = _nudges(fake)
    assert len(keys) == len(set(keys)), "a message was posted twice"
    assert set(keys) == expected


# --- 1. never twice, never lost, under faults ------------------------------------------------------


def test_a_heartbeat_that_cannot_be_committed_posts_nothing(slack, engine, playbook, database_url):
    """The database refuses every heartbeat of the pass: not one post goes out, the rows stay claimed
    with no channel (so "never posted" is known), and a later pass sends each of them once."""
    expected = seed_fleet(engine, 3, 3, slack.fake)
    with database_fails(engine, on_thread(WRITER, "claimed_at", "slack_channel")) as refused:
        report = _pass_within(_dispatcher(slack, engine, playbook, database_url))
    assert refused and report.sent == 0
    assert slack.fake.calls_to("chat.postMessage") == []
    assert {(r.status, r.slack_channel) for r in _nudge_rows(engine)} == {("sending", None)}

    seed.age_claims(engine)
    later = _pass_within(_dispatcher(slack, engine, playbook, database_url, "host-b:2:b"), NOW + timedelta(minutes=1))
    assert later.sent == 9 and slack.fake.calls_to("conversations.history") == []  # nothing to look up
    _once(slack.fake, expected)


def test_an_outcome_the_writer_could_not_record_is_found_in_the_history_not_resent(
    slack, engine, playbook, database_url
):
    """Every outcome write of the pass fails after its post (a PostgreSQL restart, a locked SQLite): the
    rows posted keep their committed channel, so the next pass finds them in the DM's history instead of
    posting again; rows whose heartbeat went down with the same transaction were never posted and go out."""
    expected = seed_fleet(engine, 3, 3, slack.fake)
    with database_fails(engine, on_thread(WRITER, "sent_at")) as refused:
        _pass_within(_dispatcher(slack, engine, playbook, database_url))
    posted = len(slack.fake.calls_to("chat.postMessage"))
    assert refused and posted >= 1
    assert {r.status for r in _nudge_rows(engine)} == {"sending"}

    seed.age_claims(engine)
    _pass_within(_dispatcher(slack, engine, playbook, database_url, "host-b:2:b"), NOW + timedelta(minutes=1))
    assert len(slack.fake.calls_to("conversations.history")) >= 1
    assert len(slack.fake.calls_to("chat.postMessage")) == 9  # each once: the first ones were found, not resent
    _once(slack.fake, expected)
    assert {r.status for r in _nudge_rows(engine)} == {"sent"}


def test_a_failed_hand_back_does_not_kill_the_sending_thread(slack, engine, playbook, database_url):
    """One thread; workspace 0 answers 429 + Retry-After 30 and the database refuses to hand its rows back
    to the outbox. The thread must go on to the other workspaces (before: it died, and their rows waited
    claimed for crash resolution); workspace 0's rows stay claimed (only the refused one with a channel:
    its history is read) and go out later, once."""
    expected = seed_fleet(engine, 3, 4, slack.fake)
    slack.fake.throttle_team(team_id(0), retry_after=30)
    picks = on_thread("coachbot-send", "next_attempt_at", "claimed_by")
    with database_fails(engine, picks, times=1) as refused:
        report = _pass_within(_dispatcher(slack, engine, playbook, database_url, threads=1))
    assert refused and report.sent == 8
    held = [r for r in _nudge_rows(engine) if r.team_id == team_id(0)]
    assert {r.status for r in held} == {"sending"}  # only the refused one had begun a post (its channel)
    assert sorted(r.slack_channel or "" for r in held) == ["", "", "", f"D{rep_id(0, 0)}"]

    seed.age_claims(engine)
    _time_passes(engine, 31)
    later = _dispatcher(slack, engine, playbook, database_url, "host-b:2:b")
    assert _pass_within(later, NOW + timedelta(minutes=2)).sent == 4
    _once(slack.fake, expected)


@pytest.mark.parametrize("header", ["1e12", "inf"])
def test_an_absurd_retry_after_is_capped_not_fatal(slack, engine, playbook, database_url, header):
    """Retry-After of 10^12 s or "inf" overflowed the date of the hand-back and killed the thread; it is
    taken as MAX_RETRY_AFTER: the workspace's rows wait that long in the outbox, the others go out."""
    seed_fleet(engine, 3, 3, slack.fake)
    slack.fake.throttle_team(team_id(0), retry_after=header)
    report = _pass_within(_dispatcher(slack, engine, playbook, database_url, threads=1))
    assert report.sent == 6 and report.throttled == 1
    held = [r for r in _nudge_rows(engine) if r.team_id == team_id(0)]
    assert {(r.status, r.attempts) for r in held} == {("pending", 0)}
    assert all(seed_aware(r.next_attempt_at) == NOW + timedelta(seconds=MAX_RETRY_AFTER) for r in held)
    assert len(_posts(slack.fake, team_id(0))) == 0


@pytest.mark.sqlite_only
@pytest.mark.parametrize("header", ["0", "-3", "soon", "nan"])
def test_a_zero_negative_or_garbage_retry_after_is_waited_out_once(slack, engine, playbook, database_url, header):
    expected = seed_fleet(engine, 2, 3, slack.fake)
    slack.fake.throttle_team(team_id(0), retry_after=header)
    report = _pass_within(_dispatcher(slack, engine, playbook, database_url))
    assert report.throttled == 1 and report.sent == 6
    _once(slack.fake, expected)
    assert {(r.status, r.attempts) for r in _nudge_rows(engine)} == {("sent", 1)}  # a 429 is not an attempt


@pytest.mark.runs_long
def test_a_429_on_conversations_open_posts_nothing_and_waits_like_a_post(slack, engine, playbook, database_url):
    """No DM channel known yet: workspace 0's conversations.open answers 429 twice. Nothing is posted for
    those rows until it is open, no attempt is counted, and every rep gets the nudge once."""
    expected = seed_fleet(engine, 2, 3, slack.fake, dm_channels=False)
    slack.fake.throttle_team(team_id(0), "conversations.open", retry_after=1, times=2)
    report = _pass_within(_dispatcher(slack, engine, playbook, database_url))
    assert report.throttled == 2 and report.sent == 6
    with slack.fake.lock:
        refused = [c for c in slack.fake.calls if c.status == 429]
    assert [(c.method, c.team) for c in refused] == [("conversations.open", team_id(0))] * 2
    _once(slack.fake, expected)
    assert {(r.status, r.attempts) for r in _nudge_rows(engine)} == {("sent", 1)}
    assert slack.fake.max_in_flight_per_team == 1


# --- 3. fairness and bounds -------------------------------------------------------------------------


def test_a_429_storm_is_handed_back_and_never_holds_up_the_others(slack, engine, playbook, database_url):
    """Workspace 0 has 40 nudges and answers every post 429 with Retry-After 0. Before, its lane retried
    for as long as the storm lasted and the pass never ended; now, after REFUSALS refusals in a row, its
    rows go back to the outbox (not before the hold, no attempt counted) while the three small
    workspaces are all served; the pool never exceeds its threads, nor one call per workspace."""
    seed_fleet(engine, 1, 40, slack.fake)
    others = seed_fleet(engine, 3, 3, slack.fake, first=1)
    slack.fake.throttle_team(team_id(0), retry_after=0, times=10_000)
    slack.fake.latency = 0.005
    report = _pass_within(_dispatcher(slack, engine, playbook, database_url, threads=2))
    assert report.sent == 9
    _once(slack.fake, others)
    assert len(_posts(slack.fake, team_id(0), 429)) == REFUSALS
    held = [r for r in _nudge_rows(engine) if r.team_id == team_id(0)]
    assert len(held) == 40 and {(r.status, r.attempts) for r in held} == {("pending", 0)}
    assert all(seed_aware(r.next_attempt_at) > NOW for r in held)  # not claimed again by the same pass
    assert slack.fake.max_in_flight <= 2 and slack.fake.max_in_flight_per_team == 1


# --- 4. rows that post nothing do not spend the budget -----------------------------------------------


def test_rows_that_post_nothing_give_their_budget_token_back(slack, engine, playbook, database_url):
    """The budget's clock stands still, so no token comes back by itself: what is left after the pass
    counts exactly the posts. Once the nudges are planned, three reps of workspace 0's six pause them and
    workspace 1 is deactivated: three posts, every other row skipped."""
    seed_fleet(engine, 2, 6, slack.fake)
    _dispatcher(slack, engine, playbook, database_url).plan(NOW, PassReport())
    with Session(engine) as s:
        s.exec(
            update(Person)
            .where(col(Person.slack_user_id).in_([rep_id(0, r) for r in range(3)]))
            .values(nudges_paused_until=date(2027, 1, 1))
        )
        s.exec(update(Workspace).where(col(Workspace.team_id) == team_id(1)).values(active=False))
        s.commit()
    budget = RateBudget({"chat.postMessage": Rate(1.0, 50)}, clock=lambda: 1000.0)
    report = _pass_within(_dispatcher(slack, engine, playbook, database_url, budget=budget))
    assert report.sent == 3 and report.skipped >= 9
    _once(slack.fake, {nudge_key(0, r) for r in range(3, 6)})
    assert budget.available(team_id(0), "chat.postMessage") == 47  # three posts, nothing for the skips
    assert budget.available(team_id(1), "chat.postMessage") == 50


def test_a_claim_lost_before_the_post_gives_the_token_back(slack, engine, playbook, database_url):
    """Every heartbeat is refused: no post, so no token is spent either."""
    seed_fleet(engine, 1, 4, slack.fake)
    budget = RateBudget({"chat.postMessage": Rate(1.0, 10)}, clock=lambda: 1000.0)
    with database_fails(engine, on_thread(WRITER, "claimed_at", "slack_channel")):
        _pass_within(_dispatcher(slack, engine, playbook, database_url, budget=budget))
    assert slack.fake.calls_to("chat.postMessage") == []
    assert budget.available(team_id(0), "chat.postMessage") == 10


def test_an_uninstalled_workspace_whose_skip_cannot_be_recorded_does_not_end_the_thread(
    slack, engine, playbook, database_url
):
    """OAuth mode, and no workspace of the fleet is installed (uninstalled before or during the pass):
    each row is skipped. The database refuses the first skip, so `deliver_one` raises: before, that
    ended the only sending thread and every later row waited claimed for crash resolution; now the
    row stays claimed without a channel (never posted) and the thread goes on with the others."""
    seed_fleet(engine, 2, 3, slack.fake)
    settings = Settings(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        state_secret=STATE_SECRET,
        database_url=database_url,
        slack_api_url=slack.api_url,
    )
    ctx = AppContext(settings=settings, engine=engine, playbook=playbook)
    installs = build_installs(settings, engine)
    dispatcher = Dispatcher(
        ctx,
        make_dispatch_client(settings),
        clients=lambda team: installs.clients.get(team, "dispatch"),
        threads=1,
        worker_id="host-a:1:a",
    )
    with database_fails(engine, on_thread("coachbot-send", "last_error", "status"), times=1) as refused:
        report = _pass_within(dispatcher)
    assert refused and report.unconfirmed == 1 and report.skipped >= 6
    assert slack.fake.calls_to("chat.postMessage") == []
    with Session(engine) as s:
        rows = list(s.exec(select(ScheduledMessage)))
    assert Counter((r.status, r.slack_channel) for r in rows) == {
        ("sending", None): 1,
        ("skipped", None): len(rows) - 1,
    }


# --- 5. planning from N processes at once -------------------------------------------------------------


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_processes_planning_at_once_insert_each_row_once(slack, engine, playbook, database_url):
    """Three processes (engines of their own) plan the same due minute at the same moment, twice: every
    insert that meets a row already there does nothing, none fails, and each message has one row."""
    expected = seed_fleet(engine, 6, 20, slack.fake)
    own = [make_engine(database_url) for _ in range(3)]
    start = threading.Barrier(len(own))
    failures: list[BaseException] = []

    def plan(eng) -> None:
        dispatcher = _dispatcher(slack, eng, playbook, database_url, f"host-{id(eng)}:1:p")
        for _ in range(2):
            start.wait()
            try:
                dispatcher.plan(NOW, PassReport())
            except BaseException as exc:  # noqa: BLE001 (the assertion below names it)
                failures.append(exc)

    threads = [threading.Thread(target=plan, args=(eng,)) for eng in own]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    for eng in own:
        eng.dispose()
    assert failures == []
    with Session(engine) as s:
        rows = list(s.exec(select(ScheduledMessage)))
    keys = Counter((r.team_id, r.rep_user_id, r.kind, r.period) for r in rows)
    assert max(keys.values()) == 1
    assert {f"{r.team_id}:{r.rep_user_id}:nudge:{r.period}" for r in rows if r.kind == "nudge"} == expected
