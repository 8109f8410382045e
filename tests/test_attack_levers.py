"""Attacks on the three levers from outside, as a hostile or careless user would try them: the real
`coachbot import-metrics` entry point with hostile files, and the real Bolt app (signed HTTP requests,
tests/harness.py) for `/coach numbers|mix|org|fitrisk`, the Fit Risk form, the roster import's plan
offer and the PIP canvas; on SQLite and PostgreSQL.

The promises tried (README "The three levers", "30/60/90 onboarding", "PIPs", "Privacy and safety"):
- a metrics file is stored whole or not at all, with row-numbered errors and a clean exit code, never a
  traceback; the same file twice (even at once) stores nothing new; a token in a cell is never echoed;
- a rep's data is visible only to the rep, their manager and admins of *this* workspace; the org view
  names no rep and no figure covers fewer than five people (nor can be worked out from the others);
- a forged or repeated form changes nothing it should not, and is answered politely;
- every message stays within Block Kit's limits, however many reps; user text is escaped.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import re
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from sqlmodel import Session, col, select

from bot.levers.fitrisk import REASON_BLOCK, block_id
from bot.slack.limits import MESSAGE_BLOCKS, MODAL_BLOCKS, TABLE_ROWS, check_blocks
from storage.db import session_scope
from storage.models import EmploymentEvent, FitRiskRun, OnboardingPlan, Person, Pip, RepMetric, WiringProfile
from tests import seed
from tests.conftest import ADMIN, MANAGER, OTHER_MANAGER, REP, REP2, STANDARD_ROWS, STRANGER
from tests.harness import Harness, opened_view, txt
from tests.rows import present

TODAY = datetime(2026, 12, 6, 15, 0, tzinfo=UTC)
TEAM, FOREIGN_TEAM = "T0TEAM", "T0OTHER"
REP3 = "UREP3"  # OTHER_MANAGER's rep
CFG_ADMIN = "UCFGADMIN"  # named in COACHBOT_ADMINS, of this workspace
FOREIGN = "UFOREIGN"  # named in COACHBOT_ADMINS too, but their own team is another organisation
GONE_ADMIN = "UGONEADMIN"  # a Slack admin whose account was deactivated
BOT_ADMIN = "UBOTADMIN"  # a bot user named in COACHBOT_ADMINS
COLUMNS = "rep,period,quota_attainment,pipeline_created,pipeline_quality,event,event_date,exit_type"
TOKEN = "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOp"
FORM = "application/x-www-form-urlencoded"
REFUSED_METRICS = "was not imported; nothing was changed"


# --- shared helpers -----------------------------------------------------------------------------------


def _rows(engine: Any, model: Any) -> list[Any]:
    with Session(engine) as s:
        return list(s.exec(select(model)).all())


def _person_id(engine: Any, user: str, team: str = TEAM) -> int:
    with Session(engine) as s:
        person = s.exec(select(Person).where(Person.slack_user_id == user, Person.team_id == team)).one()
        return present(person.id)


def _write(tmp_path: Path, name: str, text: str | bytes) -> str:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return str(path)


def _csv(tmp_path: Path, *rows: str, name: str = "metrics.csv") -> str:
    return _write(tmp_path, name, COLUMNS + "\n" + "\n".join(rows) + "\n")


def _json(tmp_path: Path, data: Any, name: str = "metrics.json") -> str:
    return _write(tmp_path, name, data if isinstance(data, str) else json.dumps(data))


def _reply(h: Harness) -> dict[str, Any]:
    responses = h.fake.responses()
    assert responses, "no reply reached the user"
    assert responses[-1].args.get("response_type") == "ephemeral"
    return responses[-1].args


def _said(h: Harness) -> str:
    return json.dumps(_reply(h), ensure_ascii=False)


def _everything_shown(h: Harness) -> str:
    shown = []
    for method in ("chat.postMessage", "response_url", "views.open", "views.publish"):
        for call in h.fake.calls_to(method):
            view = call.args.get("view")
            shown.append(call.text_dump() + (view if isinstance(view, str) else json.dumps(view or "")))
    return "\n".join(shown)


def _dms_to(h: Harness, user: str) -> list[Any]:
    return [c for c in h.fake.calls_to("chat.postMessage") if c.args.get("channel") == f"D{user}"]


def _weeks(rep: str, values: list[float], quality: float = 60.0) -> list[str]:
    """Weekly rows for the weeks up to the week of TODAY, oldest first."""
    monday = TODAY.date() - timedelta(days=TODAY.weekday())
    rows = []
    for i, value in enumerate(values):
        year, week, _ = (monday - timedelta(weeks=len(values) - 1 - i)).isocalendar()
        rows.append(f"{rep},{year}-W{week:02d},{value},10000,{quality},,,")
    return rows


@pytest.fixture
def h(slack: Any, database_url: str, engine: Any, playbook: Any, import_csv: Any) -> Iterator[Harness]:
    """STANDARD_ROWS (MANAGER: REP a Root in an Engine seat, REP2 an Engine) and REP3 under OTHER_MANAGER."""
    fake = slack.fake
    fake.add_user(REP3, "Tess")
    fake.add_user(CFG_ADMIN, "Casey")
    fake.add_user(GONE_ADMIN, "Gale", is_admin=True, deleted=True)
    fake.add_user(BOT_ADMIN, "Robo", is_bot=True)
    admins = frozenset({CFG_ADMIN, FOREIGN, GONE_ADMIN, BOT_ADMIN})
    harness = Harness(slack, database_url, engine, playbook, admins=admins, clock=lambda: TODAY)
    try:
        import_csv(*STANDARD_ROWS, f"{REP3},{OTHER_MANAGER},Engine,Hunter,Engine,80,90,70,,closing,2026-01-05")
        yield harness
    finally:
        harness.close()


# === coachbot import-metrics: hostile files =============================================================


def test_numbers_too_big_for_a_float_and_impossible_periods_are_row_errors(cli, h, tmp_path):
    """A JSON integer of hundreds of digits (float() overflows) and a year-0 month (date() refuses it)
    are problems in the file, listed by row: never a traceback, and nothing is stored."""
    rows = [
        {"rep": REP, "period": "2026-W45", "quota_attainment": 10**400},
        {"rep": REP, "period": "0000-01", "quota_attainment": 50},
        {"rep": REP, "period": "2026-W46", "pipeline_created": -(10**400)},
        {"rep": REP2, "period": "2026-W45", "pipeline_quality": 55},
    ]
    code, out, err = cli("import-metrics", _json(tmp_path, rows))
    assert code == 1 and REFUSED_METRICS in err and "Traceback" not in out + err
    assert "row 1: quota_attainment must be between 0 and 1000" in err
    assert "row 2: period '0000-01' is not a week like 2026-W45 or a month like 2026-11" in err
    assert "row 3: pipeline_created must be between 0 and 1e+12" in err
    assert "row 4" not in err
    assert _rows(h.ctx.engine, RepMetric) == []


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400", "-1e400"])
def test_non_finite_json_numbers_are_refused(cli, h, tmp_path, literal):
    text = f'[{{"rep": "{REP}", "period": "2026-W45", "quota_attainment": {literal}}}]'
    code, _, err = cli("import-metrics", _json(tmp_path, text))
    assert code == 1 and "row 1: quota_attainment must be between 0 and 1000" in err
    assert _rows(h.ctx.engine, RepMetric) == []


def test_negative_zero_is_stored_as_zero(cli, h, tmp_path, engine):
    """-0.0 is inside 0..1000, but kept as -0.0 it reads "-0" in a table: it is stored as plain 0."""
    rows = [{"rep": REP, "period": "2026-W45", "quota_attainment": -0.0, "pipeline_quality": -0.0}]
    code, _, err = cli("import-metrics", _json(tmp_path, rows))
    assert code == 0, err
    (metric,) = _rows(engine, RepMetric)
    for value in (metric.quota_attainment, metric.pipeline_quality):
        assert value == 0 and math.copysign(1.0, value) == 1.0, value
    code, out, _ = cli("import-metrics", _json(tmp_path, [{**rows[0], "quota_attainment": 0}], name="zero.json"))
    assert code == 0 and "1 unchanged" in out
    assert cli("import-metrics", _csv(tmp_path, f"{REP},2026-W46,-0,,,,,"))[0] == 1  # text: only plain numbers


@pytest.mark.postgres_once("cell")
@pytest.mark.parametrize(
    ("cell", "column"),
    [("８０", "quota_attainment"), ("٥٠", "pipeline_quality"), ("２０２６-１１", "period"), ("2026-W४५", "period")],
)
def test_digits_of_other_scripts_are_not_plain_numbers(cli, h, tmp_path, cell, column):
    """A plain number is ASCII digits, as the Fit Risk form takes them: "８０" is refused, not read as 80."""
    row = {"rep": REP, "period": "2026-W45", "quota_attainment": "80", column: cell}
    code, _, err = cli("import-metrics", _json(tmp_path, [row]))
    assert code == 1 and f"row 1: {column}" in err
    assert _rows(h.ctx.engine, RepMetric) == []


def test_a_token_in_any_cell_or_header_is_never_echoed(cli, h, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    path = _csv(
        tmp_path,
        f"{TOKEN},2026-W45,80,,,,,",
        f"{REP},{TOKEN},80,,,,,",
        f"{REP},2026-W45,{TOKEN},,,,,",
        f"{REP},2026-W46,80,{TOKEN},,,,",
        f"{REP},,,,,{TOKEN},2026-01-01,",
        f"{REP},,,,,exit,{TOKEN},voluntary",
        f"{REP},,,,,exit,2026-01-01,{TOKEN}",
    )
    code, out, err = cli("import-metrics", path)
    assert code == 1 and err.count("\n  row ") == 7
    header = _write(tmp_path, "header.csv", f"rep,period,{TOKEN}\n{REP},2026-W45,1\n")
    code2, out2, err2 = cli("import-metrics", header)
    assert code2 == 1 and "unknown column" in err2
    everything = out + err + out2 + err2 + caplog.text
    assert TOKEN not in everything and "xoxb-" not in everything
    assert _rows(h.ctx.engine, RepMetric) == [] and _rows(h.ctx.engine, EmploymentEvent) == []


def test_bom_crlf_and_email_references_import_like_any_file(cli, h, tmp_path, engine):
    text = f"\ufeff{COLUMNS}\r\n{REP},2026-W45,80,1000,60,,,\r\nSam@Example.com,2026-11,90,,,,,\r\n\r\n"
    code, out, err = cli("import-metrics", _write(tmp_path, "excel.csv", text.encode("utf-8")))
    assert code == 0, err
    assert "2 period(s) added" in out
    stored = {(m.person_id, m.period) for m in _rows(engine, RepMetric)}
    assert stored == {(_person_id(engine, REP), "week"), (_person_id(engine, REP2), "month")}
    bom_json = "\ufeff" + json.dumps({"metrics": [{"rep": REP, "period": "2026-W45", "quota_attainment": 80}]})
    code, out, _ = cli("import-metrics", _write(tmp_path, "bom.json", bom_json.encode("utf-8")))
    assert code == 0 and "1 unchanged" in out


def test_duplicate_keys_columns_and_rows_are_refused(cli, h, tmp_path):
    cases = {
        "dup-key.json": f'[{{"rep": "{REP}", "rep": "{REP2}", "period": "2026-W45", "quota_attainment": 1}}]',
        "dup-case.json": f'[{{"rep": "{REP}", "REP": "{REP}", "period": "2026-W45", "quota_attainment": 1}}]',
        "dup-col.csv": f"rep,rep,period,quota_attainment\n{REP},{REP2},2026-W45,1\n",
    }
    for name, text in cases.items():
        code, _, err = cli("import-metrics", _write(tmp_path, name, text))
        assert code == 1 and "named more than once" in err, name
    # the same rep and period twice, once by id and once by email: which figure should win?
    code, _, err = cli(
        "import-metrics", _csv(tmp_path, f"{REP},2026-W45,80,,,,,", "riley@example.com,2026-W45,81,,,,,")
    )
    assert code == 1 and "row 2: repeats row 1 (same rep and period)" in err
    assert _rows(h.ctx.engine, RepMetric) == []


def test_thousands_of_rows_up_to_the_limit_and_one_past_it(cli, h, tmp_path, engine):
    """5,000 rows (the limit) are stored in one go and again change nothing; 5,001 are refused whole."""
    monday = TODAY.date() - timedelta(days=TODAY.weekday())
    rows = []
    for i in range(2500):
        for rep in (REP, REP2):
            year, week, _ = (monday - timedelta(weeks=i)).isocalendar()
            rows.append(f"{rep},{year}-W{week:02d},{i % 1000},{i},{i % 100},,,")
    path = _csv(tmp_path, *rows)
    code, out, err = cli("import-metrics", path)
    assert code == 0, err
    assert "5000 period(s) added" in out and len(_rows(engine, RepMetric)) == 5000
    code, out, _ = cli("import-metrics", path)
    assert code == 0 and "0 period(s) added, 0 updated, 5000 unchanged" in out
    code, _, err = cli("import-metrics", _csv(tmp_path, *rows, f"{REP3},2026-W45,1,,,,,", name="more.csv"))
    assert code == 1 and "5001 rows; at most 5000 per file" in err


def test_a_cell_too_long_for_csv_or_a_file_too_big_is_one_line(cli, h, tmp_path):
    code, out, err = cli("import-metrics", _csv(tmp_path, f"{REP},2026-W45,{'9' * 200_000},,,,,"))
    assert code == 1 and "cannot be read" in err and len(err) < 2000 and "Traceback" not in err
    big = _write(tmp_path, "big.csv", COLUMNS + "\n" + f"{REP},2026-W45,80,,,,,\n" * 250_000)
    code, _, err = cli("import-metrics", big)
    assert code == 1 and "files up to 5 MB are accepted" in err
    assert _rows(h.ctx.engine, RepMetric) == []


def test_reps_of_another_workspace_are_not_on_this_roster(cli, h, tmp_path, engine):
    """Another workspace's people (Enterprise Grid shares user ids) never match, by id or by email; a
    rep whose user id also exists in another workspace gets this workspace's record."""
    with session_scope(engine) as s:
        s.add(Person(team_id=FOREIGN_TEAM, slack_user_id="UELSEWHERE", email="else@example.com"))
        s.add(Person(team_id=FOREIGN_TEAM, slack_user_id=REP, email="riley@example.com"))
    code, _, err = cli(
        "import-metrics", _csv(tmp_path, "UELSEWHERE,2026-W45,80,,,,", "else@example.com,2026-W46,80,,,,")
    )
    assert code == 1 and "row 1: rep UELSEWHERE is not on this workspace's roster" in err
    assert "row 2: rep else@example.com is not on this workspace's roster" in err
    assert _rows(engine, RepMetric) == []
    assert cli("import-metrics", _csv(tmp_path, f"{REP},2026-W45,80,,,,,", name="ok.csv"))[0] == 0
    (metric,) = _rows(engine, RepMetric)
    assert (metric.team_id, metric.person_id) == (TEAM, _person_id(engine, REP))
    code, _, err = cli(
        "import-metrics", "--team", FOREIGN_TEAM, _csv(tmp_path, f"{REP2},2026-W45,80,,,,,", name="x.csv")
    )
    assert code == 1 and "not on this workspace's roster" in err  # REP2 is only on T0TEAM's roster


def test_a_rep_who_left_can_still_get_their_exit_and_last_figures(cli, h, tmp_path, engine):
    """A deactivated rep is still on the roster (retention needs their exit); their figures are kept,
    and no view that lists active reps shows them."""
    with session_scope(engine) as s:
        person = s.exec(select(Person).where(Person.team_id == TEAM, Person.slack_user_id == REP)).one()
        person.active = False
        s.add(person)
    code, _, err = cli("import-metrics", _csv(tmp_path, f"{REP},2026-11,70,,,exit,2026-11-30,involuntary"))
    assert code == 0, err
    assert len(_rows(engine, RepMetric)) == 1 and len(_rows(engine, EmploymentEvent)) == 1
    h.command(MANAGER, "numbers")
    assert "Riley" not in _said(h) and "Sam" in _said(h)


def test_a_file_with_one_bad_row_stores_nothing_of_the_good_ones(cli, h, tmp_path, engine):
    path = _csv(
        tmp_path,
        f"{REP},2026-W45,80,1000,60,start,2026-01-05,",
        f"{REP2},2026-W45,90,,,exit,2026-11-30,voluntary",
        f"{REP2},2099-W01,90,,,,,",  # not started yet
    )
    code, out, err = cli("import-metrics", path)
    assert code == 1 and "row 3: period 2099-W01 has not started yet" in err and out.count("added") == 0
    assert _rows(engine, RepMetric) == [] and _rows(engine, EmploymentEvent) == []
    code, out, _ = cli("import-metrics", path, "--dry-run")
    assert code == 1 and _rows(engine, RepMetric) == []


def test_the_same_file_imported_twice_at_once_stores_each_row_once(cli, h, tmp_path, engine, monkeypatch, capsys):
    """Two imports of the same file at the same moment (a cron job and a person): both read "nothing
    stored yet", both insert; the loser must not fail with the database's unique-key error (exit 1,
    "cannot use the database") but see the winner's rows and report them unchanged."""
    from bot.cli import main
    from bot.levers import flows

    path = _csv(tmp_path, *_weeks(REP, [80.0, 81.0, 82.0]), f"{REP2},2026-11,70,,,exit,2026-11-30,voluntary")
    checked = flows.check_rows
    both_checked = threading.Barrier(2)

    def check_then_wait(*args: Any) -> Any:
        rows = checked(*args)
        # both read before either writes, where they can: today the second import waits for the first
        # on both databases (SQLite's BEGIN IMMEDIATE lets one through at a time), so the first gives up
        # waiting after a second (it was 3 s, every run)
        with contextlib.suppress(threading.BrokenBarrierError):
            both_checked.wait(timeout=1)
        return rows

    monkeypatch.setattr(flows, "check_rows", check_then_wait)
    codes: list[int] = []
    threads = [threading.Thread(target=lambda: codes.append(main(["import-metrics", path]))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    printed = capsys.readouterr()
    assert codes == [0, 0], printed.err
    assert "cannot use the database" not in printed.err and "Traceback" not in printed.err
    assert len(_rows(engine, RepMetric)) == 4 and len(_rows(engine, EmploymentEvent)) == 1


# === /coach numbers, mix, org, fitrisk: who sees what ===================================================


def _with_figures(cli: Any, tmp_path: Path) -> None:
    rows = [*_weeks(REP, [80.0] * 13), *_weeks(REP2, [70.0 + i for i in range(13)]), *_weeks(REP3, [50.0] * 13)]
    code, _, err = cli("import-metrics", _csv(tmp_path, *rows, name="figures.csv"))
    assert code == 0, err


@pytest.mark.parametrize("sub", ["numbers", "mix"])
def test_a_manager_sees_their_own_reps_and_never_anothers(cli, h, tmp_path, sub):
    _with_figures(cli, tmp_path)
    h.command(MANAGER, sub)
    mine = _said(h)
    assert "Riley" in mine and "Tess" not in mine
    h.command(OTHER_MANAGER, sub)
    theirs = _said(h)
    assert "Riley" not in theirs and "Sam" not in theirs and ("Tess" in theirs or sub == "mix")
    for user in (REP, REP2, STRANGER, CFG_ADMIN, ADMIN):  # an admin's own team is empty too: /coach org is theirs
        h.command(user, sub)
        said = _said(h)
        assert "Riley" not in said and "Sam" not in said and "Tess" not in said, (user, said)
    assert check_blocks(_reply(h).get("blocks") or [], MESSAGE_BLOCKS) == []


@pytest.mark.postgres_once("user")
@pytest.mark.parametrize("sub", ["numbers", "mix", "org", "fitrisk", "fitrisk org"])
@pytest.mark.parametrize("user", [FOREIGN, GONE_ADMIN, BOT_ADMIN, "UFOREIGNADMIN"])
def test_outsiders_deactivated_and_bot_users_get_nothing(cli, h, tmp_path, sub, user):
    """Another organisation's user (even one named in COACHBOT_ADMINS, or an admin over there), a
    deactivated Slack admin and a bot named in COACHBOT_ADMINS: no team, no org, no form."""
    h.fake.add_user("UFOREIGNADMIN", "Fern", is_admin=True, team_id=FOREIGN_TEAM)
    _with_figures(cli, tmp_path)
    h.fake.reset_calls()
    h.command(user, sub)
    shown = _everything_shown(h)
    assert h.fake.calls_to("views.open") == [], user
    for name in ("Riley", "Sam", "Tess", "Morgan", "Oakley", "organisation's make-up"):
        assert name not in shown, (user, name)


def test_a_request_naming_another_workspace_is_refused(cli, h, tmp_path):
    """The manager, signed in with another workspace's team id in the request (a Grid sibling): their
    own team is T0TEAM, not the request's, so nothing of either team is shown."""
    _with_figures(cli, tmp_path)
    for sub in ("numbers", "mix", "org", "fitrisk"):
        h.fake.reset_calls()
        h.command(MANAGER, sub, team_id=FOREIGN_TEAM)
        h.command(ADMIN, sub, team_id=FOREIGN_TEAM)
        assert "Riley" not in _everything_shown(h) and h.fake.calls_to("views.open") == [], sub


def test_org_is_for_admins_of_this_workspace_both_kinds(h):
    for user in (MANAGER, OTHER_MANAGER, REP, STRANGER):
        h.command(user, "org")
        assert "Only Coachbot admins" in _said(h), user
    for user in (ADMIN, CFG_ADMIN):  # Slack's is_admin, and COACHBOT_ADMINS
        h.command(user, "org")
        assert "The organisation's make-up" in _said(h), user


def _org_team(
    engine: Any, manager: str, archetypes: list[str], seat: str = "engine", prefix: str = "UORG"
) -> list[int]:
    """Reps with profiles (archetype keys) in seats needing `seat`, written directly; their person ids."""
    from storage.models import Seat

    with session_scope(engine) as s:
        place = Seat(team_id=TEAM, name=f"{seat} seat {prefix}", archetype=seat)
        s.add(place)
        s.flush()
        people = [
            Person(team_id=TEAM, slack_user_id=f"{prefix}{i:03d}", display_name=f"Zed{prefix}{i}", role="rep",
                   manager_user_id=manager, seat_id=place.id, start_date=date(2025, 1, 6))
            for i in range(len(archetypes))
        ]  # fmt: skip
        s.add_all(people)
        s.flush()
        s.add_all(
            WiringProfile(team_id=TEAM, person_id=present(p.id), version=1, archetype=kind, coachability=50,
                          drive=50, resilience=50, deal_killers=[], gaps=[])
            for p, kind in zip(people, archetypes, strict=True)
        )  # fmt: skip
        return [present(p.id) for p in people]


def _retention_sections(reply: dict[str, Any]) -> dict[str, list[str]]:
    sections = {}
    for block in reply["blocks"]:
        text = (block.get("text") or {}).get("text", "")
        if text.startswith("*Retention by "):
            head, *lines = text.split("\n")
            sections[head] = lines
    return sections


def test_org_retention_cannot_be_worked_out_for_a_group_under_five(cli, h, tmp_path, engine):
    """Five Engines and two Roots, one Root left. Shown: Engines (0 left), and everyone in "no flags" or
    in Engine seats (1 left). Withheld: Roots (fewer than five). Subtracting gives the Roots' exits, a
    figure about two people. A withheld group must not be the only one withheld in its breakdown."""
    with session_scope(engine) as s:  # only these seven reps, so the breakdowns are easy to read
        for person in s.exec(select(Person).where(Person.team_id == TEAM, Person.role == "rep")).all():
            person.active, person.role = False, "former"
            s.add(person)
    ids = _org_team(engine, OTHER_MANAGER, ["engine"] * 5 + ["root"] * 2)
    with session_scope(engine) as s:
        s.add(EmploymentEvent(team_id=TEAM, person_id=ids[-1], kind="exit", occurred_on=date(2026, 6, 1),
                              exit_type="voluntary"))  # fmt: skip
    h.command(ADMIN, "org")
    reply = _reply(h)
    assert check_blocks(reply["blocks"], MESSAGE_BLOCKS) == []
    sections = _retention_sections(reply)
    assert sections, "no retention in the org view"
    for head, lines in sections.items():  # each breakdown covers all seven (all have a profile and a seat)
        withheld = [line for line in lines if "not shown" in line]
        shown_people = sum(int(m[1]) for line in lines if (m := re.search(r": (\d+) people, ", line)))
        # what a breakdown withholds covers at least five people together (or nobody), so subtracting
        # the shown groups from the whole never gives a figure about fewer than five
        assert not withheld or 7 - shown_people >= 5, (head, lines)
    assert "ZedUORG" not in json.dumps(reply)


def test_org_view_names_no_rep_and_says_when_teams_are_left_out(h, engine):
    """120 managers of one rep each: the table takes 99 teams; the message says how many it left out.
    No rep's name appears anywhere in it, whatever its size."""
    for i in range(120):
        _org_team(engine, f"UMGR{i:03d}", ["root"], prefix=f"UB{i:03d}X")
    h.command(ADMIN, "org")
    reply = _reply(h)
    assert check_blocks(reply["blocks"], MESSAGE_BLOCKS) == []
    (grid,) = [b for b in reply["blocks"] if b["type"] == "table"]
    assert len(grid["rows"]) <= TABLE_ROWS
    dump = json.dumps(reply)
    assert "ZedUB" not in dump and "Riley" not in dump and "Tess" not in dump
    teams = 120 + 2  # and MANAGER's, OTHER_MANAGER's
    assert f"{teams - (TABLE_ROWS - 1)} more teams" in dump, "teams dropped from the table without a word"


def test_a_hundred_and_fifty_reps_fit_every_message_and_form(cli, h, tmp_path, engine):
    seed.bulk_team(engine, TEAM, MANAGER, 150, "UBULK")
    rows = [r for i in range(150) for r in _weeks(f"UBULK{i:04d}", [60.0 + (i % 7)] * 13)]
    code, _, err = cli("import-metrics", _csv(tmp_path, *rows))
    assert code == 0, err
    for sub in ("numbers", "mix"):
        h.command(MANAGER, sub)
        reply = _reply(h)
        assert check_blocks(reply["blocks"], MESSAGE_BLOCKS) == [], sub
        assert len(reply.get("text") or "") <= 3000, sub
        for table in (b for b in reply["blocks"] if b["type"] == "table"):
            assert len(table["rows"]) <= TABLE_ROWS
    h.command(MANAGER, "numbers")
    assert "53 more reps are in the export" in _said(h)  # 150 and REP, REP2: 99 in the table
    h.command(MANAGER, "fitrisk")
    view = opened_view(h.fake)
    assert check_blocks(view["blocks"], MODAL_BLOCKS) == [] and len(view["private_metadata"]) <= 3000


def test_names_are_escaped_in_the_numbers_text_too(cli, h, tmp_path, engine):
    """A display name is user text: in the message's `text` (what notifications and the summary's thread
    show) `<!channel>` must be as inert as in the blocks."""
    with session_scope(engine) as s:
        person = s.exec(select(Person).where(Person.team_id == TEAM, Person.slack_user_id == REP)).one()
        person.display_name = "<!channel> <https://evil.example|Riley>"
        s.add(person)
    _with_figures(cli, tmp_path)
    h.command(MANAGER, "numbers")
    reply = _reply(h)
    assert "<!channel>" not in reply["text"] and "<https://evil" not in reply["text"]
    assert "&lt;!channel&gt;" in reply["text"]
    sections = [b["text"]["text"] for b in reply["blocks"] if b["type"] == "section"]
    assert not any("<!channel>" in t for t in sections)


# === the Fit Risk form: forged and hostile submissions ==================================================


def _open_fitrisk(h: Harness, user: str = MANAGER, text: str = "fitrisk") -> dict[str, Any]:
    h.fake.reset_calls()
    h.command(user, text)
    return opened_view(h.fake)


def _answers(view: dict[str, Any], **changes: str) -> dict[str, dict[str, Any]]:
    values = {}
    for block in view["blocks"]:
        if block["type"] != "input" or block["block_id"] == REASON_BLOCK:
            continue
        default = {"q_coaching_minutes": "60", "q_span": "7"}.get(block["block_id"], "50")
        values[block["block_id"]] = txt(block["element"].get("initial_value") or default)
    values.update({key: txt(value) for key, value in changes.items()})
    return values


def _runs(engine: Any) -> list[FitRiskRun]:
    with Session(engine) as s:
        return list(s.exec(select(FitRiskRun).order_by(col(FitRiskRun.id))).all())


@pytest.mark.postgres_once("metadata")
@pytest.mark.parametrize(
    "metadata",
    ["", "not json", "[]", "null", '{"scope": 5, "prefilled": {}}', '{"scope": "", "prefilled": {}}',
     '{"scope": "org"}', '{"prefilled": {}}', json.dumps({"scope": OTHER_MANAGER, "prefilled": {}}),
     json.dumps({"scope": "org", "prefilled": {}}), json.dumps({"scope": REP, "prefilled": {}}),
     json.dumps({"scope": "x" * 5000, "prefilled": {}})],
)  # fmt: skip
def test_forged_metadata_stores_nothing_and_gets_a_polite_word(h, errors, metadata):
    view = _open_fitrisk(h)
    forged = {**view, "private_metadata": metadata}
    result = h.submit(MANAGER, forged, _answers(view))
    assert result.status == 200
    assert _runs(h.ctx.engine) == []
    (note,) = _dms_to(h, MANAGER)
    said = note.text_dump()
    assert ("could not be read" in said or "for a manager's own team" in said) and "Traceback" not in said
    assert errors() == []


def test_an_admins_org_form_cannot_be_replayed_by_a_manager(h):
    view = _open_fitrisk(h, ADMIN, "fitrisk org")
    h.submit(MANAGER, view, _answers(view))  # the org form, submitted by someone who is not an admin
    assert _runs(h.ctx.engine) == []
    h.submit(OTHER_MANAGER, _open_fitrisk(h), _answers(view))  # MANAGER's own form, in another's hands
    assert _runs(h.ctx.engine) == []


def test_answers_at_every_limit_pass_and_past_it_fail(h, playbook):
    view = _open_fitrisk(h)
    low = {block_id(q.key): f"{q.min:g}" for q in playbook.fit_risk.questions}
    high = {block_id(q.key): f"{q.max:g}" for q in playbook.fit_risk.questions}
    why = {REASON_BLOCK: "Every figure checked against the CRM this week."}
    for n, answers in enumerate((low, high)):
        result = h.submit(MANAGER, view, _answers(view, **answers, **why), view_id=f"VLIMIT{n}")
        assert result.body in ("", "{}") or "errors" not in result.body, result.body
    assert len(_runs(h.ctx.engine)) == 2
    for q in playbook.fit_risk.questions:
        for bad in (f"{q.max + 1:g}", f"{q.min - 1:g}"):
            result = h.submit(MANAGER, view, _answers(view, **{block_id(q.key): bad}, **why))
            assert block_id(q.key) in json.loads(result.body)["errors"], (q.key, bad)
    assert len(_runs(h.ctx.engine)) == 2


@pytest.mark.parametrize(
    "answer", ["٥٠", "５０", "²", "1e3", "0x10", "50 50", "5" * 5000, "\x00", "5\u200b0", "NaN", "inf", "--5", "½"]
)
def test_answers_that_are_not_plain_numbers_are_field_errors(h, errors, answer):
    view = _open_fitrisk(h)
    result = h.submit(MANAGER, view, _answers(view, q_manager_selling=answer))
    assert result.status == 200
    assert block_id("manager_selling") in json.loads(result.body)["errors"]
    assert _runs(h.ctx.engine) == [] and errors() == []


@pytest.mark.parametrize(
    "reason",
    ["short", "x" * 501, "A fine reason\x00 with a NUL", "Colours \x1b[31mred\x1b[0m are gone",
     "Right\u202eto left here", "y" * 100_000],
)  # fmt: skip
def test_reasons_past_the_limits_or_with_control_characters_are_field_errors(h, reason):
    view = _open_fitrisk(h)
    result = h.submit(MANAGER, view, _answers(view, q_seat_misfit="0", **{REASON_BLOCK: reason}))
    assert REASON_BLOCK in json.loads(result.body)["errors"]
    assert _runs(h.ctx.engine) == []


def test_a_reason_at_the_limit_is_kept_once_and_never_logged(h, caplog):
    caplog.set_level(logging.DEBUG)
    marker = "Secretive-remark-about-Riley "
    reason = (marker + "z" * 500)[:500]
    view = _open_fitrisk(h)
    values = _answers(view, q_seat_misfit="0", **{REASON_BLOCK: reason})
    body = h.submit_body(MANAGER, view, values, view_id="VREASON")
    h.post(body, FORM)
    h.post(body, FORM)  # a replay of the same signed request
    h.submit(MANAGER, view, values, view_id="VREASON")  # and Slack's retry with a new trigger
    (run,) = _runs(h.ctx.engine)
    assert run.reason == reason and run.overridden == ["seat_misfit"]
    assert len([c for c in _dms_to(h, MANAGER) if "Fit Risk Diagnostic" in str(c.args.get("text"))]) == 1
    assert marker.strip() not in caplog.text


def test_two_copies_of_one_form_at_once_are_kept_once(h):
    view = _open_fitrisk(h)
    values = _answers(view, q_manager_selling="70")
    bodies = [h.submit_body(MANAGER, view, values, view_id="VTWIN") for _ in range(2)]  # two triggers
    barrier = threading.Barrier(2)

    def send(body: bytes) -> None:
        barrier.wait(timeout=10)
        h.post(body, FORM)

    threads = [threading.Thread(target=send, args=(b,)) for b in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    h.executor.drain()
    assert len(_runs(h.ctx.engine)) == 1
    assert len([c for c in _dms_to(h, MANAGER) if "Fit Risk Diagnostic" in str(c.args.get("text"))]) == 1


def test_a_form_from_another_organisation_stores_nothing(h):
    view = _open_fitrisk(h)
    h.submit(MANAGER, view, _answers(view), team_id=FOREIGN_TEAM)  # sent as if from a Grid sibling
    h.submit(FOREIGN, view, _answers(view))  # another organisation's user, in this workspace
    h.fake.users[MANAGER]["team_id"] = FOREIGN_TEAM  # the manager's own team is now another organisation
    h.submit(MANAGER, view, _answers(view))
    assert _runs(h.ctx.engine) == []


@pytest.mark.postgres_once("state")
@pytest.mark.parametrize("state", [[], "text", 5, {"value": []}, {"value": "50"}, {"other": {}}])
def test_garbage_form_state_is_a_field_error_or_a_400_never_a_crash(h, errors, state):
    view = _open_fitrisk(h)
    payload = json.loads(dict(parse_qsl(h.submit_body(MANAGER, view, _answers(view)).decode()))["payload"])
    payload["view"]["state"]["values"][block_id("span")] = state
    result = h.post(urlencode({"payload": json.dumps(payload)}).encode(), FORM)
    assert result.status in (200, 400)
    if result.status == 200:
        assert block_id("span") in json.loads(result.body or "{}").get("errors", {})
    assert _runs(h.ctx.engine) == [] and errors() == []


# === the roster import's plan offer =====================================================================


OFFER = "plan_offer_review"


def test_forged_offer_buttons(h, engine):
    """The button's value is a person id: another workspace's hire, a rep who is no hire, the caller
    themselves, garbage; each gets a short answer and no form, and nothing is written."""
    with session_scope(engine) as s:
        other = Person(team_id=FOREIGN_TEAM, slack_user_id="UNEWHIRE", manager_user_id=MANAGER,
                       start_date=TODAY.date())  # fmt: skip
        s.add(other)
        s.flush()
        foreign_id = present(other.id)
    cases = [
        (MANAGER, str(foreign_id), "Only a rep's manager or a Coachbot admin"),
        (ADMIN, str(foreign_id), "couldn't find that hire"),
        (REP, str(_person_id(engine, REP)), "Only a rep's manager"),  # the hire opening their own plan
        (OTHER_MANAGER, str(_person_id(engine, REP)), "Only a rep's manager"),
        (MANAGER, " 1", "doesn't point at a hire"),
        (MANAGER, "1.0", "doesn't point at a hire"),
        (MANAGER, "١", "doesn't point at a hire"),
        (MANAGER, str(2**31), "doesn't point at a hire"),
    ]
    for caller, value, expected in cases:
        h.fake.reset_calls()
        assert h.action(caller, OFFER, value).status == 200
        assert expected in h.fake.last_response_text(), (caller, value, h.fake.last_response_text())
        assert h.fake.calls_to("views.open") == []
    assert _rows(engine, OnboardingPlan) == []


def test_an_offer_click_whose_form_slack_refuses_gets_a_polite_answer(h, engine, errors):
    with session_scope(engine) as s:
        person = s.exec(select(Person).where(Person.team_id == TEAM, Person.slack_user_id == REP)).one()
        person.start_date = TODAY.date() - timedelta(days=3)
        s.add(person)
    h.fake.fail_next("views.open", error="expired_trigger_id")
    h.action(MANAGER, OFFER, str(_person_id(engine, REP)))
    assert "couldn't open the form (expired_trigger_id)" in h.fake.last_response_text()
    assert errors() == []
    h.fake.lose_answer("views.open", status=0, times=5)
    h.action(MANAGER, OFFER, str(_person_id(engine, REP)))
    assert h.fake.responses(), "a dropped views.open left the manager without a word"
    assert "Traceback" not in h.fake.last_response_text()
    assert _rows(engine, OnboardingPlan) == []


# === the PIP canvas =====================================================================================


def _a_pip(engine: Any, team: str = TEAM, rep: str = REP2, manager: str = MANAGER) -> int:
    with session_scope(engine) as s:
        person = s.exec(select(Person).where(Person.team_id == team, Person.slack_user_id == rep)).first()
        if person is None:
            person = Person(team_id=team, slack_user_id=rep, manager_user_id=manager)
            s.add(person)
            s.flush()
        pip = Pip(team_id=team, person_id=present(person.id), manager_user_id=manager, drafted_by=manager,
                  gap="closing", behavior="Ask for a dated next step", weekly_count=3, sessions_per_week=1,
                  weeks=4, starts_on=date(2026, 11, 2), ends_on=date(2026, 11, 29),
                  submission_key=f"VPIP{team}{rep}")  # fmt: skip
        s.add(pip)
        s.flush()
        return present(pip.id)


def test_forged_canvas_buttons_make_no_canvas(h, engine):
    mine = _a_pip(engine)
    theirs = _a_pip(engine, FOREIGN_TEAM, "UELSEWHERE", MANAGER)
    cases = [
        (MANAGER, str(theirs)),  # another workspace's PIP, though its manager has the same user id
        (ADMIN, str(theirs)),
        (STRANGER, str(mine)),
        (REP2, str(mine)),  # the rep themselves: they may read it, not share it
        (OTHER_MANAGER, str(mine)),
        (MANAGER, "abc"),
        (MANAGER, ""),
        (MANAGER, "-1"),
        (MANAGER, str(2**40)),
    ]
    for caller, value in cases:
        h.fake.reset_calls()
        assert h.action(caller, "pip_canvas", value).status == 200
        answer = h.fake.last_response_text()
        assert answer and "Shared" not in answer, (caller, value, answer)
        assert h.fake.calls_to("canvases.create") == [], (caller, value)
    with Session(engine) as s:
        assert all(p.canvas_state is None for p in s.exec(select(Pip)).all())


def test_a_replayed_canvas_click_and_a_foreign_user_make_one_canvas_at_most(h, engine):
    pip_id = _a_pip(engine)
    h.fake.users[FOREIGN]["is_admin"] = True
    h.action(FOREIGN, "pip_canvas", str(pip_id), team_id=TEAM)
    assert h.fake.calls_to("canvases.create") == []
    body = h.action_body(MANAGER, "pip_canvas", str(pip_id))
    h.post(body, FORM)
    h.post(body, FORM)
    assert len(h.fake.calls_to("canvases.create")) == 1
    readers = set(h.fake.canvas_readers(present(_rows(engine, Pip)[0].canvas_id)))
    assert FOREIGN not in readers and GONE_ADMIN not in readers and BOT_ADMIN not in readers


def test_a_canvas_whose_sharing_slack_drops_is_retried_without_a_second_canvas(h, engine, errors):
    pip_id = _a_pip(engine)
    h.fake.lose_answer("canvases.access.set", status=0, times=5)
    h.action(MANAGER, "pip_canvas", str(pip_id))
    assert "didn't let me share it yet" in h.fake.last_response_text()
    h.action(MANAGER, "pip_canvas", str(pip_id))
    assert "Shared" in h.fake.last_response_text()
    assert len(h.fake.calls_to("canvases.create")) == 1
    assert present(_rows(engine, Pip)[0]).canvas_state == "shared" and errors() == []
