"""Retry delays: exponential backoff with "equal jitter", the one definition (jobs retried by
the worker, reconnects to the database and the listener, the HTTP client's polling).
Standard library only: the client package, shipped to users, imports it.

A pure function so tests control randomness (and so time): ``rand`` returns a float in
[0, 1). Half of the exponential delay is kept, the other half is random, so retries of
many jobs that failed together spread out, yet none retries sooner than half its delay.
"""

from __future__ import annotations

import random
from collections.abc import Callable


def backoff_seconds(
    retry_count: int,
    *,
    base: float,
    cap: float,
    rand: Callable[[], float] = random.random,
) -> float:
    """The delay before the retry that follows ``retry_count`` earlier retries:
    ``d = min(cap, base * 2**retry_count)``, then a uniform pick in ``[d/2, d)``."""
    exponent = min(max(retry_count, 0), 62)
    delay = min(cap, base * (2.0**exponent))
    return delay / 2 + rand() * delay / 2
