"""Every error is ours (issue 9, item 8's rule): problem+json in our words; no driver
text, Python repr, stack detail or echo of the caller's input leaves the service."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from pydantic import AfterValidator, BaseModel

from tests.integration.api.conftest import EXPORT_BODY, assert_problem, auth

MARKER = "ZQXhostile"
# What driver text, reprs and stack traces look like.
LEAKS = (
    "datetime.datetime(",
    "query argument",
    "asyncpg",
    "Traceback",
    'File "',
    "psycopg",
    "0x7f",
    "cannot switch to state",
    "does not exist",
    "secret_col",
    "unsupported Unicode",
    "SQLSTATE",
)


def assert_ours(response: httpx.Response, status: int) -> dict[str, Any]:
    body = assert_problem(response, status)
    for leak in LEAKS:
        assert leak not in response.text, (leak, response.text)
    for entry in body.get("errors") or []:
        assert set(entry) == {"loc", "message"}, entry  # never ctx, input, url, type
    return body


@pytest.fixture
async def raw_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client that gets the app's 500 answer instead of the re-raised exception."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


# -- what the database refuses --------------------------------------------------------


async def test_a_value_the_database_refuses_is_a_422_in_our_words(client: httpx.AsyncClient) -> None:
    """Before: ``invalid input for query argument $8: datetime.datetime(9999, 12, 31, …)``."""
    body = {**EXPORT_BODY, "scheduledAt": "9999-12-31T23:59:59-12:00"}
    problem = assert_ours(await client.post("/v1/jobs", json=body, headers=auth("user_admin")), 422)
    # Our words may name the allowed range; they never repeat the value sent or a repr of it.
    for error in problem["errors"]:
        assert "9999-12-31" not in error["message"] and "datetime" not in error["message"], error


async def test_a_nul_in_a_payload_string_never_answers_with_the_drivers_words(client: httpx.AsyncClient) -> None:
    body = {**EXPORT_BODY, "payload": {**EXPORT_BODY["payload"], "note": "a\u0000b"}}
    response = await client.post("/v1/jobs", json=body, headers=auth("user_admin"))
    assert response.status_code in (202, 422), response.text
    if response.status_code == 422:
        assert_ours(response, 422)


# -- validation messages ---------------------------------------------------------------


class EchoBody(BaseModel):
    day: Annotated[str, AfterValidator(dt.date.fromisoformat)]


async def echo(body: EchoBody) -> dict[str, str]:
    return {"day": str(body.day)}


async def test_validation_messages_do_not_echo_a_librarys_repr_of_the_input(app: FastAPI) -> None:
    """A validator that lets a library's ValueError through (``date.fromisoformat``:
    "Invalid isoformat string: '…'") must not send the input back."""
    app.add_api_route("/test/hygiene/echo", echo, methods=["POST"])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.post("/test/hygiene/echo", json={"day": MARKER})
        problem = assert_ours(response, 422)
        assert MARKER not in response.text
        assert problem["errors"] == [{"loc": "day", "message": "invalid value"}]
        # A message of our own, from the schema, is kept.
        response = await client.post("/test/hygiene/echo", json={"day": 5})
        assert assert_ours(response, 422)["errors"] == [{"loc": "day", "message": "Input should be a valid string"}]


async def test_an_unknown_field_name_comes_back_bounded(client: httpx.AsyncClient) -> None:
    name = MARKER * 500  # 5,000 characters
    body = {**EXPORT_BODY, name: 1}
    problem = assert_ours(await client.post("/v1/jobs", json=body, headers=auth("user_admin")), 422)
    assert len(response_text := str(problem)) < 1000, response_text
    assert all(len(e["loc"]) <= 64 for e in problem["errors"])


async def test_malformed_json_is_described_in_our_words(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/jobs",
        content=b'{"jobType": ' + MARKER.encode(),
        headers={**auth("user_admin"), "content-type": "application/json"},
    )
    problem = assert_ours(response, 422)
    assert problem["errors"][0]["message"].startswith("not valid JSON (line 1, column ")
    assert MARKER not in response.text


# -- the catch-all -----------------------------------------------------------------------


def _raiser(exc: BaseException):
    async def endpoint() -> None:
        raise exc

    return endpoint


async def test_a_driver_error_no_repository_translated_is_a_503_or_a_generic_500(
    app: FastAPI, raw_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """What asyncpg raised during the PostgreSQL restart of the issue is a 503 with
    Retry-After; a statement error is a 500 that says nothing about the statement."""
    app.add_api_route(
        "/test/hygiene/lost",
        _raiser(asyncpg.InternalClientError("cannot switch to state 15; another operation (2) is in progress")),
    )
    app.add_api_route(
        "/test/hygiene/closed",
        _raiser(asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation")),
    )
    app.add_api_route("/test/hygiene/sql", _raiser(asyncpg.UndefinedColumnError('column "secret_col" does not exist')))
    for path in ("/test/hygiene/lost", "/test/hygiene/closed"):
        response = await raw_client.get(path)
        assert_ours(response, 503)
        assert response.headers["retry-after"] == "5"
    with caplog.at_level(logging.ERROR):
        response = await raw_client.get("/test/hygiene/sql")
    assert assert_ours(response, 500)["detail"] == "internal error"
    assert "secret_col" in caplog.text  # the details are in the log, not in the answer


async def test_an_unexpected_error_is_a_generic_500_whatever_the_request(
    app: FastAPI, raw_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    app.add_api_route("/test/hygiene/boom/{what}", _raiser(RuntimeError(f"{MARKER} at {{'k': 1}}")))
    answers = []
    with caplog.at_level(logging.ERROR):
        for what in ("a", MARKER):
            response = await raw_client.get(f"/test/hygiene/boom/{what}", headers=auth("user_admin"))
            answers.append(assert_ours(response, 500))
    # Nothing differs, not even a request id (a made-up one travels in the header only).
    assert all("requestId" not in answer for answer in answers)
    assert (
        answers[0]
        == answers[1]
        == {"type": "about:blank", "title": "Internal Server Error", "status": 500, "detail": "internal error"}
    )
    assert MARKER in caplog.text
