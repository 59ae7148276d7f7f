"""Signed, expiring links that a plain browser link can follow (export downloads, an
import's rejected rows).

The signature is HMAC-SHA256 over the link's parts (what it opens, its owner, their
organization) and its expiry, with a key derived from the JWT secret for one purpose, so
a link can be moved neither to another file, owner, expiry or purpose, nor used as a
token elsewhere."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from urllib.parse import urlencode

MAX_SIGNATURE_LENGTH = 64


def sign(secret: str, purpose: bytes, parts: list[str], expires: int) -> str:
    key = hmac.new(secret.encode(), purpose, hashlib.sha256).digest()
    message = json.dumps([*parts, int(expires)]).encode()
    return base64.urlsafe_b64encode(hmac.new(key, message, hashlib.sha256).digest()).rstrip(b"=").decode()


def verify(
    secret: str,
    purpose: bytes,
    signature: str | None,
    parts: list[str],
    expires: int | None,
    now: float | None = None,
) -> bool:
    """True for an untampered link that has not expired."""
    if not signature or expires is None or len(signature) > MAX_SIGNATURE_LENGTH:
        return False
    if expires <= (time.time() if now is None else now):
        return False
    return hmac.compare_digest(sign(secret, purpose, parts, expires).encode(), signature.encode())


def signed_query(
    secret: str, purpose: bytes, parts: list[str], ttl_seconds: int, now: float | None = None
) -> tuple[str, int]:
    """``expires=...&sig=...`` for a link valid ``ttl_seconds``, and its expiry (epoch s)."""
    expires = int(time.time() if now is None else now) + int(ttl_seconds)
    return urlencode({"expires": expires, "sig": sign(secret, purpose, parts, expires)}), expires
