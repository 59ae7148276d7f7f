"""The ONE place that maps errors to HTTP. Every 4xx/5xx answer is an RFC 9457 problem
(``application/problem+json``: type, title, status, detail, and ``errors`` on 422),
including FastAPI's and Starlette's own (unknown route, wrong method, validation).

Every message is ours: the database being away is a 503 with ``Retry-After``; a driver
error that escaped its repository is a 503 or a generic 500, never its text; anything
unexpected is a generic 500 (details in the log); validation messages never repeat the
caller's input (``domain/field_errors.py``)."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Annotated, Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from jobrunner.db.errors import DRIVER_ONLY_ERRORS, DatabaseError, DatabaseUnavailable, is_unavailable, translate
from jobrunner.domain.errors import (
    AuthenticationError,
    Conflict,
    Gone,
    InvalidInput,
    JobrunnerError,
    NotFound,
    PermissionDenied,
    PushUnavailable,
    QuotaExceeded,
    RangeNotSatisfiable,
    StorageUnavailable,
)
from jobrunner.domain.field_errors import field_errors
from jobrunner.api.request_ids import CALLER_REQUEST_ID, REQUEST_ID_HEADER
from jobrunner.observability.logs import REQUEST_ID
from jobrunner.domain.schema import not_required

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"


class UnsupportedMediaType(JobrunnerError):
    """The request body is not JSON."""


class Unavailable(JobrunnerError):
    """The service cannot serve yet (the database does not answer)."""


_STATUS_BY_ERROR: tuple[tuple[type[JobrunnerError], int], ...] = (
    (AuthenticationError, 401),
    (PermissionDenied, 403),
    (NotFound, 404),
    (Conflict, 409),
    (Gone, 410),
    (UnsupportedMediaType, 415),
    (RangeNotSatisfiable, 416),
    (InvalidInput, 422),
    (QuotaExceeded, 429),
    (Unavailable, 503),
    (DatabaseUnavailable, 503),
    (StorageUnavailable, 503),
    (PushUnavailable, 503),
    (DatabaseError, 500),
)

# Retry-After on a 503 when the app's settings do not say (JOBRUNNER_UNAVAILABLE_RETRY_AFTER_SECONDS).
DEFAULT_RETRY_AFTER_SECONDS = 5
INTERNAL_ERROR = "internal error"
_FASTAPI_BODY_ERROR = "There was an error parsing the body"
UNAVAILABLE = "the service is temporarily unavailable; try again shortly"


class FieldError(BaseModel):
    loc: str = Field(description="Dotted path of the invalid field, e.g. payload.filters.dateFrom")
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"type": "about:blank", "title": "Not Found", "status": 404, "detail": "job not found"}]
        }
    )

    type: str = Field(description="Always `about:blank`: `title` is the status's phrase.")
    title: str
    status: int
    detail: str = Field(description="What went wrong, in words for people.")
    requestId: Annotated[str, Field(json_schema_extra=not_required, description="The request's id, for support.")] = (
        None  # type: ignore[assignment]
    )


class ValidationProblem(Problem):
    """A 422 problem: the request's invalid fields, one entry each."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "about:blank",
                    "title": "Unprocessable Entity",
                    "status": 422,
                    "detail": "invalid payload",
                    "errors": [{"loc": "payload.format", "message": "Input should be 'csv', 'json' or 'xlsx'"}],
                }
            ]
        }
    )

    errors: list[FieldError]


_PROBLEM_HEADERS: dict[int, dict[str, Any]] = {
    401: {
        "WWW-Authenticate": {
            "description": "The scheme to authenticate with: `Bearer`.",
            "schema": {"type": "string"},
        }
    },
    416: {"Content-Range": {"description": "`bytes */SIZE`: the file's size.", "schema": {"type": "string"}}},
    429: {"Retry-After": {"description": "Seconds until there may be room.", "schema": {"type": "integer"}}},
    503: {"Retry-After": {"description": "Seconds until trying again makes sense.", "schema": {"type": "integer"}}},
}


def problem_response(
    status: int,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    all_headers = dict(headers or {})
    request_id = REQUEST_ID.get()
    if request_id is not None:  # the request's id (api/middleware.py)
        all_headers[REQUEST_ID_HEADER] = request_id
    caller_request_id = CALLER_REQUEST_ID.get()
    if caller_request_id is not None:  # the caller's own, named in the body too
        body["requestId"] = caller_request_id
    if status == 401:
        all_headers["WWW-Authenticate"] = 'Bearer realm="jobrunner"'
    return Response(orjson.dumps(body), status_code=status, headers=all_headers, media_type=PROBLEM_MEDIA_TYPE)


def status_for(exc: JobrunnerError) -> int:
    for error_class, status in _STATUS_BY_ERROR:
        if isinstance(exc, error_class):
            return status
    return 500


def unavailable_response(settings: Any = None, detail: str = UNAVAILABLE) -> Response:
    """503 with ``Retry-After``: the database is away (or the service is starting)."""
    seconds = getattr(settings, "unavailable_retry_after_seconds", None) or DEFAULT_RETRY_AFTER_SECONDS
    return problem_response(503, detail, headers={"Retry-After": str(int(seconds))})


async def _jobrunner_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, JobrunnerError)
    return jobrunner_error_response(exc, getattr(request.app.state, "settings", None))


def jobrunner_error_response(exc: JobrunnerError, settings: Any = None) -> Response:
    """The problem answer for one of our errors (``settings``: the app's, for Retry-After)."""
    status = status_for(exc)
    if status == 503:
        log.warning("%s: %s (%r)", type(exc).__name__, exc.detail, exc.__cause__)
        return unavailable_response(settings, exc.detail or UNAVAILABLE)
    if status >= 500:
        log.error("%s: %s", type(exc).__name__, exc.detail, exc_info=exc.__cause__ or exc)
        return problem_response(500, INTERNAL_ERROR)
    errors = exc.errors if isinstance(exc, InvalidInput) else None
    return problem_response(status, exc.detail or HTTPStatus(status).phrase, errors=errors, headers=_headers_for(exc))


def _headers_for(exc: JobrunnerError) -> dict[str, str] | None:
    """The response headers an error carries (RFC 9110: 416 names the size, 429 says when)."""
    if isinstance(exc, RangeNotSatisfiable):
        return {"Content-Range": f"bytes */{exc.size}"}
    if isinstance(exc, QuotaExceeded):
        return {"Retry-After": str(exc.retry_after)}
    return None


def driver_error_response(exc: BaseException, settings: Any = None) -> Response:
    """A driver error no repository translated, answered as the repositories would
    (``db.errors.translate``): 422 for a value the database refuses, 503 when it is
    away, else a generic 500. Never the driver's text (it goes to the log)."""
    ours = translate(exc)
    if not isinstance(ours, DatabaseError):
        log.info("database refused a value: %r", exc)
    elif not is_unavailable(ours):
        log.error("database error", exc_info=exc)
        return problem_response(500, INTERNAL_ERROR)
    return jobrunner_error_response(ours, settings)


async def _driver_error(request: Request, exc: Exception) -> Response:
    return driver_error_response(exc, getattr(request.app.state, "settings", None))


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    if exc.status_code == 404 and detail == "Not Found":
        detail = "no such endpoint"
    if exc.status_code == 304:
        return Response(status_code=304, headers=exc.headers)
    if exc.status_code == 400 and detail == _FASTAPI_BODY_ERROR:
        # A body FastAPI could not decode (not UTF-8, say) for a route with a body model:
        # malformed input, answered as read_json answers it.
        return problem_response(422, "malformed JSON", errors=[{"loc": "body", "message": "not valid JSON"}])
    return problem_response(exc.status_code, detail, headers=dict(exc.headers) if exc.headers else None)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return problem_response(422, "invalid input", errors=field_errors(exc.errors(), strip_location=True))


async def _unexpected(request: Request, exc: Exception) -> Response:
    # The route template, not the path: a path can hold a signed link's token.
    route = getattr(request.scope.get("route"), "path", "unmatched")
    log.error("unhandled error on %s %s", request.method, route, exc_info=exc)
    return problem_response(500, INTERNAL_ERROR)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(JobrunnerError, _jobrunner_error)
    app.add_exception_handler(StarletteHTTPException, _http_exception)
    app.add_exception_handler(RequestValidationError, _validation_error)
    # Driver errors no repository turned into ours: before the catch-all, so that a
    # database restart is a 503 on every endpoint.
    for driver_exception in DRIVER_ONLY_ERRORS:
        app.add_exception_handler(driver_exception, _driver_error)
    app.add_exception_handler(Exception, _unexpected)


def error_response(exc: Exception, settings: Any = None) -> Response | None:
    """For code outside the router (``DirectDispatch``): our answer to ``exc``, or None
    when the app's catch-all should have it."""
    if isinstance(exc, JobrunnerError):
        return jobrunner_error_response(exc, settings)
    if isinstance(exc, DRIVER_ONLY_ERRORS):
        return driver_error_response(exc, settings)
    return None


def problem_content(status: int) -> dict[str, Any]:
    """The OpenAPI ``content`` of a problem answer with ``status``."""
    model = ValidationProblem if status == 422 else Problem
    return {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries for the problems an endpoint can answer with (with
    the headers each carries: WWW-Authenticate on 401, Retry-After on 429 and 503...)."""
    responses: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        response: dict[str, Any] = {"description": HTTPStatus(status).phrase, "content": problem_content(status)}
        if status in _PROBLEM_HEADERS:
            response["headers"] = _PROBLEM_HEADERS[status]
        responses[status] = response
    return responses
