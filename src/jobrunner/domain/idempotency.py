"""Idempotent creation, Stripe's way: a request sent with an ``Idempotency-Key`` header
is answered once; the same key with the same body (compared by ``request_hash``) within
the key's lifetime gets the first answer again, marked ``Idempotent-Replayed: true``; the
same key with another body is refused (422). Keys are per user and organization."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from jobrunner.domain.errors import InvalidInput

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
# Printable ASCII, space included (a UUID, a ULID, "order-1234/attempt-1" ...).
KEY_PATTERN = r"^[\x20-\x7E]{1,255}$"


def check_key(value: str) -> str:
    """The key as sent (without surrounding spaces), or a 422: 1-255 printable ASCII characters."""
    key = value.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not all(" " <= c <= "~" for c in key):
        raise InvalidInput(
            f"invalid {HEADER}",
            [{"loc": HEADER, "message": f"must be 1-{MAX_KEY_LENGTH} printable ASCII characters"}],
        )
    return key


def request_hash(body: Any) -> bytes:
    """SHA-256 of the parsed body as canonical JSON (sorted keys, no whitespace): key order
    and spacing do not make two bodies different."""
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).digest()


def body_mismatch() -> InvalidInput:
    return InvalidInput(
        f"this {HEADER} was used with another request body",
        [{"loc": HEADER, "message": "already used with another request body; use a new key for a new request"}],
    )
