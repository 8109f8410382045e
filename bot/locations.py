"""Where Coachbot looks, one rule for every command: `COACHBOT_HOME` (environment only), else the
nearest `.env` upwards from the working directory; a relative SQLite path lives in that home."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url

HOME_VAR = "COACHBOT_HOME"
DOTENV_NAME = ".env"


@dataclass(frozen=True)
class Home:
    """Where settings were looked for and relative paths are resolved."""

    path: Path
    source: str
    dotenv: Path | None


def absolute(path: Path) -> Path:
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
        home = absolute(cwd / Path(explicit).expanduser())
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
            dotenv = absolute(dotenv)
            home, source = dotenv.parent, DOTENV_NAME
        else:
            home = absolute(cwd)
    return Home(home, source, absolute(dotenv) if dotenv is not None else None), problems


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
