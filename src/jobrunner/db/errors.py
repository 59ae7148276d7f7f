"""What "the database is unavailable" means, defined once, and our errors for it.

Everything that talks to PostgreSQL (the API's pool, workers, listeners, the maintenance
timer) uses these: ``UNAVAILABLE_ERRORS`` to catch, ``is_unavailable`` to decide,
``DatabaseUnavailable`` to say it in our words (the API answers it with 503 and
``Retry-After``), and ``wait_for_database`` to wait it out with backoff.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg

from jobrunner.domain.errors import InvalidInput, JobrunnerError
from jobrunner.backoff import backoff_seconds

log = logging.getLogger(__name__)

T = TypeVar("T")


class DatabaseError(JobrunnerError):
    """The database failed a statement we expected to succeed."""


class DatabaseUnavailable(DatabaseError):
    """The database does not answer (down, restarting, unreachable): try again shortly."""

    def __init__(self, detail: str = "the database is unavailable; try again shortly") -> None:
        super().__init__(detail)


# The server is away, starting, shutting down, out of connections, or the connection to
# it broke; none of these says anything about the statement that was sent.
UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, unreachable host, DNS failure (asyncpg raises them as they are)
    TimeoutError,  # connect or statement timeout
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08: connection failure, does not exist
    asyncpg.OperatorInterventionError,  # class 57: admin/crash shutdown, "the database system is starting up"
    asyncpg.InsufficientResourcesError,  # class 53: too many connections, out of memory, disk full
    asyncpg.InterfaceError,  # "connection is closed", "pool is closing"
    asyncpg.InternalClientError,  # protocol state broken by a vanished server ("cannot switch to state")
    DatabaseUnavailable,  # already said in our words (the pool translates)
)

# Every error the driver or the server can raise: unavailability plus refused statements.
DRIVER_ERRORS: tuple[type[BaseException], ...] = (asyncpg.PostgresError, *UNAVAILABLE_ERRORS)

# The ones only the driver raises (OSError and TimeoutError come from files and sockets
# too): to recognise a database error that escaped, wherever it surfaces.
DRIVER_ONLY_ERRORS: tuple[type[Exception], ...] = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
)


def is_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` means the database is away rather than that a statement is wrong.
    asyncpg's client-side argument errors (``DataError``) and configuration errors are
    ``InterfaceError`` *and* ``ValueError``: those are the caller's, not unavailability."""
    return isinstance(exc, UNAVAILABLE_ERRORS) and not isinstance(exc, ValueError)


# Said in our words: the driver's message (which may quote the value) stays in the log.
REFUSED_VALUE = "a value of this request cannot be stored (out of range or not allowed)"


def translate(exc: BaseException) -> JobrunnerError:
    """A driver error as one of ours. Input the API let through but the database refuses
    is still the caller's mistake (the server's check and data errors, SQLSTATE 23514 and
    class 22, and asyncpg's client-side ``DataError``, an ``InterfaceError`` that is also a
    ``ValueError``): 422. The database being away: ``DatabaseUnavailable``. Anything else
    is our bug: ``DatabaseError`` (a 500; the driver's error is logged as its cause)."""
    if isinstance(exc, (asyncpg.CheckViolationError, asyncpg.DataError)) or (
        isinstance(exc, asyncpg.InterfaceError) and isinstance(exc, ValueError)
    ):
        return InvalidInput("the database refused a value", [{"loc": "body", "message": REFUSED_VALUE}])
    if is_unavailable(exc):
        return exc if isinstance(exc, DatabaseUnavailable) else DatabaseUnavailable()
    if isinstance(exc, JobrunnerError):
        return exc
    return DatabaseError(f"database error: {type(exc).__name__}")


async def wait_for_database(attempt: Callable[[], Awaitable[T]], *, what: str, base: float, cap: float) -> T:
    """Run ``attempt`` until it succeeds, sleeping with backoff (``jobrunner/backoff.py``)
    between tries while the database is unavailable. Other errors propagate."""
    failures = 0
    while True:
        try:
            return await attempt()
        except UNAVAILABLE_ERRORS as exc:
            if not is_unavailable(exc):
                raise
            delay = backoff_seconds(failures, base=base, cap=cap)
            failures += 1
            log.warning("%s: database unavailable (%s); retrying in %.1f s", what, type(exc).__name__, delay)
            await asyncio.sleep(delay)
