"""Manager summaries, App Home, coaching time and export, end to end on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event
from sqlmodel import Session, col, select

from bot.coaching import service as svc
from bot.slack.limits import check_message
from bot.team.data import RepData, TeamData, load_team
from bot.team.summary import build_summary, pip_ready_gap, rep_line, stalled_gap, summary_messages
from storage.db import session_scope
from storage.models import (
    CheckIn,
    CoachingSession,
    Commitment,
    Diagnosis,
    Person,
    ScheduledMessage,
    Seat,
    SessionAttendee,
    WiringProfile,
)
from tests import seed
from tests.conftest import ADMIN, MANAGER, OTHER_MANAGER, REP, REP2, STRANGER
from tests.harness import opened_view, sel, txt
from tests.rows import present

REP3, REP4 = "UREP3", "UREP4"
ROSTER = (
    f"{REP},{MANAGER},Root,Hunter,Engine,72,65,40,coaching_resistance,time_pressure;discovery,2026-11-01",
    f"{REP2},{MANAGER},Engine,Hunter,Engine,80,90,70,,closing,2025-01-15",
    f"{REP3},{MANAGER},Grandmaster,Strategist,Grandmaster,60,70,66,,time_pressure,2026-10-20",
    f"{REP4},{MANAGER},Engine,Hunter,Engine,75,80,55,,time_pressure;closing,2026-09-01",
)
FRIDAY = datetime(2026, 11, 13, 16, 0, tzinfo=UTC)  # 16:00 in London, where the manager is


@pytest.fixture
def team(slack, import_csv):
    slack.fake.add_user(REP3, "Jamie", tz="UTC")
    slack.fake.add_user(REP4, "Kai", tz="UTC")
    import_csv(*ROSTER)


def dispatch(cli, moment: datetime) -> str:
    code, out, err = cli("dispatch", "--now", moment.isoformat())
    assert code == 0, err
    return out


def check_in(engine, cid: int, user: str, count: int, when: datetime, source: str = "button", note: str = ""):
    with session_scope(engine) as s:
        assert svc.log_check_in(s, "T0TEAM", cid, user, count, note, source, when, "UTC").ok


def scripted_history(harness, cli, engine, playbook) -> dict[str, int]:
    """Three weeks of coaching, closed by real dispatcher passes."""
    u = seed.slack_user
    ids = {
        "rep2_a": seed.commitment(
            engine, playbook, u(REP2, "America/New_York"), MANAGER, date(2026, 10, 29), gap="closing", key="r2a"
        ),
    }
    dispatch(cli, datetime(2026, 11, 5, 15, 0, tzinfo=UTC))  # closes rep2_a: missed
    ids["rep2_b"] = seed.commitment(
        engine, playbook, u(REP2, "America/New_York"), MANAGER, date(2026, 11, 5), gap="closing", key="r2b"
    )
    ids["rep1"] = seed.commitment(engine, playbook, u(REP), MANAGER, date(2026, 11, 5), gap="discovery", key="r1")
    ids["rep3"] = seed.commitment(
        engine, playbook, u(REP3, "UTC"), MANAGER, date(2026, 11, 5), target=2, gap="time_pressure", key="r3"
    )
    check_in(engine, ids["rep1"], REP, 3, datetime(2026, 11, 9, 18, 0, tzinfo=UTC))
    check_in(engine, ids["rep3"], REP3, 1, datetime(2026, 11, 8, 18, 0, tzinfo=UTC))
    check_in(
        engine,
        ids["rep3"],
        REP3,
        0,
        datetime(2026, 11, 9, 18, 0, tzinfo=UTC),
        "blocked",
        "No first calls booked this week",
    )
    dispatch(cli, datetime(2026, 11, 12, 15, 0, tzinfo=UTC))  # closes rep2_b (missed), rep1 (met), rep3 (missed)
    ids["rep2_c"] = seed.commitment(
        engine, playbook, u(REP2, "America/New_York"), MANAGER, date(2026, 11, 12), gap="closing", key="r2c"
    )
    check_in(engine, ids["rep2_c"], REP2, 1, datetime(2026, 11, 13, 14, 0, tzinfo=UTC))
    with session_scope(engine) as s:
        svc.record_diagnosis(
            s,
            playbook,
            "T0TEAM",
            u(REP4, "UTC"),
            MANAGER,
            "environmental_drag",
            None,
            "lead_flow",
            "Inbound leads for the region stopped on Nov 2",
            "drag-1",
            now=datetime(2026, 11, 10, 12, 0, tzinfo=UTC),
        )
        svc.pause_nudges(s, "T0TEAM", REP4, date(2026, 11, 20), date(2026, 11, 10))
    harness.ctx.clock = lambda: datetime(2026, 11, 13, 12, 0, tzinfo=UTC)
    harness.command(MANAGER, f"log 30 1:1 <@{REP}|riley>")
    harness.command(MANAGER, f"log 30 call-review <@{REP}>")
    harness.command(MANAGER, f"log 45 group <@{REP2}> <@{REP3}>")
    return ids


def test_weekly_summary_matches_the_database(harness, cli, slack, engine, playbook, team):
    ids = scripted_history(harness, cli, engine, playbook)
    with Session(engine) as s:
        statuses = {k: present(s.get(Commitment, v)).status for k, v in ids.items()}
        assert len(s.exec(select(CoachingSession)).all()) == 3
    assert statuses == {"rep2_a": "missed", "rep2_b": "missed", "rep1": "met", "rep3": "missed", "rep2_c": "active"}
    slack.fake.reset_calls()
    assert "sent 1" in dispatch(cli, FRIDAY)
    assert "sent 0" in dispatch(cli, FRIDAY + timedelta(minutes=5))  # once
    (post,) = [c for c in slack.fake.calls_to("chat.postMessage") if c.args["channel"] == f"D{MANAGER}"]
    text = json.loads(post.text_dump())
    body = "\n".join(b.get("text", {}).get("text", "") for b in post.blocks if b["type"] == "section")
    assert "Weekly coaching summary" in json.dumps(text)
    # team lines: this week (Nov 7-13) closed rep2_b, rep1, rep3 -> 1 of 3 met; four weeks add rep2_a -> 1 of 4
    assert "Commitments met this week: *1 of 3* (33%) · last four weeks: 1 of 4 (25%)" in body
    # the 45-minute group session with two reps is 45 minutes of the manager's time, not 90
    assert (
        "Coaching time: *105 min* of yours · reps got 150 min in all (baseline 240 for 4 reps) · "
        "of your coaching time, 1:1 57% / group 43% (aim for about 70/30)"
    ) in body
    assert f"No coaching logged this week: <@{REP4}>" in body
    # per rep
    rep1 = next(line for line in body.split("\n*<@") if line.startswith(f"{REP}>"))
    assert "Root in an Engine seat :warning:" in rep1 and "day 13/90" in rep1
    assert "no active commitment" in rep1 and "last cycle: met (3/3)" in rep1 and "coaching 60/60 min" in rep1
    rep2 = next(line for line in body.split("\n*<@") if line.startswith(f"{REP2}>"))
    assert "ramped" in rep2 and "1/3" in rep2 and "last cycle: missed (0/3)" in rep2
    assert "2 closed cycles on Asking for commitment" in rep2 and "coaching 45/60 min" in rep2
    # flags, each with its reason
    assert f"*PIP readiness* <@{REP2}>: Asking for commitment coached for 2 cycles" in body
    assert f"*PIP readiness* <@{REP}>" not in body  # seat mismatch: a seat conversation, never a PIP
    seat_flag = f"*Seat conversation* <@{REP}>: Root wiring in an Engine seat; deal-killer flags: Coaching resistance"
    assert seat_flag in body
    assert (
        f"*Environmental drag* <@{REP4}>: Inbound leads for the region stopped on Nov 2 → escalate to "
        "the marketing or SDR leader who owns lead routing" in body
    )
    assert f"*Paused* <@{REP4}> until 2026-11-20" in body
    assert f"*Blocked* <@{REP3}>: No first calls booked this week" in body
    assert f"3 reps share *Time pressure* (<@{REP3}>, <@{REP4}>, <@{REP}>)" in body  # by display name
    with Session(engine) as s:
        (row,) = s.exec(
            select(ScheduledMessage).where(ScheduledMessage.kind == "summary", ScheduledMessage.period == "2026-11-13")
        ).all()
    assert (row.status, row.slack_channel) == ("sent", f"D{MANAGER}")


def test_summary_goes_to_a_private_channel_and_public_ones_are_refused(harness, cli, slack, engine, playbook, team):
    slack.fake.add_channel("CPUBLIC1", "general", private=False)
    slack.fake.add_channel("GNOTIN01", "secret", member=False)
    slack.fake.add_channel("GCOACH01", "coaching-morgan")
    harness.command(MANAGER, "settings channel <#CPUBLIC1|general>")
    assert "That channel is public" in slack.fake.last_response_text()
    harness.command(MANAGER, "settings channel <#GNOTIN01|secret>")
    assert "/invite @Coachbot" in slack.fake.last_response_text()
    harness.command(MANAGER, "settings channel <#GUNKNOWN|>")
    assert "I can't see that channel" in slack.fake.last_response_text()
    harness.command(MANAGER, "settings channel general")
    assert "Name the channel like" in slack.fake.last_response_text()
    harness.command(OTHER_MANAGER, f"settings channel <#GCOACH01|coaching-morgan> <@{MANAGER}>")
    assert "Only admins can set another manager's" in slack.fake.last_response_text()
    harness.command(MANAGER, "settings channel <#GCOACH01|coaching-morgan>")
    assert "will go to <#GCOACH01>" in slack.fake.last_response_text()
    seed.commitment(engine, playbook, seed.slack_user(REP), MANAGER, date(2026, 11, 9))
    dispatch(cli, FRIDAY)
    assert [c.args["channel"] for c in slack.fake.calls_to("chat.postMessage")] == ["GCOACH01"]
    # the bot was removed from the channel: next week's summary falls back to a DM that says why
    slack.fake.channels["GCOACH01"]["is_member"] = False
    seed.commitment(engine, playbook, seed.slack_user(REP2), MANAGER, date(2026, 11, 16), key="next")
    dispatch(cli, FRIDAY + timedelta(days=7))
    last = slack.fake.calls_to("chat.postMessage")[-1]
    assert last.args["channel"] == f"D{MANAGER}" and "couldn't post your summary to <#GCOACH01>" in last.text_dump()


@pytest.mark.sqlite_only
def test_large_teams_stay_within_block_kit_limits(cli, slack, engine, playbook, team):
    _bulk_team(engine, 200, manager="UBIGMGR")
    slack.fake.add_user("UBIGMGR", "Big Manager", tz="UTC")
    with Session(engine) as s:
        messages = summary_messages(build_summary(load_team(s, "T0TEAM", "UBIGMGR", date(2026, 11, 13)), playbook))
    assert all(check_message(m) == [] for m in messages)
    dump = json.dumps(messages)
    assert all(f"<@UBIG{i:04d}>" in dump for i in range(200))
    # a team too big for one message: a first message plus threaded continuations, nothing dropped
    _bulk_team(engine, 1000, manager="UHUGEMGR", prefix="UHUGE")
    slack.fake.add_user("UHUGEMGR", "Huge Manager", tz="UTC")
    dispatch(cli, FRIDAY)
    posts = [c for c in slack.fake.calls_to("chat.postMessage") if c.args["channel"] == "DUHUGEMGR"]
    assert len(posts) >= 2 and "thread_ts" not in posts[0].args
    assert all(p.args.get("thread_ts") for p in posts[1:])
    dump = "".join(p.text_dump() for p in posts)
    assert all(f"<@UHUGE{i:04d}>" in dump for i in range(1000))
    assert len([c for c in slack.fake.calls_to("chat.postMessage") if c.args["channel"] == "DUBIGMGR"]) == len(messages)


def _bulk_team(engine, n: int, manager: str, prefix: str = "UBIG") -> None:
    seed.bulk_team(engine, "T0TEAM", manager, n, prefix)


def test_summary_statement_count_does_not_grow_with_team_size(engine, playbook):
    _bulk_team(engine, 5, manager="USMALL", prefix="USML")
    _bulk_team(engine, 200, manager="ULARGE", prefix="ULRG")  # a second, larger team in the same workspace
    counts = {}
    for manager in ("USMALL", "ULARGE"):
        seen: list[str] = []

        def count(conn, cursor, statement, *args, seen=seen):
            if not statement.strip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
                seen.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            with Session(engine) as s:
                summary = build_summary(load_team(s, "T0TEAM", manager, date(2026, 11, 13)), playbook)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        counts[manager] = (len(seen), len(summary.rep_lines))
    assert counts["USMALL"][1] == 5 and counts["ULARGE"][1] == 200
    assert counts["USMALL"][0] == counts["ULARGE"][0], counts
    print(f"\n[summary] SQL statements: 5 reps -> {counts['USMALL'][0]}, 200 reps -> {counts['ULARGE'][0]}")


def test_coaching_time_command_validation(harness, engine, team):
    harness.ctx.clock = lambda: datetime(2026, 11, 13, 12, 0, tzinfo=UTC)
    cases = [
        (f"log 0 1:1 <@{REP}>", "from 5 to 480"),
        (f"log 999 1:1 <@{REP}>", "from 5 to 480"),
        (f"log abc 1:1 <@{REP}>", "isn't a number of minutes"),
        (f"log 30 lunch <@{REP}>", "Kind must be one of"),
        (f"log 30 group <@{REP}>", "at least two reps"),
        (f"log 30 1:1 <@{REP}> <@{REP2}>", "Only group sessions have several reps"),
        (f"log 30 1:1 <@{STRANGER}>", "isn't one of your reps"),
        ("log 30 1:1 @riley", "couldn't tell who"),
        ("log 30", "Usage: `/coach log"),
    ]
    for text, expected in cases:
        harness.command(MANAGER, text)
        assert expected in harness.fake.last_response_text(), text
    harness.command(OTHER_MANAGER, f"log 30 1:1 <@{REP}>")
    assert "isn't one of your reps" in harness.fake.last_response_text()
    with Session(engine) as s:
        assert s.exec(select(CoachingSession)).all() == []
    harness.command(MANAGER, f"log 45 group <@{REP}> <@{REP2}> <@{REP3}>")
    assert "Logged a 45-minute group session" in harness.fake.last_response_text()
    harness.command(ADMIN, f"log 20 role-play <@{REP4}>")  # admins may log for any rep
    with Session(engine) as s:
        sessions = s.exec(select(CoachingSession).order_by(col(CoachingSession.id))).all()
        attendees = s.exec(select(SessionAttendee)).all()
    assert [(x.kind, x.minutes, x.manager_user_id) for x in sessions] == [
        ("group", 45, MANAGER),
        ("role_play", 20, ADMIN),
    ]
    assert len(attendees) == 4


def test_home_tab_per_role(harness, slack, engine, playbook, team):
    cid = seed.commitment(engine, playbook, seed.slack_user(REP), MANAGER, date(2026, 11, 9))
    harness.ctx.clock = lambda: datetime(2026, 11, 11, 12, 0, tzinfo=UTC)

    def home(user: str) -> str:
        harness.event(
            {"type": "app_home_opened", "user": user, "tab": "home"}, event_id=f"Ev{user}{len(slack.fake.calls)}"
        )
        call = slack.fake.calls_to("views.publish")[-1]
        assert call.args["user_id"] == user
        view = call.args["view"]
        return view if isinstance(view, str) else json.dumps(view)

    rep_home = home(REP)
    assert "Your practice" in rep_home and "checkin_log" in rep_home and "Your team" not in rep_home
    mgr_home = home(MANAGER)
    assert "Your team (4)" in mgr_home and "home_diagnose" in mgr_home and "Workspace settings" not in mgr_home
    assert "Root in an Engine seat" in mgr_home
    admin_home = home(ADMIN)
    assert "Workspace settings (admins)" in admin_home and "Monday 09:00" in admin_home
    stranger = home(STRANGER)
    assert "Nothing to coach yet" in stranger
    # a check-in refreshes the rep's and the manager's Home
    before = len(slack.fake.calls_to("views.publish"))
    harness.action(REP, "checkin_log", str(cid))
    published = slack.fake.calls_to("views.publish")[before:]
    assert sorted(c.args["user_id"] for c in published) == sorted([REP, MANAGER])
    rep_view = next(c.args["view"] for c in published if c.args["user_id"] == REP)
    assert "1 of 3" in json.dumps(rep_view)


@pytest.mark.sqlite_only
def test_home_for_a_huge_team_stays_within_100_blocks(harness, slack, engine, team):
    _bulk_team(engine, 1000, manager="UHUGE")
    slack.fake.add_user("UHUGE", "Hugo")
    harness.ctx.clock = lambda: datetime(2026, 11, 13, 12, 0, tzinfo=UTC)
    harness.event({"type": "app_home_opened", "user": "UHUGE", "tab": "home"}, event_id="EvHuge")
    call = slack.fake.calls_to("views.publish")[-1]  # the fake refuses views over the limits
    view = call.args["view"] if isinstance(call.args["view"], dict) else json.loads(call.args["view"])
    assert len(view["blocks"]) <= 100 and "More reps than fit here" in json.dumps(view)


def test_home_buttons_settings_log_session_and_diagnose(harness, slack, engine, team):
    harness.ctx.clock = lambda: datetime(2026, 11, 13, 12, 0, tzinfo=UTC)
    harness.action(ADMIN, "home_settings")
    view = opened_view(slack.fake)
    assert view["callback_id"] == "workspace_settings"
    harness.submit(
        ADMIN,
        view,
        {
            "nudge_day": sel("1"),
            "nudge_time": {"type": "timepicker", "selected_time": "08:30"},
            "reminders": {"type": "checkboxes", "selected_options": []},
            "summary_day": sel("3"),
            "summary_time": {"type": "timepicker", "selected_time": "17:15"},
        },
    )
    from storage import queries

    with Session(engine) as s:
        ws = present(queries.get_workspace(s, "T0TEAM"))
    assert (ws.nudge_weekday, ws.nudge_hour, ws.nudge_minute, ws.reminders_enabled) == (1, 8, 30, False)
    assert (ws.summary_weekday, ws.summary_hour, ws.summary_minute) == (3, 17, 15)
    harness.action(MANAGER, "home_settings")
    assert "Only Coachbot admins" in slack.fake.calls_to("chat.postMessage")[-1].text_dump()
    harness.action(MANAGER, "home_log_session")
    view = opened_view(slack.fake)
    bad = harness.submit(
        MANAGER,
        view,
        {
            "kind": sel("one_on_one"),
            "minutes": {"type": "number_input", "value": "3"},
            "reps": {"type": "multi_users_select", "selected_users": [REP]},
            "day": {"type": "datepicker", "selected_date": "2026-11-13"},
            "note": txt(""),
        },
    )
    assert "minutes" in json.loads(bad.body)["errors"]
    harness.submit(
        MANAGER,
        view,
        {
            "kind": sel("one_on_one"),
            "minutes": {"type": "number_input", "value": "30"},
            "reps": {"type": "multi_users_select", "selected_users": [REP]},
            "day": {"type": "datepicker", "selected_date": "2026-11-13"},
            "note": txt(""),
        },
    )
    with Session(engine) as s:
        assert [(x.kind, x.minutes) for x in s.exec(select(CoachingSession))] == [("one_on_one", 30)]
    harness.action(MANAGER, "home_diagnose")
    pick = opened_view(slack.fake)
    denied = harness.submit(OTHER_MANAGER, pick, {"rep": {"type": "users_select", "selected_user": REP}})
    assert "Only a rep's manager" in json.loads(denied.body)["errors"]["rep"]
    r = harness.submit(MANAGER, pick, {"rep": {"type": "users_select", "selected_user": REP}})
    body = json.loads(r.body)
    assert body["response_action"] == "update" and body["view"]["callback_id"] == "diagnose"


def test_post_summary_now(harness, slack, engine, playbook, team):
    harness.ctx.clock = lambda: datetime(2026, 11, 13, 12, 0, tzinfo=UTC)
    harness.command(MANAGER, "summary")
    assert "Sent your summary to you by DM" in slack.fake.last_response_text()
    assert "Weekly coaching summary" in slack.fake.calls_to("chat.postMessage")[-1].text_dump()
    harness.command(STRANGER, "summary")
    assert "don't have any reps" in slack.fake.last_response_text()


def test_export_round_trip(harness, cli, engine, playbook, team, tmp_path):
    scripted_history(harness, cli, engine, playbook)
    with session_scope(engine) as s:  # free text that a spreadsheet would run as a formula
        c = present(s.exec(select(Commitment).where(Commitment.status == "active")).first())
        c.behavior = '=HYPERLINK("http://evil")'
        s.add(c)
    path = tmp_path / "out.csv"
    code, out, err = cli("export", "--team", "T0TEAM", str(path))
    assert code == 0, err
    rows = list(csv.DictReader(path.open()))
    with Session(engine) as s:
        expected = {
            "diagnosis": len(s.exec(select(Diagnosis)).all()),
            "commitment": len(s.exec(select(Commitment)).all()),
            "check_in": len(s.exec(select(CheckIn)).all()),
            "session": len(s.exec(select(CoachingSession)).all()),
        }
        by_id = {c.id: c for c in s.exec(select(Commitment))}
    got = {k: sum(r["record_type"] == k for r in rows) for k in expected}
    assert got == expected and f"wrote {sum(expected.values())} record(s)" in out
    for r in rows:
        if r["record_type"] == "commitment":
            c = by_id[int(r["record_id"])]
            assert (r["status"], int(r["target"]), r["gap"], r["ends_on"]) == (
                c.status,
                c.target_count,
                c.gap,
                c.ends_on.isoformat(),
            )
    assert any(r["text"] == '\'=HYPERLINK("http://evil")' for r in rows)
    group = next(r for r in rows if r["record_type"] == "session" and r["kind"] == "group")
    assert group["rep_user_id"] == ";".join(sorted([REP2, REP3])) and group["minutes"] == "45"
    code, out, _ = cli("export", "--team", "T0TEAM", "--since", "2026-11-12", str(tmp_path / "recent.csv"))
    recent = list(csv.DictReader((tmp_path / "recent.csv").open()))
    assert 0 < len(recent) < len(rows)
    code, _, err = cli("export", "--team", "T0TEAM", "--since", "yesterday", str(tmp_path / "x.csv"))
    assert code == 2 and "is not a date" in err


def test_manager_sets_the_summary_channel_from_home(harness, slack, engine, team):
    slack.fake.add_channel("CPUBLIC2", "general", private=False)
    slack.fake.add_channel("GCOACH02", "coaching")
    harness.action(MANAGER, "home_summary_channel")
    view = opened_view(slack.fake)
    assert view["callback_id"] == "summary_channel"

    def pick(channel: str | None):
        return harness.submit(
            MANAGER, view, {"channel": {"type": "conversations_select", "selected_conversation": channel}}
        )

    refused = json.loads(pick("CPUBLIC2").body)
    assert "That channel is public" in refused["errors"]["channel"]
    assert pick("GCOACH02").body == ""
    from bot.team.service import summary_channel

    with Session(engine) as s:
        assert summary_channel(s, "T0TEAM", MANAGER) == "GCOACH02"
    assert "will go to <#GCOACH02>" in slack.fake.calls_to("chat.postMessage")[-1].text_dump()
    pick(None)
    with Session(engine) as s:
        assert summary_channel(s, "T0TEAM", MANAGER) is None


# --- pure rules: PIP readiness, the 70/30 split, articles ------------------------------------------

TODAY = date(2026, 11, 13)


def _rep_data(
    uid: str,
    archetype: str = "engine",
    seat: str = "engine",
    killers: tuple[str, ...] = (),
    missed_on: str | None = None,
    cycles: int = 0,
    individual: int = 0,
    group: int = 0,
):
    person_id = hash(uid) % 10_000
    person = Person(id=person_id, team_id="T0TEAM", slack_user_id=uid, display_name=uid)
    profile = WiringProfile(
        team_id="T0TEAM",
        person_id=person_id,
        version=1,
        archetype=archetype,
        coachability=60,
        drive=60,
        resilience=60,
        deal_killers=list(killers),
        gaps=[],
    )
    closed = [
        Commitment(
            id=i + 1,
            team_id="T0TEAM",
            person_id=person_id,
            manager_user_id=MANAGER,
            gap=missed_on or "general",
            behavior="Dated next step proposed out loud at the end of every meeting",
            target_count=3,
            practice_format="drill",
            evidence="logged in the CRM",
            status="missed",
            starts_on=TODAY - timedelta(days=7 * (cycles - i) + 7),
            ends_on=TODAY - timedelta(days=7 * (cycles - i) + 1),
            submission_key=f"{uid}-{i}",
            closed_at=datetime.combine(TODAY - timedelta(days=7 * (cycles - i)), datetime.min.time(), tzinfo=UTC),
        )
        for i in range(cycles)
    ]
    return RepData(
        person=person,
        profile=profile,
        seat=Seat(id=1, team_id="T0TEAM", name="Seat", archetype=seat),
        closed=closed,
        minutes_individual=individual,
        minutes_group=group,
    )


def _team(reps, individual: int = 0, group: int = 0) -> TeamData:
    return TeamData("T0TEAM", MANAGER, TODAY - timedelta(days=6), TODAY, reps, individual, group)


def test_deal_killer_rep_is_never_pip_ready(playbook):
    control = _rep_data("UCONTROL", missed_on="closing", cycles=3)
    assert pip_ready_gap(control, playbook) == "closing"
    for key in playbook.deal_killers:
        rep = _rep_data("UFLAGGED", killers=(key,), missed_on="closing", cycles=3)
        assert stalled_gap(rep) == "closing"  # the cycle count alone would say PIP
        assert pip_ready_gap(rep, playbook) is None, key
        assert pip_ready_gap(rep) is None, key  # without a playbook any flag counts
        summary = build_summary(_team([rep, control]), playbook)
        flags = "\n".join(summary.flags)
        assert "*PIP readiness* <@UFLAGGED>" not in flags and "*PIP readiness* <@UCONTROL>" in flags
        (seat_flag,) = [f for f in summary.flags if "<@UFLAGGED>" in f]
        assert seat_flag.startswith(":chair: *Seat conversation* <@UFLAGGED>")
        assert playbook.deal_killers[key].name in seat_flag
        assert "3 coached cycles, none met" in seat_flag and "not a PIP case" in seat_flag
        assert "seat conversation first" in seat_flag


def test_team_split_counts_a_group_session_once(playbook):
    # one 30-minute 1:1 and one 45-minute group session that three reps attended
    reps = [
        _rep_data("UA", individual=30, group=45),
        _rep_data("UB", group=45),
        _rep_data("UC", group=45),
    ]
    line = build_summary(_team(reps, individual=30, group=45), playbook).team_lines[1]
    assert line.startswith("Coaching time: *75 min* of yours · reps got 165 min in all (baseline 180 for 3 reps)")
    assert "of your coaching time, 1:1 40% / group 60% (aim for about 70/30)" in line
    assert "coaching 75/60 min" in rep_line(reps[0], playbook, TODAY)  # a rep's own minutes count the session


def test_rep_line_picks_a_or_an_from_the_archetype_name(playbook):
    assert "Root in an Engine seat :warning:" in rep_line(_rep_data("U1", "root", "engine"), playbook, TODAY)
    assert "Engine in a Grandmaster seat :warning:" in rep_line(
        _rep_data("U2", "engine", "grandmaster"), playbook, TODAY
    )
    flags = build_summary(_team([_rep_data("U3", "grandmaster", "engine")]), playbook).flags
    assert any("Grandmaster wiring in an Engine seat" in f for f in flags)


def test_group_session_counts_once_in_the_team_split(harness, engine, playbook, team):
    harness.ctx.clock = lambda: datetime(2026, 11, 13, 12, 0, tzinfo=UTC)
    harness.command(MANAGER, f"log 45 group <@{REP}> <@{REP2}> <@{REP3}>")
    harness.command(MANAGER, f"log 30 1:1 <@{REP4}>")
    with Session(engine) as s:
        data = load_team(s, "T0TEAM", MANAGER, date(2026, 11, 13))
    assert (data.minutes_individual, data.minutes_group) == (30, 45)
    assert sorted(r.minutes_group for r in data.reps) == [0, 45, 45, 45]
    line = build_summary(data, playbook).team_lines[1]
    assert "*75 min* of yours" in line and "1:1 40% / group 60%" in line
