"""A throwaway PostgreSQL server for the tests: a fresh cluster in a temp dir on a free port.

Used when COACHBOT_TEST_PG_URL is not set: one per test process (each pytest-xdist worker has its
own, so a test that restarts its server disturbs no other worker). PostgreSQL refuses to run as
root, so as root the server runs as the `postgres` system user (created by the Debian package).

Durability is switched off (fsync, full-page writes, synchronous commit): the cluster is deleted at
the end of the run, and a clean restart (the fault test's `restart`) loses nothing without them.

A new cluster is a copy of one made by initdb once per machine and PostgreSQL build (kept in the temp
directory): four test processes each running initdb cost ~5 s of CPU at the start of every run.
"""

from __future__ import annotations

import atexit
import fcntl
import glob
import hashlib
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time


def find_bin_dir() -> str | None:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(candidate, "initdb")):
            return candidate
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# No durability (the cluster is thrown away), no autovacuum (each test's database lives for one test;
# the launcher would keep visiting hundreds of them), no JIT (compiling a plan costs more than a test's
# queries take). None of these changes what a query returns.
SETTINGS = (
    "-c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off -c full_page_writes=off"
    " -c synchronous_commit=off -c autovacuum=off -c jit=off"
)


class PgServer:
    def __init__(self, bin_dir: str):
        self.bin_dir = bin_dir
        self.port = _free_port()
        self.root = tempfile.mkdtemp(prefix="coachbot-pg-")
        self.data = os.path.join(self.root, "data")
        self.as_root = os.geteuid() == 0
        # Held while the server restarts: the tests' database factory takes it around each of its
        # own statements (CREATE/DROP DATABASE), so none of them meets a server that is going down.
        self.admin_lock = threading.Lock()
        self._started = False

    def _run(self, *cmd: str) -> None:
        full = [os.path.join(self.bin_dir, cmd[0]), *cmd[1:]]
        if self.as_root:
            full = ["runuser", "-u", "postgres", "--", *full]
        subprocess.run(full, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=self.root)

    def _initdb(self) -> None:
        """Put a new cluster at self.data: a copy of the one initdb made for this build, made first if
        there is none yet (one process at a time; the others wait for it, then copy)."""
        initdb = os.path.join(self.bin_dir, "initdb")
        build = hashlib.sha256(f"{initdb} {os.stat(initdb).st_mtime_ns} {os.geteuid()}".encode()).hexdigest()[:16]
        made = os.path.join(tempfile.gettempdir(), f"coachbot-pg-initdb-{build}")
        if not os.path.isdir(made):
            with open(made + ".lock", "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                if not os.path.isdir(made):
                    staging = tempfile.mkdtemp(prefix="coachbot-pg-initdb-", dir=tempfile.gettempdir())
                    if self.as_root:
                        shutil.chown(staging, user="postgres")
                    data = os.path.join(staging, "data")
                    self._run("initdb", "-D", data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")
                    os.rename(staging, made)  # whole, or not there at all
        # cp -a keeps the owner (postgres) and the modes PostgreSQL insists on (0700)
        subprocess.run(["cp", "-a", os.path.join(made, "data"), self.data], check=True)

    def start(self) -> str:
        if self.as_root:
            shutil.chown(self.root, user="postgres")
        self._initdb()
        opts = f"-p {self.port} -k {self.root} {SETTINGS}"
        self._started = True
        atexit.register(self.stop)  # a run that ends without its fixtures' teardown leaves no server behind
        self._run("pg_ctl", "-D", self.data, "-o", opts, "-l", os.path.join(self.root, "log"), "-w", "start")
        url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        deadline = time.monotonic() + 30
        import psycopg

        while True:
            try:
                psycopg.connect(url, connect_timeout=2).close()
                return url
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def restart(self) -> None:
        with self.admin_lock:
            self._run("pg_ctl", "-D", self.data, "-m", "fast", "-w", "restart")

    def stop(self) -> None:
        """Stop the server and delete the cluster; safe to call twice (the second call does nothing)."""
        if not os.path.isdir(self.root):
            return
        try:
            if self._started:
                self._run("pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")
        except subprocess.CalledProcessError:
            pass  # it was not running (start failed, or it is already gone): nothing to stop
        finally:
            self._started = False
            shutil.rmtree(self.root, ignore_errors=True)
