"""The jobrunner HTTP API from Python: create, status, list, cancel, retry, download, and
``watch`` which follows a job: pushed events when the service streams them
(``client/events.py``, docs/push.md), else polling the way the service asks (see
docs/frontend.md): Retry-After between polls, If-None-Match with the last ETag (a 304
yields nothing), stop once final, exponential backoff with jitter on network errors, 429
and 5xx. ``JobrunnerClient(..., push=False)``: polling only."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from jobrunner import backoff
from jobrunner.client.errors import ApiError
from jobrunner.client.events import OnOpen, PushUnavailable, follow_job, follow_jobs
from jobrunner.domain.states import FINAL_STATES

DEFAULT_POLL_SECONDS = 5.0
UPLOAD_CHUNK_BYTES = 256 * 1024
BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 60.0
# Worth polling again after these: the service is busy or briefly failing.
TRANSIENT_STATUSES = frozenset({429, 502, 503, 504})

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class StatusAnswer:
    status: dict[str, Any] | None  # None when not modified
    etag: str | None
    retry_after: float | None
    not_modified: bool


def retry_after_seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and seconds >= 0 else None


def backoff_seconds(failures: int) -> float:
    """The pause after ``failures`` (1, 2, ...) failed polls in a row: the service's own
    backoff (``jobrunner/backoff.py``), between half and all of
    ``min(cap, base * 2**(failures-1))``."""
    return backoff.backoff_seconds(failures - 1, base=BACKOFF_BASE_SECONDS, cap=BACKOFF_CAP_SECONDS)


class JobrunnerClient:
    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
        push: bool = True,
    ) -> None:
        self._push = push
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), headers=headers, timeout=timeout, transport=transport
        )

    async def __aenter__(self) -> JobrunnerClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = await self._http.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise ApiError(response.status_code, _problem(response))
        return response

    async def create_job(
        self,
        job_type: str,
        payload: dict[str, Any],
        *,
        priority: int | None = None,
        max_retries: int | None = None,
        scheduled_at: str | None = None,
        idempotency_key: str | None = None,
        depends_on: list[str | dict[str, str]] | None = None,
        callback_url: str | None = None,
    ) -> dict[str, Any]:
        """POST /v1/jobs: ``{"jobId", "message"}``. With ``idempotency_key`` the call is
        safe to repeat (after a timeout, say): the same key and arguments within 24 h get
        the first answer back, and no second job. ``depends_on``: job ids, or
        ``{"jobId", "as"}``, that must succeed first. ``callback_url``: where each final
        state of the job is POSTed, signed (docs/webhooks.md); without it, the
        organization's default, if any."""
        body: dict[str, Any] = {"jobType": job_type, "payload": payload}
        if depends_on:
            body["dependsOn"] = depends_on
        if callback_url is not None:
            body["callbackUrl"] = callback_url
        return await self._create(body, priority, max_retries, scheduled_at, idempotency_key)

    async def create_job_from_template(
        self,
        template_id: str,
        *,
        payload: dict[str, Any] | None = None,
        priority: int | None = None,
        max_retries: int | None = None,
        scheduled_at: str | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """POST /v1/jobs with ``templateId``: the template's job, ``payload`` merged over
        the template's (JSON Merge Patch), the other arguments overriding its own."""
        body: dict[str, Any] = {"templateId": template_id}
        if payload is not None:
            body["payload"] = payload
        return await self._create(body, priority, max_retries, scheduled_at, idempotency_key)

    async def _create(
        self,
        body: dict[str, Any],
        priority: int | None,
        max_retries: int | None,
        scheduled_at: str | None,
        idempotency_key: str | None,
    ) -> dict[str, Any]:
        optional = {"priority": priority, "maxRetries": max_retries, "scheduledAt": scheduled_at}
        body.update({key: value for key, value in optional.items() if value is not None})
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key is not None else {}
        return (await self._send("POST", "/v1/jobs", json=body, headers=headers)).json()

    async def list_templates(self, *, page: int = 1, page_size: int = 100) -> dict[str, Any]:
        """GET /v1/job-templates: the organization's templates, by name."""
        params = {"page": page, "pageSize": page_size}
        return (await self._send("GET", "/v1/job-templates", params=params)).json()

    async def all_templates(self) -> AsyncIterator[dict[str, Any]]:
        page = 1
        while True:
            answer = await self.list_templates(page=page)
            for template in answer["templates"]:
                yield template
            if page >= answer["totalPages"]:
                return
            page += 1

    async def create_template(
        self, name: str, job_type: str, payload: dict[str, Any], *, priority: int = 0, max_retries: int | None = None
    ) -> dict[str, Any]:
        """POST /v1/job-templates (templates.manage_templates)."""
        body: dict[str, Any] = {"name": name, "jobType": job_type, "payload": payload, "priority": priority}
        if max_retries is not None:
            body["maxRetries"] = max_retries
        return (await self._send("POST", "/v1/job-templates", json=body)).json()

    async def update_template(self, template_id: str, **fields: Any) -> dict[str, Any]:
        """PATCH /v1/job-templates/{id}: ``name``, ``jobType``, ``payload``, ``priority``, ``maxRetries``."""
        return (await self._send("PATCH", f"/v1/job-templates/{template_id}", json=fields)).json()

    async def delete_template(self, template_id: str) -> None:
        await self._send("DELETE", f"/v1/job-templates/{template_id}")

    async def get_status(self, job_id: str, *, etag: str | None = None) -> StatusAnswer:
        headers = {"If-None-Match": etag} if etag else {}
        response = await self._send("GET", f"/v1/jobs/{job_id}/status", headers=headers)
        not_modified = response.status_code == 304
        return StatusAnswer(
            status=None if not_modified else response.json(),
            etag=response.headers.get("ETag") or etag,
            retry_after=retry_after_seconds(response),
            not_modified=not_modified,
        )

    async def list_jobs(
        self,
        *,
        page: int = 1,
        page_size: int = 25,
        status: str | None = None,
        job_type: str | None = None,
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"page": page, "pageSize": page_size}
        if status:
            params["status"] = status
        if job_type:
            params["jobType"] = job_type
        return (await self._send("GET", "/v1/jobs", params=params)).json()

    async def activity(self) -> dict[str, Any]:
        """GET /v1/me/activity: ``{"organizationRunning", "organizationLimit",
        "pausedJobTypes"}``, why the caller's queued jobs wait (``client/waiting.py``)."""
        return (await self._send("GET", "/v1/me/activity")).json()

    async def all_jobs(self, *, page_size: int = 100) -> AsyncIterator[dict[str, Any]]:
        """Every job of the caller, newest first, page after page."""
        page = 1
        while True:
            answer = await self.list_jobs(page=page, page_size=page_size)
            for job in answer["jobs"]:
                yield job
            if page >= answer["totalPages"]:
                return
            page += 1

    async def upload(self, path: Path) -> dict[str, Any]:
        """POST /v1/uploads: the CSV file as the body, streamed; ``{"uploadId", ...}``."""

        async def chunks() -> AsyncIterator[bytes]:
            with path.open("rb") as file:
                while chunk := await asyncio.to_thread(file.read, UPLOAD_CHUNK_BYTES):
                    yield chunk

        headers = {"Content-Type": "text/csv", "Content-Length": str(path.stat().st_size)}
        response = await self._send(
            "POST", "/v1/uploads", params={"filename": path.name}, content=chunks(), headers=headers
        )
        return response.json()

    async def cancel_job(self, job_id: str) -> dict[str, Any]:
        return (await self._send("POST", f"/v1/jobs/{job_id}/cancel")).json()

    async def retry_job(self, job_id: str) -> dict[str, Any]:
        return (await self._send("POST", f"/v1/jobs/{job_id}/retry")).json()

    async def watch(self, job_id: str, *, sleep: Sleep = asyncio.sleep) -> AsyncIterator[dict[str, Any]]:
        """Yields each changed status answer until the job is final (the last one yielded).
        401/403/404/409/422 raise ApiError at once; transient failures back off. Pushed
        events first; polling when the service cannot stream."""
        if self._push:
            try:
                async for status in follow_job(self._http, job_id, sleep=sleep, problem=_problem):
                    yield status
                    if status["job"]["status"] in FINAL_STATES:
                        return
                return  # 204: its final state was seen
            except PushUnavailable:
                pass
        async for status in self._poll(job_id, sleep=sleep):
            yield status

    async def watch_jobs(
        self,
        *,
        status: str | None = None,
        job_type: str | None = None,
        on_open: OnOpen | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> AsyncGenerator[dict[str, Any], None]:
        """Yields the status answer of each change of the caller's jobs (filtered like
        ``list_jobs``), pushed over one event stream, for as long as it is read; the stream
        starts with their unfinished jobs. ``on_open(resync)`` is awaited each time the
        stream is (re)opened: read the list there (see ``client/events.py``). Raises
        ``PushUnavailable`` when the service cannot stream, or with ``push=False``: poll
        ``list_jobs`` instead (as ``jobrunner jobs watch`` does)."""
        if not self._push:
            raise PushUnavailable("push is off (push=False)")
        changes = follow_jobs(
            self._http, sleep=sleep, problem=_problem, status=status, job_type=job_type, on_open=on_open
        )
        async with aclosing(changes):  # closing this generator closes the stream at once
            async for answer in changes:
                yield answer

    async def _poll(self, job_id: str, *, sleep: Sleep) -> AsyncIterator[dict[str, Any]]:
        etag: str | None = None
        failures = 0
        while True:
            try:
                answer = await self.get_status(job_id, etag=etag)
            except (httpx.TransportError, ApiError) as exc:
                if isinstance(exc, ApiError) and exc.status < 500 and exc.status not in TRANSIENT_STATUSES:
                    raise
                failures += 1
                await sleep(backoff_seconds(failures))
                continue
            failures = 0
            etag = answer.etag
            if answer.status is not None:
                yield answer.status
                if answer.status["job"]["status"] in FINAL_STATES:
                    return
            await sleep(answer.retry_after if answer.retry_after is not None else DEFAULT_POLL_SECONDS)

    async def download(self, url: str, destination: Path) -> int:
        """Streams a file (a signed ``downloadUrl``, absolute or relative to the service)
        into ``destination``; returns the number of bytes written."""
        written = 0
        async with self._http.stream("GET", url) as response:
            if response.status_code >= 400:
                await response.aread()
                raise ApiError(response.status_code, _problem(response))
            with destination.open("wb") as out:
                async for chunk in response.aiter_bytes():
                    out.write(chunk)
                    written += len(chunk)
        return written


def _problem(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {"detail": response.text[:200]}
    return body if isinstance(body, dict) else {}
