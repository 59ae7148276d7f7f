"""Server-sent events for the Python client (docs/push.md): the text/event-stream parser
and the followers of one job's stream (``GET /v1/jobs/{id}/events``) and of the caller's
list stream (``GET /v1/jobs/events``) across reconnects with ``Last-Event-ID``.
``JobrunnerClient.watch`` and ``watch_jobs`` use them; their callers poll when they cannot."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from jobrunner import backoff
from jobrunner.client.errors import ApiError

EVENT_STREAM = "text/event-stream"
# A stream silent this long (no event, no heartbeat: the service sends one every 15 s) is
# presumed dead and opened again.
STREAM_SILENCE_SECONDS = 45.0
# Connections that fail in a row before the client falls back to polling.
STREAM_ATTEMPTS = 3

Sleep = Callable[[float], Awaitable[None]]
# Awaited when a list stream is open (True: after a resync, changes may have been missed).
OnOpen = Callable[[bool], Awaitable[None]]


class PushUnavailable(Exception):
    """The service cannot stream now (503, not an event stream, repeated failures): poll."""


@dataclass
class Event:
    event: str = "message"
    data: str = ""
    id: str | None = None


async def parse_events(lines: AsyncIterator[str]) -> AsyncIterator[Event]:
    """The events of a text/event-stream, line by line (comments are skipped)."""
    current, seen = Event(), False
    data: list[str] = []
    async for line in lines:
        if line == "":
            if seen:
                current.data = "\n".join(data)
                yield current
            current, data, seen = Event(), [], False
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        seen = True
        if field == "event":
            current.event = value
        elif field == "data":
            data.append(value)
        elif field == "id":
            current.id = value


def follow_job(
    http: httpx.AsyncClient, job_id: str, *, sleep: Sleep, problem: Callable[[httpx.Response], dict[str, Any]]
) -> AsyncGenerator[dict[str, Any], None]:
    """Yields the job's status answers as the service pushes them, until its final state.
    401/403/404 and other refusals raise ApiError; ``PushUnavailable`` when streaming
    cannot be used (the caller polls instead)."""
    return _follow(http, f"/v1/jobs/{job_id}/events", sleep=sleep, problem=problem)


def follow_jobs(
    http: httpx.AsyncClient,
    *,
    sleep: Sleep,
    problem: Callable[[httpx.Response], dict[str, Any]],
    status: str | None = None,
    job_type: str | None = None,
    on_open: OnOpen | None = None,
) -> AsyncGenerator[dict[str, Any], None]:
    """Yields the status answers of the caller's jobs (``GET /v1/jobs/events``, filtered like
    the list) as the service pushes them, for as long as the caller reads. ``on_open(resync)``
    is awaited each time a stream is open, before its first event: the moment to (re-)read
    the list, since the service sends only changes from then on (``resync`` is true when
    changes may have been missed). Refusals raise ApiError; ``PushUnavailable`` when
    streaming cannot be used (the caller polls instead)."""
    query = {key: value for key, value in (("status", status), ("jobType", job_type)) if value}
    path = "/v1/jobs/events" + (f"?{urlencode(query)}" if query else "")
    return _follow(http, path, sleep=sleep, problem=problem, on_open=on_open)


async def _follow(
    http: httpx.AsyncClient,
    path: str,
    *,
    sleep: Sleep,
    problem: Callable[[httpx.Response], dict[str, Any]],
    on_open: OnOpen | None = None,
) -> AsyncGenerator[dict[str, Any], None]:
    """One stream across reconnects (``Last-Event-ID``), until ``end: final`` or a 204."""
    last_id: str | None = None
    failures = 0
    resync = False
    while True:
        headers = {"Accept": EVENT_STREAM}
        if last_id:
            headers["Last-Event-ID"] = last_id
        reason = "dropped"
        try:
            async with http.stream(
                "GET",
                path,
                headers=headers,
                timeout=httpx.Timeout(http.timeout.connect, read=STREAM_SILENCE_SECONDS),
            ) as response:
                if response.status_code == 204:  # its final state was seen already
                    return
                if response.status_code >= 400:
                    await response.aread()
                    if response.status_code >= 500 or response.status_code == 429:
                        raise PushUnavailable(f"HTTP {response.status_code}")
                    raise ApiError(response.status_code, problem(response))
                if not response.headers.get("content-type", "").startswith(EVENT_STREAM):
                    raise PushUnavailable("not an event stream")
                if on_open is not None:
                    await on_open(resync)
                    resync = False
                async for event in parse_events(response.aiter_lines()):
                    if event.event == "job":
                        last_id = event.id or last_id
                        failures = 0
                        yield json.loads(event.data)
                    elif event.event == "end":
                        reason = json.loads(event.data).get("reason", "dropped")
                        break
        except httpx.TransportError:
            reason = "failed"
        if reason == "final":
            return
        if reason == "resync":  # changes may have been missed: start afresh
            last_id, resync = None, True
        if reason in ("failed", "dropped"):
            failures += 1
            if failures >= STREAM_ATTEMPTS:
                raise PushUnavailable(f"{failures} failed connections")
            await sleep(backoff.backoff_seconds(failures - 1, base=1.0, cap=10.0))
        elif reason == "shutdown":  # that server is going away
            await sleep(2.0)
        # token_expired, max_duration, resync: reconnect at once (with Last-Event-ID but after a resync)
