"""Fixtures: a temporary database (SQLite file, or a fresh PostgreSQL database), the Web API fake,
and a harness serving the real app over HTTP.

PostgreSQL tests use COACHBOT_TEST_PG_URL when set, else start a throwaway server from the local
PostgreSQL binaries. Without either they skip with a printed reason, unless COACHBOT_REQUIRE_PG=1
(set by .ci/run), which turns that skip into a failure.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing

import pytest
from hypothesis import settings
from sqlalchemy.engine import make_url

from bot.playbook.models import load_playbook
from storage.db import make_engine
from storage.migrate import upgrade
from tests import txn_guard
from tests.harness import Harness
from tests.pg_server import PgServer, find_bin_dir
from tests.slack_fake import SlackFakeServer

ADMIN = "UADMIN"
MANAGER = "UMANAGER"
OTHER_MANAGER = "UOTHERMGR"
REP = "UREP1"
REP2 = "UREP2"
STRANGER = "USTRANGER"


# CI runs the same generated examples every time (no run fails at random); locally each run explores anew.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "default")

FAULT_REPORT: list[str] = []


def pytest_terminal_summary(terminalreporter) -> None:
    """The fault suite's counts (cases tried, messages sent, duplicates, losses), printed every run."""
    if FAULT_REPORT:
        terminalreporter.section("fault suite counts")
        for line in FAULT_REPORT:
            terminalreporter.write_line(line)


@pytest.fixture(autouse=True)
def no_slack_call_inside_a_transaction() -> Iterator[None]:
    """Every test also checks the promise: no Slack call while a database transaction is open."""
    txn_guard.install()
    txn_guard.reset()
    yield
    found = txn_guard.reset()
    assert not found, f"{len(found)} Slack call(s) inside a database transaction; the first:\n{found[0]}"


_PG_SERVER: list[PgServer] = []


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    url = os.environ.get("COACHBOT_TEST_PG_URL")
    if url:
        yield url
        return
    bin_dir = find_bin_dir()
    if bin_dir is None:
        reason = (
            "PostgreSQL tests skipped: no COACHBOT_TEST_PG_URL and no PostgreSQL binaries (apt-get install postgresql)"
        )
        if os.environ.get("COACHBOT_REQUIRE_PG") == "1":
            pytest.fail(reason + " — and COACHBOT_REQUIRE_PG=1 forbids skipping")
        pytest.skip(reason)
    server = PgServer(bin_dir)
    try:
        url = server.start()
        _PG_SERVER.append(server)
        yield url
    finally:
        _PG_SERVER.clear()
        server.stop()


@pytest.fixture
def pg_server(pg_admin_url: str) -> PgServer:
    """The throwaway server itself (to restart it); tests that need it skip with a reason otherwise."""
    if not _PG_SERVER:
        pytest.skip("PostgreSQL restart test skipped: COACHBOT_TEST_PG_URL points at a server this run did not start")
    return _PG_SERVER[0]


_TEMPLATES: dict[str, str] = {}  # admin url or "sqlite" -> a migrated template (database name or file)


def _pg_template(admin_url: str) -> str:
    """One migrated database per run; each test gets a copy (CREATE DATABASE … TEMPLATE), not a migration."""
    if admin_url not in _TEMPLATES:
        import psycopg

        name = "cb_template_" + uuid.uuid4().hex[:8]
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        eng = make_engine(make_url(admin_url).set(database=name).render_as_string(hide_password=False))
        upgrade(eng)
        eng.dispose()  # a template must have no connections when it is copied
        _TEMPLATES[admin_url] = name
    return _TEMPLATES[admin_url]


def _sqlite_template(directory) -> str:
    if "sqlite" not in _TEMPLATES:
        path = directory / "template.db"
        eng = make_engine(f"sqlite:///{path}")
        upgrade(eng)
        eng.dispose()
        with closing(sqlite3.connect(path)) as conn:  # everything into the main file, which is what gets copied
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        _TEMPLATES["sqlite"] = str(path)
    return _TEMPLATES["sqlite"]


def _new_pg_database(admin_url: str, migrated: bool = True) -> tuple[str, str]:
    import psycopg

    template = f' TEMPLATE "{_pg_template(admin_url)}"' if migrated else ""
    name = "cb_" + uuid.uuid4().hex[:12]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"{template}')
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False), name


def _drop_pg_database(admin_url: str, name: str) -> None:
    """Clean-up of a throwaway database: retried once, and only a warning if it still fails (the
    whole cluster is deleted at the end of the run anyway)."""
    import time
    import warnings

    import psycopg

    for attempt in range(2):
        try:
            with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except psycopg.Error as exc:
            if attempt:
                warnings.warn(f"could not drop test database {name}: {exc}", stacklevel=1)
            time.sleep(1)


def _database(request: pytest.FixtureRequest, tmp_path, migrated: bool) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path / ("coachbot.db" if migrated else "blank.db")
        if migrated:
            shutil.copyfile(_sqlite_template(request.getfixturevalue("tmp_path_factory").getbasetemp()), path)
        yield f"sqlite:///{path}"
        return
    admin_url = request.getfixturevalue("pg_admin_url")
    url, name = _new_pg_database(admin_url, migrated)
    try:
        yield url
    finally:
        _drop_pg_database(admin_url, name)


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """A database at the newest schema on each backend: a copy of one migrated per run."""
    yield from _database(request, tmp_path, migrated=True)


@pytest.fixture(params=["sqlite", "postgres"])
def blank_database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """An empty database on each backend (for the migration tests)."""
    yield from _database(request, tmp_path, migrated=False)


@pytest.fixture
def engine(database_url: str):
    eng = make_engine(database_url)
    upgrade(eng)
    txn_guard.watch(eng)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def playbook():
    return load_playbook()


@pytest.fixture
def slack() -> Iterator[SlackFakeServer]:
    with SlackFakeServer() as server:
        fake = server.fake
        fake.add_user(ADMIN, "Avery", is_admin=True)
        fake.add_user(MANAGER, "Morgan", tz="Europe/London")
        fake.add_user(OTHER_MANAGER, "Oakley")
        fake.add_user(REP, "Riley", tz="America/Chicago")
        fake.add_user(REP2, "Sam")
        fake.add_user(STRANGER, "Quinn")
        fake.add_user("UBOTUSER", "Helperbot", is_bot=True)
        fake.add_user("UGONE", "Gone", deleted=True)
        fake.add_user("UFOREIGN", "Farah", team_id="T0OTHER")
        yield server


@pytest.fixture
def harness(slack: SlackFakeServer, database_url: str, engine, playbook) -> Iterator[Harness]:
    h = Harness(slack, database_url, engine, playbook, admins=frozenset())
    try:
        yield h
    finally:
        h.close()


HEADER = "rep,manager,archetype,seat,seat_archetype,coachability,drive,resilience,deal_killers,gaps,start_date\n"


@pytest.fixture
def cli(slack: SlackFakeServer, database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path, capsys):
    """Run the real `coachbot` entry point against the fake and the test database."""
    from bot.cli import main

    monkeypatch.chdir(tmp_path)  # no stray .env is read
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test-0000-secret-token")
    monkeypatch.setenv("SLACK_API_URL", slack.api_url)
    monkeypatch.setenv("DATABASE_URL", database_url)
    for var in ("COACHBOT_PLAYBOOK", "COACHBOT_ADMINS", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "COACHBOT_HOME"):
        monkeypatch.delenv(var, raising=False)

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        root = logging.getLogger()
        saved = (root.handlers[:], root.level)
        try:
            code = main(list(args))
        finally:  # commands configure logging onto this test's (soon closed) stderr: undo that
            root.handlers[:] = saved[0]
            root.setLevel(saved[1])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


@pytest.fixture
def import_csv(cli, tmp_path, slack):
    """Import CSV data rows (header added) through `coachbot import`; asserts it succeeded.

    The import's own Slack look-ups are cleared from the fake, so tests see only their own calls.
    """

    def run(*rows: str, name: str = "roster.csv") -> str:
        path = tmp_path / name
        path.write_text(HEADER + "\n".join(rows) + "\n")
        code, out, err = cli("import", str(path))
        assert code == 0, err
        slack.fake.reset_calls()
        return out

    return run


STANDARD_ROWS = (
    f"{REP},{MANAGER},Root,Hunter,Engine,72,65,40,coaching_resistance,time_pressure;discovery,2026-11-01",
    f"{REP2},{MANAGER},Engine,Hunter,Engine,80,90,70,,closing,2025-01-15",
)
