"""Server-sent events of job changes (docs/push.md): ``GET /v1/jobs/{job_id}/events`` (one
job, until it is final) and ``GET /v1/jobs/events`` (the caller's jobs, filtered like the
list). The same authentication, permission and isolation as the status and list endpoints,
checked before the stream starts; ``Last-Event-ID`` resumes.

Registered before the jobs router, so ``/v1/jobs/events`` is never read as a job id."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, cast

from fastapi import APIRouter, Header, Query, Request
from sse_starlette import EventSourceResponse
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from jobrunner.api.deps import Caller, JobId
from jobrunner.api.errors import problem_responses
from jobrunner.db.events_repository import JobFilter
from jobrunner.domain.states import JobStatus
from jobrunner.jobs import sse
from jobrunner.jobs.streams import OpenStream

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])


class EventStream(EventSourceResponse):
    """sse-starlette's response (client disconnects, server shutdown, HEAD), documented as
    ``text/event-stream``. Heartbeats are the stream's own (``jobs/push.py``). ``on_close``
    runs however the response ends."""

    media_type = sse.EVENT_STREAM

    def __init__(self, *args: Any, on_close: Callable[[], None] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._on_close = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            if self._on_close is not None:
                self._on_close()


# What one event is, as an SSE parser yields it (OpenAPI 3.1: `schema` of text/event-stream
# describes each event). Heartbeats are comments and the opening `retry:` carries no data:
# parsers yield neither.
_EVENT_SCHEMA = {
    "title": "JobEvent",
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "event": {
            "type": "string",
            "enum": ["job", "end"],
            "description": "`job`: a state of a job; `end`: the last event, the service ends the stream.",
        },
        "data": {
            "type": "string",
            "contentMediaType": "application/json",
            "description": "`job`: the status endpoint's answer (JobStatusResponse) as JSON; "
            '`end`: `{"reason": "final" | "token_expired" | "access_revoked" | "max_duration" | '
            '"resync" | "shutdown"}`.',
        },
        "id": {
            "type": "string",
            "pattern": "^[0-9]{1,16}$",
            "description": "Send the last one back in Last-Event-ID to resume.",
        },
    },
}
_EVENT_EXAMPLE = {
    "event": "job",
    "id": "1706610600123",
    "data": '{"job":{"id":"550e8400-e29b-41d4-a716-446655440000","status":"running","progress":40},'
    '"progress":40,"canCancel":true,"canRetry":false}',
}

_FORMAT = (
    "Server-sent events (`text/event-stream`, UTF-8). The stream starts with `retry: 2000`, then "
    "the current state of the job(s) (see below), then one event per change:\n\n"
    "- `event: job`: `data` is exactly the status endpoint's 200 answer (`JobStatusResponse`: "
    "`job`, `progress`, `canCancel`, `canRetry`) on one line; `id` is the job's `updatedAt` in "
    "milliseconds since the epoch (never smaller than the stream's previous id). Progress of one "
    "job comes at most a few times a second (`JOBRUNNER_SSE_PROGRESS_INTERVAL_SECONDS`); a change "
    "of status at once.\n"
    "- `: heartbeat` (a comment) after `JOBRUNNER_SSE_HEARTBEAT_SECONDS` (15) of silence.\n"
    '- `event: end`, `data: {"reason": …}`, the last event: `final` (the job of a one-job stream '
    "is final), `token_expired` (reconnect with a fresh token), `access_revoked`, `max_duration`, "
    "`resync` (reconnect with Last-Event-ID; a list stream whose resume is too large: re-read the "
    "list and reconnect without it) or `shutdown`.\n\n"
    "Send the last `id` back in `Last-Event-ID` to resume: the stream then starts with every job "
    "that changed since (a job may come twice, none is missed)."
)

_STREAM_200 = {
    "description": _FORMAT,
    "content": {sse.EVENT_STREAM: {"schema": _EVENT_SCHEMA, "example": _EVENT_EXAMPLE}},
    "headers": {"Cache-Control": {"description": "`no-store`", "schema": {"type": "string"}}},
}

LastEventId = Annotated[
    str | None,
    Header(
        alias="Last-Event-ID",
        description="The `id` of the last event received: resume after it (digits; anything else is a 422).",
        max_length=64,
    ),
]


class _EndOnShutdown:
    """What sse-starlette sets when the server shuts down (its ``shutdown_event``): the
    stream then ends with ``event: end`` (``shutdown``) within the grace period."""

    def __init__(self, stream: OpenStream) -> None:
        self._stream = stream

    def set(self) -> None:
        self._stream.subscription.end(sse.EndReason.SHUTDOWN)


def _respond(stream: OpenStream, request: Request) -> Response:
    settings = request.app.state.settings
    return EventStream(
        stream.body(),
        ping=0,  # the stream writes its own heartbeats
        sep="\n",
        # A client that reads nothing for this long is gone.
        send_timeout=max(30.0, 2 * settings.sse_heartbeat_seconds),
        shutdown_event=cast(Any, _EndOnShutdown(stream)),
        shutdown_grace_period=1.0,
        on_close=stream.close,
    )


@router.get(
    "/events",
    operation_id="streamJobEvents",
    status_code=200,
    summary="Stream changes of the caller's jobs (server-sent events)",
    description="The jobs `GET /v1/jobs` would list (the caller's own), filtered the same way. Without "
    "`Last-Event-ID` the stream starts with the caller's unfinished jobs (at most 100); with it, with "
    "every job changed since (at most 500, else `event: end` with `resync`). It never ends on its own "
    "before `JOBRUNNER_SSE_MAX_STREAM_SECONDS`, the token's expiry or a revocation.",
    response_class=EventStream,
    responses={200: _STREAM_200, **problem_responses(401, 403, 422, 503)},
)
async def stream_jobs(
    request: Request,
    caller: Caller,
    last_event_id: LastEventId = None,
    status: Annotated[JobStatus | None, Query()] = None,
    job_type: Annotated[str | None, Query(alias="jobType", min_length=1, max_length=50)] = None,
) -> Response:
    last_id = sse.parse_last_event_id(last_event_id)
    where = JobFilter(status=status and status.value, job_type=job_type)
    return _respond(await request.app.state.streams.owned(caller, where, last_id), request)


@router.get(
    "/{job_id}/events",
    operation_id="streamJobStatus",
    status_code=200,
    summary="Stream one job's status and progress until it is final (server-sent events)",
    description="Starts with the job's current state; ends with `event: end` (`final`) after the event "
    "of its final state. Another user's or organization's job is a 404 before anything streams.",
    response_class=EventStream,
    responses={
        200: _STREAM_200,
        204: {
            "description": "The job is final and `Last-Event-ID` shows its final state was received: "
            "nothing more will come (tells an EventSource to stop reconnecting)."
        },
        **problem_responses(401, 403, 404, 422, 503),
    },
)
async def stream_job(request: Request, job_id: JobId, caller: Caller, last_event_id: LastEventId = None) -> Response:
    last_id = sse.parse_last_event_id(last_event_id)
    stream = await request.app.state.streams.one(caller, job_id, last_id)
    if stream is None:
        return Response(status_code=204)
    return _respond(stream, request)
