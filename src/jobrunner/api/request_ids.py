"""Request ids and who is calling, as the request log line reads them.

A caller may send ``X-Request-Id`` (to follow a request through its own logs); it is
kept when it is 1 to 128 characters of ``A-Z a-z 0-9 . _ : -``, otherwise a new one is
made (nothing else a caller sends reaches a log line)."""

from __future__ import annotations

import random
import re
from collections.abc import Iterable
from contextvars import ContextVar

# The authenticated caller's claims (``TokenClaims``), set by ``api.deps.authenticate`` in
# the request's ASGI scope for the log line.
CALLER_SCOPE_KEY = "jobrunner.caller"
REQUEST_ID_HEADER = "X-Request-Id"

# The caller's own request id, when it sent a usable one. Problem bodies name it as
# ``requestId``; an id we made up travels in the header only, so that two answers to the
# same question stay identical (a 404 for a missing job and for another tenant's job
# must not differ in anything, docs/api.md).
CALLER_REQUEST_ID: ContextVar[str | None] = ContextVar("jobrunner_caller_request_id", default=None)

_SAFE_ID = re.compile(rb"[A-Za-z0-9._:-]{1,128}")


def incoming_request_id(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The caller's ``X-Request-Id`` when it is safe to log and send back, else None."""
    for name, value in headers:
        if name == b"x-request-id":
            return value.decode("ascii") if _SAFE_ID.fullmatch(value) else None
    return None


def new_request_id() -> str:
    """32 hex digits, random (unique, not secret: no system call per request)."""
    return f"{random.getrandbits(128):032x}"
