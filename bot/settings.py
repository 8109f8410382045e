"""Settings come from the environment (and `.env`); a bad value stops start-up with its name.

Where Coachbot looks (its "home"), one rule for every command:

1. `COACHBOT_HOME`, if set in the environment: the home is that directory and `.env` is read from
   it (if it has one).
2. Otherwise the nearest `.env` found walking up from the current directory (the current
   directory first, then its parents): the home is the directory holding it.
3. Otherwise no `.env` is read and the home is the current directory.

Relative file paths in the settings (the SQLite file in `DATABASE_URL`, the default
`sqlite:///coachbot.db` included, and `COACHBOT_PLAYBOOK`) are resolved against the home, never
against the process's current directory. Absolute paths and PostgreSQL URLs are used as given.
`Settings` is a pydantic-settings model: each field names its variable and its validators say what is
wrong in one line naming it. `load_settings` applies the home rule, reads the variables (environment over
`.env`) and makes each error one line of a `SettingsError`, never showing a secret (nor does the repr).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values
from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from sqlalchemy.engine import make_url

from bot.locations import (
    HOME_VAR,
    Home,
    absolute,
    resolve_database_url,
    resolve_home,
    safe_database_url,
)

DEFAULT_DATABASE_URL = "sqlite:///coachbot.db"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"
USER_ID_RE = re.compile(r"^[UW][A-Z0-9]{2,}$")
CLIENT_ID_RE = re.compile(r"^[0-9]+\.[0-9]+$")
STATE_SECRET_MIN = 32
TOKEN_KINDS = {
    "bot_token": ("SLACK_BOT_TOKEN", "xoxb-", "a bot token"),
    "app_token": ("SLACK_APP_TOKEN", "xapp-", "an app-level token"),
}
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
PROBLEM = "coachbot_setting"  # the pydantic error type whose message is already the finished line


class SettingsError(Exception):
    """Every problem found, one line per bad variable."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


def _problem(line: str) -> NoReturn:
    """Reject a value with `line`, the complete message naming the variable (and never a secret)."""
    raise PydanticCustomError(PROBLEM, "{problem}", {"problem": line})


def _home_of(info: ValidationInfo) -> Path | None:
    """The home relative paths are resolved against, if one was given (fields are validated in order,
    and `home` comes first)."""
    home = info.data.get("home")
    return Path(home) if isinstance(home, str) and home else None


class Settings(BaseSettings):
    """What Coachbot runs with. `load_settings()` builds it from the environment and `.env`;
    `Settings(...)` (tests, benchmarks) takes only its arguments and reads no variable."""

    model_config = SettingsConfigDict(
        frozen=True,
        extra="forbid",
        populate_by_name=True,  # fields can be given by name (bot_token=...) or by variable name
        validate_default=True,  # the default SQLite file is resolved against the home too
        hide_input_in_errors=True,  # a rejected value may be a secret
        case_sensitive=True,
    )

    home: str = ""  # the directory relative paths are resolved against (see the module docstring)
    home_source: str = ""  # why: "COACHBOT_HOME", ".env" or "current directory"
    dotenv_file: str = ""  # the .env that was read, "" when none was
    bot_token: str = Field("", validation_alias="SLACK_BOT_TOKEN", repr=False)
    signing_secret: str = Field("", validation_alias="SLACK_SIGNING_SECRET", repr=False)
    app_token: str = Field("", validation_alias="SLACK_APP_TOKEN", repr=False)
    # Many workspaces (OAuth install; bot.slack.installs): validated after the bot token, which they check.
    client_id: str = Field("", validation_alias="SLACK_CLIENT_ID")
    client_secret: str = Field("", validation_alias="SLACK_CLIENT_SECRET", repr=False)
    state_secret: str = Field("", validation_alias="SLACK_STATE_SECRET", repr=False)
    retention_days: int = Field(30, ge=0, le=3650, validation_alias="COACHBOT_RETENTION_DAYS")
    database_url: str = Field(DEFAULT_DATABASE_URL, validation_alias="DATABASE_URL", repr=False)  # see __repr_args__
    slack_api_url: str = Field(DEFAULT_SLACK_API_URL, validation_alias="SLACK_API_URL")
    admin_user_ids: frozenset[str] = Field(frozenset(), validation_alias="COACHBOT_ADMINS")
    default_tz: str = Field("UTC", validation_alias="COACHBOT_DEFAULT_TZ")
    playbook_path: str = Field("", validation_alias="COACHBOT_PLAYBOOK")
    log_level: str = Field("INFO", validation_alias="COACHBOT_LOG_LEVEL")
    slack_timeout: int = Field(10, ge=1, le=120, validation_alias="COACHBOT_SLACK_TIMEOUT")
    stale_after_seconds: int = Field(120, ge=1, le=3600, validation_alias="COACHBOT_STALE_AFTER")
    dispatch_threads: int = Field(8, ge=1, le=128, validation_alias="COACHBOT_DISPATCH_THREADS")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Only the arguments: which variables and which `.env` apply is the home rule's decision, so
        `load_settings` reads them (through `VariablesSource`) and passes them in."""
        return (init_settings,)

    @field_validator(
        "bot_token", "signing_secret", "app_token", "client_id", "client_secret", "state_secret", mode="before"
    )
    @classmethod
    def _strip(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value

    @field_validator("bot_token", "app_token")
    @classmethod
    def _token_kind(cls, value: str, info: ValidationInfo) -> str:
        name, prefix, kind = TOKEN_KINDS[info.field_name or ""]
        if value and not value.startswith(prefix):
            _problem(f"{name} must be {kind} starting with '{prefix}'")
        return value

    @field_validator("client_id")
    @classmethod
    def _client_id(cls, value: str, info: ValidationInfo) -> str:
        if value and not CLIENT_ID_RE.match(value):
            _problem("SLACK_CLIENT_ID must be the app's Client ID (digits with a dot, like 1234567890.1234567890)")
        if value and info.data.get("bot_token"):
            _problem(
                "SLACK_BOT_TOKEN and SLACK_CLIENT_ID are both set: set SLACK_BOT_TOKEN for one workspace, or "
                "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET for many (OAuth install), not both"
            )
        if value and info.data.get("app_token"):
            _problem("SLACK_APP_TOKEN is for Socket Mode (one workspace): unset it when SLACK_CLIENT_ID is set")
        return value

    @field_validator("client_secret")
    @classmethod
    def _client_secret(cls, value: str, info: ValidationInfo) -> str:
        given = info.data.get("client_id")  # absent: SLACK_CLIENT_ID was refused already (one line is enough)
        if given is not None and bool(given) != bool(value):
            missing = "SLACK_CLIENT_SECRET" if given else "SLACK_CLIENT_ID"
            _problem(
                f"{missing} is missing: set both SLACK_CLIENT_ID and SLACK_CLIENT_SECRET (many workspaces) or neither"
            )
        return value

    @field_validator("state_secret")
    @classmethod
    def _state_secret(cls, value: str, info: ValidationInfo) -> str:
        if not info.data.get("client_id"):
            return value
        if len(value) < STATE_SECRET_MIN:
            _problem(
                f"SLACK_STATE_SECRET must be at least {STATE_SECRET_MIN} random characters when SLACK_CLIENT_ID is "
                "set (it signs the install link's state; e.g. `openssl rand -hex 32`)"
            )
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str, info: ValidationInfo) -> str:
        url = value.strip() or DEFAULT_DATABASE_URL
        scheme = url.split(":", 1)[0].split("+", 1)[0]
        if scheme not in ("sqlite", "postgresql", "postgres"):
            _problem("DATABASE_URL must start with sqlite:/// or postgresql:// ")
        if scheme == "postgres":
            url = "postgresql" + url[len("postgres") :]
        try:
            given = make_url(url)
            home = _home_of(info)
            resolved = resolve_database_url(given, home) if home is not None else given
        except Exception:  # the value may hold a password: do not echo it
            _problem("DATABASE_URL is not a valid database URL (sqlite:///FILE or postgresql://USER@HOST/DB)")
        # Only a relative SQLite file is rewritten; other URLs stay as typed.
        return url if resolved is given else resolved.render_as_string(hide_password=False)

    @field_validator("slack_api_url")
    @classmethod
    def _slack_api_url(cls, value: str) -> str:
        url = value.strip() or DEFAULT_SLACK_API_URL
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            _problem("SLACK_API_URL must be an http(s) URL such as https://slack.com/api/")
        return url if url.endswith("/") else url + "/"

    @field_validator("admin_user_ids", mode="before")
    @classmethod
    def _split_admins(cls, value: Any) -> Any:
        """The variable is a list separated by commas and/or spaces."""
        return frozenset(value.replace(" ", ",").split(",")) - {""} if isinstance(value, str) else value

    @field_validator("admin_user_ids")
    @classmethod
    def _admins(cls, value: frozenset[str]) -> frozenset[str]:
        admins = frozenset(a.strip() for a in value if a.strip())
        bad = sorted(a for a in admins if not USER_ID_RE.match(a))
        if bad:
            _problem(
                "COACHBOT_ADMINS must be Slack user ids separated by commas (like U012ABCDEF); "
                f"not user ids: {', '.join(bad)}"
            )
        return admins

    @field_validator("default_tz")
    @classmethod
    def _default_tz(cls, value: str) -> str:
        zone = value.strip() or "UTC"
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            _problem(f"COACHBOT_DEFAULT_TZ '{zone}' is not an IANA time zone such as Europe/Berlin")
        return zone

    @field_validator("playbook_path")
    @classmethod
    def _playbook_path(cls, value: str, info: ValidationInfo) -> str:
        path = value.strip()
        if not path:
            return ""
        home = _home_of(info)
        if home is not None:
            path = str(home / Path(path).expanduser())  # an absolute path stays as it is
        if not Path(path).is_file():
            _problem(f"COACHBOT_PLAYBOOK points to '{path}', which is not a readable file")
        return path

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        level = (value.strip() or "INFO").upper()
        if level not in LOG_LEVELS:
            _problem(f"COACHBOT_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}")
        return level

    @field_validator("slack_timeout", "stale_after_seconds", "retention_days", "dispatch_threads", mode="before")
    @classmethod
    def _seconds(cls, value: Any, info: ValidationInfo) -> Any:
        """A variable holds digits only ("30", not "30s" or "+30"); the range is the field's own."""
        field = cls.model_fields[info.field_name or ""]
        low, high = _bounds(field)
        text = value.strip() if isinstance(value, str) else str(value)
        unit = {"retention_days": "days", "dispatch_threads": "threads"}.get(info.field_name or "", "seconds")
        if not text.isdigit() or not low <= int(text) <= high:
            _problem(f"{field.validation_alias} must be a whole number of {unit} from {low} to {high}")
        return int(text)

    def __repr_args__(self) -> Iterable[tuple[str | None, Any]]:
        """The repr leaves out the tokens and the signing secret and hides any database password."""
        yield from super().__repr_args__()
        yield "database_url", safe_database_url(self.database_url)

    def secrets(self) -> list[str]:
        """Values that must never reach a log line."""
        return [
            s for s in (self.bot_token, self.signing_secret, self.app_token, self.client_secret, self.state_secret) if s
        ]

    @property
    def oauth(self) -> bool:
        """Many workspaces: installed through Slack's OAuth flow, a token per workspace from the database."""
        return bool(self.client_id and self.client_secret)


def _bounds(field: FieldInfo) -> tuple[int, int]:
    """The `ge`/`le` limits of an integer field."""
    low, high = 0, 0
    for rule in field.metadata:
        low = getattr(rule, "ge", low)
        high = getattr(rule, "le", high)
    return low, high


def variable_names() -> dict[str, str]:
    """Field name -> the variable it is read from."""
    aliases = {name: field.validation_alias for name, field in Settings.model_fields.items()}
    return {name: alias for name, alias in aliases.items() if isinstance(alias, str)}


class VariablesSource(PydanticBaseSettingsSource):
    """Settings from one mapping of variables (the environment laid over `.env`): each field from the
    variable named by its `validation_alias`. Values are stripped; a blank one counts as unset."""

    def __init__(self, settings_cls: type[BaseSettings], variables: Mapping[str, str]):
        super().__init__(settings_cls)
        self.variables = variables

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        name = field.validation_alias
        value = self.variables.get(name, "").strip() if isinstance(name, str) else ""
        return (value or None), field_name, False

    def __call__(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for field_name, field in self.settings_cls.model_fields.items():
            value, key, _ = self.get_field_value(field, field_name)
            if value is not None:
                found[key] = value
        return found


def describe_startup(settings: Settings) -> str:
    """One line for start-up: which database, which `.env`, which home. No secrets."""
    database = safe_database_url(settings.database_url)
    try:
        url = make_url(settings.database_url)
        file = url.database if url.get_backend_name() == "sqlite" and url.database != ":memory:" else None
        if file and not file.startswith("file:") and not Path(file).is_file():
            database += " (no such file yet: a new, empty database will be created)"
    except Exception:
        pass
    if settings.dotenv_file:
        dotenv = f"settings from {settings.dotenv_file} and the environment"
    elif settings.home_source == HOME_VAR:
        dotenv = f"no .env in {settings.home}; settings from the environment only"
    else:
        dotenv = "no .env found in the current directory or its parents; settings from the environment only"
    return f"database {database}; {dotenv}; home {settings.home} ({settings.home_source})"


def _merged_env(
    environ: Mapping[str, str] | None, dotenv_path: str | None, cwd: Path
) -> tuple[dict[str, str], Home, list[str]]:
    real = os.environ if environ is None else environ
    home, problems = resolve_home(real, cwd, dotenv_path)
    env: dict[str, str] = {}
    if home.dotenv is not None:
        from_file = {k: v for k, v in dotenv_values(home.dotenv).items() if v is not None}
        in_file = from_file.get(HOME_VAR, "").strip()
        if in_file and absolute(home.dotenv.parent / Path(in_file).expanduser()) != home.path:
            problems.append(
                f"{HOME_VAR} is set in {home.dotenv}, where it has no effect: set it in the environment instead "
                "(it decides which .env is read)"
            )
        env.update(from_file)
    env.update(real)  # real environment wins over .env
    return env, home, problems


def settings_problems(error: ValidationError) -> list[str]:
    """One line per problem, each naming its variable; never the rejected value (it may be a secret)."""
    names = variable_names()
    problems: list[str] = []
    for detail in error.errors(include_url=False, include_input=False):
        ctx = detail.get("ctx") or {}
        if detail["type"] == PROBLEM:
            problems.append(str(ctx["problem"]))
            continue
        field = str(detail["loc"][0]) if detail["loc"] else ""
        message = detail["msg"]
        problems.append(f"{names.get(field, field or 'settings')}: {message[:1].lower()}{message[1:]}")
    return problems


def load_settings(
    required: Iterable[str] = (),
    environ: Mapping[str, str] | None = None,
    dotenv_path: str | None = None,
    cwd: str | Path | None = None,
) -> Settings:
    """Read and validate settings. `required` names the variables this command cannot run without.

    `environ` replaces the real environment, `dotenv_path` the `.env` search ("" reads none), and
    `cwd` the current directory; all three are for tests."""
    env, home, problems = _merged_env(environ, dotenv_path, Path(cwd) if cwd is not None else Path.cwd())
    for name in required:
        if name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN") and env.get("SLACK_CLIENT_ID", "").strip():
            continue  # many workspaces: each one's token comes from its installation (and HTTP only: bot.cli)
        if not env.get(name, "").strip():
            problems.append(f"{name} is missing: set it in the environment or in .env (see .env.example)")
    try:
        settings = Settings(
            **VariablesSource(Settings, env)(),
            home=str(home.path),
            home_source=home.source,
            dotenv_file=str(home.dotenv) if home.dotenv is not None else "",
        )
    except ValidationError as exc:
        raise SettingsError(problems + settings_problems(exc)) from None
    if problems:
        raise SettingsError(problems)
    return settings
