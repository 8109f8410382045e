"""manifest.yml matches what the code registers and uses."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_manifest_declares_what_the_code_uses():  # type: ignore[no-untyped-def]
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    commands = {c["command"]: c for c in manifest["features"]["slash_commands"]}
    handler_source = "".join(p.read_text() for p in (ROOT / "handlers").glob("*.py"))
    registered = set(re.findall(r'@app\.command\("([^"]+)"\)', handler_source))  # string names only
    assert set(commands) == registered
    assert all(c["should_escape"] for c in commands.values())
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    handled = set(re.findall(r'@app\.event\("([^"]+)"\)', handler_source))
    assert events == handled
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "commands",
        "chat:write",
        "im:write",
        "im:history",
        "channels:read",
        "groups:read",
        "groups:history",
        "users:read",
        "users:read.email",
    }


def test_env_example_lists_every_setting():  # type: ignore[no-untyped-def]
    names = set(re.findall(r'get\("([A-Z_]+)"\)', (ROOT / "bot" / "settings.py").read_text()))
    example = (ROOT / ".env.example").read_text()
    assert names and all(n in example for n in names)
