"""Fixtures for the engine's tests: fast settings, the test job types, an in-process worker."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest

import tests.support.processors as test_processors
from jobrunner.settings import Settings
from jobrunner.worker.loop import Worker


def fast_settings(**overrides: object) -> Settings:
    values: dict[str, object] = dict(
        poll_interval_seconds=0.5,
        heartbeat_interval_seconds=0.3,
        lease_seconds=2.0,
        cancel_check_interval_seconds=0.2,
        progress_write_interval_seconds=0.05,
        shutdown_grace_seconds=1.0,
        retry_backoff_base_seconds=0.05,
        retry_backoff_cap_seconds=0.2,
        pool_max_size=8,
    )
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings() -> Settings:
    return fast_settings()


@pytest.fixture
async def events(pool: asyncpg.Pool) -> asyncpg.Pool:
    await pool.execute(test_processors.EVENTS_TABLE)
    return pool


@pytest.fixture
async def worker(database_url: str, settings: Settings, events: asyncpg.Pool) -> AsyncIterator[Worker]:
    async with Worker(database_url, settings, concurrency=10, worker_id="test-worker").running() as w:
        yield w


async def eventually(check: Callable[[], Awaitable[object]], timeout: float = 10.0, interval: float = 0.02) -> object:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s (last value {value!r})")
        await asyncio.sleep(interval)


async def wait_status(pool: asyncpg.Pool, job_id: object, *statuses: str, timeout: float = 10.0) -> asyncpg.Record:
    async def check() -> asyncpg.Record | None:
        row = await pool.fetchrow("SELECT * FROM jobs WHERE id = $1", job_id)
        return row if row["status"] in statuses and row["locked_by"] is None else None

    return await eventually(check, timeout)  # type: ignore[return-value]
