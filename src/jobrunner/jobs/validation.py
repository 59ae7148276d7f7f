"""Checking what a job will run with, the one way: ``POST /v1/jobs`` and the job templates
(creating one, changing one, starting a job from one) all go through these."""

from __future__ import annotations

from typing import Any

from jobrunner.domain.errors import InvalidInput
from jobrunner.domain.jobtypes import JOB_TYPES, JobType
from jobrunner.domain.payload_bounds import check_json
from jobrunner.jobs.models import field_errors
from jobrunner.settings import Settings
from pydantic import ValidationError


def creation_permissions() -> list[str]:
    """The permissions to create each registered job type (asked for in one round trip)."""
    return sorted({job_type.permission for job_type in JOB_TYPES.values()})


def known_job_type(name: str, loc: str = "jobType") -> JobType:
    """The declared job type ``name``, or ``InvalidInput`` naming the known ones."""
    job_type = JOB_TYPES.get(name)
    if job_type is None:
        raise InvalidInput(
            "unknown job type",
            [{"loc": loc, "message": f"unknown job type; known: {', '.join(sorted(JOB_TYPES))}"}],
        )
    return job_type


def validated_payload(job_type: JobType, payload: Any, settings: Settings) -> dict[str, Any]:
    """The payload as stored: bounded in size and depth (and NUL), then validated by the
    job type's payload model (422 with one entry per invalid field: unknown fields, money,
    types). Checks that need data (does the report type exist) stay in the job's first
    step. Used by POST /v1/jobs, the job templates and the schedules (when saved and at
    each firing)."""
    check_json(payload, loc="payload", max_depth=settings.payload_max_depth, max_bytes=settings.payload_max_bytes)
    try:
        model = job_type.payload_model.model_validate(payload)
    except ValidationError as exc:
        raise InvalidInput("invalid payload", field_errors(exc, "payload")) from exc
    return model.model_dump(mode="json", exclude_unset=True)
