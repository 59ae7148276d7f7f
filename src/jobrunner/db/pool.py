"""The asyncpg connection pool, with JSON codecs, serving waiters first come first served,
saying "the database is unavailable" in our words (``db/errors.py``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import asyncpg
import orjson

from jobrunner.db.errors import UNAVAILABLE_ERRORS, DatabaseUnavailable, is_unavailable, wait_for_database

if TYPE_CHECKING:
    from jobrunner.settings import Settings

# How long one connection attempt may take before the database counts as unavailable
# (asyncpg's own default is 60 s); ``JOBRUNNER_DATABASE_CONNECT_TIMEOUT_SECONDS``.
DEFAULT_CONNECT_TIMEOUT = 5.0


def _dumps(value: object) -> str:
    return orjson.dumps(value).decode()


class UnreadableJSON:
    """What a stored JSON value nested deeper than the decoder allows (orjson: 1024
    levels) reads as, instead of failing the whole query: one such row must not break a
    list page, a status read or a claim. Readers show it as null (see jobs/presenters.py);
    a payload model refuses it."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<unreadable JSON>"


UNREADABLE_JSON = UnreadableJSON()


def _loads(text: str) -> object:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # PostgreSQL only sends valid JSON: it is too deep.
        return UNREADABLE_JSON


async def init_connection(conn: asyncpg.Connection) -> None:
    for typename in ("json", "jsonb"):
        await conn.set_type_codec(typename, encoder=_dumps, decoder=_loads, schema="pg_catalog")


def statement_cache_size(pooled: bool) -> int:
    """asyncpg's cache of named prepared statements (its default 100), or none for a
    connection through a transaction-mode pooler: PgBouncer before 1.21 (Debian 12 ships
    1.18) hands each transaction to any server connection, where a statement prepared in
    another one does not exist. asyncpg then prepares unnamed statements, which live
    within one transaction: one more round trip per query (docs/deployment.md)."""
    return 0 if pooled else 100


async def connect(
    database_url: str, *, timeout: float = DEFAULT_CONNECT_TIMEOUT, pooled: bool = False
) -> asyncpg.Connection:
    """A single connection with the same codecs as the pool (LISTEN, COPY, scripts)."""
    conn = await asyncpg.connect(database_url, timeout=timeout, statement_cache_size=statement_cache_size(pooled))
    await init_connection(conn)
    return conn


async def _no_reset(_conn: asyncpg.Connection) -> None:
    """For pools whose users leave no session state behind (no SET, LISTEN or session
    advisory locks): returning a connection then needs no reset round trip. asyncpg still
    rolls back a transaction left open."""


class FairPool:
    """An asyncpg pool whose waiters are served in arrival order.

    asyncpg hands a released connection to whoever asks next, so under load a new request
    overtakes the ones already waiting (barging): measured on the status poll with 50
    pollers over 10 connections, p99 went from 22 ms to 145 ms while p50 halved. A FIFO
    semaphore of the pool's size in front of it makes every checkout wait its turn.
    Everything else is the asyncpg pool's own (attributes pass through).

    When the database is away, every method raises ``DatabaseUnavailable`` (the driver's
    error is its ``__cause__``), so callers see one error, in our words, whatever the
    driver said. A file error inside ``acquire()`` while the connection is still fine is
    not the database's: it passes through as it is."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._turns = asyncio.Semaphore(pool.get_max_size())

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[asyncpg.Connection]:
        conn: asyncpg.Connection | None = None
        try:
            async with self._turns, self._pool.acquire() as conn:
                yield conn
        except UNAVAILABLE_ERRORS as exc:
            connection_lost = conn is None or conn.is_closed() or not isinstance(exc, (OSError, TimeoutError))
            if is_unavailable(exc) and connection_lost and not isinstance(exc, DatabaseUnavailable):
                raise DatabaseUnavailable() from exc
            raise

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        async with self._turns, _translated():
            return await self._pool.fetch(query, *args)

    async def fetchrow(self, query: str, *args: Any) -> asyncpg.Record | None:
        async with self._turns, _translated():
            return await self._pool.fetchrow(query, *args)

    async def fetchval(self, query: str, *args: Any) -> Any:
        async with self._turns, _translated():
            return await self._pool.fetchval(query, *args)

    async def execute(self, query: str, *args: Any) -> str:
        async with self._turns, _translated():
            return await self._pool.execute(query, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pool, name)


@asynccontextmanager
async def _translated() -> AsyncIterator[None]:
    try:
        yield
    except UNAVAILABLE_ERRORS as exc:
        if is_unavailable(exc) and not isinstance(exc, DatabaseUnavailable):
            raise DatabaseUnavailable() from exc
        raise


async def create_pool(
    database_url: str,
    *,
    min_size: int = 2,
    max_size: int = 10,
    stateless: bool = False,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    pooled: bool = False,
) -> FairPool:
    """``stateless=True`` skips asyncpg's per-release reset query (one round trip per
    checkout): only for pools whose statements are all jobrunner's own. ``pooled=True``:
    ``database_url`` goes through a transaction-mode pooler (``statement_cache_size``).
    Raises ``DatabaseUnavailable`` when the first ``min_size`` connections cannot be made."""
    async with _translated():
        pool = await asyncpg.create_pool(
            database_url,
            min_size=min_size,
            max_size=max_size,
            init=init_connection,
            timeout=connect_timeout,
            statement_cache_size=statement_cache_size(pooled),
            **({"reset": _no_reset} if stateless else {}),
        )
    return FairPool(pool)


async def service_pool(database_url: str, settings: Settings, *, what: str, max_size: int = 1) -> FairPool:
    """A small pool of jobrunner's own statements for a background service of a worker
    process (``what``: maintenance, the scheduler, webhook deliveries), made once the
    database answers: until then it waits with backoff, so the database being away
    neither delays the process's start nor ends the service."""
    return await wait_for_database(
        lambda: create_pool(
            database_url,
            min_size=1,
            max_size=max_size,
            stateless=True,
            connect_timeout=settings.database_connect_timeout_seconds,
            pooled=settings.database_pooled,
        ),
        what=what,
        base=settings.database_reconnect_base_seconds,
        cap=settings.database_reconnect_cap_seconds,
    )
