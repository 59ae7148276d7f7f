"""Permission checks against what the database says, on every request (no cache:
revoking a role takes effect at once). The rules only: the repositories read ``Access``
from the database (``JobsRepository.access``); nothing here imports them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from jobrunner.domain.errors import AuthenticationError, PermissionDenied

VIEW_JOBS = "jobs.view_jobs"
CREATE_JOBS = "jobs.create_jobs"
CANCEL_JOBS = "jobs.cancel_jobs"
RETRY_JOBS = "jobs.retry_jobs"
# The operations console: every job of the organization, bulk actions, retry anyway.
MANAGE_JOBS = "jobs.manage_jobs"
# Recurring schedules of the organization (admin role; docs/workflows.md).
MANAGE_SCHEDULES = "schedules.manage_schedules"


@dataclass(frozen=True, slots=True)
class Access:
    """What the caller may do in the token's organization."""

    is_member: bool
    granted: frozenset[str]


class AccessSource(Protocol):
    """Where ``Access`` comes from (``JobsRepository``)."""

    async def access(self, organization_id: str, user_id: str, permissions: Sequence[str]) -> Access: ...


def require_member(is_member: bool) -> None:
    """A valid token for a user who is not (or no longer) in that organization, or who does
    not exist, authenticates nobody."""
    if not is_member:
        raise AuthenticationError("unknown user or not a member of the token's organization")


def require(access: Access, *permissions: str) -> None:
    require_member(access.is_member)
    for permission in permissions:
        if permission not in access.granted:
            raise PermissionDenied(f"missing permission {permission}")


# Whoever may see a job may fetch the files it made (an export, an import's rejected rows).
FETCH_JOB_FILES = VIEW_JOBS


async def may_fetch_job_files(repository: AccessSource, organization_id: str, user_id: str) -> bool:
    """Whether the owner of a job's files still may fetch them: still a member of the
    organization, with the permission. Asked on every request, whatever the credential (a
    signed link proves who it was issued to, not that they still belong)."""
    access = await repository.access(organization_id, user_id, [FETCH_JOB_FILES])
    return access.is_member and FETCH_JOB_FILES in access.granted
