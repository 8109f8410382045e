"""manifest.yml matches what the code registers and uses."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from bot.settings import HOME_VAR, variable_names
from handlers import FEATURES
from handlers.coach_command import SUBCOMMANDS

ROOT = Path(__file__).resolve().parent.parent
USAGE_HINT_MAX = 1000  # Slack's app manifest schema: slash_commands[].usage_hint maxLength


class _Registrations:
    """Stands in for the Bolt app while the feature modules register: records the names they listen to."""

    def __init__(self) -> None:
        self.names: dict[str, set[str]] = defaultdict(set)

    def __getattr__(self, kind: str) -> Callable[..., Callable[[Any], Any]]:
        def listen(name: Any, *args: Any, **kwargs: Any) -> Callable[[Any], Any]:
            self.names[kind].add(str(name))
            return lambda fn: fn

        return listen


def registered_listeners() -> dict[str, set[str]]:
    recorder = _Registrations()
    for feature in FEATURES:
        feature.register(recorder)
    return recorder.names


def test_manifest_declares_what_the_code_uses():
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    commands = {c["command"]: c for c in manifest["features"]["slash_commands"]}
    registered = registered_listeners()
    assert set(commands) == registered["command"]
    assert all(c["should_escape"] for c in commands.values())
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert events == registered["event"]
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
        "canvases:write",
    }


def test_env_example_lists_every_setting():
    names = set(variable_names().values()) | {HOME_VAR}
    example = (ROOT / ".env.example").read_text()
    assert len(names) >= 12 and all(n in example for n in names)


def _coach_subcommands() -> set[str]:
    """Every subcommand `/coach` dispatches on: what the feature modules registered, plus help."""
    return {*SUBCOMMANDS, "help"}


def test_coach_usage_hint_lists_every_subcommand():
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    hint = next(c["usage_hint"] for c in manifest["features"]["slash_commands"] if c["command"] == "/coach")
    subs = _coach_subcommands()
    assert subs == {
        "help",
        "profile",
        "team",
        "request",
        "assign",
        "pause",
        "resume",
        "settings",
        "settings channel",
        "log",
        "summary",
        "pip",
        "plan",
        "mix",
        "numbers",
        "org",
        "fitrisk",
    }
    words = set(re.findall(r"[a-z]+", hint))
    missing = sorted(s for s in subs if " " not in s and s not in words)
    assert not missing, f"/coach usage_hint lacks {missing}"
    assert re.search(r"settings \[?channel", hint), "/coach usage_hint lacks settings channel"
    assert len(hint) <= 120  # Slack allows 1000, but the composer shows about one line of it
    for command in manifest["features"]["slash_commands"]:
        assert len(command.get("usage_hint", "")) <= USAGE_HINT_MAX
        assert 1 <= len(command["description"]) <= 2000


def test_the_canvas_scope_is_asked_for_because_the_code_makes_canvases():
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    code = "\n".join(p.read_text() for p in (ROOT / "bot").rglob("*.py"))
    assert ("canvases:write" in manifest["oauth_config"]["scopes"]["bot"]) == ("canvases_create(" in code)


def test_oauth_manifest_is_the_same_app_served_over_http_with_rotating_tokens():
    """manifest.oauth.yml (many workspaces) differs from manifest.yml only where OAuth mode needs it:
    request URLs on /slack/events, the redirect URL Bolt serves, token rotation, no Socket Mode."""
    from bot.slack.installs import BOT_SCOPES

    one = yaml.safe_load((ROOT / "manifest.yml").read_text())
    many = yaml.safe_load((ROOT / "manifest.oauth.yml").read_text())
    settings = many["settings"]
    assert settings["socket_mode_enabled"] is False and settings["token_rotation_enabled"] is True
    assert settings["interactivity"]["request_url"].endswith("/slack/events")
    assert settings["event_subscriptions"]["request_url"].endswith("/slack/events")
    assert all(c["url"].endswith("/slack/events") for c in many["features"]["slash_commands"])
    assert [u.rsplit("/", 2)[-2:] for u in many["oauth_config"]["redirect_urls"]] == [["slack", "oauth_redirect"]]
    assert settings["event_subscriptions"]["bot_events"] == one["settings"]["event_subscriptions"]["bot_events"]
    assert set(many["oauth_config"]["scopes"]["bot"]) == set(one["oauth_config"]["scopes"]["bot"]) == set(BOT_SCOPES)
    assert [{k: v for k, v in c.items() if k != "url"} for c in many["features"]["slash_commands"]] == one["features"][
        "slash_commands"
    ]
    assert many["display_information"] == one["display_information"]
    assert many["features"]["app_home"] == one["features"]["app_home"]
