"""Signed, expiring download links that a plain browser link can follow.

The signature is HMAC-SHA256 over (storage key, owner user id, organization id, expiry),
with a key derived from the JWT secret for this one purpose, so a link can neither be
moved to another file, another owner or a later expiry, nor used as a token elsewhere.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from urllib.parse import urlencode

from jobrunner.exports.naming import download_path

_PURPOSE = b"jobrunner/export-download-link/v1"
MAX_SIGNATURE_LENGTH = 64


def _link_key(secret: str) -> bytes:
    return hmac.new(secret.encode(), _PURPOSE, hashlib.sha256).digest()


def sign(secret: str, *, key: str, user_id: str, organization_id: str, expires: int) -> str:
    message = json.dumps([key, user_id, organization_id, int(expires)]).encode()
    digest = hmac.new(_link_key(secret), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def verify(
    secret: str, signature: str | None, *, key: str, user_id: str, organization_id: str,
    expires: int | None, now: float | None = None,
) -> bool:
    """True for an untampered link that has not expired."""
    if not signature or expires is None or len(signature) > MAX_SIGNATURE_LENGTH:
        return False
    if expires <= (time.time() if now is None else now):
        return False
    expected = sign(secret, key=key, user_id=user_id, organization_id=organization_id, expires=expires)
    return hmac.compare_digest(expected.encode(), signature.encode())


def signed_download_url(
    secret: str, *, job_id: uuid.UUID | str, key: str, user_id: str, organization_id: str,
    ttl_seconds: int, now: float | None = None,
) -> tuple[str, int]:
    """``/v1/exports/{jobId}/download?expires=...&sig=...`` and its expiry (epoch seconds)."""
    expires = int(time.time() if now is None else now) + int(ttl_seconds)
    signature = sign(secret, key=key, user_id=user_id, organization_id=organization_id, expires=expires)
    return f"{download_path(job_id)}?{urlencode({'expires': expires, 'sig': signature})}", expires
