"""``POST /v1/uploads`` (a CSV streamed to storage, for imports: the raw file or a
multipart form) and
``GET /v1/imports/{jobId}/rejected-rows`` (an import's rejected rows, signed link or token)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, WithJsonSchema
from starlette.responses import Response

from jobrunner.api.bodies import json_response
from jobrunner.api.deps import Caller, JobId, authenticate
from jobrunner.api.errors import UnsupportedMediaType, problem_responses
from jobrunner.api.files import (
    BINARY,
    EXPIRES_DESCRIPTION,
    RANGE_PARAMETER,
    SIG_DESCRIPTION,
    file_responses,
    serve_file,
)
from jobrunner.api.multipart import MultipartFile, boundary_of
from jobrunner.api.openapi import SIGNED_LINK_OR_BEARER, schema_ref
from jobrunner.domain.schema import Timestamp
from jobrunner.uploads.service import UploadService

router = APIRouter(tags=["imports"])

CSV_MEDIA_TYPES = ("text/csv", "application/csv", "text/plain", "application/vnd.ms-excel")
MULTIPART = "multipart/form-data"


class UploadResponse(BaseModel):
    uploadId: uuid.UUID
    filename: str
    sizeBytes: int
    createdAt: Timestamp


def _service(request: Request) -> UploadService:
    return UploadService(request.app.state.pool, request.app.state.settings, request.app.state.jwt_secret)


_CSV_SCHEMA = {"type": "string", "format": "binary", "description": "The CSV file (UTF-8, a header line first)."}


class UploadForm(BaseModel):
    """The ``multipart/form-data`` upload: the file in the ``file`` field."""

    file: Annotated[bytes, WithJsonSchema(_CSV_SCHEMA)]


_UPLOAD_BODY = {
    "required": True,
    "content": {
        "text/csv": {"schema": _CSV_SCHEMA},
        MULTIPART: {
            "schema": schema_ref(UploadForm),
            "encoding": {"file": {"contentType": ", ".join(CSV_MEDIA_TYPES)}},
        },
    },
}


async def _then(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield first
    async for chunk in rest:
        yield chunk


@router.post(
    "/v1/uploads",
    status_code=201,
    operation_id="createUpload",
    summary="Upload a CSV file for an import",
    description="The body is the CSV file itself (`Content-Type: text/csv`), or a `multipart/form-data` form "
    "with the file in its `file` field (what browsers and generated clients send); either way it streams "
    "to storage. At most `JOBRUNNER_UPLOAD_MAX_BYTES` (200 MB by default). Needs `data.process_data`. "
    "Over the organization's stored-uploads quota: 429 with `Retry-After`. "
    "Start the import with a `data_processing` job naming the returned `uploadId`.",
    openapi_extra={"requestBody": _UPLOAD_BODY},
    responses={
        201: {
            "model": UploadResponse,
            "description": "Stored",
            "headers": {
                "Location": {
                    "description": "/v1/uploads/{uploadId}",
                    "schema": {"type": "string", "format": "uri-reference"},
                }
            },
        },
        **problem_responses(401, 403, 413, 415, 422, 429, 503),
    },
)
async def create_upload(
    request: Request,
    caller: Caller,
    filename: Annotated[
        str | None, Query(max_length=255, description="The file's name, for display (default: the form's).")
    ] = None,
) -> Response:
    service = _service(request)
    await service.require_uploader(caller)
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    boundary = boundary_of(content_type)
    if media_type not in CSV_MEDIA_TYPES and boundary is None:
        raise UnsupportedMediaType(f"expected text/csv or {MULTIPART}, got {media_type or 'nothing'}")
    declared = request.headers.get("content-length", "")
    await service.require_room(caller, int(declared) if declared.isdigit() else 0)
    chunks: AsyncIterator[bytes] = request.stream()
    if boundary is not None:
        form = MultipartFile(chunks, boundary)
        rest = form.chunks()
        first = await anext(rest, b"")  # the file's part headers are read by now
        filename = filename or form.filename
        chunks = _then(first, rest)
    body = await service.receive(caller, filename, chunks)
    return json_response(body, status_code=201, headers={"Location": f"/v1/uploads/{body['uploadId']}"})


UploadId = Annotated[str, Path(description="The upload's id (`uploadId`).", json_schema_extra={"format": "uuid"})]


@router.get(
    "/v1/uploads/{upload_id}",
    operation_id="getUpload",
    summary="One of the caller's uploads",
    description="What `POST /v1/uploads` answered (its `Location`): the file's name, size and time. "
    "Needs `data.process_data`; another user's upload, or an id that is not one, is a 404.",
    responses={
        200: {"model": UploadResponse, "description": "The upload"},
        **problem_responses(401, 403, 404, 503),
    },
)
async def get_upload(upload_id: UploadId, request: Request, caller: Caller) -> Response:
    return json_response(await _service(request).get(caller, upload_id))


@router.get(
    "/v1/imports/{job_id}/rejected-rows",
    operation_id="downloadRejectedRows",
    summary="An import's rejected rows (CSV: line, reason, the row)",
    description="Follow the signed `rejectedRowsUrl` of the job's result (no token needed), or send the "
    "owner's bearer token; either works only while the owner is still a member of the organization "
    "with `jobs.view_jobs`. Anyone else gets a 404. One byte range may be asked for (`Range`).",
    response_class=Response,
    openapi_extra={"security": SIGNED_LINK_OR_BEARER, "parameters": [RANGE_PARAMETER]},
    responses=file_responses({"text/csv": {"schema": BINARY}}, 401, 404, 416, 422, 503),
)
async def rejected_rows(
    job_id: JobId,
    request: Request,
    expires: Annotated[int | None, Query(ge=0, le=2**40, description=EXPIRES_DESCRIPTION)] = None,
    sig: Annotated[str | None, Query(max_length=128, description=SIG_DESCRIPTION)] = None,
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
