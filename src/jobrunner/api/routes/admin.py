"""The operations console's API under /v1/admin (``jobs.manage_jobs``, admin role):
every job of the caller's organization, a job's history, bulk cancel and retry, "retry
anyway", the live queue and the workers. The console page and ``jobrunner admin ...``
use exactly these endpoints (docs/console.md)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from jobrunner.api.deps import Caller
from jobrunner.api.errors import problem_responses
from jobrunner.db.admin_repository import AdminRepository
from jobrunner.domain.states import JobStatus
from jobrunner.jobs.admin import AdminService
from jobrunner.jobs.admin_models import (
    AdminJobDetail,
    AdminJobFilter,
    AdminJobListResponse,
    BulkActionRequest,
    BulkActionResponse,
    QueueResponse,
    WorkersResponse,
)
from jobrunner.jobs.models import MessageResponse
from jobrunner.jobs.service import MAX_PAGE

router = APIRouter(prefix="/v1/admin", tags=["admin"])


async def admin_service(request: Request) -> AdminService:
    return AdminService(AdminRepository(request.app.state.pool), request.app.state.settings)


Admin = Annotated[AdminService, Depends(admin_service)]


@router.get(
    "/jobs",
    operation_id="listAdminJobs",
    summary="Every job of the organization, newest first, with search",
    response_model=AdminJobListResponse,
    responses=problem_responses(401, 403, 422, 503),
)
async def list_admin_jobs(
    caller: Caller,
    admin: Admin,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    page_size: Annotated[int, Query(alias="pageSize", ge=1, le=100)] = 25,
    id: Annotated[
        str | None, Query(min_length=1, max_length=36, description="A job id or its first hex digits")
    ] = None,
    user_id: Annotated[str | None, Query(alias="userId", min_length=1, max_length=64)] = None,
    job_type: Annotated[str | None, Query(alias="jobType", min_length=1, max_length=50)] = None,
    status: Annotated[list[JobStatus] | None, Query(max_length=6, description="Repeat for several")] = None,
    created_from: Annotated[dt.datetime | None, Query(alias="createdFrom")] = None,
    created_to: Annotated[dt.datetime | None, Query(alias="createdTo")] = None,
) -> Any:
    given = AdminJobFilter(
        id=id,
        userId=user_id,
        jobType=job_type,
        status=status or None,
        createdFrom=created_from,
        createdTo=created_to,
    )
    return await admin.list(caller, given, page, page_size)


@router.get(
    "/jobs/{job_id}",
    operation_id="getAdminJob",
    summary="One job of the organization: payload, result and its history from the audit log",
    response_model=AdminJobDetail,
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def get_admin_job(job_id: uuid.UUID, caller: Caller, admin: Admin) -> Any:
    return await admin.detail(caller, str(job_id))


@router.post(
    "/jobs/cancel",
    operation_id="bulkCancelJobs",
    summary="Cancel a selection of jobs, or the jobs a filter names (at most 1000 per call)",
    response_model=BulkActionResponse,
    responses=problem_responses(401, 403, 413, 422, 503),
)
async def bulk_cancel_jobs(body: BulkActionRequest, caller: Caller, admin: Admin) -> Any:
    return await admin.bulk_cancel(caller, body)


@router.post(
    "/jobs/retry",
    operation_id="bulkRetryJobs",
    summary="Retry anyway the failed jobs of a selection or a filter (at most 1000 per call)",
    response_model=BulkActionResponse,
    responses=problem_responses(401, 403, 413, 422, 503),
)
async def bulk_retry_jobs(body: BulkActionRequest, caller: Caller, admin: Admin) -> Any:
    return await admin.bulk_retry(caller, body)


@router.post(
    "/jobs/{job_id}/retry",
    operation_id="adminRetryJob",
    summary="Retry anyway: a failed job back to the queue with a fresh retry budget, retries left or not",
    response_model=MessageResponse,
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def admin_retry_job(job_id: uuid.UUID, caller: Caller, admin: Admin) -> Any:
    await admin.retry_anyway(caller, str(job_id))
    return {"message": "Job queued again with a fresh retry budget"}


@router.get(
    "/queue",
    operation_id="getQueue",
    summary="The organization's live queue: running vs its limit, waiting by type, the last hour",
    response_model=QueueResponse,
    responses=problem_responses(401, 403, 503),
)
async def get_queue(caller: Caller, admin: Admin) -> Any:
    return await admin.queue(caller)


@router.get(
    "/workers",
    operation_id="listWorkers",
    summary="The worker processes: host, pid, slots in use, last heartbeat",
    response_model=WorkersResponse,
    responses=problem_responses(401, 403, 503),
)
async def list_workers(caller: Caller, admin: Admin) -> Any:
    return await admin.workers(caller)
