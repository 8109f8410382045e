"""Uninstall (OAuth mode): sending stops at once, the workspace's tokens go at once, its data stays for
the retention period (a reinstall picks it back up) and is deleted after it, or at once with
`coachbot purge --team T`; the other workspace never loses a row."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select, text, update
from sqlmodel import Session, SQLModel, col

from storage import queries
from storage.install_tables import bots, installations
from storage.models import Workspace
from storage.purge import team_tables
from tests import seed
from tests.conftest import HEADER, MANAGER, REP, STANDARD_ROWS
from tests.rows import present
from tests.test_oauth_install import MANAGER_B, NUDGE_TIME, REP_B, SECOND, install, oauth_cli, oauth_harness

STARTS = date(2026, 11, 12)


@pytest.fixture
def oauth(slack, database_url, engine, playbook):
    yield from oauth_harness(slack, database_url, engine, playbook)


def team_rows(engine, team_id: str) -> dict[str, int]:
    with engine.connect() as conn:
        counts = {
            t.name: conn.execute(select(func.count()).select_from(t).where(t.c.team_id == team_id)).scalar_one()
            for t in team_tables()
        }
    return {name: n for name, n in counts.items() if n}


def uninstalled_days_ago(engine, team_id: str, days: int) -> None:
    """Time passes after the uninstall (the retention clock is the recorded uninstall time)."""
    with engine.begin() as conn:
        conn.execute(
            update(Workspace)
            .where(col(Workspace.team_id) == team_id)
            .values(uninstalled_at=datetime.now(UTC) - timedelta(days=days))
        )


def test_every_table_is_team_scoped_so_a_purge_leaves_nothing_behind() -> None:
    unscoped = {t.name for t in SQLModel.metadata.sorted_tables if "team_id" not in t.c} - {"slack_oauth_states"}
    assert unscoped == set(), f"tables a purge cannot reach by team id: {unscoped}"
    assert {"slack_installations", "slack_bots", "workspace", "person", "scheduled_message"} <= {
        t.name for t in team_tables()
    }


def test_uninstall_stops_sending_deletes_tokens_and_data_goes_after_retention(
    oauth, slack, engine, playbook, cli, monkeypatch, tmp_path
):
    token_a = install(oauth, "code-a", "T0TEAM")
    install(oauth, "code-b", SECOND)
    run = oauth_cli(cli, monkeypatch)
    (tmp_path / "a.csv").write_text(HEADER + "\n".join(STANDARD_ROWS) + "\n")
    (tmp_path / "b.csv").write_text(HEADER + f"{REP_B},{MANAGER_B},Engine,Hunter,Engine,70,70,70,,discovery,\n")
    assert run("import", str(tmp_path / "a.csv"), "--team", "T0TEAM")[0] == 0
    assert run("import", str(tmp_path / "b.csv"), "--team", SECOND)[0] == 0
    seed.commitment(engine, playbook, seed.slack_user(REP), MANAGER, STARTS)
    seed.commitment(engine, playbook, seed.slack_user(REP_B, team_id=SECOND), MANAGER_B, STARTS)
    before_b = team_rows(engine, SECOND)

    # Uninstall: marked inactive and tokens deleted at once; a later request is told it is not installed.
    assert oauth.event({"type": "app_uninstalled"}, "EvGone", team_id="T0TEAM").status == 200
    with Session(engine) as s:
        ws = present(queries.get_workspace(s, "T0TEAM"))
        assert ws.active is False and ws.uninstalled_at is not None
    assert "slack_installations" not in team_rows(engine, "T0TEAM") and "slack_bots" not in team_rows(engine, "T0TEAM")
    slack.fake.revoked.add(token_a)  # as Slack does
    slack.fake.reset_calls()
    oauth.command(MANAGER, "team", team_id="T0TEAM")
    assert "isn't installed in this workspace" in slack.fake.last_response_text()
    code, _, err = run("dispatch", "--now", NUDGE_TIME)
    assert code == 0, err
    assert [c.args["channel"] for c in slack.fake.calls_to("chat.postMessage")] == [f"D{REP_B}"]

    # Within the retention period nothing is purged; a dry run counts what would go, table by table.
    code, out, _ = run("purge", "--expired", "--dry-run")
    assert code == 0 and "0 workspace(s) past 30 days" in out
    uninstalled_days_ago(engine, "T0TEAM", 31)
    code, out, _ = run("purge", "--expired", "--dry-run")
    assert code == 0 and "1 workspace(s) past 30 days: T0TEAM" in out
    counts = team_rows(engine, "T0TEAM")
    code, out, _ = run("purge", "--team", "T0TEAM", "--dry-run")
    assert code == 0 and f"would delete {sum(counts.values())} row(s) of workspace T0TEAM" in out
    assert "  person: 3" in out and "  commitment: 1" in out and "  workspace: 1" in out
    assert team_rows(engine, "T0TEAM") == counts  # nothing went

    code, out, _ = run("purge", "--expired")
    assert code == 0 and f"T0TEAM: {sum(counts.values())} row(s)" in out
    assert team_rows(engine, "T0TEAM") == {}
    after_b = team_rows(engine, SECOND)
    assert all(after_b.get(table, 0) >= n for table, n in before_b.items()), (before_b, after_b)


def test_reinstall_within_retention_picks_the_data_back_up(oauth, slack, engine, cli, monkeypatch, tmp_path):
    install(oauth, "code-1")
    (tmp_path / "a.csv").write_text(HEADER + "\n".join(STANDARD_ROWS) + "\n")
    assert oauth_cli(cli, monkeypatch)("import", str(tmp_path / "a.csv"), "--team", "T0TEAM")[0] == 0
    oauth.event({"type": "tokens_revoked", "tokens": {"bot": ["UBOT"]}}, "EvRevoked")
    with Session(engine) as s:
        assert present(queries.get_workspace(s, "T0TEAM")).active is False
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(installations)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(bots)).scalar_one() == 0

    token = install(oauth, "code-2")
    with Session(engine) as s:
        ws = present(queries.get_workspace(s, "T0TEAM"))
        assert ws.active is True and ws.uninstalled_at is None
    slack.fake.reset_calls()
    oauth.command(MANAGER, "team")
    assert f"<@{REP}>" in slack.fake.last_response_text()  # the roster is still there
    assert {c.token for c in slack.fake.calls if c.method != "response_url"} == {token}


@pytest.mark.sqlite_only
def test_purge_needs_a_team_or_expired(cli):
    assert cli("purge")[0] == 2
    code, out, _ = cli("purge", "--team", "T0NONE", "--dry-run")
    assert code == 0 and "would delete 0 row(s) of workspace T0NONE (it has none)" in out


def test_the_dispatchers_housekeeping_purges_workspaces_past_retention(
    oauth, slack, engine, cli, monkeypatch, tmp_path
):
    install(oauth, "code-1")
    (tmp_path / "a.csv").write_text(HEADER + "\n".join(STANDARD_ROWS) + "\n")
    run = oauth_cli(cli, monkeypatch, retention="7")
    assert run("import", str(tmp_path / "a.csv"), "--team", "T0TEAM")[0] == 0
    oauth.event({"type": "app_uninstalled"}, "EvGone")
    uninstalled_days_ago(engine, "T0TEAM", 6)
    assert run("dispatch")[0] == 0
    assert team_rows(engine, "T0TEAM")["person"] == 3  # six days: kept
    uninstalled_days_ago(engine, "T0TEAM", 8)
    assert run("dispatch")[0] == 0
    assert team_rows(engine, "T0TEAM") == {}


def test_a_workspace_can_have_its_own_playbook(oauth, slack, engine, cli, monkeypatch, tmp_path, caplog):
    from importlib import resources

    install(oauth, "code-a")
    install(oauth, "code-b", SECOND)
    run = oauth_cli(cli, monkeypatch)
    (tmp_path / "a.csv").write_text(HEADER + "\n".join(STANDARD_ROWS) + "\n")
    (tmp_path / "b.csv").write_text(HEADER + f"{REP_B},{MANAGER_B},Root,Hunter,Engine,70,70,70,,discovery,\n")
    assert run("import", str(tmp_path / "a.csv"), "--team", "T0TEAM")[0] == 0
    assert run("import", str(tmp_path / "b.csv"), "--team", SECOND)[0] == 0
    shipped = resources.files("bot.playbook").joinpath("default.yml").read_text()
    own = tmp_path / "ours.yml"
    own.write_text(shipped.replace("    name: Root\n", "    name: Bedrock\n", 1))
    code, out, err = run("playbook", "--team", "T0TEAM", str(own))
    assert code == 0 and "workspace T0TEAM now uses" in out, err
    bad = tmp_path / "bad.yml"
    bad.write_text("archetypes: 3\n")
    assert run("playbook", "--team", SECOND, str(bad))[0] == 2  # refused with the playbook's problems

    slack.fake.reset_calls()
    oauth.command(MANAGER, f"profile <@{REP}>", team_id="T0TEAM")
    assert "Bedrock" in slack.fake.last_response_text()
    oauth.command(MANAGER_B, f"profile <@{REP_B}>", team_id=SECOND)
    assert "Bedrock" not in slack.fake.last_response_text() and "Root" in slack.fake.last_response_text()
    assert run("playbook", "--team", "T0TEAM", "--default")[0] == 0
    oauth.ctx.team_playbooks.seen.clear()  # running bots look again within a minute; this one now
    oauth.command(MANAGER, f"profile <@{REP}>", team_id="T0TEAM")
    assert "Bedrock" not in slack.fake.last_response_text()
    # A stored playbook that no longer parses (written before a format change, say) is never a failed
    # request: the workspace gets the shared playbook and the operator one log line.
    assert run("playbook", "--team", "T0TEAM", str(own))[0] == 0
    with engine.begin() as conn:
        conn.execute(text("UPDATE workspace_playbook SET content = 'archetypes: 3' WHERE team_id = 'T0TEAM'"))
    oauth.ctx.team_playbooks.seen.clear()
    with caplog.at_level(logging.ERROR, logger="coachbot.playbook"):
        r = oauth.command(MANAGER, f"profile <@{REP}>", team_id="T0TEAM")
    assert r.status == 200 and "Root" in slack.fake.last_response_text()
    assert [m for m in caplog.messages if "workspace playbook unusable team=T0TEAM" in m]
