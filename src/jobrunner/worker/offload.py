"""CPU-bound work off the event loop, in bounded slices.

The event loop of a process serves HTTP, heartbeats, cancels and many processors at
once, so a processor never parses, checks or writes a large file on it. It writes that
work as a generator that yields at the end of each short slice (``Slicer`` says when);
``run_sliced`` runs the slices one after the other in a worker thread and, between two
slices, awaits the processor's callback on the loop (progress, ``check_cancelled``). A
cancel therefore lands within one slice, and the loop never waits on the work."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Generator
from typing import Any, TypeVar

R = TypeVar("R")

# How long one slice runs before the generator yields (cancel and progress latency).
SLICE_SECONDS = 0.05


class Slicer:
    """Tells a generator when its slice is over: ``due()`` is cheap enough to call per
    record (it reads the clock every ``every`` calls)."""

    __slots__ = ("_calls", "_every", "_until", "seconds")

    def __init__(self, seconds: float = SLICE_SECONDS, every: int = 64) -> None:
        self.seconds = seconds
        self._every = every
        self._calls = 0
        self._until = time.monotonic() + seconds

    def due(self) -> bool:
        self._calls += 1
        if self._calls < self._every:
            return False
        self._calls = 0
        return time.monotonic() >= self._until

    def restart(self) -> None:
        self._calls = 0
        self._until = time.monotonic() + self.seconds


def _advance(slices: Generator[None, None, R]) -> tuple[bool, R | None]:
    try:
        next(slices)
    except StopIteration as stop:
        return True, stop.value
    return False, None


async def run_sliced(slices: Generator[None, None, R], between: Callable[[], Awaitable[None]]) -> R:
    """Run ``slices`` to its end in a worker thread, one slice at a time, awaiting
    ``between()`` on the loop after each slice; returns the generator's return value.

    If the caller is cancelled (or ``between`` raises), the slice in flight is left to
    finish in its thread (it is short) and the generator is then closed, so its
    ``finally`` blocks run and no two threads ever touch it at once."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[tuple[bool, R | None]] | None = None
    try:
        while True:
            future = loop.run_in_executor(None, _advance, slices)
            finished, value = await asyncio.shield(future)
            future = None
            if finished:
                return value  # type: ignore[return-value]
            await between()
    finally:
        if future is None or future.done():
            slices.close()
        else:
            future.add_done_callback(lambda done: _close_after(done, slices))


def _close_after(done: asyncio.Future, slices: Generator[Any, None, Any]) -> None:
    if not done.cancelled():
        done.exception()  # retrieved: nobody awaits it any more
    slices.close()
