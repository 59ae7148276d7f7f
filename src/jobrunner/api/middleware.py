"""Pure ASGI middleware (cheap on the polling path): a request body size limit, and the
request id, metrics and log line of every request (``Observe``)."""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jobrunner.api.errors import problem_response
from jobrunner.api.request_ids import CALLER_REQUEST_ID, CALLER_SCOPE_KEY, incoming_request_id, new_request_id
from jobrunner.observability.logs import REQUEST_ID, EventLog

REQUEST_LOG = EventLog("jobrunner.request")


class BodySizeLimit:
    """Refuse bodies over ``max_bytes`` with 413: at once when Content-Length says so,
    otherwise while the body is read (chunked uploads). ``limits`` sets another limit for
    an exact path (file uploads)."""

    def __init__(self, app: ASGIApp, max_bytes: int, limits: dict[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.limits = limits or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self.limits.get(scope["path"], self.max_bytes)
        for name, value in scope["headers"]:
            if name == b"content-length":
                if not value.isdigit() or int(value) > limit:
                    await problem_response(413, self._detail(limit))(scope, receive, send)
                    return
                break
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413, self._detail(limit))
            return message

        await self.app(scope, limited_receive, send)

    @staticmethod
    def _detail(limit: int) -> str:
        return f"request body larger than {limit} bytes"


class Observe:
    """Per request: its id (``X-Request-Id``: the caller's when it is short and plain, else
    a new one; sent back on every answer, in problem bodies too), the request metrics
    (counts and latency per method, route template and status) and one log line (method,
    route template, status, duration, request id, user, organization). Never the raw path
    or a header: paths and query strings can hold signed-link tokens."""

    def __init__(self, app: ASGIApp, registry: CollectorRegistry) -> None:
        self.app = app
        self.requests = Counter(
            "jobrunner_http_requests", "HTTP requests", ["method", "route", "status"], registry=registry
        )
        self.latency = Histogram(
            "jobrunner_http_request_duration_seconds",
            "HTTP request latency",
            ["method", "route"],
            registry=registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
        )
        # labels() takes a lock and builds a key each call; route templates and statuses
        # are few, so their children are kept here.
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        incoming = incoming_request_id(scope["headers"])
        request_id = incoming or new_request_id()
        REQUEST_ID.set(request_id)  # the request's own task: no reset needed
        CALLER_REQUEST_ID.set(incoming)
        id_header = (b"x-request-id", request_id.encode())
        status = 500

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", ()))
                if id_header not in headers:  # problem responses carry it already
                    headers.append(id_header)
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope["method"]
            key = (method, template, status)
            children = self._children.get(key)
            if children is None:
                children = self._children[key] = (
                    self.requests.labels(method, template, str(status)),
                    self.latency.labels(method, template),
                )
            children[0].inc()
            children[1].observe(elapsed)
            caller = scope.get(CALLER_SCOPE_KEY)
            REQUEST_LOG.info(
                "request",
                method=method,
                route=template,
                status=status,
                duration_ms=round(elapsed * 1000, 2),
                request_id=request_id,
                user=getattr(caller, "user_id", None),
                organization=getattr(caller, "organization_id", None),
            )
