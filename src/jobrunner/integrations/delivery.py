"""POSTing signed JSON to an integration, with failures sorted the way the engine needs:
a timeout, a connection failure, a 5xx or a 429 is transient (``RetryLater``); any other
4xx is permanent (the receiver refuses what we send; sending it again will not help)."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from jobrunner.domain.errors import PermanentError, RetryLater
from jobrunner.integrations.signing import SIGNATURE_HEADER, signature_header

IDEMPOTENCY_HEADER = "Idempotency-Key"


async def post_signed(
    client: httpx.AsyncClient,
    url: str,
    secret: str,
    document: Any,
    *,
    idempotency_key: str,
    timeout: float,
) -> httpx.Response:
    body = orjson.dumps(document)
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: signature_header(secret, body),
        IDEMPOTENCY_HEADER: idempotency_key,
        "User-Agent": "jobrunner",
    }
    try:
        response = await client.post(url, content=body, headers=headers, timeout=timeout)
    except httpx.TimeoutException as exc:
        raise RetryLater(f"{url} did not answer within {timeout:g} s") from exc
    except httpx.HTTPError as exc:
        raise RetryLater(f"{url} could not be reached: {type(exc).__name__}") from exc
    status = response.status_code
    if status >= 500 or status == 429:
        raise RetryLater(f"{url} answered {status}", delay=_retry_after(response))
    if status >= 400:
        raise PermanentError(f"{url} refused the request: {status} {response.text[:200]}")
    return response


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    return float(value) if value.isdigit() and int(value) <= 3600 else None
