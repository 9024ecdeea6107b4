"""A real PostgreSQL server for the test session, started from Debian's binaries.

``initdb`` and ``pg_ctl`` into a temporary folder, listening on a Unix socket only (no TCP
port to collide with, nothing reachable from outside), stopped at the end of the session.
PostgreSQL refuses to run as root, so as root the server runs as the ``postgres`` user that
Debian's package creates. Without the binaries the tests that need the server fail, they are
not skipped: `.ci/run` installs them.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


def _bin_dir() -> Path | None:
    override = os.environ.get("KAMRULES_PG_BIN")
    candidates = [Path(override)] if override else sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for candidate in candidates:
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    found = shutil.which("pg_ctl")
    return Path(found).parent if found else None


class PostgresServer:
    def __init__(self, bin_dir: Path, root: Path) -> None:
        self.bin_dir = bin_dir
        self.root = root
        self.data = root / "data"
        self.socket = root / "socket"
        self.port = 5432
        self._names = itertools.count(1)
        self.as_postgres = os.geteuid() == 0

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = list(args)
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=True, capture_output=True, text=True, timeout=120)

    def start(self) -> None:
        self.socket.mkdir(parents=True)
        if self.as_postgres:
            shutil.chown(self.root, "postgres")
            shutil.chown(self.socket, "postgres")
        self._run(str(self.bin_dir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "kam", "-E", "UTF8")
        options = f"-c listen_addresses='' -k {self.socket} -p {self.port} -c fsync=on"
        self._run(
            str(self.bin_dir / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "log"),
            "-w",
            "start",
        )

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://kam@/{database}?host={self.socket}&port={self.port}"

    def new_database(self) -> str:
        """A fresh, empty database's URL: each test gets its own."""
        import psycopg

        name = f"t{next(self._names)}"
        with psycopg.connect(
            host=str(self.socket), port=self.port, user="kam", dbname="postgres", autocommit=True
        ) as c:
            c.execute(f"CREATE DATABASE {name}")
        return self.url(name)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bin_dir = _bin_dir()
    if bin_dir is None:
        pytest.fail("PostgreSQL is not installed: apt-get install postgresql (.ci/run does), or set KAMRULES_PG_BIN")
    root = Path(tempfile.mkdtemp(prefix="kamrules-pg-"))
    os.chmod(root, 0o755)
    server = PostgresServer(bin_dir, root)
    try:
        server.start()
    except subprocess.CalledProcessError as exc:
        pytest.fail(f"PostgreSQL did not start: {exc.stderr or exc.stdout}")
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def register_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new, empty register database: a SQLite file, and a database on the real server."""
    if request.param == "sqlite":
        return str(tmp_path / "register.db")
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.new_database()
