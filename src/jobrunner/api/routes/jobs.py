"""The five job endpoints of the product document, under /v1/jobs.

Answers are serialized with orjson straight into a Response (no response-model
validation on the polling path); the models only document the answers in OpenAPI."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from jobrunner.api.bodies import JSON, json_response, read_json
from jobrunner.api.deps import JOB_ID_DESCRIPTION, Caller, JobId, Jobs, authenticate
from jobrunner.api.errors import problem_responses
from jobrunner.api.openapi import schema_ref
from jobrunner.api.routing import DirectRoute
from jobrunner.domain import idempotency
from jobrunner.domain.states import JobStatus
from jobrunner.jobs.models import (
    CreateJobResponse,
    JobListResponse,
    JobStatusResponse,
    MessageResponse,
)
from jobrunner.jobs.presenters import dumps_jobs_answer, present_status, retry_after, status_etag
from jobrunner.jobs.service import MAX_PAGE, Page
from jobrunner.jobs.template_models import CreateJobFromTemplateRequest

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Weak comparison (RFC 9110 §13.1.2), as If-None-Match requires."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    opaque = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == opaque for tag in if_none_match.split(","))


_CREATE_BODY = {
    "required": True,
    "content": {
        JSON: {
            "schema": {
                "oneOf": [
                    {"$ref": "#/components/schemas/CreateJobRequest"},
                    schema_ref(CreateJobFromTemplateRequest),
                ]
            }
        }
    },
}

_IDEMPOTENCY_PARAMETERS = [
    {
        "name": idempotency.HEADER,
        "in": "header",
        "required": False,
        "description": "Makes the creation safe to retry: the same key with the same body within 24 h "
        "(JOBRUNNER_IDEMPOTENCY_KEY_TTL_SECONDS) answers the first answer again (same status and body, "
        f"`{idempotency.REPLAYED_HEADER}: true`) and creates nothing; the same key with another body is a 422. "
        "Per user and organization. 1-255 printable ASCII characters (e.g. a UUID).",
        "schema": {"type": "string", "minLength": 1, "maxLength": idempotency.MAX_KEY_LENGTH},
        "example": "5f2b9c1e-6c1d-4a53-9a51-0b8e6f9d7c11",
    }
]


@router.post(
    "",
    status_code=202,
    operation_id="createJob",
    summary="Create a job",
    description="A job type and its payload, or `templateId` (a job template of the organization) with "
    "overrides. Send `Idempotency-Key` to make a retry after a lost answer safe.",
    openapi_extra={"requestBody": _CREATE_BODY, "parameters": _IDEMPOTENCY_PARAMETERS},
    responses={
        202: {
            "model": CreateJobResponse,
            "description": "Accepted; poll the status URL in Location.",
            "headers": {
                "Location": {
                    "description": "/v1/jobs/{jobId}/status",
                    "schema": {"type": "string", "format": "uri-reference"},
                },
                idempotency.REPLAYED_HEADER: {
                    "description": "`true` when this is the stored answer to an earlier request with the same "
                    "`Idempotency-Key` and body (no job was created); absent otherwise.",
                    "schema": {"type": "string", "enum": ["true"]},
                },
            },
            # What a client does next with the new job's id.
            "links": {
                operation: {"operationId": operation, "parameters": {"job_id": "$response.body#/jobId"}}
                for operation in ("getJobStatus", "cancelJob", "retryJob")
            },
        },
        **problem_responses(401, 403, 404, 409, 413, 415, 422, 429, 503),
    },
)
async def create_job(request: Request, caller: Caller, jobs: Jobs) -> Response:
    created = await jobs.create(caller, await read_json(request), request.headers.get(idempotency.HEADER))
    headers = {"Location": f"/v1/jobs/{created.job_id}/status"}
    if created.replayed:
        headers[idempotency.REPLAYED_HEADER] = "true"
    return json_response(created.body, status_code=created.status, headers=headers)


_POLL_HEADERS: dict[str, Any] = {
    "Cache-Control": {"description": "`private, no-cache`", "schema": {"type": "string"}},
    "ETag": {
        "description": "Weak validator of the job's state; send it back in If-None-Match.",
        "schema": {"type": "string"},
    },
    "Retry-After": {
        "description": "Seconds until the next useful poll: 2 right after creation, 10 queued, "
        "5 running/retrying; absent once final.",
        "schema": {"type": "integer"},
    },
}


_STATUS_PARAMETERS = [
    {
        "name": "job_id",
        "in": "path",
        "required": True,
        "description": JOB_ID_DESCRIPTION,
        "schema": {"type": "string", "format": "uuid"},
    },
    {
        "name": "If-None-Match",
        "in": "header",
        "required": False,
        "description": "The ETag of the last answer: 304 while the job is unchanged.",
        "schema": {"type": "string"},
    },
]


async def job_status(request: Request) -> Response:
    """The polling hot path: one SQL round trip, no FastAPI dependency solving."""
    caller = await authenticate(request)
    jobs = request.app.state.jobs
    row = await jobs.status_row(caller, request.path_params["job_id"])
    # Only a job with a callback has webhook deliveries: one more indexed look-up for it alone.
    deliveries = () if row["callback_url"] is None else await jobs.webhook_deliveries(row)
    etag = status_etag(row, deliveries)
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    seconds = retry_after(row)
    if seconds is not None:
        headers["Retry-After"] = str(seconds)
    if etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    answer = present_status(row, deliveries)
    return json_response(dumps_jobs_answer(answer, [answer["job"]]), headers=headers)


router.add_api_route(
    "/{job_id}/status",
    job_status,
    methods=["GET"],
    operation_id="getJobStatus",
    summary="Poll a job's status",
    description="Send the last answer's `ETag` in `If-None-Match`: 304 while the job is unchanged. "
    "`Retry-After` says when polling again is useful (absent once the job is final).",
    route_class_override=DirectRoute,
    openapi_extra={"parameters": _STATUS_PARAMETERS},
    responses={
        200: {"model": JobStatusResponse, "description": "The job", "headers": _POLL_HEADERS},
        304: {"description": "Unchanged since the ETag in If-None-Match", "headers": _POLL_HEADERS},
        **problem_responses(401, 403, 404, 503),
    },
)


@router.get(
    "",
    operation_id="listJobs",
    summary="List the caller's jobs, newest first",
    responses={
        200: {"model": JobListResponse, "description": "One page"},
        **problem_responses(401, 403, 422, 503),
    },
)
async def list_jobs(
    caller: Caller,
    jobs: Jobs,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    page_size: Annotated[int, Query(alias="pageSize", ge=1, le=100)] = 25,
    status: Annotated[JobStatus | None, Query()] = None,
    job_type: Annotated[str | None, Query(alias="jobType", min_length=1, max_length=50)] = None,
    id_prefix: Annotated[
        str | None,
        Query(
            alias="idPrefix",
            pattern=r"^[0-9a-fA-F-]{1,36}$",
            description="Only jobs whose id starts with this (e.g. the first 8 characters a page shows).",
        ),
    ] = None,
) -> Response:
    body = await jobs.list(
        caller,
        Page(
            number=page,
            size=page_size,
            status=status and status.value,
            job_type=job_type,
            id_prefix=id_prefix and id_prefix.lower(),
        ),
    )
    return json_response(dumps_jobs_answer(body, body["jobs"]))


@router.post(
    "/{job_id}/cancel",
    operation_id="cancelJob",
    summary="Cancel a queued, running or retrying job",
    responses={
        200: {"model": MessageResponse, "description": "Cancelled"},
        **problem_responses(401, 403, 404, 409, 503),
    },
)
async def cancel_job(job_id: JobId, caller: Caller, jobs: Jobs) -> Response:
    await jobs.cancel(caller, job_id)
    return json_response({"message": "Job cancelled successfully"})


@router.post(
    "/{job_id}/retry",
    operation_id="retryJob",
    summary="Retry a failed job that has retries left",
    responses={
        200: {"model": MessageResponse, "description": "Queued again"},
        **problem_responses(401, 403, 404, 409, 503),
    },
)
async def retry_job(job_id: JobId, caller: Caller, jobs: Jobs) -> Response:
    await jobs.retry(caller, job_id)
    return json_response({"message": "Job retry initiated successfully"})
