"""``GET``/``HEAD /v1/exports/{job_id}/download``: the file of an export job.

Who may fetch it: whoever holds a valid, unexpired signed link (``?expires=&sig=``, from
the job's status answer), or the owner with their Bearer token; and in both cases only
while the owner is still a member of the organization with ``jobs.view_jobs`` (read from
the database on every request). Anyone else, a tampered or expired link, a revoked owner,
an unknown job or a missing file: 404 (nothing reveals that the file exists). A file past
retention: 410 for those allowed to fetch it.

Streams from storage; answers HEAD and single-range requests (see ``api/files.py``). With
an object store and ``JOBRUNNER_STORAGE_REDIRECT_SECONDS`` > 0, answers instead (after
the same checks) 307 to a presigned URL of the object valid that long, so the bytes do
not pass through the API.

Relies on ``app.state.pool``, ``app.state.jwt_secret`` and ``app.state.settings`` (where
the export storage is).
"""

from __future__ import annotations

import datetime as dt
import uuid
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from jobrunner.api.deps import JobId, authenticate
from jobrunner.api.files import BINARY, SIGNED_LINK_PARAMETERS, file_responses, serve_file
from jobrunner.api.openapi import SIGNED_LINK_OR_BEARER
from jobrunner.auth.rbac import may_fetch_job_files
from jobrunner.db.jobs_repository import JobsRepository
from jobrunner.domain.errors import AuthenticationError, Gone, NotFound
from jobrunner.exports.files import ExportFile, find_export_file
from jobrunner.exports.links import verify
from jobrunner.storage import FileMissing, Storage, export_storage

router = APIRouter(tags=["exports"])

_NOT_FOUND = "No such export file, or no right to it"


def _storage(request: Request) -> Storage:
    return export_storage(request.app.state.settings)


async def _is_owner(request: Request, file: ExportFile) -> bool:
    """The request carries the file owner's valid bearer token (any failure: not the owner,
    so a 404 like everyone else's)."""
    if "authorization" not in request.headers:
        return False
    try:
        claims = await authenticate(request)
    except AuthenticationError:
        return False
    return claims.user_id == file.user_id and claims.organization_id == file.organization_id


def _link_is_valid(secret: str, file: ExportFile, expires: str | None, sig: str | None) -> bool:
    if expires is None or not expires.isdigit() or len(expires) > 12:
        return False
    return verify(
        secret,
        sig,
        key=file.storage_key,
        user_id=file.user_id,
        organization_id=file.organization_id,
        expires=int(expires),
    )


def _disposition(name: str) -> str:
    ascii_name = name.encode("ascii", "replace").decode().replace('"', "")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"


_PATH = "/v1/exports/{job_id}/download"
_FILE = {"schema": BINARY}
_RESPONSES = file_responses(
    {
        "text/csv": _FILE,
        "application/json": _FILE,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": _FILE,
    },
    404,
    410,
    416,
    503,
)
_RESPONSES[307] = {
    "description": "Fetch the file from the object store at Location (a presigned URL, short-lived); "
    "only when the service is configured so (JOBRUNNER_STORAGE_REDIRECT_SECONDS)",
    "headers": {"Location": {"description": "The presigned URL", "schema": {"type": "string", "format": "uri"}}},
}
# The signed link's query is read as text (a malformed one is a 404 like any wrong link).
_OPENAPI = {"security": SIGNED_LINK_OR_BEARER, "parameters": SIGNED_LINK_PARAMETERS}


@router.get(
    _PATH,
    operation_id="downloadExport",
    responses=_RESPONSES,
    response_class=Response,
    openapi_extra=_OPENAPI,
    summary="Download an export file (signed link or the owner's Bearer token)",
)
@router.head(
    _PATH,
    operation_id="downloadExportHead",
    responses=_RESPONSES,
    response_class=Response,
    openapi_extra=_OPENAPI,
    summary="Headers of an export file (size, type, name) without the body",
)
async def download_export(job_id: JobId, request: Request) -> Response:
    expires, sig = request.query_params.get("expires"), request.query_params.get("sig")
    try:
        job_uuid = uuid.UUID(job_id)
    except ValueError as exc:
        raise NotFound(_NOT_FOUND) from exc
    state = request.app.state
    file = await find_export_file(state.pool, job_uuid)
    if file is None:
        raise NotFound(_NOT_FOUND)
    secret = state.jwt_secret
    if not (_link_is_valid(secret, file, expires, sig) or await _is_owner(request, file)):
        raise NotFound(_NOT_FOUND)
    if not await may_fetch_job_files(JobsRepository(state.pool), file.organization_id, file.user_id):
        raise NotFound(_NOT_FOUND)
    if file.is_gone(dt.datetime.now(dt.UTC)):
        raise Gone("This export file has expired and was deleted; run the export again")
    storage = _storage(request)
    disposition = _disposition(file.download_name)
    redirect_seconds = state.settings.storage_redirect_seconds
    if redirect_seconds:
        url = await storage.presigned_url(
            file.storage_key, seconds=redirect_seconds, disposition=disposition, content_type=file.content_type
        )
        if url is not None:
            return RedirectResponse(url, status_code=307, headers={"Cache-Control": "private, no-store"})
    try:
        size = await storage.size(file.storage_key)
    except FileMissing as exc:
        raise NotFound(_NOT_FOUND) from exc
    headers = {
        "Content-Disposition": disposition,
        "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff",
    }
    return await serve_file(
        request, storage, file.storage_key, size=size, headers=headers, media_type=file.content_type
    )
