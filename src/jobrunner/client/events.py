"""Server-sent events for the Python client (docs/push.md): the text/event-stream parser
and the follower of one job's stream (``GET /v1/jobs/{id}/events``) across reconnects
with ``Last-Event-ID``. ``JobrunnerClient.watch`` uses it and polls when it cannot."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

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


async def follow_job(
    http: httpx.AsyncClient, job_id: str, *, sleep: Sleep, problem: Callable[[httpx.Response], dict[str, Any]]
) -> AsyncIterator[dict[str, Any]]:
    """Yields the job's status answers as the service pushes them, until its final state.
    401/403/404 and other refusals raise ApiError; ``PushUnavailable`` when streaming
    cannot be used (the caller polls instead)."""
    last_id: str | None = None
    failures = 0
    while True:
        headers = {"Accept": EVENT_STREAM}
        if last_id:
            headers["Last-Event-ID"] = last_id
        reason = "dropped"
        try:
            async with http.stream(
                "GET",
                f"/v1/jobs/{job_id}/events",
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
        if reason in ("failed", "dropped"):
            failures += 1
            if failures >= STREAM_ATTEMPTS:
                raise PushUnavailable(f"{failures} failed connections")
            await sleep(backoff.backoff_seconds(failures - 1, base=1.0, cap=10.0))
        elif reason == "shutdown":  # that server is going away
            await sleep(2.0)
        # token_expired, max_duration, resync: reconnect at once with Last-Event-ID
