"""Reading server-sent event streams in tests, from a real server (httpx streaming; the
ASGI transport buffers whole answers, so streams need a served app)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class Event:
    event: str = "message"
    data: str = ""
    id: str | None = None
    comment: str | None = None

    @property
    def json(self) -> Any:
        return json.loads(self.data)


@dataclass
class Stream:
    """What a stream sent so far (``events`` holds comments too, as events with ``comment``)."""

    status_code: int
    headers: httpx.Headers
    events: list[Event] = field(default_factory=list)
    closed: bool = False

    @property
    def jobs(self) -> list[dict[str, Any]]:
        """The data of its ``job`` events, in order."""
        return [e.json for e in self.events if e.event == "job"]

    @property
    def ids(self) -> list[int]:
        return [int(e.id) for e in self.events if e.id is not None]

    @property
    def end(self) -> str | None:
        ends = [e.json["reason"] for e in self.events if e.event == "end"]
        return ends[-1] if ends else None

    @property
    def heartbeats(self) -> int:
        return sum(1 for e in self.events if e.comment is not None and e.comment.strip() == "heartbeat")


async def parse(lines: AsyncIterator[str]) -> AsyncIterator[Event]:
    current = Event()
    touched = False
    async for line in lines:
        if line == "":
            if touched:
                yield current
            current, touched = Event(), False
            continue
        if line.startswith(":"):
            yield Event(event="", comment=line[1:])
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        touched = True
        if name == "event":
            current.event = value
        elif name == "data":
            current.data = value if not current.data else current.data + "\n" + value
        elif name == "id":
            current.id = value
        elif name == "retry":
            current.event = "retry"
            current.data = value


async def read(
    client: httpx.AsyncClient,
    path: str,
    headers: dict[str, str],
    *,
    until: Callable[[Stream], bool] = lambda s: False,
    timeout: float = 15.0,
    on_open: Callable[[Stream], Any] | None = None,
) -> Stream:
    """Open ``path``, collect events until ``until(stream)`` holds, the server ends the
    stream, or ``timeout`` (then the stream is returned as it is; callers assert)."""
    async with client.stream("GET", path, headers=headers, timeout=timeout) as response:
        stream = Stream(response.status_code, response.headers)
        if response.status_code != 200:
            await response.aread()
            stream.events.append(Event(event="body", data=response.text))
            return stream
        if on_open is not None:
            result = on_open(stream)
            if asyncio.iscoroutine(result):
                await result

        async def collect() -> None:
            async for event in parse(response.aiter_lines()):
                stream.events.append(event)
                if until(stream):
                    return
            stream.closed = True

        try:
            await asyncio.wait_for(collect(), timeout)
        except TimeoutError:
            pass
    return stream
