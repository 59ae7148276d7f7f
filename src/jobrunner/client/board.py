"""The caller's newest jobs, followed live until none of them can change any more (what
``jobrunner jobs watch`` shows): the list stream (``GET /v1/jobs/events``) with the list
re-read each time it opens, or, when the service cannot stream, the list polled."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import aclosing
from typing import Any

from jobrunner.client.events import PushUnavailable
from jobrunner.client.http import FINAL_STATES, JobrunnerClient

# Between two reads of the list when the service cannot stream.
POLL_SECONDS = 2.0

Show = Callable[[list[dict[str, Any]]], None]
Sleep = Callable[[float], Awaitable[None]]


class JobBoard:
    """At most ``size`` of the caller's newest jobs, each in its latest known state."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._jobs: dict[str, dict[str, Any]] = {}

    def rows(self) -> list[dict[str, Any]]:
        """Newest first, as the list endpoint orders them."""
        return sorted(self._jobs.values(), key=lambda job: (job["createdAt"], job["id"]), reverse=True)

    def done(self) -> bool:
        return all(job["status"] in FINAL_STATES for job in self._jobs.values())

    def listed(self, jobs: list[dict[str, Any]]) -> None:
        """A fresh read of the list decides which jobs are the newest; a state already
        pushed that is newer than the list's is kept."""
        fresh: dict[str, dict[str, Any]] = {}
        for job in jobs:
            known = self._jobs.get(job["id"])
            fresh[job["id"]] = known if known is not None and known["updatedAt"] > job["updatedAt"] else job
        self._jobs = fresh

    def pushed(self, job: dict[str, Any]) -> bool:
        """A job's state from the stream: kept unless older than what is known, or the job
        is older than every job shown on a full board. Whether anything changed."""
        known = self._jobs.get(job["id"])
        if known is not None:
            if known["updatedAt"] > job["updatedAt"]:
                return False
            self._jobs[job["id"]] = job
            return True
        self._jobs[job["id"]] = job  # a new job (or one that was not shown)
        if len(self._jobs) > self.size:
            oldest = self.rows()[-1]
            del self._jobs[oldest["id"]]
            return oldest["id"] != job["id"]
        return True


class _Settled(Exception):
    """Every job shown is final: nothing more will change (ends the stream from ``on_open``)."""


async def follow_newest(
    api: JobrunnerClient, size: int, show: Show, *, sleep: Sleep = asyncio.sleep
) -> list[dict[str, Any]]:
    """Shows (``show(rows)``) the caller's ``size`` newest jobs each time they change, until
    none of them is queued, running or retrying; returns them. Pushed over one event stream
    (no request per refresh); the list is polled every ``POLL_SECONDS`` when the service
    cannot stream (503, a transaction-mode pooler without a direct URL, ``push=False``)."""
    board = JobBoard(size)

    async def reread(_resync: bool) -> None:
        # The stream sends changes from its opening on: what happened before is in the list.
        board.listed((await api.list_jobs(page=1, page_size=size))["jobs"])
        show(board.rows())
        if board.done():
            raise _Settled

    try:
        async with aclosing(api.watch_jobs(on_open=reread, sleep=sleep)) as changes:
            async for status in changes:
                if board.pushed(status["job"]):
                    show(board.rows())
                if board.done():
                    return board.rows()
    except _Settled:
        return board.rows()
    except PushUnavailable:
        pass
    while True:
        board.listed((await api.list_jobs(page=1, page_size=size))["jobs"])
        show(board.rows())
        if board.done():
            return board.rows()
        await sleep(POLL_SECONDS)
