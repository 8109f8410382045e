"""An outside attack on OAuth mode (many workspaces): the install flow, requests that cross workspaces,
uninstall and revocation, purge, per-workspace playbooks and the settings that choose the mode.

Everything goes through the real app: Bolt over signed HTTP, the real WebClient against the Web API
fake, real databases, the real `coachbot` entry point. Assertions are on what Slack received, what the
database holds, HTTP statuses and the logs.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import func, select, update
from sqlmodel import Session, SQLModel, col
from sqlmodel import select as rows_of

from storage import queries
from storage.install_tables import bots, installations, oauth_states
from storage.models import CheckIn, ScheduledMessage, Workspace
from tests import seed
from tests.conftest import ADMIN, HEADER, MANAGER, REP, REP2, STANDARD_ROWS
from tests.harness import CLIENT_ID, CLIENT_SECRET, SIGNING_SECRET, STATE_SECRET, Harness, HttpResult, num, txt
from tests.rows import present
from tests.test_oauth_install import (
    ADMIN_B,
    MANAGER_B,
    NUDGE_TIME,
    REP_B,
    SECOND,
    calls_with,
    install,
    oauth_cli,
    oauth_harness,
    stored,
)

STARTS = date(2026, 11, 12)
SECRETS = (CLIENT_SECRET, STATE_SECRET, SIGNING_SECRET)


@pytest.fixture
def oauth(slack, database_url, engine, playbook) -> Iterator[Harness]:
    yield from oauth_harness(slack, database_url, engine, playbook)


# --- helpers ------------------------------------------------------------------------------------------
def team_rows(engine, team_id: str) -> dict[str, int]:
    """Rows per table holding `team_id`, over every table on the metadata (the test's own count)."""
    counts = {}
    with engine.connect() as conn:
        for t in SQLModel.metadata.sorted_tables:
            if "team_id" in t.c:
                n = conn.execute(select(func.count()).select_from(t).where(t.c.team_id == team_id)).scalar_one()
                if n:
                    counts[t.name] = int(n)
    return counts


def workspace(engine, team_id: str) -> Workspace | None:
    with Session(engine) as s:
        return queries.get_workspace(s, team_id)


def request(h: Harness, path: str, method: str = "GET", headers: dict[str, str] | None = None) -> HttpResult:
    req = urllib.request.Request(
        h.url + path, headers=headers or {}, method=method, data=b"" if method == "POST" else None
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return HttpResult(resp.status, resp.read().decode("utf-8", "replace"), dict(resp.headers.items()))
    except urllib.error.HTTPError as err:
        return HttpResult(err.code, err.read().decode("utf-8", "replace"), dict(err.headers.items()))


def start_install(h: Harness) -> tuple[str, str]:
    """Open the install page as a browser: (the state in its Slack link, the cookie it set)."""
    page = h.get("/slack/install")
    link = re.search(r'href="(https://slack.com/oauth/v2/authorize\?[^"]+)"', page.body)
    state = parse_qs(urlparse(present(link).group(1).replace("&amp;", "&")).query)["state"][0]
    return state, page.headers["set-cookie"].split(";", 1)[0]


def assert_no_leak(text: str, *tokens: str) -> None:
    assert "Traceback" not in text
    for secret in (*SECRETS, *tokens):
        assert secret not in text, secret[:12]


def two_workspaces(h: Harness, cli, monkeypatch, tmp_path, engine, playbook, retention: str = "30"):
    """A and B installed, each with its roster and one running commitment: (run, token A, token B, cid B)."""
    token_a = install(h, "code-a", "T0TEAM")
    token_b = install(h, "code-b", SECOND)
    run = oauth_cli(cli, monkeypatch, retention)
    (tmp_path / "a.csv").write_text(HEADER + "\n".join(STANDARD_ROWS) + "\n")
    (tmp_path / "b.csv").write_text(HEADER + f"{REP_B},{MANAGER_B},Engine,Hunter,Engine,70,70,70,,discovery,\n")
    assert run("import", str(tmp_path / "a.csv"), "--team", "T0TEAM")[0] == 0
    assert run("import", str(tmp_path / "b.csv"), "--team", SECOND)[0] == 0
    seed.commitment(engine, playbook, seed.slack_user(REP), MANAGER, STARTS)
    cid_b = seed.commitment(engine, playbook, seed.slack_user(REP_B, team_id=SECOND), MANAGER_B, STARTS)
    h.ctx.clock = lambda: datetime(2026, 11, 17, 15, 0, tzinfo=UTC)  # inside both commitments' week
    h.fake.reset_calls()
    return run, token_a, token_b, cid_b


def checkins_of(engine, commitment_id: int) -> int:
    with Session(engine) as s:
        return len(s.exec(rows_of(CheckIn).where(CheckIn.commitment_id == commitment_id)).all())


# --- 1. the install flow ------------------------------------------------------------------------------
@pytest.mark.sqlite_only
def test_install_pages_answer_junk_politely_never_500_and_leak_nothing(oauth, slack, engine, caplog):
    caplog.set_level(logging.DEBUG)
    page = oauth.get("/slack/install")
    assert page.status == 200 and CLIENT_ID in page.body
    state, cookie = start_install(oauth)
    answers = {
        "denied": oauth.get(f"/slack/oauth_redirect?error=access_denied&state={state}", headers={"Cookie": cookie}),
        "bare": oauth.get("/slack/oauth_redirect"),
        "no code": oauth.get(f"/slack/oauth_redirect?state={state}", headers={"Cookie": cookie}),
        "huge": oauth.get("/slack/oauth_redirect?code=" + "c" * 60_000 + "&state=" + "s" * 60_000),
        "not utf-8": oauth.get("/slack/oauth_redirect?code=%ff%fe%00&state=%c3%28", headers={"Cookie": "x=%ff"}),
        "odd error": oauth.get("/slack/oauth_redirect?error=%3Cscript%3E%0Aforged%20line"),
    }
    for name, r in answers.items():
        assert 200 <= r.status < 500, (name, r.status)
        assert "<script>" not in r.body, name
        assert_no_leak(r.body)
    assert answers["denied"].status == 200 and "access_denied" in answers["denied"].body
    assert answers["bare"].status == 400 and answers["no code"].status in (400, 401)
    assert slack.fake.calls_to("oauth.v2.access") == [] and stored(engine, "T0TEAM") == []
    # GET/POST confusion: the install pages are for browsers (GET); events are POSTed by Slack.
    assert request(oauth, "/slack/install", "POST").status == 405
    assert request(oauth, "/slack/oauth_redirect", "POST").status == 405
    assert request(oauth, "/slack/events").status == 405
    assert all(r.levelno < logging.ERROR for r in caplog.records), [r.getMessage() for r in caplog.records]
    assert not any("\n" in r.getMessage() or "<script>" in r.getMessage() for r in caplog.records)
    assert_no_leak(caplog.text)


def test_a_state_is_good_once_in_its_own_browser_for_ten_minutes(oauth, slack, engine, caplog):
    caplog.set_level(logging.DEBUG)
    token = install(oauth, "code-1")
    slack.fake.reset_calls()
    state, cookie = start_install(oauth)
    slack.fake.add_install_code("code-2", "T0TEAM")
    replay = f"/slack/oauth_redirect?code=code-2&state={state}"
    assert "Thank you!" in oauth.get(replay, headers={"Cookie": cookie}).body
    again = oauth.get(replay, headers={"Cookie": cookie})  # the same redirect twice: the state is spent
    assert again.status == 401 and len(slack.fake.calls_to("oauth.v2.access")) == 1

    mine, my_cookie = start_install(oauth)
    theirs, _ = start_install(oauth)  # another browser's (valid) state with my cookie
    assert oauth.get(f"/slack/oauth_redirect?code=code-2&state={theirs}", headers={"Cookie": my_cookie}).status == 400
    with engine.begin() as conn:  # ten minutes pass
        conn.execute(
            update(oauth_states).values(expire_at=datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=1))
        )
    assert oauth.get(f"/slack/oauth_redirect?code=code-2&state={mine}", headers={"Cookie": my_cookie}).status == 401

    slack.fake.install_codes.pop("code-2")  # Slack takes a code once: a replayed code is invalid_code
    fresh, fresh_cookie = start_install(oauth)
    r = oauth.get(f"/slack/oauth_redirect?code=code-2&state={fresh}", headers={"Cookie": fresh_cookie})
    assert r.status == 401 and "Thank you" not in r.body
    assert len(stored(engine, "T0TEAM")) == 2 and present(workspace(engine, "T0TEAM")).active
    assert_no_leak(r.body, token, *slack.fake.tokens_of("T0TEAM"))
    ours = "".join(r.getMessage() for r in caplog.records if re.match(r"coachbot\.(?!bolt)", r.name))
    states = [v.rsplit(".", 1)[0] for v in (state, mine, fresh)]  # as stored, unsigned
    assert_no_leak(ours, token, *slack.fake.tokens_of("T0TEAM"), *states)  # even at DEBUG
    assert "code-2" not in "".join(r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING)


@pytest.mark.sqlite_only
def test_an_enterprise_grid_org_install_is_refused_politely_and_nothing_kept(oauth, slack, engine, monkeypatch):
    fake = slack.fake
    answer = fake._oauth_access

    def org_wide(args):  # Slack's answer for an install into a whole Enterprise Grid organisation
        out = answer(args)
        if args.get("code") == "code-org" and out.get("ok"):
            out.update(team=None, enterprise={"id": "E0GRID", "name": "Grid Org"}, is_enterprise_install=True)
        return out

    monkeypatch.setattr(fake, "_oauth_access", org_wide)
    fake.add_install_code("code-org", "T0TEAM")
    state, cookie = start_install(oauth)
    r = oauth.get(f"/slack/oauth_redirect?code=code-org&state={state}", headers={"Cookie": cookie})
    assert r.status == 403 and "Enterprise Grid" in r.body and "each workspace" in r.body, r.body
    assert "Thank you" not in r.body and "Traceback" not in r.body
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(installations)).scalar_one() == 0
    with Session(engine) as s:
        assert s.exec(rows_of(Workspace)).all() == []
    [issued] = fake.tokens_of("T0TEAM")
    assert [c.token for c in fake.calls_to("auth.revoke")] == [issued]  # the org-wide token is given back


# --- 2. across workspaces ------------------------------------------------------------------------------
def test_nothing_crosses_workspaces_whoever_signs_which_team(
    slack, database_url, engine, playbook, cli, monkeypatch, tmp_path
):
    slack.fake.client_credentials = (CLIENT_ID, CLIENT_SECRET)
    slack.fake.add_user(ADMIN_B, "Blake", is_admin=True, team_id=SECOND)
    slack.fake.add_user(MANAGER_B, "Drew", team_id=SECOND)
    slack.fake.add_user(REP_B, "Emery", tz="America/Chicago", team_id=SECOND)
    h = Harness(slack, database_url, engine, playbook, oauth=True, admins=frozenset({MANAGER}))  # COACHBOT_ADMINS
    try:
        _, token_a, token_b, cid_b = two_workspaces(h, cli, monkeypatch, tmp_path, engine, playbook)
        # A COACHBOT_ADMINS user of A, signed as B; a Slack admin of B, signed as A.
        h.command(MANAGER, "settings reminders off", team_id=SECOND)
        h.command(MANAGER, f"assign <@{REP_B}> <@{MANAGER}>", team_id=SECOND)
        before_b = team_rows(engine, SECOND)  # (B's own bookkeeping of those two requests included)
        slack.fake.reset_calls()
        h.command(ADMIN_B, "settings reminders off", team_id="T0TEAM")
        assert (
            present(workspace(engine, "T0TEAM")).reminders_enabled
            and present(workspace(engine, SECOND)).reminders_enabled
        )
        with Session(engine) as s:
            assert present(queries.get_person(s, SECOND, REP_B)).manager_user_id == MANAGER_B
        # Forged values naming B's rows: a click and a form, from A's people and from B's own rep signed as A.
        for user in (REP, REP_B):
            h.action(user, "checkin_log", str(cid_b), team_id="T0TEAM")
            view = {
                "type": "modal",
                "callback_id": "checkin_note",
                "private_metadata": json.dumps({"commitment": cid_b}),
            }
            assert h.submit(user, view, {"count": num("2"), "note": txt("forged")}, team_id="T0TEAM").status == 200
        h.event({"type": "app_home_opened", "user": REP_B, "tab": "home"}, "EvHomeX", team_id="T0TEAM")
        assert checkins_of(engine, cid_b) == 0 and team_rows(engine, SECOND) == before_b
        shown = json.dumps([c.args for c in slack.fake.calls if c.token == token_a]) + json.dumps(
            [c.args for c in slack.fake.responses()]
        )
        assert "Emery" not in shown and "Blake" not in shown and "Saved." not in shown
        assert {c.token for c in slack.fake.calls if c.method != "response_url"} <= {token_a}
        # The same people in their own workspaces get through (so the refusals above are real ones).
        h.command(MANAGER, "settings reminders off", team_id="T0TEAM")
        assert "Saved." in slack.fake.last_response_text()
        h.action(REP_B, "checkin_log", str(cid_b), team_id=SECOND)
        assert checkins_of(engine, cid_b) == 1 and "users.info" in calls_with(slack.fake, token_b)
    finally:
        h.close()


EVENTS = (
    {"type": "app_home_opened", "user": "UNOBODY", "tab": "home"},
    {"type": "member_joined_channel", "user": "UNOBODY", "channel": "C0X"},
    {"type": "team_join", "user": {"id": "UNOBODY", "team_id": "T0X"}},
    {"type": "user_change", "user": {"id": REP, "team_id": "T0TEAM", "deleted": True, "tz": "UTC"}},
    {"type": "app_mention", "user": "UNOBODY", "text": "<@UBOT> hi", "channel": "C0X"},
    {"type": "message", "user": "UNOBODY", "text": "hi", "channel": "D0X", "channel_type": "im"},
    {"type": "app_uninstalled"},
    {"type": "tokens_revoked", "tokens": {"bot": ["UBOT"]}},
)


def test_events_for_a_workspace_not_installed_or_uninstalled_change_nothing(oauth, slack, engine, caplog):
    install(oauth, "code-a")
    slack.fake.reset_calls()
    for n, event in enumerate(EVENTS):
        assert oauth.event(event, f"EvNever{n}", team_id="T0NEVER").status == 200
    assert team_rows(engine, "T0NEVER") == {} and slack.fake.calls == []
    # A's uninstall, then (Slack's stragglers) every kind again for A: no call, no row changes.
    assert oauth.event({"type": "app_uninstalled"}, "EvGoneA").status == 200
    before = team_rows(engine, "T0TEAM")
    slack.fake.reset_calls()
    for n, event in enumerate(EVENTS):
        assert oauth.event(event, f"EvLate{n}").status == 200
    assert slack.fake.calls == [] and team_rows(engine, "T0TEAM") == before
    assert present(workspace(engine, "T0TEAM")).active is False
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


# --- 3. uninstall and revocation -------------------------------------------------------------------------
def uninstall_body(event_id: str, team_id: str = "T0TEAM", when: float | None = None, kind: str = "app_uninstalled"):
    event: dict = {"type": kind}
    if kind == "tokens_revoked":
        event["tokens"] = {"bot": ["UBOT"]}
    body = {"type": "event_callback", "team_id": team_id, "api_app_id": "A0APP", "event": event, "event_id": event_id}
    return json.dumps({**body, "event_time": int(when or time.time())}).encode()


@pytest.mark.sqlite_only
def test_a_forged_uninstall_is_401_before_parsing_and_a_replay_is_handled_once(oauth, slack, engine):
    install(oauth, "code-1")
    body = uninstall_body("EvGone")
    assert oauth.post(body, "application/json", secret="not-the-signing-secret").status == 401
    assert oauth.post(b"\xff{not json", "application/json", secret="wrong").status == 401  # never parsed: not 400
    assert oauth.post(body, "application/json", timestamp=int(time.time()) - 600).status == 401  # stale
    assert present(workspace(engine, "T0TEAM")).active and len(stored(engine, "T0TEAM")) == 1
    assert oauth.post(body, "application/json").status == 200
    assert present(workspace(engine, "T0TEAM")).active is False and stored(engine, "T0TEAM") == []
    token = install(oauth, "code-2")  # reinstalled; then the old uninstall's bytes arrive again
    assert oauth.post(body, "application/json").status == 200
    assert present(workspace(engine, "T0TEAM")).active and [r["bot_token"] for r in stored(engine, "T0TEAM")] == [token]


def test_an_uninstall_delivered_after_a_reinstall_keeps_the_new_install(oauth, slack, engine):
    first = install(oauth, "code-1")
    with engine.begin() as conn:  # installed an hour ago
        for table in (installations, bots):
            conn.execute(
                update(table)
                .where(table.c.bot_token == first)
                .values(installed_at=datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=1))
            )
    gone_at = time.time() - 30  # uninstalled half a minute ago; Slack's event is late (its first try failed)
    token = install(oauth, "code-2")
    for n, kind in enumerate(("app_uninstalled", "tokens_revoked")):
        assert oauth.post(uninstall_body(f"EvLate{n}", when=gone_at, kind=kind), "application/json").status == 200
    assert [r["bot_token"] for r in stored(engine, "T0TEAM")] == [token]
    assert present(workspace(engine, "T0TEAM")).active
    slack.fake.reset_calls()
    oauth.command(ADMIN, "settings reminders off")
    assert "Saved." in slack.fake.last_response_text() and "users.info" in calls_with(slack.fake, token)


@pytest.mark.sqlite_only
def test_tokens_revoked_for_a_user_token_only_leaves_the_bot_alone(oauth, slack, engine):
    token = install(oauth, "code-1")
    event = {"type": "tokens_revoked", "tokens": {"oauth": ["UINSTALLER"], "bot": []}}
    assert oauth.event(event, "EvUserToken").status == 200
    assert present(workspace(engine, "T0TEAM")).active and len(stored(engine, "T0TEAM")) == 1
    slack.fake.reset_calls()
    oauth.command(ADMIN, "settings")
    assert "users.info" in calls_with(slack.fake, token)
    assert oauth.event({"type": "tokens_revoked", "tokens": {"bot": ["UBOT"]}}, "EvBotToken").status == 200
    assert present(workspace(engine, "T0TEAM")).active is False and stored(engine, "T0TEAM") == []


def test_an_uninstall_during_a_dispatch_pass_stops_that_workspace_only(
    oauth, slack, engine, playbook, cli, monkeypatch, tmp_path
):
    run, token_a, token_b, _ = two_workspaces(oauth, cli, monkeypatch, tmp_path, engine, playbook)
    seed.commitment(engine, playbook, seed.slack_user(REP2), MANAGER, STARTS)
    slack.fake.delays["chat.postMessage"] = 0.4  # each post takes a while: the pass is still going
    result: list = []
    dispatch = threading.Thread(target=lambda: result.append(run("dispatch", "--now", NUDGE_TIME)))
    dispatch.start()
    deadline = time.monotonic() + 20
    while not calls_with(slack.fake, token_a) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert oauth.event({"type": "app_uninstalled"}, "EvMidPass").status == 200
    slack.fake.revoked.add(token_a)  # as Slack does at once
    sent_a = len([m for m in calls_with(slack.fake, token_a) if m == "chat.postMessage"])
    dispatch.join(30)
    assert result and result[0][0] == 0, result
    assert len([m for m in calls_with(slack.fake, token_a) if m == "chat.postMessage"]) <= sent_a + 1
    assert [c.args["channel"] for c in slack.fake.calls_to("chat.postMessage") if c.token == token_b] == [f"D{REP_B}"]
    with Session(engine) as s:
        rows = s.exec(rows_of(ScheduledMessage).where(ScheduledMessage.team_id == SECOND)).all()
    assert "sent" in [r.status for r in rows] and "failed" not in [r.status for r in rows]


# --- 4. purge ----------------------------------------------------------------------------------------
def test_purge_deletes_every_row_of_the_team_exactly_as_counted_and_nothing_else(
    oauth, slack, engine, playbook, cli, monkeypatch, tmp_path
):
    run, *_ = two_workspaces(oauth, cli, monkeypatch, tmp_path, engine, playbook)
    from importlib import resources

    (tmp_path / "own.yml").write_text(resources.files("bot.playbook").joinpath("default.yml").read_text())
    assert run("playbook", "--team", "T0TEAM", str(tmp_path / "own.yml"))[0] == 0
    oauth.command(MANAGER, "team")  # a claimed delivery row too
    before_a, before_b = team_rows(engine, "T0TEAM"), team_rows(engine, SECOND)
    assert {"slack_installations", "slack_bots", "workspace_playbook", "person", "workspace"} <= set(before_a)

    code, out, err = run("purge", "--team", "T0TEAM")  # still installed: refused, nothing goes
    assert code == 1 and "still installed" in err and "--even-if-installed" in err, (out, err)
    assert team_rows(engine, "T0TEAM") == before_a
    code, out, _ = run("purge", "--team", "T0TEAM", "--dry-run")
    assert code == 0 and f"would delete {sum(before_a.values())} row(s)" in out and "still installed" in out
    for table, n in before_a.items():
        assert f"  {table}: {n}\n" in out + "\n", (table, out)
    code, out, _ = run("purge", "--team", "T0TEAM", "--even-if-installed")
    assert code == 0 and f"deleted {sum(before_a.values())} row(s) of workspace T0TEAM" in out, out
    assert team_rows(engine, "T0TEAM") == {} and team_rows(engine, SECOND) == before_b
    slack.fake.reset_calls()
    oauth.command(MANAGER, "team")  # its tokens went too
    assert "isn't installed in this workspace" in slack.fake.last_response_text()


@pytest.mark.sqlite_only
def test_purge_refuses_bad_ids_with_a_clear_line(cli):
    for bad in ("", "t0team", "T0TEAM; DROP TABLE person", "T" + "0" * 200, "T\u00e9AM"):
        code, out, err = cli("purge", "--team", bad)
        assert code == 2 and "is not a Slack team id" in err and "Traceback" not in err, (bad, err)
    code, out, _ = cli("purge", "--team", "T0NONE", "--dry-run")
    assert code == 0 and "(it has none)" in out
    code, _, err = cli("purge", "--team", "T0NONE", "--expired")
    assert code == 2 and "either --team T or --expired" in err


def test_purge_expired_honours_retention_at_the_edges(oauth, slack, engine, playbook, cli, monkeypatch, tmp_path):
    run, *_ = two_workspaces(oauth, cli, monkeypatch, tmp_path, engine, playbook, retention="0")
    oauth.event({"type": "app_uninstalled"}, "EvGoneA")
    counted = team_rows(engine, "T0TEAM")
    code, out, _ = run("purge", "--expired", "--dry-run")  # retention 0: gone at the next housekeeping
    assert code == 0 and f"T0TEAM: {sum(counted.values())} row(s)" in out and SECOND not in out, out
    assert team_rows(engine, "T0TEAM") == counted
    code, out, _ = run("purge", "--expired")
    assert code == 0 and f"T0TEAM: {sum(counted.values())} row(s)" in out and team_rows(engine, "T0TEAM") == {}

    # B: uninstalled 29.9 days ago, reinstalled just before expiry: kept, whatever the retention.
    monkeypatch.setenv("COACHBOT_RETENTION_DAYS", "30")
    oauth.event({"type": "app_uninstalled"}, "EvGoneB", team_id=SECOND)
    with engine.begin() as conn:
        conn.execute(
            update(Workspace)
            .where(col(Workspace.team_id) == SECOND)
            .values(uninstalled_at=datetime.now(UTC) - timedelta(days=29.9))
        )
    install(oauth, "code-b2", SECOND)
    before_b = team_rows(engine, SECOND)
    assert run("purge", "--expired")[0] == 0 and team_rows(engine, SECOND) == before_b
    # A workspace whose row says "uninstalled long ago" but which holds a live installation is installed.
    with engine.begin() as conn:
        conn.execute(
            update(Workspace)
            .where(col(Workspace.team_id) == SECOND)
            .values(active=False, uninstalled_at=datetime.now(UTC) - timedelta(days=60))
        )
    code, out, _ = run("purge", "--expired")
    assert code == 0 and team_rows(engine, SECOND) == before_b, out


# --- 5. a workspace's own playbook -----------------------------------------------------------------------
@pytest.mark.sqlite_only
def test_playbook_files_bad_huge_or_for_no_workspace_are_refused_clearly(oauth, cli, monkeypatch, tmp_path, engine):
    install(oauth, "code-a")
    run = oauth_cli(cli, monkeypatch)
    (tmp_path / "bad.yml").write_text("archetypes: [\n")
    (tmp_path / "latin1.yml").write_bytes(b"archetypes:\n  - name: \xe9\xff\n")
    (tmp_path / "huge.yml").write_text("# padding\n" * 300_000)
    cases = {
        "bad.yml": "playbook",
        "latin1.yml": "UTF-8",
        "huge.yml": "too large",
        "missing.yml": "missing.yml",
    }
    for name, says in cases.items():
        code, out, err = run("playbook", "--team", "T0TEAM", str(tmp_path / name))
        assert code == 2 and says in err and "Traceback" not in err, (name, code, err)
    from importlib import resources

    good = tmp_path / "good.yml"
    good.write_text(resources.files("bot.playbook").joinpath("default.yml").read_text())
    code, _, err = run("playbook", "--team", "T0NEVER", str(good))
    assert code == 1 and "T0NEVER is not installed" in err, err
    code, _, err = run("playbook", "--team", "not a team", str(good))
    assert code == 2 and "is not a Slack team id" in err
    assert team_rows(engine, "T0NEVER") == {} and "workspace_playbook" not in team_rows(engine, "T0TEAM")


def test_one_workspaces_playbook_never_reaches_anothers_messages(
    oauth, slack, engine, playbook, cli, monkeypatch, tmp_path
):
    from importlib import resources

    run, token_a, token_b, _ = two_workspaces(oauth, cli, monkeypatch, tmp_path, engine, playbook)
    shipped = resources.files("bot.playbook").joinpath("default.yml").read_text()
    marked = re.sub(r"(\n\s+name: )Engine\n", r"\1Turbine\n", shipped, count=1)
    assert marked != shipped
    (tmp_path / "a.yml").write_text(marked)
    assert run("playbook", "--team", "T0TEAM", str(tmp_path / "a.yml"))[0] == 0
    oauth.command(MANAGER_B, f"profile <@{REP_B}>", team_id=SECOND)
    assert "Turbine" not in slack.fake.last_response_text() and "Engine" in slack.fake.last_response_text()
    slack.fake.reset_calls()
    assert run("dispatch", "--now", NUDGE_TIME)[0] == 0
    b_posts = [c.text_dump() for c in slack.fake.calls_to("chat.postMessage") if c.token == token_b]
    assert b_posts and not any("Turbine" in p for p in b_posts)


# --- 6. settings --------------------------------------------------------------------------------------
@pytest.mark.sqlite_only
def test_settings_combinations_one_line_each_exit_2_no_secret(cli, monkeypatch):
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    cases = [
        ({"SLACK_CLIENT_SECRET": CLIENT_SECRET}, ["SLACK_CLIENT_ID is missing"]),
        (
            {"SLACK_CLIENT_ID": CLIENT_ID, "SLACK_BOT_TOKEN": "", "SLACK_STATE_SECRET": STATE_SECRET},
            ["SLACK_CLIENT_SECRET is missing"],
        ),
        (
            {"SLACK_CLIENT_ID": CLIENT_ID, "SLACK_CLIENT_SECRET": CLIENT_SECRET, "SLACK_BOT_TOKEN": ""},
            ["SLACK_STATE_SECRET must be at least 32"],
        ),
        (
            {
                "SLACK_CLIENT_ID": CLIENT_ID,
                "SLACK_CLIENT_SECRET": CLIENT_SECRET,
                "SLACK_STATE_SECRET": STATE_SECRET,
                "SLACK_BOT_TOKEN": "",
                "SLACK_APP_TOKEN": "xapp-1-secret-app-token",
            },
            ["SLACK_APP_TOKEN is for Socket Mode"],
        ),
        (
            {
                "SLACK_CLIENT_ID": CLIENT_ID,
                "SLACK_CLIENT_SECRET": "  ",
                "SLACK_STATE_SECRET": "",
                "SLACK_BOT_TOKEN": "xoxp-user",
            },
            ["SLACK_BOT_TOKEN must be a bot token", "SLACK_CLIENT_SECRET is missing", "SLACK_STATE_SECRET must be"],
        ),
    ]
    for env, expected in cases:
        for var in ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "SLACK_STATE_SECRET", "SLACK_APP_TOKEN"):
            monkeypatch.delenv(var, raising=False)
        monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test-0000-secret-token")
        for var, value in env.items():
            monkeypatch.setenv(var, value)
        code, out, err = cli("dispatch", "--now", "never")  # settings are checked first
        lines = err.strip().splitlines()
        assert code == 2 and len(lines) == len(expected), (env, lines)
        for line, says in zip(lines, expected, strict=True):
            assert line.startswith("coachbot: configuration error:") and says in line, (env, line)
        assert_no_leak(out + err, "xapp-1-secret-app-token", "xoxb-test-0000-secret-token")
