"""Databases for the head-end's tests: an SQLite file, and a throw-away PostgreSQL server of our own.

The server is Debian's ``postgresql`` (``make sysdeps`` installs it), started once per test session with
``initdb`` into a temporary directory and ``pg_ctl start`` on a free loopback port, its unix socket in the same
directory. PostgreSQL refuses to run as root: as root, its binaries run as the ``postgres`` OS user
(``runuser``) on a directory given to that user. Every test gets a fresh database of its own on the server.
Without the binaries (or the ``psycopg`` driver) the PostgreSQL and Redis variants are skipped, saying why,
except under CI (``CI`` set: ``make test`` installs them), where a missing server is a failure. A server
that is there but does not start is tried three times (a new port each time), then the tests fail: a
loaded machine must not turn the PostgreSQL half of the suite into silent skips.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

BACKENDS = ("sqlite", "postgresql")


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path else None


def _absent(reason: str) -> None:
    """Skip for a missing server or driver; under CI (where ``make test`` installs them) fail instead."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} — CI must run the PostgreSQL and Redis tests", pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    """One PostgreSQL cluster in a temporary directory, listening on 127.0.0.1:``port``."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="dlmskit-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.as_postgres: list[str] = []
        if os.geteuid() == 0:
            self.as_postgres = ["runuser", "-u", "postgres", "--"]
            os.chmod(self.root, 0o755)
            shutil.chown(self.root, "postgres", "postgres")
        self.user = "postgres" if self.as_postgres else os.environ.get("USER") or "postgres"
        self._names = itertools.count(1)

    def _run(self, *args: str) -> None:
        result = subprocess.run([*self.as_postgres, *args], capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {result.stdout}{result.stderr}")

    def start(self) -> None:
        self._run(
            str(self.bindir / "initdb"),
            *("-D", str(self.data), "-U", self.user, "--auth=trust", "--no-sync", "-E", "UTF8"),
        )
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300 -c shared_buffers=32MB"
        )
        self._run(
            str(self.bindir / "pg_ctl"),
            *("-D", str(self.data), "-l", str(self.root / "log"), "-o", options, "-w", "-t", "60", "start"),
        )

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database; returns its SQLAlchemy URL."""
        name = f"t{os.getpid()}_{next(self._names)}"
        engine = sa.create_engine(self.url(), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        finally:
            engine.dispose()
        return self.url(name)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bindir = _pg_bin()
    if bindir is None:
        _absent("PostgreSQL binaries not found (apt-get install postgresql, or `make sysdeps` as root)")
        return
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _absent("the psycopg driver is not installed (pip install -e '.[test]')")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        _absent("running as root without runuser: PostgreSQL cannot be started as root")
    for attempt in range(3):
        server = PostgresServer(bindir)
        try:
            server.start()
            break
        except (RuntimeError, subprocess.TimeoutExpired) as error:
            server.stop()
            if attempt == 2:
                pytest.fail(
                    f"could not start a throw-away PostgreSQL server (3 tries): {error}", pytrace=False
                )
    yield server
    server.stop()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty head-end database: an SQLite file, then a database on the throw-away PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'headend.sqlite'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.new_database()


class RedisServer:
    """Debian's ``redis-server`` on a free loopback port, its directory temporary; nothing saved, or with
    ``persistent`` an append-only file written before every reply (``appendfsync always``), so that
    :meth:`restart` keeps every stream, lock and lease as a deployment's server with AOF does."""

    def __init__(self, binary: str, *, persistent: bool = False) -> None:
        self.binary = binary
        self.root = Path(tempfile.mkdtemp(prefix="dlmskit-redis-"))
        self.port = _free_port()
        self.persistent = persistent
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                *("--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.root)),
                *("--save", "", "--daemonize", "no", "--loglevel", "warning"),
                *(
                    ("--appendonly", "yes", "--appendfsync", "always")
                    if self.persistent
                    else ("--appendonly", "no")
                ),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)

    def _end(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def restart(self, down: float = 0.0) -> None:
        """Stop the server (SIGTERM: it writes what it has) and start it again on the same port, after
        ``down`` seconds away."""
        self._end()
        time.sleep(down)
        self.start()

    def stop(self) -> None:
        self._end()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    binary = shutil.which("redis-server")
    if binary is None:
        _absent("redis-server not found (apt-get install redis-server, or `make sysdeps` as root)")
        return
    try:
        import redis  # noqa: F401
    except ImportError:
        _absent("the redis package is not installed (pip install -e '.[test]')")
    for attempt in range(3):
        server = RedisServer(binary)
        try:
            server.start()
            break
        except RuntimeError as error:
            server.stop()
            if attempt == 2:
                pytest.fail(f"could not start a throw-away redis-server (3 tries): {error}", pytrace=False)
    yield server
    server.stop()


@pytest.fixture
def persistent_redis(redis_server: RedisServer) -> Iterator[RedisServer]:
    """A redis-server of the test's own, with an append-only file: a test may restart it."""
    server = RedisServer(redis_server.binary, persistent=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The throw-away Redis, emptied for each test."""
    import redis

    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    return redis_server.url


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """A fresh database on the throw-away PostgreSQL."""
    return postgres_server.new_database()
