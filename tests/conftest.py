"""Fixtures: a temporary database (SQLite file, or a fresh PostgreSQL database), the Web API fake,
and a harness serving the real app over HTTP.

PostgreSQL tests use COACHBOT_TEST_PG_URL when set, else start a throwaway server from the local
PostgreSQL binaries. Without either they skip with a printed reason, unless COACHBOT_REQUIRE_PG=1
(set by .ci/run), which turns that skip into a failure.

Each test gets its own database, copied from a template that is migrated once per test process (a
file copy on SQLite, CREATE DATABASE ... TEMPLATE on PostgreSQL). On PostgreSQL the server starts,
and the copy for the next test is made, on a background thread while tests run.

Under pytest-xdist (`-n 4`, as scripts/test runs it) every worker is its own process with its own
databases and, without COACHBOT_TEST_PG_URL, its own throwaway server; the fault suite's report
lines travel back to the controller, which prints them.

`@pytest.mark.sqlite_only` runs a test that uses `database_url` on SQLite alone: for behaviour the
database backend cannot change (parsing, validation, rendering, the request guard, Slack retries).
`@pytest.mark.postgres_once("user")` runs a parametrized test's every variant on SQLite and one on
PostgreSQL, for parameters the backend cannot change (who is refused, which Slack fault): the flow
still runs on both databases, its input variations on one.
"""

from __future__ import annotations

import functools
import gc
import json
import logging
import os
import shutil
import sqlite3
import sys
import tempfile
import uuid
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.pg_server import PgServer, find_bin_dir

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from tests.harness import Harness
    from tests.slack_fake import SlackFakeServer

# The app, SQLAlchemy and Hypothesis are imported where they are used: the xdist controller, which
# runs no test, then starts in a fraction of the time (and the workers, which do, import them anyway).

ADMIN = "UADMIN"
MANAGER = "UMANAGER"
OTHER_MANAGER = "UOTHERMGR"
REP = "UREP1"
REP2 = "UREP2"
STRANGER = "USTRANGER"


FAULT_REPORT: list[str] = []
_REPORT_KEY = "coachbot_fault_report"


def pytest_terminal_summary(terminalreporter) -> None:
    """The fault suite's counts (cases tried, messages sent, duplicates, losses), printed every run
    (sorted: the same order whichever worker ran which test)."""
    if FAULT_REPORT:
        terminalreporter.section("fault suite counts")
        for line in sorted(FAULT_REPORT):
            terminalreporter.write_line(line)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    """xdist controller: a worker is done; its report lines join the controller's (printed above)."""
    FAULT_REPORT.extend(getattr(node, "workeroutput", {}).get(_REPORT_KEY, []))


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: hand the report lines to the controller
        workeroutput[_REPORT_KEY] = list(FAULT_REPORT)
    if _PG:
        _PG[0].close()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sqlite_only: run on SQLite only; the database backend cannot change what the test checks"
    )
    config.addinivalue_line(
        "markers", "runs_long: takes 5 s or more (bot processes, Retry-After waits); scheduled early in the run"
    )
    config.addinivalue_line(
        "markers",
        "postgres_once(*argnames, **values): on PostgreSQL run only the first value of these parameters, or"
        " the given values (they vary input the backend cannot change: who is refused, which Slack fault);"
        " SQLite runs every value",
    )
    if _runs_tests(config):
        _remember_bolt_arg_names()
        from hypothesis import settings

        # CI runs the same generated examples every time (no run fails at random); locally each run explores anew.
        settings.register_profile("ci", derandomize=True, print_blob=True)
        settings.load_profile("ci" if os.environ.get("CI") else "default")


def _runs_tests(config: pytest.Config) -> bool:
    """False only in the xdist controller, which hands the tests to its workers."""
    distributes = config.getoption("dist", "no") != "no" and bool(config.getoption("tx", None))
    return hasattr(config, "workerinput") or not distributes


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`sqlite_only`: parametrize the database fixtures with SQLite alone (before their own params apply)."""
    if metafunc.definition.get_closest_marker("sqlite_only") is None:
        return
    given: set[str] = set()
    for mark in metafunc.definition.iter_markers("parametrize"):
        names = mark.args[0] if mark.args else mark.kwargs["argnames"]
        if isinstance(names, str):
            names = [name.strip() for name in names.split(",")]
        given.update(names)
    for name in ("database_url", "blank_database_url"):
        if name in metafunc.fixturenames and name not in given:
            metafunc.definition.add_marker(pytest.mark.parametrize(name, ["sqlite"], indirect=True), append=False)


def pytest_itemcollected(item: pytest.Item) -> None:
    """Start PostgreSQL in the background as soon as the first test that needs it is collected: the
    server is up by the time collection is over."""
    if not _PG and not item.config.option.collectonly and _needs_postgres(item):
        _postgres()


def pytest_collection_finish(session: pytest.Session) -> None:
    """Keep what collection built (modules, test items) out of the garbage collector's full scans, as
    `coachbot run` does with its start-up (here they cost a few seconds of CPU per worker)."""
    gc.collect()
    gc.freeze()


_FREEZE_EVERY = 50
_finished = [0]


def pytest_runtest_logfinish(nodeid: str, location: tuple[str, int | None, str]) -> None:
    """What outlives the tests (SQLAlchemy's per-mapper statement caches, each holding the dialect of a
    test's engine, imported modules, ...) keeps growing; every full collection scanned all of it again,
    ~150 ms each by the middle of a run. So every 50 tests, between tests, collect once and freeze
    what is left. Garbage is still collected: what is alive now and dies later by reference count is
    freed as usual."""
    _finished[0] += 1
    if _finished[0] % _FREEZE_EVERY == 0:
        gc.collect()
        gc.freeze()


def _needs_postgres(item: pytest.Item) -> bool:
    params = getattr(item, "callspec", None)
    chosen = params.params if params is not None else {}
    return "postgres" in (chosen.get("database_url"), chosen.get("blank_database_url")) or "pg_admin_url" in getattr(
        item, "fixturenames", ()
    )


# --- pytest-xdist: tests that must share a worker ------------------------------------------------
# Tests marked `xdist_group` share module state (a fuzz counter; a report test that runs after its fuzz
# test) and so must run on one worker, in order. pytest-xdist 3.8 tells its scheduler a test's group
# by appending "@group" to the test's id, which pytest 9.2's structured ids silently drop
# (pytest-dev/pytest-xdist#1386): every group was scattered. Instead each worker writes the groups
# it collected to a file the controller named, and the controller's scheduler reads them there.

_GROUPS = "coachbot_xdist_groups"
_GROUPS_FILE = pytest.StashKey[Path]()


def _groups_file(config: pytest.Config) -> Path:
    """Controller: where the workers write the groups (a temporary directory for this run)."""
    if _GROUPS_FILE not in config.stash:
        config.stash[_GROUPS_FILE] = Path(tempfile.mkdtemp(prefix="coachbot-xdist-")) / "groups.json"
    return config.stash[_GROUPS_FILE]


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    node.workerinput[_GROUPS] = str(_groups_file(node.config))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling  # type: ignore[import-untyped]

    path = _groups_file(config)
    # Hand out work in collection order: a group then runs where its tests stand in their module (not
    # first, as xdist's reordering of bigger scopes would have it), so a module's module-scoped
    # fixtures are set up once per worker, not again when the worker comes back to the module.
    config.option.loadscopereorder = False

    class GroupScheduling(LoadGroupScheduling):  # type: ignore[misc]
        groups: dict[str, str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            scope = super()._split_scope(nodeid)
            if scope != nodeid:  # xdist's own "@group" suffix, where it still works
                return scope
            if self.groups is None:  # read once, after every worker has collected
                self.groups = json.loads(path.read_text()) if path.exists() else {}
            return self.groups.get(nodeid, nodeid)

    return GroupScheduling(config, log)


# Where the `runs_long` tests are spread: over the first three quarters of the run, not at its end.
_LONG_SPREAD = 0.75


def _interleaved(items: list[pytest.Item]) -> list[pytest.Item]:
    """The test files merged evenly, each keeping its own order: a file whose tests mostly wait on
    purpose (bot processes, Retry-After, slow Slack) no longer has all workers waiting at once while
    the cores idle. The `runs_long` tests (5-12 s each) are spread over the run's first 75%: one of
    them handed out last kept a single worker busy for seconds after the others had finished. Every
    worker computes the same order (xdist checks the collections match)."""
    by_file: dict[str, list[pytest.Item]] = {}
    for item in items:
        by_file.setdefault(item.nodeid.split("::", 1)[0], []).append(item)
    keyed = [
        ((i + 0.5) / len(tests) * (_LONG_SPREAD if item.get_closest_marker("runs_long") else 1), rank, i, item)
        for rank, tests in enumerate(by_file.values())
        for i, item in enumerate(tests)
    ]
    return [item for *_, item in sorted(keyed, key=lambda k: k[:3])]


def _postgres_repeats(items: list[pytest.Item]) -> list[pytest.Item]:
    """The PostgreSQL variants that `postgres_once` leaves to SQLite: a named parameter holds another
    value than the one given, or than in the function's first PostgreSQL variant."""
    first: dict[tuple[str, str], dict[str, object]] = {}
    repeats = []
    for item in items:
        mark = item.get_closest_marker("postgres_once")
        params = getattr(item, "callspec", None)
        if mark is None or params is None or params.params.get("database_url") != "postgres":
            continue
        if mark.kwargs:  # postgres_once(fault="timeout"): the variant with these values
            if any(params.params[name] != value for name, value in mark.kwargs.items()):
                repeats.append(item)
            continue
        chosen = {name: params.params[name] for name in mark.args}
        seen = first.setdefault((item.path.name, getattr(item, "originalname", item.name)), chosen)
        if chosen != seen:
            repeats.append(item)
    return repeats


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`postgres_once`: the repeats are deselected (and counted as such in the summary). Then, in an
    xdist worker: write the groups of the collected tests where the controller will read them."""
    if repeats := _postgres_repeats(items):
        config.hook.pytest_deselected(items=repeats)
        dropped = set(map(id, repeats))
        items[:] = [item for item in items if id(item) not in dropped]
    target = getattr(config, "workerinput", {}).get(_GROUPS)
    if not target:
        return
    items[:] = _interleaved(items)
    groups = {}
    for item in items:
        names = {
            str(m.args[0] if m.args else m.kwargs.get("name", "default")) for m in item.iter_markers("xdist_group")
        }
        if names:
            groups[item.nodeid] = "@" + "_".join(sorted(names))
    partial = f"{target}.{os.getpid()}"
    Path(partial).write_text(json.dumps(groups))
    os.replace(partial, target)  # every worker writes the same; none reads a half-written file


def pytest_unconfigure(config: pytest.Config) -> None:
    if _GROUPS_FILE in config.stash:
        shutil.rmtree(config.stash[_GROUPS_FILE].parent, ignore_errors=True)


@pytest.fixture(autouse=True)
def logging_as_it_was() -> Iterator[None]:
    """A command run in-process (`bot.cli.main`) configures logging for the process: root's level and
    one handler of its own, on that test's captured stderr, scrubbing that test's secrets. Left in
    place, it stayed on root for every later test of the worker: it wrote to a closed stream and,
    first in line, scrubbed other tests' records before caplog saw them (a test found its log line
    with every "s" redacted, once the files ran in another order). Put logging back after each test."""
    from bot.logging_setup import NOISY_LOGGERS, RedactingFilter

    root = logging.getLogger()
    before, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in NOISY_LOGGERS}
    yield
    for handler in root.handlers[:]:
        if handler not in before and any(isinstance(f, RedactingFilter) for f in handler.filters):
            root.removeHandler(handler)
    root.setLevel(level)
    for name, was in levels.items():
        logging.getLogger(name).setLevel(was)


# Bolt reads the argument names of every listener, matcher and middleware when an app is built: ~110
# inspect.getfullargspec calls, ~2.5 ms of each of the ~900 apps the harness builds in a run (production
# builds one). The names follow from the function's code alone, so the tests look each code object up once.
_BOLT_ARG_NAME_USERS = (
    "slack_bolt.authorization.authorize",
    "slack_bolt.lazy_listener.internals",
    "slack_bolt.listener.custom_listener",
    "slack_bolt.listener.listener_completion_handler",
    "slack_bolt.listener.listener_error_handler",
    "slack_bolt.listener.listener_start_handler",
    "slack_bolt.listener_matcher.builtins",
    "slack_bolt.listener_matcher.custom_listener_matcher",
    "slack_bolt.middleware.custom_middleware",
    "slack_bolt.middleware.middleware_error_handler",
)


def _remember_bolt_arg_names() -> None:
    import importlib
    import inspect

    import slack_bolt.util.utils as bolt_utils

    read = bolt_utils.get_arg_names_of_callable
    known: dict[tuple[bool, Any], list[str]] = {}

    def arg_names(func: Any) -> list[str]:
        target = inspect.unwrap(func)
        code = getattr(target, "__code__", None) or getattr(getattr(target, "__func__", None), "__code__", None)
        if code is None:
            return read(func)
        key = (inspect.ismethod(target), code)
        if key not in known:
            known[key] = read(func)
        return list(known[key])

    for name in _BOLT_ARG_NAME_USERS:
        module = importlib.import_module(name)
        assert getattr(module, "get_arg_names_of_callable", None) is read, f"{name} no longer uses it"
        setattr(module, "get_arg_names_of_callable", arg_names)  # noqa: B010  (mypy: the module's own import)


@pytest.fixture(autouse=True)
def no_slack_call_inside_a_transaction() -> Iterator[None]:
    """Every test also checks the promise: no Slack call while a database transaction is open."""
    from tests import txn_guard

    txn_guard.install()
    txn_guard.reset()
    yield
    found = txn_guard.reset()
    assert not found, f"{len(found)} Slack call(s) inside a database transaction; the first:\n{found[0]}"


# --- PostgreSQL ---------------------------------------------------------------------------------

NO_PG = "PostgreSQL tests skipped: no COACHBOT_TEST_PG_URL and no PostgreSQL binaries (apt-get install postgresql)"


class _NoPostgres(Exception):
    pass


@functools.cache
def schema_tables() -> list[Any]:
    """The schema's tables as the models declare them, each after the tables it refers to (a test
    checks the models and the migrated schema agree). Sorted once per process."""
    from sqlmodel import SQLModel

    import storage.models  # noqa: F401  (every table registered on SQLModel.metadata)

    return list(SQLModel.metadata.sorted_tables)


class _PgShape:
    """What `_Postgres.emptied` needs to know of the migrated schema, read once per process."""

    def __init__(self, sequences: dict[str, str], children: dict[str, set[str]], children_first: list[str]):
        self.sequences = sequences  # table -> its id sequence
        self.children = children  # table -> the tables with a foreign key to it
        self.children_first = children_first  # every table, each before those it refers to

    @classmethod
    def read(cls, conn: Any) -> _PgShape:
        found = conn.exec_driver_sql(
            "SELECT quote_ident(c.relname), pg_get_serial_sequence(quote_ident(c.relname), 'id') FROM pg_class c"
            " WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace"
            " AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'id')"
        )
        sequences = {str(table): str(sequence) for table, sequence in found if sequence}
        children: dict[str, set[str]] = {}
        for table in schema_tables():
            for key in table.foreign_keys:
                children.setdefault(key.column.table.name, set()).add(table.name)
        return cls(sequences, children, [table.name for table in reversed(schema_tables())])

    def referring(self, table: str) -> set[str]:
        """Every table that refers to `table`, directly or through others."""
        found: set[str] = set()
        todo = [table]
        while todo:
            for child in self.children.get(todo.pop(), ()):
                if child not in found:
                    found.add(child)
                    todo.append(child)
        return found


class _Postgres:
    """This process's PostgreSQL: a server (throwaway, or COACHBOT_TEST_PG_URL's), a template database
    migrated once, and each test's copy of it.

    One background thread starts the server, then makes the next test's copy while the current test
    runs (the template is migrated on the test's thread: see `ready`). The server's admin lock is held
    around each of its statements, so a test that restarts the server never meets one half done.

    A copy is a file copy (STRATEGY FILE_COPY, PostgreSQL 15+: a third of the server's work of the
    default WAL_LOG for a template this small). On a throwaway server nothing is dropped: DROP DATABASE
    costs a checkpoint, and the whole cluster is deleted at the end of the run. On a server that is
    not ours, each test's database is dropped behind it, and the template at the end.
    """

    def __init__(self) -> None:
        self.server: PgServer | None = None
        self.admin_url = ""
        self.template = ""
        self.problems: list[str] = []
        self._strategy = ""
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="coachbot-test-pg")
        self._next: deque[Future[str]] = deque()
        self._made: list[str] = []  # databases still to drop at the end (on a server that is not ours)
        self.current_name = "cb_current_" + uuid.uuid4().hex[:8]  # see `current`
        self._current_exists = False
        self._shape: _PgShape | None = None  # the migrated schema's tables (see `emptied`)
        self._last_slot: dict[str, int] = {}  # table -> the last row slot used on its first page
        self.booted: Future[str] = self._executor.submit(self._boot)

    # on the background thread -------------------------------------------------------------------
    def _boot(self) -> str:
        import psycopg

        url = os.environ.get("COACHBOT_TEST_PG_URL")
        if not url:
            bin_dir = find_bin_dir()
            if bin_dir is None:
                raise _NoPostgres(NO_PG)
            self.server = PgServer(bin_dir)
            url = self.server.start()
        self.admin_url = url
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
            version = conn.info.server_version
        self._strategy = " STRATEGY FILE_COPY" if version >= 150000 else ""  # older servers only copy files
        return url

    def _sql(self, statement: str) -> None:
        import psycopg

        lock = self.server.admin_lock if self.server is not None else None
        if lock is not None:
            lock.acquire()
        try:
            with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=10) as conn:
                conn.execute(statement)
        finally:
            if lock is not None:
                lock.release()

    def _create(self, name: str, template: str | None) -> str:
        self._sql(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"{self._strategy}' if template else ""))
        if self.server is None:
            self._made.append(name)
        return name

    def _copy(self) -> str:
        return self._create("cb_" + uuid.uuid4().hex[:12], template=self.template)

    def _drop(self, name: str) -> None:
        """Retried once; a database that still cannot be dropped is reported at the end, not an error."""
        import psycopg

        for attempt in range(2):
            try:
                self._sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                if name in self._made:
                    self._made.remove(name)
                return
            except psycopg.Error as exc:
                if attempt:
                    self.problems.append(f"could not drop test database {name}: {exc}")

    def _drop_all(self) -> None:
        for name in list(self._made):
            self._drop(name)

    # on the test's thread ---------------------------------------------------------------------
    def url(self, name: str) -> str:
        from sqlalchemy.engine import make_url

        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def ready(self) -> str:
        """The admin URL, once the server is up and the template migrated.

        The template is migrated on the test's thread, never the background one: Alembic keeps the
        migration being run in module globals (`alembic.context`, `alembic.op`), so a migration on
        another thread at the same moment (the SQLite template, any `coachbot` command) would run
        the other's steps on the wrong connection.
        """
        url = self.booted.result()
        if not self.template:
            from storage.db import make_engine
            from storage.migrate import upgrade

            name = self._executor.submit(self._create, "cb_template_" + uuid.uuid4().hex[:8], None).result()
            eng = make_engine(self.url(name))
            upgrade(eng)
            eng.dispose()  # a template must have no connections when it is copied
            self.template = name
        return url

    def copy(self) -> str:
        """A new database at the newest schema: usually made already, while the previous test ran."""
        self.ready()
        if not self._next:
            self._next.append(self._executor.submit(self._copy))
        made = self._next.popleft()
        self._next.append(self._executor.submit(self._copy))  # the next test's, made while this one runs
        return made.result()

    def blank(self) -> str:
        self.ready()
        return self._executor.submit(self._create, "cb_" + uuid.uuid4().hex[:12], None).result()

    def current(self) -> str:
        """The next test's copy, renamed to this process's one database name (so its URL, and the
        engine on it, stay the same from test to test). The previous test's database is renamed out
        of the way (anything still connected to it is disconnected first) and, on a server that is
        not ours, dropped in the background."""
        import psycopg

        made = self.copy()
        stale = "cb_old_" + uuid.uuid4().hex[:12]
        lock = self.server.admin_lock if self.server is not None else None
        if lock is not None:
            lock.acquire()
        try:
            with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=10) as conn:
                if self._current_exists:
                    conn.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                        (self.current_name,),
                    )
                    conn.execute(f'ALTER DATABASE "{self.current_name}" RENAME TO "{stale}"')
                conn.execute(f'ALTER DATABASE "{made}" RENAME TO "{self.current_name}"')
        finally:
            if lock is not None:
                lock.release()
        if self.server is None:  # keep the names to drop up to date
            self._made = [stale if n == self.current_name else n for n in self._made if n != made]
            self._made.append(self.current_name)
            if self._current_exists:
                self._executor.submit(self._drop, stale)
        self._current_exists = True
        self._last_slot.clear()
        return self.current_name

    def emptied(self, engine: Engine) -> bool:
        """Give the current database back as a fresh copy would be, keeping the engine's warm connections
        (no new backends, no catalog caches rebuilt). False when that is not possible (a table still
        held, a server that refuses), and the caller takes a fresh copy instead.

        What a fresh copy promises beyond empty tables and sequences back at 1: rows come back in the
        order they were written, where no ORDER BY decides (one dispatch test noticed when they did not).
        A table's rows are deleted (~0.1 ms) only when that still holds afterwards; otherwise it is
        truncated (a new, empty file: ~3 ms of the server's time, and every cached plan on it made
        again). See `_reset_plan` for which is which."""
        if not self._current_exists:
            return False
        from sqlalchemy.exc import SQLAlchemyError

        try:
            with engine.begin() as conn:
                if self._shape is None:
                    self._shape = _PgShape.read(conn)
                truncate, delete = self._reset_plan(conn, self._shape)
                conn.exec_driver_sql(
                    "; ".join(
                        [
                            "SET LOCAL lock_timeout = '1s'",  # something still holds a table: take a copy
                            *([f"TRUNCATE {', '.join(truncate)}"] if truncate else []),
                            *(f"DELETE FROM {table}" for table in delete),
                            *(f"SELECT setval('{sequence}', 1, false)" for sequence in self._shape.sequences.values()),
                        ]
                    )
                )
        except SQLAlchemyError:
            self._last_slot.clear()
            return False
        for table in truncate:
            self._last_slot[table] = 0
        return True

    def _reset_plan(self, conn: Any, shape: _PgShape) -> tuple[list[str], list[str]]:
        """(tables to truncate, tables to delete from, children first).

        PostgreSQL appends a row at the page's next free slot; a slot becomes free for a later row only
        when an updated row's old version is pruned away. So deleting keeps "rows come back in the order
        written" as long as the table has only ever had rows inserted since it was last truncated: that
        is checked from what the table and its id sequence show. Rows came only by insert, all on the
        first page, in the slots right after the ones the last test used, as many as the sequence has
        handed out ids (a deleted row, an aborted insert or an explicit id shows as a difference; an
        update moves its row to a later slot). Anything else is truncated, with every table that refers
        to it (PostgreSQL requires that). A table with no rows and no id handed out was not touched."""
        used = list(
            conn.exec_driver_sql(
                "SELECT quote_ident(relname) FROM pg_class WHERE relkind = 'r'"
                " AND relnamespace = 'public'::regnamespace AND relname <> 'alembic_version'"
                " AND pg_relation_size(oid) > 0"
            ).scalars()
        )
        counted = [t for t in used if t in shape.sequences]
        truncate = {t for t in used if t not in shape.sequences}
        delete: set[str] = set()
        if counted:
            found = conn.exec_driver_sql(
                " UNION ALL ".join(
                    f"SELECT '{t}', count(*), coalesce(max((ctid::text::point)[0]), 0)::int,"
                    " coalesce(min((ctid::text::point)[1]), 0)::int, coalesce(max((ctid::text::point)[1]), 0)::int,"
                    f" (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM {shape.sequences[t]}) FROM {t}"
                    for t in counted
                )
            )
            for table, rows, last_page, first_slot, last_slot, ids in found:
                if rows == 0 and ids == 0:
                    continue
                before = self._last_slot.get(table, 0)
                if rows == ids and last_page == 0 and first_slot == before + 1 and last_slot == before + rows:
                    delete.add(table)
                    self._last_slot[table] = last_slot
                else:
                    truncate.add(table)
        for table in list(truncate):
            truncate |= shape.referring(table)
        return sorted(truncate), [t for t in shape.children_first if t in delete and t not in truncate]

    def done_with(self, name: str) -> None:
        if self.server is None:
            self._executor.submit(self._drop, name)  # in the background, behind the next test's copy

    def close(self) -> None:
        """End of the run: a throwaway server is stopped and its cluster deleted; on a server that is
        not ours, every database this run made is dropped (the template and an unused copy too)."""
        for made in self._next:
            made.cancel()
        if self.server is None:
            self._executor.submit(self._drop_all)
        self._executor.shutdown(wait=True)
        if self.server is not None:
            self.server.stop()
        for problem in self.problems:
            print(f"coachbot tests: {problem}", file=sys.stderr)


_PG: list[_Postgres] = []


def _postgres() -> _Postgres:
    if not _PG:
        _PG.append(_Postgres())
    return _PG[0]


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    try:
        return _postgres().ready()
    except _NoPostgres as missing:
        if os.environ.get("COACHBOT_REQUIRE_PG") == "1":
            pytest.fail(f"{missing} — and COACHBOT_REQUIRE_PG=1 forbids skipping")
        pytest.skip(str(missing))


@pytest.fixture
def pg_server(pg_admin_url: str) -> PgServer:
    """The throwaway server itself (to restart it); tests that need it skip with a reason otherwise."""
    server = _postgres().server
    if server is None:
        pytest.skip("PostgreSQL restart test skipped: COACHBOT_TEST_PG_URL points at a server this run did not start")
    return server


# --- SQLite and the database fixtures -------------------------------------------------------------

_SQLITE_TEMPLATE: list[Path] = []


def _sqlite_template(directory: Path) -> Path:
    """One migrated database file per test process; each test gets a copy of the file."""
    if not _SQLITE_TEMPLATE:
        from storage.db import make_engine
        from storage.migrate import upgrade

        path = directory / "template.db"
        eng = make_engine(f"sqlite:///{path}")
        upgrade(eng)
        eng.dispose()
        with closing(sqlite3.connect(path)) as conn:  # everything into the main file, which is what gets copied
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        _SQLITE_TEMPLATE.append(path)
    return _SQLITE_TEMPLATE[0]


# Each backend's migrated test database has one URL per test process, and one engine on it (below):
# SQLAlchemy compiles each statement once per engine, and with an engine per test that compiling was
# an eighth of the suite's time. Before each test the engine's connections are closed and the
# database under that URL is replaced by a fresh copy of the template.
_ENGINES: dict[str, Engine] = {}


def shared_engine(url: str) -> Engine:
    """This process's engine on `url` (made by the app's own `make_engine`, watched by txn_guard)."""
    if url not in _ENGINES:
        from storage.db import make_engine
        from tests import txn_guard

        _ENGINES[url] = make_engine(url)
        txn_guard.watch(_ENGINES[url])
    return _ENGINES[url]


def _let_go(url: str) -> None:
    if url in _ENGINES:
        _ENGINES[url].dispose()


# The SQLite file the tests of this process use, as copied from the template: (inode, schema version).
_SQLITE_COPY: dict[str, tuple[int, int]] = {}


def _fresh_sqlite(basetemp: Path) -> str:
    """The process's SQLite test database, given back as a fresh copy of the template would be: emptied
    in place when it is still the file copied and at the template's schema (the engine's connections,
    and the statements each has prepared, stay warm), else copied again."""
    path = basetemp / "current" / "coachbot.db"
    url = f"sqlite:///{path}"
    if _sqlite_emptied(path, url):
        return url
    _let_go(url)
    path.parent.mkdir(exist_ok=True)
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    shutil.copyfile(_sqlite_template(basetemp), path)
    with closing(sqlite3.connect(path)) as conn:
        _SQLITE_COPY[url] = (path.stat().st_ino, conn.execute("PRAGMA schema_version").fetchone()[0])
    return url


def _sqlite_emptied(path: Path, url: str) -> bool:
    """Every table emptied, children first (foreign keys stay on). SQLite hands out a table's next id as
    one past the largest, so an empty table starts again at 1, and rows come back in id order: as on a
    new copy. False when the file is not the one copied (a test replaced it), its schema changed, or a
    table is still held after the busy timeout."""
    copied = _SQLITE_COPY.get(url)
    if copied is None or url not in _ENGINES or not path.exists() or path.stat().st_ino != copied[0]:
        return False
    from sqlalchemy.exc import SQLAlchemyError

    try:
        with _ENGINES[url].begin() as conn:
            if conn.exec_driver_sql("PRAGMA schema_version").scalar() != copied[1]:
                return False
            for table in reversed(schema_tables()):
                conn.exec_driver_sql(f'DELETE FROM "{table.name}"')
    except SQLAlchemyError:
        return False
    return True


def _database(request: pytest.FixtureRequest, tmp_path: Path, migrated: bool) -> Iterator[str]:
    if request.param == "sqlite":
        if not migrated:
            yield f"sqlite:///{tmp_path / 'blank.db'}"
            return
        yield _fresh_sqlite(request.getfixturevalue("tmp_path_factory").getbasetemp())
        return
    request.getfixturevalue("pg_admin_url")
    pg = _postgres()
    if migrated:
        url = pg.url(pg.current_name)
        if not pg.emptied(shared_engine(url)):
            _let_go(url)
            pg.current()
        yield url
        return
    name = pg.blank()
    try:
        yield pg.url(name)
    finally:
        pg.done_with(name)


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database at the newest schema on each backend: a copy of one migrated per test process."""
    yield from _database(request, tmp_path, migrated=True)


@pytest.fixture(params=["sqlite", "postgres"])
def blank_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database on each backend (for the migration tests)."""
    yield from _database(request, tmp_path, migrated=False)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """The test's database (already at the newest schema: it is a copy of the migrated template), on
    this process's engine for it."""
    yield shared_engine(database_url)  # its connections stay open for the next test (see `_fresh_sqlite`, `emptied`)


@pytest.fixture(scope="session")
def playbook():
    from bot.playbook.models import load_playbook

    return load_playbook()


@pytest.fixture
def slack() -> Iterator[SlackFakeServer]:
    from tests.slack_fake import SlackFakeServer

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
    from tests.harness import Harness

    h = Harness(slack, database_url, engine, playbook, admins=frozenset())
    try:
        yield h
    finally:
        h.close()


@pytest.fixture
def errors(caplog: pytest.LogCaptureFixture):
    """What Coachbot logged at ERROR or with a traceback (a listener, form, command or pass that
    raised), as "logger: message" lines; the attack suites assert there are none."""
    caplog.set_level(logging.INFO)

    def found() -> list[str]:
        return [
            f"{r.name}: {r.getMessage()}"
            for r in caplog.records
            if (r.levelno >= logging.ERROR or r.exc_info) and r.name.startswith("coachbot")
        ]

    return found


HEADER = "rep,manager,archetype,seat,seat_archetype,coachability,drive,resilience,deal_killers,gaps,start_date\n"


@pytest.fixture
def cli(slack: SlackFakeServer, database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path, capsys):
    """Run the real `coachbot` entry point against the fake and the test database."""
    import storage.db
    from bot.cli import main

    made_by_the_app = storage.db.make_engine
    shared_engine(database_url)  # made now, by the app's own function, before it is replaced below
    # The in-process command works on the test's engine (the same URL and settings it would build):
    # its statements are compiled once per process, and its transactions are watched by txn_guard.
    monkeypatch.setattr(
        storage.db, "make_engine", lambda url: shared_engine(url) if url == database_url else made_by_the_app(url)
    )
    # Its Slack clients keep their retries but not the production waits between them, as the harness's
    # (tests/harness.quick_retries: rate limits still wait for Retry-After).
    import bot.slack.client as slack_client
    from tests.harness import quick_retries

    for name in ("make_web_client", "make_dispatch_client"):
        made = getattr(slack_client, name)
        monkeypatch.setattr(slack_client, name, lambda *a, _made=made, **k: quick_retries(_made(*a, **k)))
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
def import_csv(cli, tmp_path, slack, database_url, monkeypatch):
    """Import CSV data rows (header added) through `coachbot import`; asserts it succeeded.

    The import's own Slack look-ups are cleared from the fake, so tests see only their own calls.
    An import a test process already ran from the same starting point is written back from what it
    left the first time instead of run again (tests/import_snapshot.py says when, and why).
    """
    from tests.import_snapshot import ImportReplay

    replay = ImportReplay(shared_engine(database_url), slack.fake, monkeypatch)

    def run(*rows: str, name: str = "roster.csv") -> str:
        path = tmp_path / name
        path.write_text(HEADER + "\n".join(rows) + "\n")

        def command() -> str:
            code, out, err = cli("import", str(path))
            assert code == 0, err
            return out

        out = replay.run(rows, name, command)
        slack.fake.reset_calls()
        with slack.fake.lock:  # and the import's own DMs (plan offers to managers), so tests see only theirs
            slack.fake.history.clear()
        return out

    return run


STANDARD_ROWS = (
    f"{REP},{MANAGER},Root,Hunter,Engine,72,65,40,coaching_resistance,time_pressure;discovery,2026-11-01",
    f"{REP2},{MANAGER},Engine,Hunter,Engine,80,90,70,,closing,2025-01-15",
)
