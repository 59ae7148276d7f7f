"""The asyncpg connection pool, with JSON codecs."""

from __future__ import annotations

import asyncpg
import orjson


def _dumps(value: object) -> str:
    return orjson.dumps(value).decode()


async def init_connection(conn: asyncpg.Connection) -> None:
    for typename in ("json", "jsonb"):
        await conn.set_type_codec(typename, encoder=_dumps, decoder=orjson.loads, schema="pg_catalog")


async def connect(database_url: str) -> asyncpg.Connection:
    """A single connection with the same codecs as the pool (LISTEN, COPY, scripts)."""
    conn = await asyncpg.connect(database_url)
    await init_connection(conn)
    return conn


async def _no_reset(_conn: asyncpg.Connection) -> None:
    """For pools whose users leave no session state behind (no SET, LISTEN or session
    advisory locks): returning a connection then needs no reset round trip. asyncpg still
    rolls back a transaction left open."""


async def create_pool(
    database_url: str, *, min_size: int = 2, max_size: int = 10, stateless: bool = False
) -> asyncpg.Pool:
    """``stateless=True`` skips asyncpg's per-release reset query (one round trip per
    checkout): only for pools whose statements are all jobrunner's own."""
    return await asyncpg.create_pool(
        database_url,
        min_size=min_size,
        max_size=max_size,
        init=init_connection,
        **({"reset": _no_reset} if stateless else {}),
    )
