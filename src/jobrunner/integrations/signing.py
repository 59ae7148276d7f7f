"""The ``X-Jobrunner-Signature`` header: HMAC-SHA256 over ``"<timestamp>.<body>"`` with the
integration's secret, sent as ``t=<unix seconds>,v1=<hex digest>``. A receiver recomputes
the digest over the timestamp it was given and the raw body, compares in constant time,
and refuses timestamps too far from its clock (replays)."""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-Jobrunner-Signature"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify(secret: str, header: str, body: bytes, *, tolerance_seconds: int = 300, now: float | None = None) -> bool:
    """What a receiver does (and what the tests' receivers do)."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
        digest = parts["v1"]
    except (KeyError, ValueError):
        return False
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance_seconds:
        return False
    return hmac.compare_digest(digest, signature(secret, timestamp, body))
