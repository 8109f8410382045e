"""Where `.env` and the default SQLite file are found, whatever the current directory is, and the
start-up line that says which database and which `.env` are in use.

The rule: COACHBOT_HOME if set; else the folder of the nearest `.env` walking up from the current
directory; else the current directory. Relative SQLite paths are resolved against that home.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import inspect

from bot.cli import main
from bot.locations import find_dotenv_upwards
from bot.settings import SettingsError, describe_startup, load_settings
from storage.db import make_engine
from storage.migrate import current_revision, head_revision

DEFAULT_YML = Path(__file__).resolve().parent.parent / "bot" / "playbook" / "default.yml"
CLEARED = (
    "COACHBOT_HOME",
    "DATABASE_URL",
    "COACHBOT_PLAYBOOK",
    "COACHBOT_ADMINS",
    "COACHBOT_DEFAULT_TZ",
    "COACHBOT_LOG_LEVEL",
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "SLACK_API_URL",
)

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def coachbot(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Run:
    """The real entry point, with no Coachbot setting inherited from the developer's environment."""
    for var in CLEARED:
        monkeypatch.delenv(var, raising=False)

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        root = logging.getLogger()
        saved = (root.handlers[:], root.level)
        try:
            code = main(list(args))
        finally:  # dispatch and run configure logging onto this test's stderr: undo that
            root.handlers[:] = saved[0]
            root.setLevel(saved[1])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def _project(root: Path, dotenv: str = "COACHBOT_DEFAULT_TZ=Europe/Berlin\n") -> Path:
    """A project folder with a `.env` that leaves DATABASE_URL unset (so the default applies)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / ".env").write_text(dotenv)
    return root


def _at_head(db_file: Path) -> bool:
    engine = make_engine(f"sqlite:///{db_file}")
    try:
        return current_revision(engine) == head_revision() and inspect(engine).has_table("person")
    finally:
        engine.dispose()


def _no_env_above(path: Path) -> None:
    found = find_dotenv_upwards(path)
    if found is not None:
        pytest.skip(f"a stray {found} above the test folder would be found by the .env search")


def test_migrate_from_a_subdirectory_uses_the_database_next_to_the_env(coachbot, tmp_path, monkeypatch):
    project = _project(tmp_path / "project")
    elsewhere = project / "reports" / "2026"
    elsewhere.mkdir(parents=True)
    monkeypatch.chdir(elsewhere)

    code, out, err = coachbot("migrate")

    assert code == 0, err
    assert _at_head(project / "coachbot.db")
    assert not (elsewhere / "coachbot.db").exists()
    first = out.splitlines()[0]
    assert f"database sqlite:///{project / 'coachbot.db'} (no such file yet" in first
    assert f"settings from {project / '.env'}" in first and f"home {project} (.env)" in first

    # Run again from the project folder itself: the same file, already migrated (no "was ..." part).
    monkeypatch.chdir(project)
    code, out, err = coachbot("migrate")
    assert code == 0, err
    assert f"database sqlite:///{project / 'coachbot.db'};" in out.splitlines()[0]  # exists now: no "new file"
    assert f"revision {head_revision()}" in out and "(was" not in out
    assert sorted(p.name for p in project.glob("*.db")) == ["coachbot.db"]


def test_coachbot_home_wins_over_a_nearer_env(coachbot, tmp_path, monkeypatch):
    home = _project(tmp_path / "srv" / "coachbot")
    decoy = _project(tmp_path / "work", "COACHBOT_DEFAULT_TZ=Asia/Tokyo\n")
    monkeypatch.chdir(decoy)
    monkeypatch.setenv("COACHBOT_HOME", str(home))

    code, out, err = coachbot("migrate")

    assert code == 0, err
    assert _at_head(home / "coachbot.db")
    assert not (decoy / "coachbot.db").exists()
    assert f"settings from {home / '.env'}" in out and f"home {home} (COACHBOT_HOME)" in out
    assert str(decoy) not in out
    settings = load_settings()
    assert settings.default_tz == "Europe/Berlin"  # read from COACHBOT_HOME's .env, not the nearer one
    assert settings.dotenv_file == str(home / ".env")


def test_coachbot_home_without_env_reads_no_other_env(coachbot, tmp_path, monkeypatch):
    home = tmp_path / "data"
    home.mkdir()
    monkeypatch.chdir(_project(tmp_path / "work"))
    monkeypatch.setenv("COACHBOT_HOME", str(home))

    code, out, err = coachbot("migrate")

    assert code == 0, err
    assert _at_head(home / "coachbot.db")
    assert f"no .env in {home}; settings from the environment only" in out
    assert load_settings().default_tz == "UTC"


def test_without_env_or_home_the_current_directory_is_the_home(coachbot, tmp_path, monkeypatch):
    here = tmp_path / "plain"
    here.mkdir()
    _no_env_above(here)
    monkeypatch.chdir(here)

    code, out, err = coachbot("migrate")

    assert code == 0, err
    assert _at_head(here / "coachbot.db")
    assert "no .env found in the current directory or its parents" in out
    assert f"home {here} (current directory)" in out


def test_relative_sqlite_path_in_env_is_relative_to_the_home(tmp_path):
    project = _project(tmp_path / "project", "DATABASE_URL=sqlite:///var/bot.db\nCOACHBOT_PLAYBOOK=ours.yml\n")
    shutil.copy(DEFAULT_YML, project / "ours.yml")
    elsewhere = tmp_path / "project" / "sub"
    elsewhere.mkdir()

    settings = load_settings(environ={}, cwd=elsewhere)

    assert settings.database_url == f"sqlite:///{project / 'var' / 'bot.db'}"
    assert settings.playbook_path == str(project / "ours.yml")
    assert settings.home == str(project) and settings.home_source == ".env"
    tilde = load_settings(environ={"DATABASE_URL": "sqlite:///~/coachbot-test.db"}, cwd=elsewhere)
    assert tilde.database_url == f"sqlite:///{Path('~/coachbot-test.db').expanduser()}"


def test_absolute_sqlite_and_postgresql_urls_are_unchanged(tmp_path):
    _project(tmp_path)
    for given, expected in (
        (f"sqlite:///{tmp_path / 'abs.db'}", f"sqlite:///{tmp_path / 'abs.db'}"),
        ("sqlite:///:memory:", "sqlite:///:memory:"),
        ("postgresql://coach:s3cret@db.example:5432/coachbot", "postgresql://coach:s3cret@db.example:5432/coachbot"),
        ("postgres://coach:s3cret@db.example/coachbot", "postgresql://coach:s3cret@db.example/coachbot"),
        ("postgresql+psycopg://coach@db.example/coachbot", "postgresql+psycopg://coach@db.example/coachbot"),
    ):
        assert load_settings(environ={"DATABASE_URL": given}, cwd=tmp_path / "x").database_url == expected


def test_startup_line_hides_the_postgresql_password(tmp_path):
    settings = load_settings(
        environ={"DATABASE_URL": "postgresql://coach:s3cret-pw@db.example:5432/coachbot"}, dotenv_path="", cwd=tmp_path
    )
    line = describe_startup(settings)
    assert line.startswith("database postgresql://coach:***@db.example:5432/coachbot;")
    assert "s3cret-pw" not in line and "\n" not in line


def test_dispatch_logs_the_database_and_env_in_use(coachbot, tmp_path, monkeypatch):
    project = _project(
        tmp_path / "project", "SLACK_BOT_TOKEN=xoxb-from-dotenv-secret\nSLACK_API_URL=http://127.0.0.1:9/api/\n"
    )
    monkeypatch.chdir(project)

    code, out, err = coachbot("dispatch", "--now", "2026-11-30T09:00:00+00:00")

    assert code == 0, err
    lines = [line for line in err.splitlines() if " coachbot database " in line]
    assert len(lines) == 1, err
    assert f"database sqlite:///{project / 'coachbot.db'}" in lines[0] and "INFO" in lines[0]
    assert f"settings from {project / '.env'}" in lines[0]
    assert "xoxb-from-dotenv-secret" not in err + out
    assert _at_head(project / "coachbot.db")


def test_bad_settings_are_still_one_line_each_with_exit_2(coachbot, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COACHBOT_HOME", str(tmp_path / "missing"))
    monkeypatch.setenv("COACHBOT_DEFAULT_TZ", "Nowhere/Land")

    code, out, err = coachbot("migrate")

    assert code == 2 and out == ""
    assert err.strip().splitlines() == [
        f"coachbot: configuration error: COACHBOT_HOME '{tmp_path / 'missing'}' is not a directory",
        "coachbot: configuration error: COACHBOT_DEFAULT_TZ 'Nowhere/Land' is not an IANA time zone such as "
        "Europe/Berlin",
    ]
    assert not list(tmp_path.rglob("*.db"))


def test_coachbot_home_inside_env_is_refused(tmp_path):
    _project(tmp_path / "project", f"COACHBOT_HOME={tmp_path / 'other'}\n")
    with pytest.raises(SettingsError) as err:
        load_settings(environ={}, cwd=tmp_path / "project")
    assert err.value.problems == [
        f"COACHBOT_HOME is set in {tmp_path / 'project' / '.env'}, where it has no effect: set it in the "
        "environment instead (it decides which .env is read)"
    ]


def test_malformed_database_url_is_named_without_echoing_it(tmp_path):
    with pytest.raises(SettingsError) as err:
        load_settings(environ={"DATABASE_URL": "postgresql://coach:s3cret@db:notaport/x"}, dotenv_path="", cwd=tmp_path)
    assert len(err.value.problems) == 1 and err.value.problems[0].startswith("DATABASE_URL is not a valid")
    assert "s3cret" not in err.value.problems[0]


def test_dispatch_help_names_everything_it_sends(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["dispatch", "--help"])
    assert exited.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for word in ("nudges", "reminders", "closeouts", "weekly manager summaries", "COACHBOT_HOME"):
        assert word in text
