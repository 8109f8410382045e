"""Fault suite: kills, two bots on one database, Slack failing in bursts, a database restart, fuzzing.

Counts (cases tried, messages sent, duplicates, losses) are printed at the end of the test run.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, col, func, select

from storage import queries
from storage.db import session_scope
from storage.models import CheckIn, Commitment, Diagnosis, ManagerRequest, Person, ScheduledMessage, WiringProfile
from tests import seed
from tests.conftest import FAULT_REPORT, HEADER, MANAGER, REP, STANDARD_ROWS, STRANGER
from tests.processes import BotProcess, action_body, command_body
from tests.rows import present
from tests.slack_fake import sent_keys


def _due_now(engine, playbook, slack, n: int, prefix: str) -> tuple[list[str], str]:
    """n reps whose weekly nudge is due right now (wall clock), in UTC; summaries far in the past.
    Returns the reps and the nudge's period (its local date)."""
    now = datetime.now(UTC)
    reps = [f"{prefix}{i:03d}" for i in range(n)]
    for rep in reps:
        slack.fake.add_user(rep, rep.title(), tz="UTC")
        seed.commitment(engine, playbook, seed.slack_user(rep, tz="UTC"), MANAGER, now.date() - timedelta(days=2))
    with session_scope(engine) as s:
        ws = queries.ensure_workspace(s, "T0TEAM")
        due = now - timedelta(minutes=5)
        ws.nudge_weekday, ws.nudge_hour, ws.nudge_minute = due.weekday(), due.hour, due.minute
        ws.summary_weekday = (now.weekday() - 3) % 7  # last summary was days ago: recorded as skipped
        ws.reminders_enabled = False
        s.add(ws)
        for c in s.exec(select(Commitment)):  # created before this week's nudge was due
            c.created_at = now - timedelta(days=2)
            s.add(c)
    return reps, due.date().isoformat()


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _nudge_keys(fake) -> list[str]:
    return [k for k in sent_keys(fake) if ":nudge:" in k]


@pytest.mark.runs_long
def test_bot_killed_mid_pass_then_restarted_delivers_each_message_once(
    slack,
    engine,
    playbook,
    database_url,
    tmp_path,
):
    reps, period = _due_now(engine, playbook, slack, 30, "UKILL")
    slack.fake.delays["chat.postMessage"] = 0.05
    bot = BotProcess(slack.api_url, database_url, tmp_path).start()
    _wait(lambda: len(_nudge_keys(slack.fake)) >= 8, 30, "the first messages")
    bot.kill()
    before = len(_nudge_keys(slack.fake))
    assert before < 30, "the pass finished before the kill; nothing was tested"
    restarted = BotProcess(slack.api_url, database_url, tmp_path).start()
    try:
        _wait(lambda: len(set(_nudge_keys(slack.fake))) >= 30, 60, "all messages after the restart")
        time.sleep(0.5)
    finally:
        restarted.stop()
    keys = _nudge_keys(slack.fake)
    duplicates, lost = len(keys) - len(set(keys)), 30 - len(set(keys))
    FAULT_REPORT.append(
        f"SIGKILL mid-pass [{database_url.split(':')[0]}]: due 30, sent before kill {before}, "
        f"sent {len(keys)}, duplicates {duplicates}, losses {lost}"
    )
    assert duplicates == 0 and lost == 0
    assert set(keys) == {f"T0TEAM:{r}:nudge:{period}" for r in reps}


@pytest.mark.runs_long
def test_two_bots_on_one_database(slack, engine, playbook, database_url, tmp_path):
    reps, _ = _due_now(engine, playbook, slack, 20, "UTWO")
    slack.fake.delays["chat.postMessage"] = 0.01
    bots = [BotProcess(slack.api_url, database_url, tmp_path), BotProcess(slack.api_url, database_url, tmp_path)]
    threads = [threading.Thread(target=b.start) for b in bots]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        _wait(lambda: len(set(_nudge_keys(slack.fake))) >= 20, 60, "20 nudges")
        keys = _nudge_keys(slack.fake)
        assert len(keys) == len(set(keys)) == 20  # checked again once both bots have stopped (below)
        # 40 check-ins, alternating between the two bots, eight at a time
        with Session(engine) as s:
            commitments = {
                p.slack_user_id: c.id
                for c, p in s.exec(select(Commitment, Person).join(Person, col(Person.id) == Commitment.person_id))
            }
        jobs = [(bots[i % 2], rep, commitments[rep]) for i, rep in enumerate(reps * 2)]
        statuses: list[int] = []

        def click(job) -> None:
            bot, rep, cid = job
            statuses.append(bot.post(action_body(rep, "checkin_log", str(cid), slack.response_url(f"ci-{rep}")))[0])

        for start in range(0, len(jobs), 8):
            batch = [threading.Thread(target=click, args=(j,)) for j in jobs[start : start + 8]]
            for t in batch:
                t.start()
            for t in batch:
                t.join()
        _wait(lambda: len([r for r in slack.fake.responses() if "so far" in r.text_dump()]) >= 40, 30, "answers")
    finally:
        for b in bots:
            b.stop()
    # Both bots have stopped, so both start-up passes are over: a nudge sent twice, however late, is here.
    keys = _nudge_keys(slack.fake)
    assert len(keys) == len(set(keys)) == 20
    with Session(engine) as s:
        stored = s.exec(select(func.sum(CheckIn.count))).one()
    answers = [r.text_dump() for r in slack.fake.responses()]
    logs = "".join(b.log() for b in bots)
    FAULT_REPORT.append(
        f"two bots [{database_url.split(':')[0]}]: nudges sent {len(keys)}, duplicates 0, "
        f"check-ins clicked 40, stored {stored}, lost {40 - stored}"
    )
    assert statuses == [200] * 40 and stored == 40
    assert not any("something went wrong" in a for a in answers)
    assert "database is locked" not in logs and "Traceback" not in logs


@pytest.mark.runs_long
def test_slack_failing_in_bursts_delays_but_never_loses_or_doubles(
    cli,
    slack,
    engine,
    playbook,
    import_csv,
    monkeypatch,
):
    import_csv(*STANDARD_ROWS)
    monkeypatch.setenv("COACHBOT_SLACK_TIMEOUT", "1")
    monday = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
    reps = [f"UBURST{i:02d}" for i in range(12)]
    for rep in reps:
        slack.fake.add_user(rep, rep.title(), tz="UTC")
        seed.commitment(engine, playbook, seed.slack_user(rep, tz="UTC"), MANAGER, date(2026, 11, 12))
    with session_scope(engine) as s:
        ws = present(queries.get_workspace(s, "T0TEAM"))
        ws.reminders_enabled = False
        s.add(ws)
    fake = slack.fake
    fake.fail_next("chat.postMessage", status=429, retry_after=1, times=2)
    fake.fail_next("chat.postMessage", status=500, times=1)
    fake.fail_next("chat.postMessage", status=503, times=1)
    fake.answer_late("chat.postMessage", 2.5)  # posted at Slack, but the answer times out
    fake.fail_next("chat.postMessage", error="internal_error", times=2)
    passes = 0
    moment = monday
    while len(set(_nudge_keys(fake))) < 12 and passes < 12:
        code, out, err = cli("dispatch", "--now", moment.isoformat())
        assert code == 0, err
        passes += 1
        moment += timedelta(minutes=3)  # past the backoff and the stale window
        seed.age_claims(engine, 3)
    keys = _nudge_keys(fake)
    with Session(engine) as s:
        rows = s.exec(select(ScheduledMessage).where(ScheduledMessage.kind == "nudge")).all()
    FAULT_REPORT.append(
        f"Slack bursts (429 x2, 5xx x2, timeout x1, ok:false x2): due 12, passes {passes}, "
        f"sent {len(keys)}, duplicates {len(keys) - len(set(keys))}, losses {12 - len(set(keys))}"
    )
    assert len(keys) == len(set(keys)) == 12
    assert sorted(r.status for r in rows) == ["sent"] * 12


@pytest.mark.runs_long
def test_handlers_acknowledge_in_time_while_slack_is_slow(slack, engine, database_url, tmp_path, import_csv):
    import_csv(*STANDARD_ROWS)
    bot = BotProcess(slack.api_url, database_url, tmp_path).start()
    try:
        # Each /coach profile makes two users.info calls after its ack. The first five answer 2 s late
        # (twice the ack bound): they include every call made while the five commands are acknowledged,
        # which takes milliseconds. Later calls come after every ack, so they answer at once (~6 s less).
        slack.fake.answer_late("users.info", 2.0, times=5)
        timings = [bot.post(command_body(MANAGER, f"profile <@{REP}>", slack.response_url("slow"))) for _ in range(5)]
        _wait(lambda: len(slack.fake.responses()) >= 5, 30, "the slow answers")
    finally:
        bot.stop()
    worst = max(t for _, t in timings)
    FAULT_REPORT.append(f"slow Slack (users.info +2 s): 5 commands acknowledged, slowest ack {worst * 1000:.0f} ms")
    assert all(status == 200 for status, _ in timings) and worst < 1.0


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_bot_recovers_after_postgresql_restarts(slack, engine, database_url, tmp_path, import_csv, pg_server):
    import_csv(*STANDARD_ROWS)
    bot = BotProcess(slack.api_url, database_url, tmp_path).start()
    try:
        bot.post(command_body(MANAGER, "team", slack.response_url("before")))
        _wait(lambda: len(slack.fake.responses()) >= 1, 10, "an answer before the restart")
        pg_server.restart()
        _wait(bot.healthy, 30, "healthz after the restart")
        status, _ = bot.post(command_body(MANAGER, "team", slack.response_url("after")))
        _wait(lambda: len(slack.fake.responses()) >= 2, 15, "an answer after the restart")
    finally:
        bot.stop()
    assert status == 200
    assert f"<@{REP}>" in slack.fake.responses()[-1].text_dump()  # read from the database after the restart
    assert bot.proc is not None and "Traceback" not in bot.log()
    FAULT_REPORT.append("PostgreSQL restart: bot healthy again and answering from the database without a restart")


# --- property-based fuzzing -------------------------------------------------------------------------

FUZZ = {"slash commands": 0, "interactive payloads": 0, "import files": 0}


@pytest.fixture(scope="module", autouse=True)
def _report_fuzzing():
    yield
    if any(FUZZ.values()):
        tried = ", ".join(f"{name} {n}" for name, n in FUZZ.items())
        FAULT_REPORT.append(f"fuzzing cases tried: {tried}; HTTP 500s 0, tracebacks 0, partial writes 0")


def _snapshot(engine) -> tuple[int, ...]:
    with Session(engine) as s:
        return tuple(
            int(s.exec(select(func.count()).select_from(m)).one())
            for m in (Person, WiringProfile, Diagnosis, Commitment, CheckIn, ManagerRequest)
        )


TEXT = st.one_of(
    st.text(max_size=300),
    st.lists(
        st.sampled_from(
            [
                "profile",
                "team",
                "request",
                "assign",
                "pause",
                "resume",
                "settings",
                "log",
                "help",
                "summary",
                "<@UREP1|riley>",
                "<@UNOPE>",
                "<!channel>",
                "<!here|here>",
                "<#C1|x>",
                "@riley",
                "2026-02-30",
                "30",
                "group",
                "1:1",
                "<@UBOTUSER>",
                "&lt;",
                "*bold*",
                "x" * 50,
                "-1",
                "999999999999",
                "\u202e",
                "'; DROP TABLE person;--",
            ]
        ),
        max_size=6,
    ).map(" ".join),
)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=TEXT, command=st.sampled_from(["/coach", "/diagnose", "/checkin"]))
@pytest.mark.xdist_group("fault_fuzzing")
def test_fuzz_slash_commands(harness, engine, errors, text, command):
    before = _snapshot(engine)
    harness.fake.reset_calls()
    r = harness.command(STRANGER, text, command=command)
    assert r.status == 200
    for call in harness.fake.calls:
        dump = call.text_dump()
        assert "Traceback" not in dump and "<!channel>" not in dump and "<!here" not in dump
    assert _snapshot(engine) == before  # a stranger with no reps changes nothing, whatever they type
    assert errors() == []  # a listener that failed after its ack still answered 200: the log says so
    FUZZ["slash commands"] += 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    action_id=st.sampled_from(
        [
            "checkin_log",
            "checkin_note_open",
            "blocked_open",
            "reflection_open",
            "checkin_pick",
            "prescribe_open",
            "pause_open",
            "profile_open",
            "manager_request_accept",
            "manager_request_decline",
            "home_diagnose",
            "home_settings",
            "unknown_action",
        ]
    ),
    value=st.one_of(st.text(max_size=80), st.integers().map(str), st.just('{"c": 1, "n": 99}'), st.just("UREP1")),
    callback=st.sampled_from(
        [
            "diagnose",
            "prescribe",
            "pause",
            "profile_add",
            "checkin_note",
            "blocked",
            "reflection",
            "log_session",
            "workspace_settings",
            "diagnose_pick",
            "nope",
        ]
    ),
    metadata=st.one_of(
        st.text(max_size=40), st.just('{"rep": "UREP1"}'), st.just('{"diagnosis": 1}'), st.just('{"commitment": "x"}')
    ),
    state=st.dictionaries(
        st.sampled_from(["cause", "evidence", "behavior", "target", "note", "until", "rep", "minutes", "count"]),
        st.one_of(
            st.text(max_size=40).map(lambda t: {"type": "plain_text_input", "value": t}),
            st.text(max_size=12).map(lambda t: {"type": "static_select", "selected_option": {"value": t}}),
            st.just({"type": "datepicker", "selected_date": "not-a-date"}),
        ),
        max_size=5,
    ),
)
@pytest.mark.xdist_group("fault_fuzzing")
def test_fuzz_interactive_payloads(harness, engine, errors, action_id, value, callback, metadata, state):
    before = _snapshot(engine)
    r = harness.action(STRANGER, action_id, value)
    assert r.status == 200
    view = {
        "type": "modal",
        "callback_id": callback,
        "private_metadata": metadata,
        "title": {"type": "plain_text", "text": "x"},
        "blocks": [],
    }
    r = harness.submit(STRANGER, view, state)
    assert r.status == 200
    if r.body:
        assert "errors" in json.loads(r.body) or "response_action" in json.loads(r.body)
    for call in harness.fake.calls:
        assert "Traceback" not in call.text_dump()
    assert _snapshot(engine)[2:] == before[2:]  # no diagnosis, commitment or check-in from a stranger
    assert errors() == []  # a listener that failed after its ack still answered 200: the log says so
    FUZZ["interactive payloads"] += 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(
        st.lists(
            st.one_of(
                st.sampled_from(
                    [
                        "UREP1",
                        "UREP2",
                        "UMANAGER",
                        "Root",
                        "engine",
                        "50",
                        "101",
                        "",
                        "time_pressure",
                        "2026-01-01",
                        "x@y.io",
                        "UBOTUSER",
                        "coaching_resistance",
                    ]
                ),
                st.text(max_size=12),
            ),
            min_size=0,
            max_size=14,
        ),
        min_size=0,
        max_size=4,
    )
)
@pytest.mark.xdist_group("fault_fuzzing")
def test_fuzz_import_files_are_all_or_nothing(cli, engine, tmp_path, rows):
    import csv
    import io

    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    path = tmp_path / "fuzz.csv"
    path.write_text(HEADER + buf.getvalue())
    before = _snapshot(engine)
    code, out, err = cli("import", str(path))
    assert code in (0, 1) and "Traceback" not in err
    after = _snapshot(engine)
    if code == 1:
        assert after == before, "a rejected file wrote something"
    else:
        assert after[1] - before[1] <= len(rows)  # at most one profile version per row
    FUZZ["import files"] += 1
