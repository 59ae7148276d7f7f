"""Signed, expiring links to an import's rejected-rows file, which a plain browser link can
follow: HMAC-SHA256 over (job id, owner, organization, expiry) with a key derived from the
JWT secret for this one purpose.

MERGE NOTE: the exports feature signs its download links the same way
(``exports/links.py``); the two can become one signer with a purpose argument."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from jobrunner.settings import Settings

_PURPOSE = b"jobrunner/rejected-rows-link/v1"
MAX_SIGNATURE_LENGTH = 64


def rejected_rows_path(job_id: uuid.UUID | str) -> str:
    return f"/v1/imports/{job_id}/rejected-rows"


def sign(secret: str, *, job_id: str, user_id: str, organization_id: str, expires: int) -> str:
    key = hmac.new(secret.encode(), _PURPOSE, hashlib.sha256).digest()
    message = json.dumps([str(job_id), user_id, organization_id, int(expires)]).encode()
    return base64.urlsafe_b64encode(hmac.new(key, message, hashlib.sha256).digest()).rstrip(b"=").decode()


def verify(secret: str, signature: str | None, *, job_id: str, user_id: str, organization_id: str,
           expires: int | None, now: float | None = None) -> bool:
    if not signature or expires is None or len(signature) > MAX_SIGNATURE_LENGTH:
        return False
    if expires <= (time.time() if now is None else now):
        return False
    expected = sign(secret, job_id=job_id, user_id=user_id, organization_id=organization_id, expires=expires)
    return hmac.compare_digest(expected.encode(), signature.encode())


def signed_url(secret: str, *, job_id: str, user_id: str, organization_id: str, ttl_seconds: int) -> str:
    expires = int(time.time()) + int(ttl_seconds)
    signature = sign(secret, job_id=job_id, user_id=user_id, organization_id=organization_id, expires=expires)
    return f"{rejected_rows_path(job_id)}?{urlencode({'expires': expires, 'sig': signature})}"


def rejected_rows_presenter(secret: str, settings: Settings) -> Callable[[dict[str, Any], Mapping[str, Any]], dict[str, Any]]:
    """For ``register_result_presenter("data_processing", ...)``: a fresh signed
    ``rejectedRowsUrl`` on every status answer (the stored one is an unsigned placeholder)."""

    def present(result: dict[str, Any], row: Mapping[str, Any]) -> dict[str, Any]:
        if result.get("rejectedRowsUrl") != rejected_rows_path(row["id"]):
            return result
        url = signed_url(secret, job_id=str(row["id"]), user_id=row["user_id"],
                         organization_id=row["organization_id"], ttl_seconds=settings.download_link_ttl_seconds)
        return {**result, "rejectedRowsUrl": url}

    return present
