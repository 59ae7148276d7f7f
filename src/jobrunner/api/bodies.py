"""JSON request and response bodies of the API's routes: read a body as JSON (415 for
another media type, 422 for malformed JSON) and answer with orjson-serialized JSON."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request
from starlette.responses import Response

from jobrunner.api.errors import UnsupportedMediaType
from jobrunner.domain.errors import InvalidInput

JSON = "application/json"


def json_response(body: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    """``body`` as JSON (or already-serialized JSON bytes)."""
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return Response(content, status_code=status_code, headers=headers, media_type=JSON)


async def read_json(request: Request) -> Any:
    """The body as JSON. No Content-Type is read as JSON; another media type is a 415."""
    content_type = request.headers.get("content-type")
    if content_type is not None:
        media_type = content_type.split(";", 1)[0].strip().lower()
        if media_type != JSON and not media_type.endswith("+json"):
            raise UnsupportedMediaType(f"expected {JSON}, got {media_type or 'nothing'}")
    body = await request.body()
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        where = f"not valid JSON (line {exc.lineno}, column {exc.colno})"
        raise InvalidInput("malformed JSON", [{"loc": "body", "message": where}]) from exc
