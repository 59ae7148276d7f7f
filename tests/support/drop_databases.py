"""Drops test databases, one after another: ``python -m tests.support.drop_databases
SERVER_URL NAME...``. The test session starts it detached at its end (tests/conftest.py,
``Databases.close``) so that the run does not wait for some thousand drops."""

from __future__ import annotations

import asyncio
import sys

import asyncpg


async def drop_all(server_url: str, names: list[str]) -> None:
    conn = await asyncpg.connect(server_url)
    try:
        for name in names:
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except asyncpg.PostgresError:
                continue  # a leftover fails no test
    finally:
        await conn.close()


if __name__ == "__main__":
    asyncio.run(drop_all(sys.argv[1], sys.argv[2:]))
