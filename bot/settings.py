"""Settings come from the environment (and `.env`); a bad value stops start-up with its name."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

DEFAULT_DATABASE_URL = "sqlite:///coachbot.db"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"
USER_ID_RE = re.compile(r"^[UW][A-Z0-9]{2,}$")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class SettingsError(Exception):
    """Every problem found, one line per bad variable."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Settings:
    bot_token: str = ""
    signing_secret: str = ""
    app_token: str = ""
    database_url: str = DEFAULT_DATABASE_URL
    slack_api_url: str = DEFAULT_SLACK_API_URL
    admin_user_ids: frozenset[str] = field(default_factory=frozenset)
    default_tz: str = "UTC"
    playbook_path: str = ""
    log_level: str = "INFO"
    slack_timeout: int = 10
    stale_after_seconds: int = 120

    def secrets(self) -> list[str]:
        """Values that must never reach a log line."""
        return [s for s in (self.bot_token, self.signing_secret, self.app_token) if s]


def _merged_env(environ: Mapping[str, str] | None, dotenv_path: str | None) -> dict[str, str]:
    env: dict[str, str] = {}
    path = dotenv_path if dotenv_path is not None else ".env"
    if path and Path(path).is_file():
        env.update({k: v for k, v in dotenv_values(path).items() if v is not None})
    env.update(os.environ if environ is None else environ)  # real environment wins over .env
    return env


def load_settings(
    required: Iterable[str] = (),
    environ: Mapping[str, str] | None = None,
    dotenv_path: str | None = None,
) -> Settings:
    """Read and validate settings. `required` names the variables this command cannot run without."""
    env = _merged_env(environ, dotenv_path)
    problems: list[str] = []

    def get(name: str, default: str = "") -> str:
        return env.get(name, default).strip()

    for name in required:
        if not get(name):
            problems.append(f"{name} is missing: set it in the environment or in .env (see .env.example)")

    bot_token = get("SLACK_BOT_TOKEN")
    if bot_token and not bot_token.startswith("xoxb-"):
        problems.append("SLACK_BOT_TOKEN must be a bot token starting with 'xoxb-'")
    app_token = get("SLACK_APP_TOKEN")
    if app_token and not app_token.startswith("xapp-"):
        problems.append("SLACK_APP_TOKEN must be an app-level token starting with 'xapp-'")

    database_url = get("DATABASE_URL") or DEFAULT_DATABASE_URL
    scheme = database_url.split(":", 1)[0].split("+", 1)[0]
    if scheme not in ("sqlite", "postgresql", "postgres"):
        problems.append("DATABASE_URL must start with sqlite:/// or postgresql:// ")
    elif scheme == "postgres":
        database_url = "postgresql" + database_url[len("postgres") :]

    slack_api_url = get("SLACK_API_URL") or DEFAULT_SLACK_API_URL
    parsed = urlparse(slack_api_url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        problems.append("SLACK_API_URL must be an http(s) URL such as https://slack.com/api/")
    elif not slack_api_url.endswith("/"):
        slack_api_url += "/"

    admins = frozenset(a.strip() for a in get("COACHBOT_ADMINS").replace(" ", ",").split(",") if a.strip())
    bad_admins = sorted(a for a in admins if not USER_ID_RE.match(a))
    if bad_admins:
        problems.append(
            "COACHBOT_ADMINS must be Slack user ids separated by commas (like U012ABCDEF); "
            f"not user ids: {', '.join(bad_admins)}"
        )

    default_tz = get("COACHBOT_DEFAULT_TZ") or "UTC"
    try:
        ZoneInfo(default_tz)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(f"COACHBOT_DEFAULT_TZ '{default_tz}' is not an IANA time zone such as Europe/Berlin")

    playbook_path = get("COACHBOT_PLAYBOOK")
    if playbook_path and not Path(playbook_path).is_file():
        problems.append(f"COACHBOT_PLAYBOOK points to '{playbook_path}', which is not a readable file")

    log_level = (get("COACHBOT_LOG_LEVEL") or "INFO").upper()
    if log_level not in LOG_LEVELS:
        problems.append(f"COACHBOT_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}")

    numbers: dict[str, int] = {}
    for name, default, low, high in (("COACHBOT_SLACK_TIMEOUT", 10, 1, 120), ("COACHBOT_STALE_AFTER", 120, 1, 3600)):
        text = get(name) or str(default)
        if not text.isdigit() or not low <= int(text) <= high:
            problems.append(f"{name} must be a whole number of seconds from {low} to {high}")
        else:
            numbers[name] = int(text)

    if problems:
        raise SettingsError(problems)
    return Settings(
        slack_timeout=numbers["COACHBOT_SLACK_TIMEOUT"],
        stale_after_seconds=numbers["COACHBOT_STALE_AFTER"],
        bot_token=bot_token,
        signing_secret=get("SLACK_SIGNING_SECRET"),
        app_token=app_token,
        database_url=database_url,
        slack_api_url=slack_api_url,
        admin_user_ids=admins,
        default_tz=default_tz,
        playbook_path=playbook_path,
        log_level=log_level,
    )
