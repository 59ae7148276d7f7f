"""A dedicated LISTEN connection that reconnects by itself, straight to PostgreSQL (never
through a transaction-mode pooler: ``listen_url``).

Notifications are hints, never the only path: after a reconnect the ``on_reconnect``
callback runs (a worker then looks for work and checks its jobs, since notifications sent
while the connection was down are lost), and workers poll as a fallback anyway.

Whatever the database or the driver raises (``db/errors.py``: down, restarting, a broken
protocol state), the listener waits with backoff (``jobrunner/backoff.py``) and reconnects;
only ``close()`` ends it.

``on_connect`` runs on each new connection before it listens: the worker takes its
session lock there (the connection lives as long as the worker, so the lock does too).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping

import asyncpg

from jobrunner.db.errors import DRIVER_ERRORS
from jobrunner.db.pool import DEFAULT_CONNECT_TIMEOUT
from jobrunner.db.sql import Q
from jobrunner.backoff import backoff_seconds
from jobrunner.settings import Settings

log = logging.getLogger(__name__)

Handler = Callable[[str], None]


def listen_url(database_url: str, settings: Settings) -> str | None:
    """Where LISTEN goes: ``JOBRUNNER_DIRECT_DATABASE_URL`` when set, else DATABASE_URL
    unless that goes through a transaction-mode pooler (which hands each transaction to
    any server connection: a LISTEN there hears nothing). None: no LISTEN, poll."""
    if settings.direct_database_url:
        return settings.direct_database_url
    return None if settings.database_pooled else database_url


class Listener:
    """LISTEN on ``channels`` (name -> handler called with the payload) until ``close()``."""

    def __init__(
        self,
        database_url: str,
        channels: Mapping[str, Handler],
        *,
        on_reconnect: Callable[[], None] | None = None,
        on_connect: Callable[[asyncpg.Connection], Awaitable[None]] | None = None,
        ping_interval: float = 5.0,
        backoff_base: float = 0.2,
        max_backoff: float = 5.0,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    ) -> None:
        self._url = database_url
        self._channels = dict(channels)
        self._on_reconnect = on_reconnect
        self._on_connect = on_connect
        self._ping_interval = ping_interval
        self._backoff_base = backoff_base
        self._max_backoff = max_backoff
        self._connect_timeout = connect_timeout
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._conn: asyncpg.Connection | None = None

    async def start(self, timeout: float = 10.0) -> None:
        """Start listening; returns once the first connection listens (or ``timeout``)."""
        self._task = asyncio.create_task(self._run(), name="jobrunner-listener")
        try:
            await asyncio.wait_for(self._connected.wait(), timeout)
        except TimeoutError:
            log.warning("LISTEN connection not up after %.0f s; polling meanwhile", timeout)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    @property
    def connection(self) -> asyncpg.Connection | None:
        """The live connection (tests terminate it to check that it comes back)."""
        return self._conn

    def _dispatch(self, handler: Handler) -> Callable[..., None]:
        def callback(_conn: object, _pid: int, _channel: str, payload: str) -> None:
            try:
                handler(payload)
            except Exception:  # a handler's bug must not kill the listener
                log.exception("notification handler failed")

        return callback

    async def _run(self) -> None:
        failures = 0
        first = True
        while True:
            try:
                conn = await asyncpg.connect(self._url, timeout=self._connect_timeout)
            except DRIVER_ERRORS as exc:
                delay = backoff_seconds(failures, base=self._backoff_base, cap=self._max_backoff)
                failures += 1
                log.warning("LISTEN connect failed (%s); retrying in %.1f s", type(exc).__name__, delay)
                await asyncio.sleep(delay)
                continue
            self._conn = conn
            lost = asyncio.Event()
            conn.add_termination_listener(lambda _c, lost=lost: lost.set())
            try:
                if self._on_connect is not None:
                    await self._on_connect(conn)
                for channel, handler in self._channels.items():
                    await conn.add_listener(channel, self._dispatch(handler))
                failures = 0
                self._connected.set()
                if not first and self._on_reconnect is not None:
                    self._on_reconnect()
                first = False
                while not lost.is_set():
                    try:
                        await asyncio.wait_for(lost.wait(), self._ping_interval)
                    except TimeoutError:
                        await asyncio.wait_for(conn.execute(Q.ping), self._ping_interval)
            except DRIVER_ERRORS as exc:
                log.warning("LISTEN connection lost (%s); reconnecting", type(exc).__name__)
            finally:
                self._conn = None
                conn.terminate()
            delay = backoff_seconds(failures, base=self._backoff_base, cap=self._max_backoff)
            failures += 1
            log.info("LISTEN connection closed; reconnecting in %.1f s", delay)
            await asyncio.sleep(delay)
