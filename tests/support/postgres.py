"""A throwaway PostgreSQL cluster from Debian's `postgresql` package: made with initdb,
run by pg_ctl as the `postgres` user on a loopback port with a socket directory of its
own, and stopped by its PID when done."""

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from support.net import free_port
from support.tools import missing


class PostgreSQL:
    def __init__(self, directory, port):
        self.directory, self.port = directory, port
        self.url = f"postgres://postgres@127.0.0.1:{port}/postgres"
        # Through its socket: reachable from a network namespace of a test's own too.
        self.socket_url = (
            f"postgres://postgres@{quote(str(directory), safe='')}:{port}/postgres"
        )
        self.bin = Path(self.binaries())

    @staticmethod
    def binaries():
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        if not found:
            missing("PostgreSQL is not installed (Debian package postgresql)")
        if os.geteuid() != 0:
            missing("the tests' PostgreSQL runs as the postgres user: that needs root")
        return Path(found[-1]).parent

    def as_postgres(self, *argv):
        done = subprocess.run(
            ["runuser", "-u", "postgres", "--", *argv],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def pg_ctl(self, *argv):
        data, log = self.directory / "data", self.directory / "log"
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
        options += " -c fsync=off -c max_connections=100"
        return self.as_postgres(
            str(self.bin / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options,
            "-w", *argv,
        )  # fmt: skip

    def pid(self):
        """The postmaster's PID, from the file it keeps while it runs."""
        pidfile = self.directory / "data" / "postmaster.pid"
        return int(pidfile.read_text().split()[0]) if pidfile.exists() else None

    def query(self, sql, database="postgres"):
        """`sql` through psql over the socket, in `database`; its output, unaligned."""
        psql = str(self.bin / "psql")
        argv = [psql, "-h", str(self.directory), "-p", str(self.port), "-U", "postgres"]
        argv += ["-d", database]
        return self.as_postgres(*argv, "-At", "-c", sql).strip()

    def client_connections(self):
        """How many clients are connected, other than the one asking."""
        return int(
            self.query(
                "SELECT count(*) FROM pg_stat_activity WHERE backend_type = "
                "'client backend' AND pid <> pg_backend_pid()"
            )
        )


@contextmanager
def postgresql():
    """A running cluster, as a PostgreSQL object; stopped and removed afterwards."""
    directory = Path(tempfile.mkdtemp(prefix="pg-"))
    user = pwd.getpwnam("postgres")
    os.chown(directory, user.pw_uid, user.pw_gid)
    server = PostgreSQL(directory, free_port())
    try:
        server.as_postgres(
            str(server.bin / "initdb"), "-D", str(directory / "data"),
            "-U", "postgres", "-A", "trust", "--no-sync",
        )  # fmt: skip
        server.pg_ctl("start")
        yield server
    finally:
        pid = server.pid()
        if pid:
            os.kill(pid, signal.SIGINT)  # PostgreSQL's fast shutdown
            deadline = time.monotonic() + 30
            while server.pid() and time.monotonic() < deadline:
                time.sleep(0.05)
        shutil.rmtree(directory, ignore_errors=True)
