"""Opening an event stream (docs/push.md): the same checks as the status and list
endpoints before anything streams (401, 403, 404, 422), then the subscription, then the
snapshot: the current state of the job, or of the owner's jobs that changed since
``Last-Event-ID`` (without one: their unfinished jobs). The subscription comes first, so a
change made while the snapshot is read is not lost (at worst it comes twice)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from jobrunner.auth import rbac
from jobrunner.auth.tokens import TokenClaims
from jobrunner.db.events_repository import EventsRepository, JobFilter
from jobrunner.db.jobs_repository import JobsRepository
from jobrunner.domain.payload_bounds import check_text
from jobrunner.domain.states import JobStatus
from jobrunner.jobs import sse
from jobrunner.jobs.push import JobEvents, Subscription, present
from jobrunner.jobs.service import JobService
from jobrunner.settings import Settings

# A stream opened without Last-Event-ID starts with at most this many unfinished jobs.
SNAPSHOT_LIMIT = 100
# A resume sends at most this many changed jobs; if more changed, the stream ends at once
# with `end: resync` (re-read the list, then open the stream again without Last-Event-ID).
RESUME_LIMIT = 500


@dataclass(slots=True)
class OpenStream:
    subscription: Subscription
    hub: JobEvents
    settings: Settings

    async def body(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self.subscription.stream(
                self.settings.sse_heartbeat_seconds, self.settings.sse_max_stream_seconds
            ):
                yield chunk
        finally:
            self.close()

    def close(self) -> None:
        """Forget the subscription; the response calls it however it ends (a body that
        never started, e.g. a client gone at once, runs no ``finally``)."""
        self.hub.unsubscribe(self.subscription)


class JobStreams:
    def __init__(
        self, hub: JobEvents, repository: EventsRepository, jobs: JobService, access: JobsRepository, settings: Settings
    ) -> None:
        self._hub = hub
        self._repo = repository
        self._jobs = jobs
        self._access = access
        self._settings = settings

    async def one(self, claims: TokenClaims, job_id: str, last_id: int | None) -> OpenStream | None:
        """The stream of one job, or None when the caller already saw its final state
        (``Last-Event-ID`` at or past it: 204, nothing more will come)."""
        row = await self._jobs.status_row(claims, job_id)
        if JobStatus(row["status"]).is_final and last_id is not None and last_id >= sse.stamp(row["updated_at"]):
            return None
        subscription = Subscription(
            owner=(claims.organization_id, claims.user_id),
            expires_at=claims.expires_at,
            job_id=str(row["id"]),
            last_id=last_id or 0,
        )
        return await self._open(subscription, lambda: self._repo.jobs([row["id"]]))

    async def owned(self, claims: TokenClaims, where: JobFilter, last_id: int | None) -> OpenStream:
        """The stream of the caller's jobs matching ``where`` (as the list endpoint shows them)."""
        access = await self._access.access(claims.organization_id, claims.user_id, [rbac.VIEW_JOBS])
        rbac.require(access, rbac.VIEW_JOBS)
        check_text(where.job_type, loc="jobType")
        owner = (claims.organization_id, claims.user_id)
        subscription = Subscription(owner=owner, expires_at=claims.expires_at, where=where, last_id=last_id or 0)
        if last_id is None:
            return await self._open(subscription, lambda: self._repo.active(owner, where, SNAPSHOT_LIMIT))
        since = sse.moment(last_id) - sse.RESUME_SLACK
        return await self._open(subscription, lambda: self._repo.changed_since(owner, where, since, RESUME_LIMIT + 1))

    async def _open(self, subscription: Subscription, snapshot: Callable[[], Awaitable[Sequence[Any]]]) -> OpenStream:
        await self._hub.subscribe(subscription)
        try:
            rows = await snapshot()
        except BaseException:
            self._hub.unsubscribe(subscription)
            raise
        if len(rows) > RESUME_LIMIT:
            subscription.end(sse.EndReason.RESYNC)
        else:
            for row in rows:
                if subscription.shows(row):
                    subscription.offer(present(row))
        return OpenStream(subscription, self._hub, self._settings)
