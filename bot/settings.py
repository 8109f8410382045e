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
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values
from sqlalchemy.engine import URL, make_url

HOME_VAR = "COACHBOT_HOME"
DOTENV_NAME = ".env"
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
    home: str = ""  # the directory relative paths are resolved against (see the module docstring)
    home_source: str = ""  # why: "COACHBOT_HOME", ".env" or "current directory"
    dotenv_file: str = ""  # the .env that was read, "" when none was

    def secrets(self) -> list[str]:
        """Values that must never reach a log line."""
        return [s for s in (self.bot_token, self.signing_secret, self.app_token) if s]


@dataclass(frozen=True)
class Home:
    """Where settings were looked for and relative paths are resolved."""

    path: Path
    source: str
    dotenv: Path | None


def _absolute(path: Path) -> Path:
    """`path` made absolute with `..` removed; symlinks are kept as the user wrote them."""
    return Path(os.path.abspath(path))


def find_dotenv_upwards(start: Path) -> Path | None:
    """The nearest `.env` file in `start` or one of its parents."""
    for folder in (start, *start.parents):
        candidate = folder / DOTENV_NAME
        if candidate.is_file():
            return candidate
    return None


def resolve_home(environ: Mapping[str, str], cwd: Path, dotenv_path: str | None = None) -> tuple[Home, list[str]]:
    """Apply the home rule. `dotenv_path` (for tests and tools) names the `.env` to read instead of
    searching; "" reads none."""
    problems: list[str] = []
    explicit = environ.get(HOME_VAR, "").strip()
    home: Path | None = None
    source = "current directory"
    if explicit:
        home = _absolute(cwd / Path(explicit).expanduser())
        source = HOME_VAR
        if not home.is_dir():
            problems.append(f"{HOME_VAR} '{explicit}' is not a directory")
    if dotenv_path is not None:
        dotenv = (cwd / dotenv_path) if dotenv_path and (cwd / dotenv_path).is_file() else None
    elif home is not None:
        dotenv = home / DOTENV_NAME if (home / DOTENV_NAME).is_file() else None
    else:
        dotenv = find_dotenv_upwards(cwd)
    if home is None:
        if dotenv is not None:
            dotenv = _absolute(dotenv)
            home, source = dotenv.parent, DOTENV_NAME
        else:
            home = _absolute(cwd)
    return Home(home, source, _absolute(dotenv) if dotenv is not None else None), problems


def resolve_database_url(url: URL, home: Path) -> URL:
    """A relative SQLite file is taken relative to `home`; anything else is returned unchanged."""
    database = url.database
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:" or database.startswith("file:"):
        return url
    path = Path(database).expanduser()  # sqlite3 itself would take "~" literally, relative to the cwd
    if path.is_absolute():
        return url if str(path) == database else url.set(database=str(path))
    return url.set(database=str(home / path))


def safe_database_url(url: str) -> str:
    """`url` for a log line: any password replaced by ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy understands: say nothing that could be a secret
        return "(unparseable DATABASE_URL)"


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
        if in_file and _absolute(home.dotenv.parent / Path(in_file).expanduser()) != home.path:
            problems.append(
                f"{HOME_VAR} is set in {home.dotenv}, where it has no effect: set it in the environment instead "
                "(it decides which .env is read)"
            )
        env.update(from_file)
    env.update(real)  # real environment wins over .env
    return env, home, problems


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
    else:
        if scheme == "postgres":
            database_url = "postgresql" + database_url[len("postgres") :]
        try:
            given = make_url(database_url)
            resolved = resolve_database_url(given, home.path)
            if resolved is not given:  # only a relative SQLite file is rewritten; other URLs stay as typed
                database_url = resolved.render_as_string(hide_password=False)
        except Exception:  # the value may hold a password: do not echo it
            problems.append("DATABASE_URL is not a valid database URL (sqlite:///FILE or postgresql://USER@HOST/DB)")

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
    if playbook_path:
        playbook_path = str(home.path / Path(playbook_path).expanduser())  # an absolute path stays as it is
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
        home=str(home.path),
        home_source=home.source,
        dotenv_file=str(home.dotenv) if home.dotenv is not None else "",
    )
