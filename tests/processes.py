"""Real `coachbot run --http` processes for fault tests: start, wait until healthy, kill, read logs."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from tests.harness import BOT_TOKEN, SIGNING_SECRET


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class BotProcess:
    def __init__(self, api_url: str, database_url: str, workdir: Path, **env: str):
        self.port = free_port()
        self.log_path = workdir / f"bot-{self.port}.log"
        self.env = {
            **os.environ,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": api_url,
            "DATABASE_URL": database_url,
            **env,
        }
        self.env.pop("COACHBOT_PLAYBOOK", None)
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30) -> BotProcess:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run", "--http", "--host", "127.0.0.1", "--port", str(self.port)],
            env=self.env,
            cwd=self.workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while not self.healthy():
            assert self.proc.poll() is None, self.log()
            assert time.monotonic() < deadline, "bot did not become healthy"
            time.sleep(0.05)
        return self

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def post(self, body: bytes, content_type: str = "application/x-www-form-urlencoded") -> tuple[int, float]:
        """A signed POST; returns (status, seconds until Slack would have seen the acknowledgement)."""
        ts = str(int(time.time()))
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/slack/events", data=body, method="POST")
        req.add_header("Content-Type", content_type)
        req.add_header("X-Slack-Request-Timestamp", ts)
        signature = SignatureVerifier(SIGNING_SECRET).generate_signature(timestamp=ts, body=body)
        assert signature is not None
        req.add_header("X-Slack-Signature", signature)
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, time.perf_counter() - started
        except urllib.error.HTTPError as err:
            return err.code, time.perf_counter() - started


def command_body(user: str, text: str, response_url: str, command: str = "/coach", team: str = "T0TEAM") -> bytes:
    return urlencode(
        {
            "team_id": team,
            "user_id": user,
            "command": command,
            "text": text,
            "response_url": response_url,
            "trigger_id": f"t{time.monotonic_ns()}",
            "channel_id": "C0PUBLIC",
            "api_app_id": "A0APP",
        }
    ).encode()


def action_body(user: str, action_id: str, value: str, response_url: str, team: str = "T0TEAM") -> bytes:
    import json

    payload = {
        "type": "block_actions",
        "team": {"id": team},
        "user": {"id": user, "team_id": team},
        "api_app_id": "A0APP",
        "trigger_id": f"t{time.monotonic_ns()}",
        "response_url": response_url,
        "container": {"type": "message", "message_ts": "1.0", "channel_id": f"D{user}"},
        "actions": [
            {"type": "button", "action_id": action_id, "value": value, "block_id": "b", "action_ts": str(time.time())}
        ],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()
