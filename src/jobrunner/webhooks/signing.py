"""The Standard Webhooks signature (https://www.standardwebhooks.com/): headers
``webhook-id``, ``webhook-timestamp`` (Unix seconds) and ``webhook-signature``:
``v1,<base64 HMAC-SHA256>`` over ``"<id>.<timestamp>.<body>"``, keyed with the base64-decoded
part of the secret after ``whsec_``. Several signatures are separated by spaces (during a
secret rotation, one per valid secret); a receiver accepts the message if any verifies.
Receivers verify with the ``standardwebhooks`` libraries (Python, JavaScript, Go, ...)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> str:
    """A fresh signing secret: ``whsec_`` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 digest>`` of one secret."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def webhook_headers(secrets_: Iterable[str], message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three headers, signed with every secret given (the current one first)."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signature(secret, message_id, timestamp, body) for secret in secrets_),
    }
