"""What a job status answer shows of an export's result: the stored result with a
freshly signed ``downloadUrl`` (the stored one is a placeholder without a signature).

Register with the API's presenter hook, once at start-up::

    register_result_presenter("export_report", export_result_presenter(jwt_secret, settings))
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from jobrunner.exports.links import signed_download_url
from jobrunner.exports.naming import download_path, storage_key
from jobrunner.settings import Settings

_FIELDS = {
    "id": ("id", "jobId", "job_id"),
    "user_id": ("user_id", "userId"),
    "organization_id": ("organization_id", "organizationId"),
}


def _field(job_row: Any, name: str) -> Any:
    """Reads the job's field from a record, a dict (snake or camel case) or an object."""
    for candidate in _FIELDS[name]:
        if isinstance(job_row, Mapping):
            if candidate in job_row:
                return job_row[candidate]
        elif hasattr(job_row, candidate):
            return getattr(job_row, candidate)
        else:
            try:
                return job_row[candidate]
            except (KeyError, TypeError, IndexError):
                continue
    raise KeyError(f"job row has no {name}")


def present_export_result(
    result: dict[str, Any] | None,
    job_row: Any,
    *,
    secret: str,
    ttl_seconds: int,
    now: float | None = None,
) -> dict[str, Any] | None:
    """The result with ``downloadUrl`` signed for the job's owner, valid ``ttl_seconds``.
    Only a result the processor wrote (its placeholder ``/v1/exports/{jobId}/download``)
    is signed; anything else is returned unchanged."""
    if not result or "format" not in result:
        return result
    job_id = _field(job_row, "id")
    if result.get("downloadUrl") != download_path(job_id):
        return result
    url, _ = signed_download_url(
        secret,
        job_id=job_id,
        key=storage_key(job_id, result["format"]),
        user_id=_field(job_row, "user_id"),
        organization_id=_field(job_row, "organization_id"),
        ttl_seconds=ttl_seconds,
        now=time.time() if now is None else now,
    )
    return {**result, "downloadUrl": url}


def export_result_presenter(secret: str, settings: Settings) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """``present_export_result`` bound to the secret and the link TTL of the settings."""

    def present(result: dict[str, Any], job_row: Any) -> dict[str, Any]:
        ttl = settings.download_link_ttl_seconds
        return present_export_result(result, job_row, secret=secret, ttl_seconds=ttl) or result

    return present
