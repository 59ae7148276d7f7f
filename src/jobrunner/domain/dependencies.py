"""Job dependencies: a job created with ``dependsOn`` waits, queued, until every job it
depends on has succeeded; when one fails or is cancelled, it is cancelled too (migration
0010's trigger does both, in the transaction of the dependency's outcome).

Each dependency has a name, what a processor calls it (a notification template reads
``dependencies.<name>.result``): the ``as`` given at creation, else the dependency's job
type. At creation a dependency that already succeeded counts as met; when one already
failed or was cancelled, the job is created and cancelled at once, with the error it
would have got had that dependency ended a moment later: the outcome never depends on
which of the two happened first.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jobrunner.domain.errors import InvalidInput, NotFound
from jobrunner.domain.states import JobStatus

MAX_DEPENDENCIES = 20
# A name is usable as is in a template: ``dependencies.export.result``.
NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,49}$"
DEPENDENCY_NOT_FOUND = "dependency not found"


@dataclass(frozen=True, slots=True)
class DependencyRef:
    """One entry of ``dependsOn`` as asked for."""

    job_id: uuid.UUID
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Ended:
    """A dependency that had already failed or been cancelled when the job was created."""

    job_id: uuid.UUID
    job_type: str
    status: str


@dataclass(frozen=True, slots=True)
class Resolved:
    """What the new job stores: ``depends_on`` (``[{"jobId", "as"}]``, the API's shape)
    and ``blocked_by`` (how many dependencies have not succeeded yet); ``ended``: the
    first dependency that already failed or was cancelled (the job is then cancelled)."""

    depends_on: list[dict[str, str]]
    blocked_by: int
    ended: Ended | None = None


def resolve(refs: Sequence[DependencyRef], found: Mapping[uuid.UUID, tuple[str, str]]) -> Resolved:
    """The dependencies of a new job, given ``found``: job id -> (job type, status) of the
    caller's jobs among them. A job not found is a 404 (as the status endpoint answers for
    a job that is not the caller's); two dependencies of one name a 422."""
    entries: list[dict[str, str]] = []
    errors: list[dict[str, Any]] = []
    blocked = 0
    ended: Ended | None = None
    for index, ref in enumerate(refs):
        if ref.job_id not in found:
            raise NotFound(f"{DEPENDENCY_NOT_FOUND}: dependsOn[{index}] names no job of yours")
        job_type, status = found[ref.job_id]
        if ended is None and status in (JobStatus.FAILED, JobStatus.CANCELLED):
            ended = Ended(ref.job_id, job_type, status)
        if status != JobStatus.SUCCEEDED:
            blocked += 1
        entries.append({"jobId": str(ref.job_id), "as": ref.name or job_type})
    names = [entry["as"] for entry in entries]
    for index, name in enumerate(names):
        if names.index(name) != index:
            errors.append(
                {"loc": f"dependsOn.{index}.as", "message": f"the name {name!r} is taken; give each dependency an 'as'"}
            )
    if errors:
        raise InvalidInput("invalid dependsOn", errors)
    return Resolved(entries, blocked, ended)
