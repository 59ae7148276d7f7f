"""``POST /v1/uploads`` (a CSV streamed to storage, for imports) and
``GET /v1/imports/{jobId}/rejected-rows`` (an import's rejected rows, signed link or token)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from starlette.responses import Response

from jobrunner.api.bodies import json_response
from jobrunner.api.deps import Caller, authenticate
from jobrunner.api.errors import UnsupportedMediaType, problem_responses
from jobrunner.api.files import serve_file
from jobrunner.uploads.service import UploadService

router = APIRouter(tags=["imports"])

CSV_MEDIA_TYPES = ("text/csv", "application/csv", "text/plain", "application/vnd.ms-excel")


class UploadResponse(BaseModel):
    uploadId: str
    filename: str
    sizeBytes: int
    createdAt: str


def _service(request: Request) -> UploadService:
    return UploadService(request.app.state.pool, request.app.state.settings, request.app.state.jwt_secret)


@router.post(
    "/v1/uploads",
    status_code=201,
    summary="Upload a CSV file for an import (the raw file as the body)",
    description="The body is the CSV file itself (`Content-Type: text/csv`), streamed to storage; "
    "at most `JOBRUNNER_UPLOAD_MAX_BYTES` (200 MB by default). Needs `data.process_data`. "
    "Over the organization's stored-uploads quota: 429 with `Retry-After`. "
    "Start the import with a `data_processing` job naming the returned `uploadId`.",
    openapi_extra={
        "requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string", "format": "binary"}}}},
    },
    responses={
        201: {"model": UploadResponse, "description": "Stored"},
        **problem_responses(401, 403, 413, 415, 422, 429),
    },
)
async def create_upload(
    request: Request,
    caller: Caller,
    filename: Annotated[str | None, Query(max_length=255, description="The file's name, for display.")] = None,
) -> Response:
    service = _service(request)
    await service.require_uploader(caller)
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type not in CSV_MEDIA_TYPES:
        raise UnsupportedMediaType(f"expected text/csv, got {media_type or 'nothing'}")
    declared = request.headers.get("content-length", "")
    await service.require_room(caller, int(declared) if declared.isdigit() else 0)
    body = await service.receive(caller, filename, request.stream())
    return json_response(body, status_code=201, headers={"Location": f"/v1/uploads/{body['uploadId']}"})


@router.get(
    "/v1/imports/{job_id}/rejected-rows",
    summary="An import's rejected rows (CSV: line, reason, the row)",
    description="Follow the signed `rejectedRowsUrl` of the job's result (no token needed), or send the "
    "owner's bearer token; either works only while the owner is still a member of the organization "
    "with `jobs.view_jobs`. Anyone else gets a 404. One byte range may be asked for (`Range`).",
    response_class=Response,
    responses={
        200: {"content": {"text/csv": {}}, "description": "The rejected rows"},
        206: {"description": "The requested byte range"},
        **problem_responses(401, 404, 416),
    },
)
async def rejected_rows(
    job_id: str,
    request: Request,
    expires: Annotated[int | None, Query(ge=0, le=2**40)] = None,
    sig: Annotated[str | None, Query(max_length=128)] = None,
) -> Response:
    claims = await authenticate(request) if request.headers.get("authorization") else None
    storage, key, size = await _service(request).rejected_rows_file(
        job_id, claims=claims, expires=expires, signature=sig
    )
    headers = {
        "Content-Disposition": f'attachment; filename="rejected-rows-{uuid.UUID(job_id)}.csv"',
        "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff",
    }
    return await serve_file(request, storage, key, size=size, headers=headers, media_type="text/csv; charset=utf-8")
