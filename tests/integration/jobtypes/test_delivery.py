"""Signed delivery to a real receiver on loopback: how each kind of answer is classified."""

from __future__ import annotations

import httpx
import pytest

from jobrunner.domain.errors import PermanentError, RetryLater
from jobrunner.integrations.delivery import post_signed
from tests.support.processes import free_port
from tests.support.receivers import http_receiver

SECRET = "delivery-secret-0123456789"


async def post(url: str, timeout: float = 2.0) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await post_signed(client, url, SECRET, {"a": 1}, idempotency_key="k-1", timeout=timeout)


@pytest.mark.parametrize(("status", "error"), [
    (503, RetryLater), (500, RetryLater), (429, RetryLater),
    (400, PermanentError), (404, PermanentError), (200, None), (204, None),
])
async def test_answers(status: int, error: type[Exception] | None) -> None:
    with http_receiver(SECRET, script=[status]) as receiver:
        if error is None:
            assert (await post(receiver.url)).status_code == status
        else:
            with pytest.raises(error):
                await post(receiver.url)
    (received,) = receiver.received
    assert received.signature_ok and received.headers["idempotency-key"] == "k-1"
    assert received.json() == {"a": 1}


async def test_timeout_and_refused_connection_are_transient() -> None:
    with http_receiver(SECRET, delay=1.0) as receiver:
        with pytest.raises(RetryLater, match="did not answer within 0.2 s"):
            await post(receiver.url, timeout=0.2)
    with pytest.raises(RetryLater, match="could not be reached"):
        await post(f"http://127.0.0.1:{free_port()}/hook")
