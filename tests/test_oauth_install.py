"""Many workspaces (OAuth mode): Bolt's install flow against the Web API fake's oauth.v2.access, a
token per workspace on every request and every scheduled message, token rotation, two workspaces
at once, a request from a workspace that never installed, and the settings that choose the mode."""

from __future__ import annotations

import logging
import re
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import select
from sqlmodel import Session
from sqlmodel import select as rows_of

from bot.outbox.dispatcher import Dispatcher
from bot.slack.client import make_dispatch_client
from bot.slack.installs import NOT_INSTALLED
from storage import queries
from storage.install_tables import installations
from storage.models import Person, ScheduledMessage
from tests import seed
from tests.conftest import ADMIN, HEADER, MANAGER, REP, REP2, STANDARD_ROWS
from tests.harness import CLIENT_ID, CLIENT_SECRET, SIGNING_SECRET, STATE_SECRET, Harness
from tests.rows import present

SECOND = "T0SECOND"
ADMIN_B, MANAGER_B, REP_B = "UADMINB", "UMANAGERB", "UREPB"
NUDGE_TIME = "2026-11-16T15:00:00+00:00"  # Monday: REP's and REP_B's weekly nudge (America/Chicago 09:00)


def oauth_harness(slack, database_url, engine, playbook) -> Iterator[Harness]:
    """The real app in OAuth mode over HTTP; the fake knows a second workspace and its people."""
    slack.fake.client_credentials = (CLIENT_ID, CLIENT_SECRET)
    slack.fake.add_user(ADMIN_B, "Blake", is_admin=True, team_id=SECOND)
    slack.fake.add_user(MANAGER_B, "Drew", team_id=SECOND)
    slack.fake.add_user(REP_B, "Emery", tz="America/Chicago", team_id=SECOND)
    h = Harness(slack, database_url, engine, playbook, oauth=True)
    try:
        yield h
    finally:
        h.close()


@pytest.fixture
def oauth(slack, database_url, engine, playbook) -> Iterator[Harness]:
    yield from oauth_harness(slack, database_url, engine, playbook)


def install(h: Harness, code: str, team_id: str = "T0TEAM", expires_in: int = 43200) -> str:
    """What an admin does: open the install page, approve in Slack, land on the redirect URL."""
    h.fake.add_install_code(code, team_id, expires_in=expires_in)
    page = h.get("/slack/install")
    assert page.status == 200
    link = re.search(r'href="(https://slack.com/oauth/v2/authorize\?[^"]+)"', page.body)
    state = parse_qs(urlparse(present(link).group(1).replace("&amp;", "&")).query)["state"][0]
    cookie = page.headers["set-cookie"].split(";", 1)[0]
    done = h.get(f"/slack/oauth_redirect?code={code}&state={state}", headers={"Cookie": cookie})
    assert done.status == 200 and "Thank you!" in done.body, done.body
    return h.fake.tokens_of(team_id)[-1]


def calls_with(fake, token: str) -> list[str]:
    with fake.lock:
        return [c.method for c in fake.calls if c.token == token]


def stored(engine, team_id: str) -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(select(installations).where(installations.c.team_id == team_id)).mappings()
        return [dict(r) for r in rows]


def oauth_cli(cli, monkeypatch, retention: str = "30"):
    """The `coachbot` command in OAuth mode (no SLACK_BOT_TOKEN: each workspace's token is stored)."""
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    monkeypatch.setenv("SLACK_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("SLACK_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("SLACK_STATE_SECRET", STATE_SECRET)
    monkeypatch.setenv("COACHBOT_RETENTION_DAYS", retention)
    return cli


def test_install_stores_a_rotating_token_and_each_request_uses_it(oauth, slack, engine):
    token = install(oauth, "code-1")
    [row] = stored(engine, "T0TEAM")
    assert row["bot_token"] == token and row["bot_refresh_token"] and row["bot_token_expires_at"] is not None
    assert row["client_id"] == CLIENT_ID
    with Session(engine) as s:
        assert present(queries.get_workspace(s, "T0TEAM")).active is True
    exchange = slack.fake.calls_to("oauth.v2.access")[-1]
    assert exchange.args["code"] == "code-1" and exchange.args["client_secret"] == CLIENT_SECRET
    slack.fake.reset_calls()

    assert oauth.command(ADMIN, "settings reminders off").status == 200
    assert "Saved." in slack.fake.last_response_text()
    api = [c for c in slack.fake.calls if c.method != "response_url"]
    assert {c.token for c in api} == {token} and "users.info" in {c.method for c in api}
    with Session(engine) as s:
        assert present(queries.get_workspace(s, "T0TEAM")).reminders_enabled is False


def test_reinstall_replaces_the_token_and_keeps_one_workspace(oauth, slack, engine):
    first = install(oauth, "code-1")
    second = install(oauth, "code-2")
    assert first != second
    assert len(stored(engine, "T0TEAM")) == 2  # the store keeps the history; the newest is used
    slack.fake.reset_calls()
    oauth.command(ADMIN, "settings")
    assert calls_with(slack.fake, first) == [] and "users.info" in calls_with(slack.fake, second)
    with Session(engine) as s:
        assert present(queries.get_workspace(s, "T0TEAM")).active is True


def test_a_token_about_to_expire_is_rotated_for_requests_and_scheduled_messages(oauth, slack, engine, playbook, caplog):
    old = install(oauth, "code-1", expires_in=600)  # inside the 120-minute rotation window at once
    slack.fake.reset_calls()
    caplog.set_level(logging.INFO, logger="coachbot")
    oauth.command(ADMIN, "settings")
    [refresh] = slack.fake.calls_to("oauth.v2.access")
    assert refresh.args["grant_type"] == "refresh_token" and refresh.args["client_id"] == CLIENT_ID
    rotated = slack.fake.tokens_of("T0TEAM")[-1]
    assert rotated != old and "users.info" in calls_with(slack.fake, rotated) and calls_with(slack.fake, old) == []
    assert stored(engine, "T0TEAM")[-1]["bot_token"] == rotated

    # The dispatcher (outside any request) gets the workspace's client from the same store: it rotates again.
    seed.commitment(engine, playbook, seed.slack_user(REP), MANAGER, datetime(2026, 11, 12).date())
    slack.fake.reset_calls()
    worker = Dispatcher(
        oauth.ctx,
        make_dispatch_client(oauth.settings),
        clients=lambda team: oauth.ctx.installs.clients.get(team, "dispatch"),
    )
    report = worker.run_pass(datetime.fromisoformat(NUDGE_TIME))
    newest = slack.fake.tokens_of("T0TEAM")[-1]
    assert newest != rotated and report.sent == 1
    [post] = slack.fake.calls_to("chat.postMessage")
    assert post.token == newest and post.args["channel"] == f"D{REP}"
    assert "bot token rotated team=T0TEAM" in caplog.text
    refresh_tokens = [row["bot_refresh_token"] for row in stored(engine, "T0TEAM")]
    for secret in (old, rotated, newest, *refresh_tokens, CLIENT_SECRET):  # not even before the scrubber
        assert secret not in caplog.text


def test_a_workspace_that_never_installed_gets_a_polite_answer_and_one_log_line(oauth, slack, engine, caplog):
    install(oauth, "code-1")
    slack.fake.reset_calls()
    with caplog.at_level(logging.INFO):
        r = oauth.command("UNOBODY", "help", team_id="T0NEVER")
        e = oauth.event({"type": "app_home_opened", "user": "UNOBODY", "tab": "home"}, "EvNever", team_id="T0NEVER")
    assert r.status == 200 and e.status == 200
    assert "isn't installed in this workspace" in slack.fake.last_response_text()
    assert slack.fake.calls_to("views.publish") == [] and slack.fake.calls_to("users.info") == []
    lines = [r.getMessage() for r in caplog.records if "not installed" in r.getMessage()]
    assert lines == [
        "request from team=T0NEVER enterprise=None: not installed here; told so",
        "request from team=T0NEVER enterprise=None: not installed here; told so",
    ]
    assert all(r.levelno < logging.ERROR and not r.exc_info for r in caplog.records), [
        r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR
    ]
    with Session(engine) as s:
        assert queries.get_workspace(s, "T0NEVER") is None
    assert NOT_INSTALLED.startswith("Coachbot isn't installed")


def test_install_refuses_a_state_it_did_not_issue(oauth, slack, engine):
    oauth.fake.add_install_code("code-x", "T0TEAM")
    page = oauth.get("/slack/install")
    name, issued = page.headers["set-cookie"].split(";", 1)[0].split("=", 1)
    forged = issued.rsplit(".", 1)[0] + "." + "0" * 40  # the state's value, signed with another secret
    bad = oauth.get(f"/slack/oauth_redirect?code=code-x&state={forged}", headers={"Cookie": f"{name}={forged}"})
    assert bad.status in (400, 401) and slack.fake.calls_to("oauth.v2.access") == []
    assert stored(engine, "T0TEAM") == []
    assert oauth.get("/slack/oauth_redirect?code=code-x&state=nope").status == 400  # no cookie: not this browser


def test_two_workspaces_side_by_side_never_cross(oauth, slack, engine, playbook, cli, monkeypatch, tmp_path):
    token_a = install(oauth, "code-a", "T0TEAM")
    token_b = install(oauth, "code-b", SECOND)
    run = oauth_cli(cli, monkeypatch)
    (tmp_path / "a.csv").write_text(HEADER + "\n".join(STANDARD_ROWS) + "\n")
    (tmp_path / "b.csv").write_text(
        HEADER + f"{REP_B},{MANAGER_B},Engine,Hunter,Engine,70,70,70,,discovery,2025-01-15\n"
    )
    for team, path in (("T0TEAM", "a.csv"), (SECOND, "b.csv")):
        code, out, err = run("import", str(tmp_path / path), "--team", team)
        assert code == 0, err
    assert run("import", str(tmp_path / "a.csv"))[0] == 2  # OAuth mode: which workspace must be said
    slack.fake.reset_calls()

    # Both workspaces at once: each manager sees their own team, each admin changes their own settings.
    jobs = [
        (MANAGER, "team", "T0TEAM"),
        (MANAGER_B, "team", SECOND),
        (ADMIN, "settings reminders off", "T0TEAM"),
        (ADMIN_B, "settings summary thursday 15:00", SECOND),
    ] * 3
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda j: oauth.command(j[0], j[1], team_id=j[2]), jobs))
    assert {r.status for r in results} == {200}
    for team, token in (("T0TEAM", token_a), (SECOND, token_b)):
        users = {c.args.get("user") for c in slack.fake.calls_to("users.info") if c.token == token}
        assert users and all(slack.fake.users[u]["team_id"] == team for u in users), (team, users)
    answers = {c.args.get("text", "") + c.text_dump() for c in slack.fake.responses()}
    assert any(f"<@{REP_B}>" in a and f"<@{REP}>" not in a for a in answers)
    assert any(f"<@{REP}>" in a and f"<@{REP_B}>" not in a for a in answers)
    with Session(engine) as s:
        a, b = present(queries.get_workspace(s, "T0TEAM")), present(queries.get_workspace(s, SECOND))
        assert (a.reminders_enabled, a.nudge_weekday) == (False, 0)
        assert (b.reminders_enabled, b.summary_weekday, b.summary_hour) == (True, 3, 15)
        assert (a.summary_weekday, a.summary_hour) == (4, 16)
        people = {(p.team_id, p.slack_user_id) for p in s.exec(rows_of(Person)).all()}
    assert people == {("T0TEAM", REP), ("T0TEAM", REP2), ("T0TEAM", MANAGER), (SECOND, REP_B), (SECOND, MANAGER_B)}

    # Scheduled messages: each DM goes out with its own workspace's token.
    seed.commitment(engine, playbook, seed.slack_user(REP), MANAGER, datetime(2026, 11, 12).date())
    seed.commitment(engine, playbook, seed.slack_user(REP_B, team_id=SECOND), MANAGER_B, datetime(2026, 11, 12).date())
    slack.fake.reset_calls()
    code, out, err = run("dispatch", "--now", NUDGE_TIME)
    assert code == 0, err
    posts = {(c.args["channel"], c.token) for c in slack.fake.calls_to("chat.postMessage")}
    assert posts == {(f"D{REP}", token_a), (f"D{REP_B}", token_b)}
    with Session(engine) as s:
        rows = s.exec(rows_of(ScheduledMessage)).all()
    assert {(r.team_id, r.rep_user_id) for r in rows if r.status == "sent"} == {("T0TEAM", REP), (SECOND, REP_B)}


@pytest.mark.sqlite_only
def test_the_mode_is_chosen_by_the_settings_one_line_per_problem(cli, monkeypatch, database_url):
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    monkeypatch.setenv("SLACK_CLIENT_ID", "not-an-id")
    monkeypatch.setenv("SLACK_STATE_SECRET", "short")
    code, _, err = cli("run", "--http", "--port", "1")
    assert code == 2
    assert err.count("coachbot: configuration error:") == 1 and "SLACK_CLIENT_ID must be the app's Client ID" in err
    monkeypatch.setenv("SLACK_CLIENT_ID", CLIENT_ID)
    code, _, err = cli("run", "--http", "--port", "1")
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, lines  # the id is refused: nothing more is said about its partners
    assert "SLACK_BOT_TOKEN and SLACK_CLIENT_ID are both set" in lines[0]
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    code, _, err = cli("run", "--http", "--port", "1")
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 2 and "SLACK_CLIENT_SECRET is missing" in lines[0], lines
    assert "SLACK_STATE_SECRET must be at least 32" in lines[1]
    monkeypatch.setenv("SLACK_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("SLACK_STATE_SECRET", STATE_SECRET)
    code, _, err = cli("run")  # Socket Mode cannot serve the install pages
    assert code == 2 and "run `coachbot run --http`" in err
    assert CLIENT_SECRET not in err and STATE_SECRET not in err


@pytest.mark.sqlite_only
def test_run_http_in_oauth_mode_serves_the_install_pages_and_the_installed_workspace(slack, database_url, tmp_path):
    """`coachbot run --http` as a real process, with SLACK_CLIENT_ID instead of SLACK_BOT_TOKEN."""
    from tests.processes import BotProcess, command_body

    slack.fake.client_credentials = (CLIENT_ID, CLIENT_SECRET)
    slack.fake.add_install_code("code-p", "T0TEAM")
    env = {"SLACK_BOT_TOKEN": "", "SLACK_CLIENT_ID": CLIENT_ID, "SLACK_CLIENT_SECRET": CLIENT_SECRET}
    bot = BotProcess(slack.api_url, database_url, tmp_path, SLACK_STATE_SECRET=STATE_SECRET, **env).start()
    try:
        base = f"http://127.0.0.1:{bot.port}"
        with urllib.request.urlopen(base + "/slack/install", timeout=5) as page:
            body, cookie = page.read().decode(), page.headers["Set-Cookie"].split(";", 1)[0]
        state = cookie.split("=", 1)[1]
        assert f"state={state}" in body.replace("&amp;", "&")
        done = urllib.request.Request(
            f"{base}/slack/oauth_redirect?code=code-p&state={state}", headers={"Cookie": cookie}
        )
        with urllib.request.urlopen(done, timeout=10) as r:
            assert r.status == 200 and "Thank you!" in r.read().decode()
        token = slack.fake.tokens_of("T0TEAM")[-1]
        assert bot.post(command_body(ADMIN, "settings", slack.response_url("p")))[0] == 200
        slack.fake.wait_for("response_url")
        assert "users.info" in calls_with(slack.fake, token)
        assert bot.post(command_body(ADMIN, "help", slack.response_url("q"), team="T0NEVER"))[0] == 200
    finally:
        bot.stop()
    log = bot.log()
    assert "serving HTTP" in log and "not installed here" in log and "Traceback" not in log
    for secret in (CLIENT_SECRET, STATE_SECRET, token, token.split(".", 1)[1]):
        assert secret not in log
