"""What a running job sees of the jobs it depends on (``dependsOn``, docs/workflows.md):
each by its name, ``{"jobId", "jobType", "status", "result"}``. A job runs only once all
of them succeeded, so each ``result`` is the one its processor returned.

For a notification, ``shareable`` turns an export's ``downloadUrl`` (stored as the API's
path, unsigned) into a link that works from an email: absolute (``JOBRUNNER_PUBLIC_URL``)
and signed for the export's owner, valid ``JOBRUNNER_NOTIFICATION_LINK_TTL_SECONDS``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg

from jobrunner.db.sql import Q
from jobrunner.domain.errors import PermanentError
from jobrunner.exports.presenter import present_export_result
from jobrunner.settings import Settings

EXPORT_JOB_TYPE = "export_report"


@dataclass(frozen=True, slots=True)
class Dependency:
    name: str
    job_id: uuid.UUID
    job_type: str
    status: str
    result: Any
    user_id: str
    organization_id: str

    def shown(self, result: Any = None) -> dict[str, Any]:
        return {"jobId": str(self.job_id), "jobType": self.job_type, "status": self.status, "result": result}


async def dependency_results(pool: asyncpg.Pool, job_id: uuid.UUID) -> list[Dependency]:
    """The job's dependencies; one that is gone (deleted by retention since the job was
    created) is a permanent failure."""
    rows = await pool.fetch(Q.dependency_results, job_id)
    gone = [row["name"] for row in rows if row["job_type"] is None]
    if gone:
        raise PermanentError(f"the job this one depends on as '{gone[0]}' no longer exists")
    return [Dependency(**dict(row)) for row in rows]


def shareable(dependencies: list[Dependency], settings: Settings) -> dict[str, dict[str, Any]]:
    """The dependencies by name, as a template sees them: an export's download link
    absolute and signed (when this process knows the signing secret)."""
    shown: dict[str, dict[str, Any]] = {}
    for dependency in dependencies:
        result = dependency.result
        if dependency.job_type == EXPORT_JOB_TYPE and isinstance(result, dict) and settings.jwt_secret:
            result = _emailable_export(result, dependency, settings, settings.jwt_secret)
        shown[dependency.name] = dependency.shown(result)
    return shown


def _emailable_export(result: dict[str, Any], export: Dependency, settings: Settings, secret: str) -> dict[str, Any]:
    signed = present_export_result(
        result,
        {"id": export.job_id, "user_id": export.user_id, "organization_id": export.organization_id},
        secret=secret,
        ttl_seconds=settings.notification_link_ttl_seconds,
    )
    if not signed:
        return result
    url = signed.get("downloadUrl")
    if isinstance(url, str) and url.startswith("/"):
        return {**signed, "downloadUrl": public_url(settings) + url}
    return signed


def public_url(settings: Settings) -> str:
    """Where users reach the service: ``JOBRUNNER_PUBLIC_URL``, else this host and port
    (loopback when listening on every address)."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    return f"http://{host}:{settings.port}"
