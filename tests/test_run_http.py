"""`coachbot run --http` as a real process: migrates, serves /healthz and signed Slack requests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from urllib.parse import urlencode

import pytest
from slack_sdk.signature import SignatureVerifier

from tests.conftest import REP
from tests.harness import BOT_TOKEN, SIGNING_SECRET
from tests.rows import present


def _stop(proc: subprocess.Popen[str]) -> str:
    """SIGTERM, then SIGKILL if it lingers; returns everything the process printed."""
    proc.send_signal(signal.SIGTERM)
    try:
        out, _ = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_run_http_serves_health_and_commands(slack, database_url, tmp_path, engine, playbook, import_csv):
    from datetime import UTC, datetime, timedelta

    from storage.models import Commitment
    from tests import seed
    from tests.conftest import MANAGER, STANDARD_ROWS

    import_csv(*STANDARD_ROWS)
    ended = seed.commitment(
        engine, playbook, seed.slack_user(REP), MANAGER, datetime.now(UTC).date() - timedelta(days=10)
    )  # its closeout is overdue
    port = _free_port()
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
        "DATABASE_URL": database_url,
        "COACHBOT_LOG_LEVEL": "INFO",
    }
    env.pop("COACHBOT_PLAYBOOK", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run", "--http", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert proc.poll() is None, present(proc.stdout).read()
                assert time.monotonic() < deadline, "server did not come up"
                time.sleep(0.1)
        body = urlencode(
            {
                "team_id": "T0TEAM",
                "user_id": REP,
                "command": "/coach",
                "text": "help",
                "response_url": slack.response_url("run"),
                "trigger_id": "t1",
            }
        ).encode()
        ts = str(int(time.time()))
        req = urllib.request.Request(f"http://127.0.0.1:{port}/slack/events", data=body, method="POST")
        req.add_header("Content-Type", "application/x-www-form-urlencoded")
        req.add_header("X-Slack-Request-Timestamp", ts)
        req.add_header(
            "X-Slack-Signature", present(SignatureVerifier(SIGNING_SECRET).generate_signature(timestamp=ts, body=body))
        )
        with urllib.request.urlopen(req, timeout=5) as r:
            assert r.status == 200
        slack.fake.wait_for("response_url")
        assert "/coach profile @rep" in slack.fake.responses()[-1].text_dump()
        # the scheduler ran a dispatcher pass at start-up: the overdue commitment is closed
        from sqlmodel import Session

        deadline = time.monotonic() + 15
        while True:
            with Session(engine) as s:
                if present(s.get(Commitment, ended)).status != "active":
                    break
            assert time.monotonic() < deadline, "the start-up dispatch pass did not run"
            time.sleep(0.1)
    finally:
        out = _stop(proc)
    assert "serving HTTP on 127.0.0.1" in out
    assert "kind=command name=/coach outcome=200" in out
    assert BOT_TOKEN not in out and SIGNING_SECRET not in out


@pytest.mark.sqlite_only
def test_run_with_revoked_token_fails_clearly(slack, database_url, tmp_path):
    slack.fake.fail_next("auth.test", error="invalid_auth", times=5)
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
        "DATABASE_URL": database_url,
    }
    proc = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run", "--http", "--port", "1"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "coachbot: could not start" in proc.stderr and "Traceback" not in proc.stderr
    assert BOT_TOKEN not in proc.stderr


def test_run_socket_mode_handles_commands_and_events(slack, database_url, tmp_path, import_csv):
    """`coachbot run` (Socket Mode, the default) against a local Socket Mode endpoint."""
    from tests.conftest import MANAGER, STANDARD_ROWS
    from tests.socket_fake import SocketModeFake

    import_csv(*STANDARD_ROWS)
    socket_mode = SocketModeFake()
    slack.fake.socket_url = socket_mode.url
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_APP_TOKEN": "xapp-1-test-app-token",
        "SLACK_API_URL": slack.api_url,
        "DATABASE_URL": database_url,
    }
    env.pop("SLACK_SIGNING_SECRET", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert socket_mode.connected.wait(20), "the bot never opened the Socket Mode connection"
        socket_mode.send(
            {
                "envelope_id": "env-command-1",
                "type": "slash_commands",
                "accepts_response_payload": True,
                "payload": {
                    "team_id": "T0TEAM",
                    "user_id": MANAGER,
                    "command": "/coach",
                    "text": "team",
                    "response_url": slack.response_url("socket"),
                    "trigger_id": "t-socket",
                    "channel_id": "C0PUBLIC",
                    "api_app_id": "A0APP",
                },
            }
        )
        assert socket_mode.wait_ack("env-command-1")["envelope_id"] == "env-command-1"
        slack.fake.wait_for("response_url")
        assert f"<@{REP}>" in slack.fake.responses()[-1].text_dump()
        socket_mode.send(
            {
                "envelope_id": "env-event-1",
                "type": "events_api",
                "accepts_response_payload": False,
                "payload": {
                    "type": "event_callback",
                    "team_id": "T0TEAM",
                    "api_app_id": "A0APP",
                    "event_id": "EvS1",
                    "event": {"type": "app_home_opened", "user": MANAGER, "tab": "home"},
                },
            }
        )
        socket_mode.wait_ack("env-event-1")
        publish = slack.fake.wait_for("views.publish")[-1]
        assert publish.args["user_id"] == MANAGER and "Your team" in publish.text_dump()
    finally:
        out = _stop(proc)
        socket_mode.close()
    assert "xapp-1-test-app-token" not in out and BOT_TOKEN not in out
