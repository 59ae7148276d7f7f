"""The operations console's endpoints (``/v1/admin``, permission ``jobs.manage_jobs``) from
Python: ``async with AdminClient(url, token) as api: await api.list_jobs(status=["failed"])``."""

from __future__ import annotations

from typing import Any

from jobrunner.client.http import JobrunnerClient


def _filter(**given: Any) -> dict[str, Any]:
    """The filter's fields that were given (None and empty lists left out)."""
    return {key: value for key, value in given.items() if value not in (None, [], ())}


class AdminClient(JobrunnerClient):
    """Everything ``JobrunnerClient`` does, plus the console's operations."""

    async def list_admin_jobs(
        self,
        *,
        page: int = 1,
        page_size: int = 25,
        id: str | None = None,
        user_id: str | None = None,
        job_type: str | None = None,
        status: list[str] | None = None,
        created_from: str | None = None,
        created_to: str | None = None,
    ) -> dict[str, Any]:
        """GET /v1/admin/jobs (listAdminJobs)."""
        params = _filter(
            page=page,
            pageSize=page_size,
            id=id,
            userId=user_id,
            jobType=job_type,
            status=status,
            createdFrom=created_from,
            createdTo=created_to,
        )
        return (await self._send("GET", "/v1/admin/jobs", params=params)).json()

    async def get_admin_job(self, job_id: str) -> dict[str, Any]:
        """GET /v1/admin/jobs/{jobId} (getAdminJob): the job and its history."""
        return (await self._send("GET", f"/v1/admin/jobs/{job_id}")).json()

    async def bulk(self, action: str, *, job_ids: list[str] | None = None, **filter: Any) -> dict[str, Any]:
        """POST /v1/admin/jobs/cancel|retry (bulkCancelJobs, bulkRetryJobs): a selection
        (``job_ids``) or a filter (``id``, ``userId``, ``jobType``, ``status``,
        ``createdFrom``, ``createdTo``); at most 1000 jobs per call (``more``: call again)."""
        if action not in ("cancel", "retry"):
            raise ValueError(f"no bulk action {action!r}")
        body = {"jobIds": job_ids} if job_ids else {"filter": _filter(**filter)}
        return (await self._send("POST", f"/v1/admin/jobs/{action}", json=body)).json()

    async def retry_anyway(self, job_id: str) -> dict[str, Any]:
        """POST /v1/admin/jobs/{jobId}/retry (adminRetryJob)."""
        return (await self._send("POST", f"/v1/admin/jobs/{job_id}/retry")).json()

    async def queue(self) -> dict[str, Any]:
        """GET /v1/admin/queue (getQueue)."""
        return (await self._send("GET", "/v1/admin/queue")).json()

    async def workers(self) -> dict[str, Any]:
        """GET /v1/admin/workers (listWorkers)."""
        return (await self._send("GET", "/v1/admin/workers")).json()
