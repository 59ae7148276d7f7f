"""POSTing signed JSON to an integration through the guarded outbound client, with
failures sorted the way the engine needs: no answer in time, no connection or a broken
answer, a 5xx or a 429 is transient (``RetryLater``); a 3xx (redirects are not followed)
or any other 4xx is permanent (sending it again will not help); a destination the policy
refuses is permanent (``DestinationNotAllowed``).

What the job shows is said in our words ("the receiver answered 403"): never the
receiver's body, never the URL, never which network error it was (that would let a member
tell open ports from closed ones). The details go to the log."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import orjson

from jobrunner.domain.errors import PermanentError, RetryLater
from jobrunner.integrations.signing import SIGNATURE_HEADER, signature_header
from jobrunner.outbound.client import OutboundClient, OutboundResponse

IDEMPOTENCY_HEADER = "Idempotency-Key"

log = logging.getLogger("jobrunner.integrations")


async def post_signed(
    client: OutboundClient,
    url: str,
    secret: str,
    document: Any,
    *,
    idempotency_key: str,
    timeout: float,
) -> OutboundResponse:
    body = orjson.dumps(document)
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: signature_header(secret, body),
        IDEMPOTENCY_HEADER: idempotency_key,
        "User-Agent": "jobrunner",
    }
    try:
        response = await client.post(url, content=body, headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        log.warning("POST to %s failed: %s: %s", url, type(exc).__name__, exc)
        raise RetryLater(f"the receiver could not be reached or did not answer within {timeout:g} s") from exc
    status = response.status_code
    if status >= 300:
        log.warning("POST to %s answered %s: %r", url, status, response.content[:500])
    if status >= 500 or status == 429:
        raise RetryLater(f"the receiver answered {status}", delay=_retry_after(response))
    if status >= 400:
        raise PermanentError(f"the receiver answered {status}")
    if status >= 300:
        raise PermanentError(f"the receiver answered {status} (redirects are not followed)")
    return response


def _retry_after(response: OutboundResponse) -> float | None:
    value = response.headers.get("retry-after", "")
    return float(value) if value.isdigit() and int(value) <= 3600 else None
