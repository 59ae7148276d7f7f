"""Serving a stored file over HTTP: GET and HEAD, one byte range at a time.

Range handling follows RFC 9110 section 14: a ``Range`` the service does not understand
(another unit, bad syntax, several ranges, a header longer than ``MAX_RANGE_HEADER``
characters) is ignored and the whole file is sent (200); a single range with no byte inside
the file is a 416 problem with ``Content-Range: bytes */SIZE``. Parsing is bounded: at most
``MAX_RANGE_HEADER`` characters are ever looked at, so no header makes it slow or fail."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from jobrunner.api.errors import problem_responses
from jobrunner.domain.errors import RangeNotSatisfiable
from jobrunner.storage import Storage

MAX_RANGE_HEADER = 100

# How the routes that serve files describe them in OpenAPI.
BINARY = {"type": "string", "format": "binary"}
RANGE_PARAMETER = {
    "name": "Range",
    "in": "header",
    "required": False,
    "description": "One byte range, e.g. `bytes=0-1023` or `bytes=-500`; anything else is ignored (the whole file).",
    "schema": {"type": "string"},
}
EXPIRES_DESCRIPTION = "A signed link's expiry (Unix seconds), as in the link from the job's result."
SIG_DESCRIPTION = "A signed link's signature, as in the link from the job's result."
# Marks a parameter its route reads itself (a malformed one is a 404, never FastAPI's 422);
# api/openapi.py reads the mark and takes it out of the document.
READ_BY_ROUTE = "x-read-by-route"
SIGNED_LINK_PARAMETERS = [
    {
        "name": "expires",
        "in": "query",
        "required": False,
        "description": EXPIRES_DESCRIPTION,
        "schema": {"type": "integer", "minimum": 0},
        READ_BY_ROUTE: True,
    },
    {
        "name": "sig",
        "in": "query",
        "required": False,
        "description": SIG_DESCRIPTION,
        "schema": {"type": "string", "maxLength": 128},
        READ_BY_ROUTE: True,
    },
    {**RANGE_PARAMETER, READ_BY_ROUTE: True},
]
"""A signed link's query and ``Range``, for a route that reads them itself."""
_STRING = {"schema": {"type": "string"}}
_FILE_HEADERS = {
    "Content-Disposition": {"description": "`attachment` with the file's name", **_STRING},
    "Accept-Ranges": {"description": "`bytes`: one byte range may be asked for", **_STRING},
    "Content-Length": {"description": "Bytes in this answer", "schema": {"type": "integer"}},
}


def file_responses(content: dict[str, Any], *problems: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` of a route that serves a file (``serve_file``) as ``content``
    (media type -> schema), and the problems it can answer with."""
    return {
        200: {"description": "The file", "headers": _FILE_HEADERS, "content": content},
        206: {
            "description": "The byte range asked for in `Range`",
            "headers": {**_FILE_HEADERS, "Content-Range": {"description": "`bytes FIRST-LAST/SIZE`", **_STRING}},
            "content": content,
        },
        **problem_responses(*problems),
    }


_RANGE = re.compile(r"bytes[ \t]*=[ \t]*(\d*)[ \t]*-[ \t]*(\d*)[ \t]*", re.IGNORECASE)


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The single byte range asked for, as (first, last) inclusive; None to send the whole
    file (no header, a malformed or over-long one, several ranges). RangeNotSatisfiable when
    the range holds no byte of the file."""
    if not header or len(header) > MAX_RANGE_HEADER or "," in header:
        return None
    match = _RANGE.fullmatch(header.strip())
    if not match or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if first == "":  # the last N bytes
        if int(last) == 0 or size == 0:
            raise RangeNotSatisfiable(size)
        return max(size - int(last), 0), size - 1
    start = int(first)
    if last != "" and int(last) < start:
        return None
    if start >= size:
        raise RangeNotSatisfiable(size)
    return start, size - 1 if last == "" else min(int(last), size - 1)


async def serve_file(
    request: Request, storage: Storage, key: str, *, size: int, headers: Mapping[str, str], media_type: str
) -> Response:
    """The file under ``key`` (``size`` bytes) with ``headers``: 200, or 206 for a single
    satisfiable range; no body for HEAD."""
    span = parse_range(request.headers.get("range"), size)
    all_headers = {**headers, "Accept-Ranges": "bytes"}
    status, start, end = (206, *span) if span else (200, 0, size - 1)
    all_headers["Content-Length"] = str(end - start + 1 if size else 0)
    if status == 206:
        all_headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    if request.method == "HEAD" or size == 0:
        return Response(status_code=status, headers=all_headers, media_type=media_type)
    return StreamingResponse(
        storage.read(key, start, end), status_code=status, headers=all_headers, media_type=media_type
    )
