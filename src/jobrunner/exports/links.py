"""Signed, expiring export download links (see ``auth/links.py`` for the signature)."""

from __future__ import annotations

import uuid

from jobrunner.auth import links
from jobrunner.exports.naming import download_path

_PURPOSE = b"jobrunner/export-download-link/v1"


def sign(secret: str, *, key: str, user_id: str, organization_id: str, expires: int) -> str:
    return links.sign(secret, _PURPOSE, [key, user_id, organization_id], expires)


def verify(
    secret: str,
    signature: str | None,
    *,
    key: str,
    user_id: str,
    organization_id: str,
    expires: int | None,
    now: float | None = None,
) -> bool:
    """True for an untampered link that has not expired."""
    return links.verify(secret, _PURPOSE, signature, [key, user_id, organization_id], expires, now)


def signed_download_url(
    secret: str,
    *,
    job_id: uuid.UUID | str,
    key: str,
    user_id: str,
    organization_id: str,
    ttl_seconds: int,
    now: float | None = None,
) -> tuple[str, int]:
    """``/v1/exports/{jobId}/download?expires=...&sig=...`` and its expiry (epoch seconds)."""
    query, expires = links.signed_query(secret, _PURPOSE, [key, user_id, organization_id], ttl_seconds, now)
    return f"{download_path(job_id)}?{query}", expires
