"""``GET``/``HEAD /v1/exports/{job_id}/download``: the file of an export job.

Who may fetch it: whoever holds a valid, unexpired signed link (``?expires=&sig=``, from
the job's status answer), or the owner with their Bearer token. Anyone else, a tampered
or expired link, an unknown job or a missing file: 404 (nothing reveals that the file
exists). A file past retention: 410 for those allowed to fetch it.

Streams from storage; answers HEAD and single-range requests (206, or 416 when the
range cannot be satisfied); several ranges get the whole file (RFC 9110 allows it).

Relies on ``app.state.pool`` and ``app.state.jwt_secret``; storage is
``app.state.export_storage`` when set, else the one of ``app.state.settings`` (or the
environment's settings).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from jobrunner.api.deps import authenticate
from jobrunner.domain.errors import AuthenticationError, Gone, NotFound
from jobrunner.exports.files import ExportFile, find_export_file
from jobrunner.exports.links import verify
from jobrunner.settings import get_settings
from jobrunner.storage import FileMissing, Storage, export_storage

router = APIRouter(tags=["exports"])

_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
_NOT_FOUND = "No such export file, or no right to it"


def _storage(request: Request) -> Storage:
    state = request.app.state
    storage = getattr(state, "export_storage", None)
    if storage is None:
        storage = export_storage(getattr(state, "settings", None) or get_settings())
    return storage


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
        secret, sig, key=file.storage_key, user_id=file.user_id,
        organization_id=file.organization_id, expires=int(expires),
    )


def parse_range(header: str | None, size: int) -> tuple[int, int] | None | bool:
    """The single byte range asked for as (first, last) inclusive; None to send the whole
    file (no header, a malformed one, or several ranges); False when unsatisfiable."""
    if not header or "," in header:
        return None
    match = _RANGE.fullmatch(header.strip())
    if not match or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if first == "":  # the last N bytes
        length = int(last)
        if length == 0 or size == 0:
            return False
        return max(size - length, 0), size - 1
    start = int(first)
    end = size - 1 if last == "" else min(int(last), size - 1)
    if last != "" and int(last) < start:
        return None
    if start >= size:
        return False
    return start, end


def _disposition(name: str) -> str:
    ascii_name = name.encode("ascii", "replace").decode().replace('"', "")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"


_PATH = "/v1/exports/{job_id}/download"
_PROBLEM = {"content": {"application/problem+json": {}}}
_RESPONSES = {
    200: {"description": "The file", "content": {"text/csv": {}, "application/json": {},
                                                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}}},
    206: {"description": "The requested byte range"},
    404: {"description": "No such file, or no valid link or owner token", **_PROBLEM},
    410: {"description": "The file is past retention", **_PROBLEM},
    416: {"description": "The range cannot be satisfied"},
}


@router.get(_PATH, operation_id="downloadExport", responses=_RESPONSES, response_class=Response,
            summary="Download an export file (signed link or the owner's Bearer token)")
@router.head(_PATH, operation_id="downloadExportHead", responses=_RESPONSES, response_class=Response,
             summary="Headers of an export file (size, type, name) without the body")
async def download_export(
    job_id: str, request: Request, expires: str | None = None, sig: str | None = None
) -> Response:
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
    if file.is_gone(dt.datetime.now(dt.UTC)):
        raise Gone("This export file has expired and was deleted; run the export again")
    storage = _storage(request)
    try:
        size = await storage.size(file.storage_key)
    except FileMissing as exc:
        raise NotFound(_NOT_FOUND) from exc

    headers = {
        "Content-Type": file.content_type,
        "Content-Disposition": _disposition(file.download_name),
        "Accept-Ranges": "bytes",
        "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff",
    }
    span = parse_range(request.headers.get("range"), size)
    if span is False:
        return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"})
    status, start, end = (206, *span) if span else (200, 0, size - 1)
    headers["Content-Length"] = str(end - start + 1 if size else 0)
    if status == 206:
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    if request.method == "HEAD" or size == 0:
        return Response(status_code=status, headers=headers)
    return StreamingResponse(
        storage.read(file.storage_key, start, end), status_code=status, headers=headers,
        media_type=file.content_type,
    )
