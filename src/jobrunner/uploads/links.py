"""Signed, expiring links to an import's rejected-rows file (see ``auth/links.py`` for
the signature)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from jobrunner.auth import links
from jobrunner.settings import Settings

_PURPOSE = b"jobrunner/rejected-rows-link/v1"


def rejected_rows_path(job_id: uuid.UUID | str) -> str:
    return f"/v1/imports/{job_id}/rejected-rows"


def sign(secret: str, *, job_id: str, user_id: str, organization_id: str, expires: int) -> str:
    return links.sign(secret, _PURPOSE, [str(job_id), user_id, organization_id], expires)


def verify(
    secret: str,
    signature: str | None,
    *,
    job_id: str,
    user_id: str,
    organization_id: str,
    expires: int | None,
    now: float | None = None,
) -> bool:
    return links.verify(secret, _PURPOSE, signature, [str(job_id), user_id, organization_id], expires, now)


def signed_url(secret: str, *, job_id: str, user_id: str, organization_id: str, ttl_seconds: int) -> str:
    query, _ = links.signed_query(secret, _PURPOSE, [str(job_id), user_id, organization_id], ttl_seconds)
    return f"{rejected_rows_path(job_id)}?{query}"


def rejected_rows_presenter(
    secret: str, settings: Settings
) -> Callable[[dict[str, Any], Mapping[str, Any]], dict[str, Any]]:
    """For ``register_result_presenter("data_processing", ...)``: a fresh signed
    ``rejectedRowsUrl`` on every status answer (the stored one is an unsigned placeholder)."""

    def present(result: dict[str, Any], row: Mapping[str, Any]) -> dict[str, Any]:
        if result.get("rejectedRowsUrl") != rejected_rows_path(row["id"]):
            return result
        url = signed_url(
            secret,
            job_id=str(row["id"]),
            user_id=row["user_id"],
            organization_id=row["organization_id"],
            ttl_seconds=settings.download_link_ttl_seconds,
        )
        return {**result, "rejectedRowsUrl": url}

    return present
