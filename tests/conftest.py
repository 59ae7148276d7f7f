"""Test fixtures: a real PostgreSQL, always.

The server is TEST_DATABASE_URL (default: the machine's server on 127.0.0.1:5432); when
none answers, an embedded pgserver is started for the run. One template database is
migrated per run; every test that asks for ``database_url`` gets a fresh copy of it
(``CREATE DATABASE ... TEMPLATE``), so tests are isolated and may use many connections.
Copies are made and seeded by a thread beside the tests (``Databases``), so a test takes
one made while the one before it ran. A used copy is closed (no connections, none
allowed) at once and dropped after the run, not during it (by a detached process of its
own, ``tests/support/drop_databases.py``, so the run does not wait): dropping a database
deletes some 300 files, and on ext4 every file created in the next minutes then scans
past those recently deleted inodes, which took each copy from 0.1 s to 0.6 s over a run.
Database names carry the process id so that several runs can share a server.
"""

from __future__ import annotations

import asyncio
import os
import queue
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from jobrunner.db import migrate
from jobrunner.db.pool import create_pool
from jobrunner.db.seed import seed_identities

DEFAULT_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
JWT_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def _server_answers(url: str) -> bool:
    async def probe() -> bool:
        try:
            conn = await asyncpg.connect(url, timeout=3)
        except (OSError, asyncpg.PostgresError, asyncio.TimeoutError):
            return False
        await conn.close()
        return True

    return asyncio.run(probe())


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    url = os.environ.get("TEST_DATABASE_URL", DEFAULT_SERVER_URL)
    if _server_answers(url):
        yield url
        return
    from jobrunner.db.embedded import start_embedded, stop_embedded

    with tempfile.TemporaryDirectory(prefix="jobrunner-test-pg-") as data_dir:
        embedded = start_embedded(data_dir)
        try:
            yield embedded.replace("/jobrunner?", "/postgres?")
        finally:
            stop_embedded()  # before its folder goes


def _admin(server_url: str, sql: str) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(server_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


@pytest.fixture(scope="session")
def template_database(server_url: str) -> Iterator[str]:
    name = f"jobrunner_tpl_{os.getpid()}"
    _admin(server_url, f"DROP DATABASE IF EXISTS {name}")
    _admin(server_url, f"CREATE DATABASE {name}")
    migrate.upgrade(with_database(server_url, name))
    yield name
    _admin(server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def empty_database_url(server_url: str) -> Iterator[str]:
    """A database with nothing in it (migration tests)."""
    name = f"jobrunner_t_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    _admin(server_url, f"CREATE DATABASE {name}")
    yield with_database(server_url, name)
    _admin(server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


class Databases:
    """Fresh seeded copies of the template, made ahead by one thread; used ones closed.

    ``take()`` answers a copy nobody has touched (waiting for one if none is ready);
    ``give_back(name)`` closes a used one: its sessions ended and no new one allowed (a
    process a test left behind cannot carry on in it). ``close()`` has them all dropped."""

    SPARE = 2
    # A used copy bigger than this is dropped at once: a few big ones do not fill the disk.
    DROP_NOW_BYTES = 64 * 1024 * 1024

    def __init__(self, server_url: str, template: str) -> None:
        self._server_url = server_url
        self._template = template
        self._ready: queue.Queue[str | BaseException] = queue.Queue()
        self._closed: list[str] = []  # used copies, no connections allowed
        self._closing = False
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="test-databases", daemon=True)
        self._thread.start()

    def take(self) -> str:
        made = self._ready.get(timeout=120)
        with self._changed:
            self._changed.notify()  # one spare fewer: make another
        if isinstance(made, BaseException):
            raise made
        return made

    def give_back(self, name: str) -> None:
        """Close a used copy (dropped after the run), or drop it now if it is big."""

        async def close_it() -> int | None:
            conn = await asyncpg.connect(self._server_url)
            try:
                await conn.execute(f"ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false")
                await conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name)
                return int(await conn.fetchval("SELECT pg_database_size($1)", name))
            except asyncpg.InvalidCatalogNameError:
                return None  # the test dropped it itself
            finally:
                await conn.close()

        size = asyncio.run(close_it())
        if size is None:
            return
        if size > self.DROP_NOW_BYTES:
            _admin(self._server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        else:
            self._closed.append(name)

    def close(self) -> None:
        with self._changed:
            self._closing = True
            self._changed.notify()
        self._thread.join(timeout=120)
        while not self._ready.empty():
            left = self._ready.get_nowait()
            if isinstance(left, str):
                self._closed.append(left)
        if self._closed:  # dropped by a process of their own, which the run does not wait for
            subprocess.Popen(
                [sys.executable, "-m", "tests.support.drop_databases", self._server_url, *self._closed],
                cwd=Path(__file__).resolve().parent.parent,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )

    def _run(self) -> None:
        """Keep ``SPARE`` copies ready until closing."""
        while True:
            with self._changed:
                while not (self._closing or self._ready.qsize() < self.SPARE):
                    self._changed.wait()
                if self._closing:
                    return
            try:
                self._ready.put(self._copy())
            except BaseException as exc:  # noqa: BLE001 - the test that takes it fails with it
                self._ready.put(exc)

    def _copy(self) -> str:
        name = f"jobrunner_t_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        _admin(self._server_url, f"CREATE DATABASE {name} TEMPLATE {self._template}")

        async def seed() -> None:
            conn = await asyncpg.connect(with_database(self._server_url, name))
            try:
                await seed_identities(conn)
            finally:
                await conn.close()

        asyncio.run(seed())
        return name


@pytest.fixture(scope="session")
def databases(server_url: str, template_database: str) -> Iterator[Databases]:
    made = Databases(server_url, template_database)
    yield made
    made.close()


@pytest.fixture
def database_url(server_url: str, databases: Databases) -> Iterator[str]:
    """A fresh, migrated database holding the demo identities (no customers or quotes)."""
    name = databases.take()
    yield with_database(server_url, name)
    databases.give_back(name)


@pytest.fixture
def api_database_url(database_url: str) -> str:
    """Where the API under test connects: the test's database (the deployment tests
    override it to put PgBouncer in between)."""
    return database_url


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, min_size=1, max_size=10)
    yield pool
    await pool.close()
