"""Signed delivery through the guarded outbound client to a real receiver on loopback
(allowed explicitly here): how each kind of answer is classified, and what the job is told."""

from __future__ import annotations

import pytest

from jobrunner.domain.errors import PermanentError, RetryLater
from jobrunner.integrations.delivery import post_signed
from jobrunner.outbound.client import OutboundResponse, outbound_client
from jobrunner.settings import Settings
from tests.support.processes import free_port
from tests.support.receivers import http_receiver

SECRET = "delivery-secret-0123456789"
LOOPBACK = Settings(outbound_allowed_networks=["127.0.0.0/8"])


async def post(url: str, timeout: float = 2.0) -> OutboundResponse:
    async with outbound_client(LOOPBACK) as client:
        return await post_signed(client, url, SECRET, {"a": 1}, idempotency_key="k-1", timeout=timeout)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (503, RetryLater),
        (500, RetryLater),
        (429, RetryLater),
        (400, PermanentError),
        (404, PermanentError),
        (302, PermanentError),
        (200, None),
        (204, None),
    ],
)
async def test_answers(status: int, error: type[Exception] | None) -> None:
    with http_receiver(SECRET, script=[status]) as receiver:
        if error is None:
            assert (await post(receiver.url)).status_code == status
        else:
            with pytest.raises(error) as raised:
                await post(receiver.url)
            assert str(raised.value).startswith(f"the receiver answered {status}")
            assert receiver.url not in str(raised.value)
    (received,) = receiver.received
    assert received.signature_ok and received.headers["idempotency-key"] == "k-1"
    assert received.json() == {"a": 1}


async def test_timeout_and_refused_connection_are_transient_and_look_the_same() -> None:
    with http_receiver(SECRET, delay=1.0) as receiver:
        with pytest.raises(RetryLater) as slow:
            await post(receiver.url, timeout=0.2)
    with pytest.raises(RetryLater) as closed:
        await post(f"http://127.0.0.1:{free_port()}/hook", timeout=0.2)
    # Nothing tells an open port from a closed one.
    assert str(slow.value) == str(closed.value) == "the receiver could not be reached or did not answer within 0.2 s"
