"""Test fixtures: a real PostgreSQL, always.

The server is TEST_DATABASE_URL (default: the machine's server on 127.0.0.1:5432); when
none answers, an embedded pgserver is started for the run. One template database is
migrated per run; every test that asks for ``database_url`` gets a fresh copy of it
(``CREATE DATABASE ... TEMPLATE``), so tests are isolated and may use many connections.
Database names carry the process id so that several runs can share a server.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
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


@pytest.fixture
def database_url(server_url: str, template_database: str) -> Iterator[str]:
    """A fresh, migrated database holding the demo identities (no customers or quotes)."""
    name = f"jobrunner_t_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    _admin(server_url, f"CREATE DATABASE {name} TEMPLATE {template_database}")
    url = with_database(server_url, name)

    async def seed() -> None:
        conn = await asyncpg.connect(url)
        try:
            await seed_identities(conn)
        finally:
            await conn.close()

    asyncio.run(seed())
    yield url
    _admin(server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


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
