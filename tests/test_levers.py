"""The three levers end to end: `coachbot import-metrics` through the real entry point (all or
nothing, idempotent), and `/coach numbers`, `/coach mix`, `/coach org` through the real Bolt
app, with privacy for each role and every message inside Block Kit's limits."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from bot.slack.limits import MESSAGE_BLOCKS, check_blocks
from storage.models import Commitment, EmploymentEvent, Person, RepMetric
from tests.conftest import ADMIN, MANAGER, OTHER_MANAGER, REP, REP2, STANDARD_ROWS, STRANGER

TODAY = datetime(2026, 12, 6, 15, 0, tzinfo=UTC)
COLUMNS = "rep,period,quota_attainment,pipeline_created,pipeline_quality,event,event_date,exit_type\n"


def _weeks(rep: str, values: list[float], quality: float = 60.0) -> list[str]:
    """Weekly rows for the 13 weeks up to the week of TODAY, oldest first."""
    monday = TODAY.date() - timedelta(days=TODAY.weekday())
    rows = []
    for i, value in enumerate(values):
        start = monday - timedelta(weeks=len(values) - 1 - i)
        year, week, _ = start.isocalendar()
        rows.append(f"{rep},{year}-W{week:02d},{value},10000,{quality},,,")
    return rows


@pytest.fixture
def metrics_file(tmp_path):
    def write(*rows: str, name: str = "metrics.csv") -> str:
        path = tmp_path / name
        path.write_text(COLUMNS + "\n".join(rows) + "\n")
        return str(path)

    return write


@pytest.fixture
def h(harness, import_csv):
    import_csv(*STANDARD_ROWS)
    harness.ctx.clock = lambda: TODAY
    return harness


def _rows(engine, model) -> list[Any]:
    with Session(engine) as s:
        return list(s.exec(select(model)).all())


def _reply(h) -> dict[str, Any]:
    responses = h.fake.responses()
    assert responses, "no reply reached the user"
    return responses[-1].args


def _closed(engine, rep: str, *outcomes: bool) -> None:
    """Closed commitments for `rep`, one a week going back from TODAY."""
    with Session(engine) as s:
        person = s.exec(select(Person).where(Person.slack_user_id == rep)).one()
        for i, met in enumerate(outcomes):
            closed = TODAY - timedelta(weeks=i)
            s.add(
                Commitment(
                    team_id="T0TEAM", person_id=person.id or 0, manager_user_id=MANAGER, gap="discovery",
                    behavior="Ask about cost before any demo", target_count=3, practice_format="role_play",
                    evidence="recorded calls", status="met" if met else "missed",
                    starts_on=closed.date() - timedelta(days=6), ends_on=closed.date(),
                    submission_key=f"seed-{rep}-{i}", closed_at=closed,
                )
            )  # fmt: skip
        s.commit()


def test_import_metrics_stores_once_and_again_changes_nothing(cli, h, metrics_file):
    path = metrics_file(*_weeks(REP, [80.0] * 13), f"{REP2},2026-11,95.5,,,exit,2026-11-30,voluntary")
    code, out, err = cli("import-metrics", path)
    assert code == 0, err
    assert "14 period(s) added, 0 updated, 0 unchanged" in out and "1 added" in out
    metrics = _rows(h.ctx.engine, RepMetric)
    assert len(metrics) == 14 and {m.period for m in metrics} == {"week", "month"}
    (event,) = _rows(h.ctx.engine, EmploymentEvent)
    assert (event.kind, event.occurred_on, event.exit_type) == ("exit", date(2026, 11, 30), "voluntary")
    code, out, _ = cli("import-metrics", path)  # the same file again
    assert code == 0 and "0 period(s) added, 0 updated, 14 unchanged" in out and "1 already on record" in out
    assert len(_rows(h.ctx.engine, RepMetric)) == 14 and len(_rows(h.ctx.engine, EmploymentEvent)) == 1
    code, out, _ = cli("import-metrics", metrics_file(f"{REP2},2026-11,97,,,,,", name="fix.csv"))
    assert code == 0 and "1 updated" in out
    assert [m.quota_attainment for m in _rows(h.ctx.engine, RepMetric) if m.period == "month"] == [97.0]


def test_a_bad_metrics_file_changes_nothing_and_names_each_row(cli, h, metrics_file):
    path = metrics_file(f"{REP},2026-W45,80,,,,,", "UNOBODY,2026-W45,80,,,,,", f"{REP2},2026-W45,abc,,,,,")
    code, out, err = cli("import-metrics", path)
    assert code == 1 and "nothing was changed" in err
    assert "row 2: rep UNOBODY is not on this workspace's roster" in err
    assert "row 3: quota_attainment 'abc' is not a plain number" in err
    assert _rows(h.ctx.engine, RepMetric) == []


def test_dry_run_and_json(cli, h, tmp_path):
    path = tmp_path / "metrics.json"
    path.write_text(
        json.dumps({"metrics": [{"rep": "riley@example.com", "period": "2026-W45", "pipeline_quality": 55}]})
    )
    code, out, _ = cli("import-metrics", str(path), "--dry-run")
    assert code == 0 and out.strip().endswith("employment events: 0 added, 0 already on record")
    assert "dry run, nothing written" in out and _rows(h.ctx.engine, RepMetric) == []
    code, _, _ = cli("import-metrics", str(path))
    assert code == 0 and [m.pipeline_quality for m in _rows(h.ctx.engine, RepMetric)] == [55.0]


def test_numbers_reads_each_rep_and_shows_a_table_and_a_trend(cli, h, metrics_file):
    rising = [60.0 + 2 * i for i in range(13)]
    assert cli("import-metrics", metrics_file(*_weeks(REP, [80.0] * 13), *_weeks(REP2, rising)))[0] == 0
    _closed(h.ctx.engine, REP, True, True, False, True)  # behaviors showing up, numbers flat
    _closed(h.ctx.engine, REP2, True, True, True)  # behaviors showing up, numbers rising
    h.command(MANAGER, "numbers")
    reply = _reply(h)
    blocks = reply["blocks"]
    assert check_blocks(blocks, MESSAGE_BLOCKS) == []
    (grid,) = [b for b in blocks if b["type"] == "table"]
    cells = [[c["text"] for c in row] for row in grid["rows"]]
    assert cells[0][:4] == ["Rep", "Met 4w", "Met 8w", "Met 12w"]
    by_name = {row[0]: row for row in cells[1:]}
    assert by_name["Riley"][-1] == "environment or seat?" and by_name["Riley"][2] == "3/4"
    assert by_name["Sam"][-1] == "working" and by_name["Sam"][4] == "+26 pts"
    (trend,) = [b for b in blocks if b["type"] == "data_visualization"]
    assert trend["chart"]["type"] == "line" and "Attainment %" in [s["name"] for s in trend["chart"]["series"]]
    assert "Riley: environment or seat?" in reply["text"]


def test_numbers_privacy_and_empty_states(cli, h, metrics_file):
    h.command(MANAGER, "numbers")
    assert "No numbers have been imported yet" in json.dumps(_reply(h))
    assert cli("import-metrics", metrics_file(*_weeks(REP, [80.0] * 3)))[0] == 0
    for user in (OTHER_MANAGER, REP, STRANGER):
        h.command(user, "numbers")
        assert "no reps on the Coachbot roster" in json.dumps(_reply(h)), user
    h.command("UFOREIGN", "numbers", team_id="T0TEAM")
    assert "Riley" not in json.dumps(_reply(h))


def test_composition_names_the_managers_own_reps_only(h):
    h.command(MANAGER, "mix")
    reply = _reply(h)
    assert check_blocks(reply["blocks"], MESSAGE_BLOCKS) == []
    text = json.dumps(reply)
    # REP is a Root in an Engine seat; REP2 an Engine in an Engine seat (STANDARD_ROWS)
    assert "*Seat-fit mismatches*: 1: Riley (Root in an Engine seat)" in text
    assert "Single point of failure*: only Sam" in text
    (mix,) = [b for b in reply["blocks"] if b["type"] == "data_visualization"]
    assert mix["chart"]["axis_config"]["categories"] == ["Engine", "Root"]
    h.command(OTHER_MANAGER, "mix")
    assert "no reps on the Coachbot roster" in json.dumps(_reply(h))


def test_org_is_for_admins_and_withholds_small_groups(h, cli, metrics_file):
    for user in (MANAGER, REP, STRANGER):
        h.command(user, "org")
        assert "Only Coachbot admins" in json.dumps(_reply(h)), user
    h.command(ADMIN, "org")  # a Slack admin of this workspace (the fake's is_admin flag)
    reply = _reply(h)
    assert check_blocks(reply["blocks"], MESSAGE_BLOCKS) == []
    (grid,) = [b for b in reply["blocks"] if b["type"] == "table"]
    rows = [[c["text"] for c in row] for row in grid["rows"]]
    assert rows[0] == ["Manager", "Reps", "Span", "Mismatches", "Flags", "Single points"]
    assert rows[1] == ["Morgan", "2", "under 6", "1", "1", "1"]
    text = json.dumps(reply)
    assert "fewer than 5 people, not shown" in text and "Riley" not in text and "Sam" not in text


def test_the_weekly_summary_carries_the_numbers_in_its_thread(cli, h, metrics_file):
    h.command(MANAGER, "summary")
    before = [c for c in h.fake.calls_to("chat.postMessage") if any(b["type"] == "table" for b in c.blocks)]
    assert before == []  # no figures imported: no extra message
    assert cli("import-metrics", metrics_file(*_weeks(REP, [70.0 + i for i in range(13)])))[0] == 0
    _closed(h.ctx.engine, REP, False, False, True)
    h.fake.reset_calls()
    h.command(MANAGER, "summary")
    posts = h.fake.calls_to("chat.postMessage")
    (numbers,) = [c for c in posts if any(b["type"] == "table" for b in c.blocks)]
    assert numbers is not posts[0] and numbers.args.get("thread_ts")  # in the summary's thread
    assert check_blocks(numbers.blocks, MESSAGE_BLOCKS) == []
    assert "Riley: re-diagnose" in numbers.args["text"] and "Sam: too few cycles" in numbers.args["text"]


def test_the_managers_home_has_one_line_per_rep_once_figures_exist(cli, h, metrics_file):
    def home() -> str:
        h.event({"type": "app_home_opened", "user": MANAGER, "tab": "home"}, event_id=f"EvH{len(h.fake.calls)}")
        view = h.fake.calls_to("views.publish")[-1].args["view"]
        return json.dumps(json.loads(view) if isinstance(view, str) else view)

    assert "beside the numbers" not in home()
    assert cli("import-metrics", metrics_file(*_weeks(REP, [80.0] * 13)))[0] == 0
    _closed(h.ctx.engine, REP, True, True, False, True)
    text = home()
    assert "Coached behaviors beside the numbers" in text and "Riley: environment or seat?" in text
    assert "Sam: too few cycles" in text
