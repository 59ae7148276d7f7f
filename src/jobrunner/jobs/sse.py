"""The wire format of the job event streams (docs/push.md): what one event, a heartbeat
and the end of a stream look like, and what an event id means.

An event id is the job's ``updatedAt`` in milliseconds since the epoch, never smaller than
the stream's previous id (so ids only grow within a stream). A client that reconnects
with ``Last-Event-ID`` gets every job that changed since a little before it (``RESUME_SLACK``,
for changes committed after later ones): a job may come twice, never not at all.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

import orjson

from jobrunner.domain.errors import InvalidInput

EVENT_STREAM = "text/event-stream"
# The reconnection delay a plain EventSource uses after a stream ends (milliseconds).
RETRY_MS = 2000
# Changes are stamped with their transaction's start and seen at commit: a resume reaches
# back this far before the last event id.
RESUME_SLACK = dt.timedelta(seconds=10)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
# Event ids are milliseconds within PostgreSQL's timestamptz range.
_MAX_EVENT_ID = 10**15


class EndReason(StrEnum):
    """Why the service ended a stream (the data of the last event, ``event: end``)."""

    FINAL = "final"
    """The job of a one-job stream reached a final state: nothing more will come."""
    TOKEN_EXPIRED = "token_expired"
    """The bearer token expired: reconnect with a fresh one."""
    ACCESS_REVOKED = "access_revoked"
    """The user left the organization or lost jobs.view_jobs: a reconnect is refused."""
    MAX_DURATION = "max_duration"
    """The stream reached JOBRUNNER_SSE_MAX_STREAM_SECONDS: reconnect with Last-Event-ID."""
    RESYNC = "resync"
    """The service may have missed changes (its LISTEN connection was re-established, or
    more changed than a resume sends): reconnect with Last-Event-ID, or re-read the list."""
    SHUTDOWN = "shutdown"
    """The API process is stopping: reconnect with Last-Event-ID."""


def stamp(updated_at: dt.datetime) -> int:
    """A job version's event id: its updated_at in whole milliseconds since the epoch."""
    delta = updated_at - _EPOCH
    return delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000


def moment(event_id: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(milliseconds=event_id)


def parse_last_event_id(value: str | None) -> int | None:
    """The ``Last-Event-ID`` header: absent or empty is None; anything but an id this
    service sent is a 422."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 16 or int(text) >= _MAX_EVENT_ID:
        raise InvalidInput(
            "invalid Last-Event-ID",
            [{"loc": "Last-Event-ID", "message": "must be the id of an event this stream sent (digits)"}],
        )
    return int(text)


def job_event(event_id: int, data: bytes) -> bytes:
    """One job event; ``data`` is the status endpoint's answer as JSON (one line)."""
    return b"id: %d\nevent: job\ndata: %s\n\n" % (event_id, data)


def end_event(reason: EndReason) -> bytes:
    return b"event: end\ndata: %s\n\n" % orjson.dumps({"reason": reason.value})


def opening(retry_ms: int = RETRY_MS) -> bytes:
    """The first bytes of every stream: the reconnection delay for EventSource."""
    return b"retry: %d\n\n" % retry_ms


HEARTBEAT = b": heartbeat\n\n"
