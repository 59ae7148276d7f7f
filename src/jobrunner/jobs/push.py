"""Push instead of poll: one PostgreSQL LISTEN connection per API process fans job changes
out to every open event stream (docs/push.md).

Every statement that writes jobs notifies ``jobrunner_job_events`` with one line per job
(id, status, organization, user; migration 0012). The hub keeps what nobody watches out at
once (by organization and user, or job id, from the line alone), re-reads the watched jobs
by primary key, a whole batch of notifications in one statement, and hands each new state,
presented once as the status endpoint's answer, to the streams that watch it. Progress is
coalesced: a job whose status did not change is re-read at most once per
``JOBRUNNER_SSE_PROGRESS_INTERVAL_SECONDS``; a change of status goes out at once.

Each heartbeat the hub asks the database, in one statement for all open streams, which
owners are still members with ``jobs.view_jobs``: the streams of the others end.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from jobrunner.auth import rbac
from jobrunner.backoff import backoff_seconds
from jobrunner.db.events_repository import EventsRepository, JobFilter, Owner
from jobrunner.db.notify import Listener
from jobrunner.domain.errors import JobrunnerError, PushUnavailable
from jobrunner.domain.states import JobStatus
from jobrunner.jobs import sse
from jobrunner.jobs.presenters import dumps_jobs_answer, present_status, status_etag
from jobrunner.settings import Settings

log = logging.getLogger(__name__)

CHANNEL = "jobrunner_job_events"
# Jobs re-read per statement.
READ_BATCH = 500
# What the hub remembers of a job it sent (for coalescing and to skip unchanged states) is
# forgotten after this long without a change.
MARK_TTL_SECONDS = 300.0


@dataclass(frozen=True, slots=True)
class JobVersion:
    """One state of a job, presented once for every stream that shows it."""

    job_id: str
    event_id: int
    data: bytes
    final: bool


def present(row: Mapping[str, Any]) -> JobVersion:
    answer = present_status(row)
    # Events do not read a callback job's webhook deliveries (they come after the final
    # state): the key is left out, never shown empty (docs/push.md).
    answer.pop("webhookDeliveries", None)
    return JobVersion(
        job_id=str(row["id"]),
        event_id=sse.stamp(row["updated_at"]),
        data=dumps_jobs_answer(answer, [answer["job"]]),
        final=JobStatus(row["status"]).is_final,
    )


@dataclass(eq=False)
class Subscription:
    """One open stream: one job (``job_id``) or an owner's jobs matching ``where``."""

    owner: Owner
    expires_at: float
    job_id: str | None = None
    where: JobFilter = JobFilter()
    last_id: int = 0
    pending: dict[str, JobVersion] = field(default_factory=dict)
    ended: sse.EndReason | None = None
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    registered: bool = False

    def shows(self, row: Mapping[str, Any]) -> bool:
        if self.job_id is not None:
            return str(row["id"]) == self.job_id
        return (self.where.status is None or row["status"] == self.where.status) and (
            self.where.job_type is None or row["job_type"] == self.where.job_type
        )

    def offer(self, version: JobVersion) -> None:
        """Queue a job's state; a state not yet written is replaced by a newer one (a slow
        client gets the latest state of each job, never a backlog)."""
        queued = self.pending.get(version.job_id)
        if queued is None or queued.event_id <= version.event_id:
            self.pending[version.job_id] = version
            self.wake.set()

    def end(self, reason: sse.EndReason) -> None:
        if self.ended is None:
            self.ended = reason
            self.wake.set()

    async def stream(self, heartbeat: float, max_seconds: float) -> AsyncIterator[bytes]:
        """The stream's bytes: queued states as they come, a heartbeat comment after
        ``heartbeat`` seconds of silence, and an ``end`` event when it ends."""
        yield sse.opening()
        deadline = min(float(self.expires_at), time.time() + max_seconds)
        while True:
            self.wake.clear()
            if self.pending:
                chunk, done = self._drain()
                yield chunk
                if done:
                    return
                continue
            if self.ended is not None:
                yield sse.end_event(self.ended)
                return
            left = deadline - time.time()
            if left <= 0:
                expired = self.expires_at <= time.time()
                yield sse.end_event(sse.EndReason.TOKEN_EXPIRED if expired else sse.EndReason.MAX_DURATION)
                return
            try:
                async with asyncio.timeout(min(heartbeat, left)):  # no task per wait, unlike wait_for
                    await self.wake.wait()
            except TimeoutError:
                if deadline - time.time() > 0:
                    yield sse.HEARTBEAT

    def _drain(self) -> tuple[bytes, bool]:
        versions, self.pending = self.pending, {}
        parts = []
        done = False
        for version in versions.values():
            self.last_id = max(self.last_id, version.event_id)
            parts.append(sse.job_event(self.last_id, version.data))
            done = done or (version.final and self.job_id is not None)
        if done:
            parts.append(sse.end_event(sse.EndReason.FINAL))
        return b"".join(parts), done


@dataclass(slots=True)
class _Mark:
    """The last state the hub sent of a job."""

    status: str
    etag: str
    sent_at: float


class JobEvents:
    """The hub: started on the first subscription (so a process that serves no stream
    holds no LISTEN connection), closed with the app."""

    def __init__(self, repository: EventsRepository, settings: Settings, listen_url: str | None) -> None:
        self._repo = repository
        self._settings = settings
        self._url = listen_url
        self._by_job: dict[str, set[Subscription]] = {}
        self._lists: dict[Owner, set[Subscription]] = {}
        self._by_owner: dict[Owner, set[Subscription]] = {}
        self._count = 0
        self._marks: dict[str, _Mark] = {}
        self._dirty: set[str] = set()
        self._held: set[str] = set()
        self._kick = asyncio.Event()
        self._listener: Listener | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._start_lock = asyncio.Lock()

    @property
    def streams(self) -> int:
        return self._count

    @property
    def listener(self) -> Listener | None:
        return self._listener

    async def subscribe(self, subscription: Subscription) -> None:
        """Register a stream (``PushUnavailable`` when there is no LISTEN connection or
        this process serves ``JOBRUNNER_SSE_MAX_STREAMS`` already)."""
        await self._start()
        if self._listener is None or self._listener.connection is None:
            raise PushUnavailable("event streams are unavailable (no LISTEN connection); poll the status endpoint")
        if self._count >= self._settings.sse_max_streams:
            raise PushUnavailable("this server has no room for another event stream; poll the status endpoint")
        self._count += 1
        subscription.registered = True
        self._by_owner.setdefault(subscription.owner, set()).add(subscription)
        if subscription.job_id is not None:
            self._by_job.setdefault(subscription.job_id, set()).add(subscription)
        else:
            self._lists.setdefault(subscription.owner, set()).add(subscription)

    def unsubscribe(self, subscription: Subscription) -> None:
        """Forget a stream (again: nothing happens)."""
        if not subscription.registered:
            return
        subscription.registered = False
        for index, key in ((self._by_owner, subscription.owner), (self._lists, subscription.owner)):
            _discard(index, key, subscription)
        if subscription.job_id is not None:
            _discard(self._by_job, subscription.job_id, subscription)
        self._count -= 1

    async def close(self) -> None:
        for subscriptions in self._by_owner.values():
            for subscription in subscriptions:
                subscription.end(sse.EndReason.SHUTDOWN)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self._listener is not None:
            await self._listener.close()
            self._listener = None

    async def _start(self) -> None:
        if self._listener is not None or self._url is None:
            return
        async with self._start_lock:
            if self._listener is not None:
                return
            settings = self._settings
            listener = Listener(
                self._url,
                {CHANNEL: self._on_notify},
                on_reconnect=self._resync,
                backoff_base=settings.database_reconnect_base_seconds,
                max_backoff=settings.database_reconnect_cap_seconds,
                connect_timeout=settings.database_connect_timeout_seconds,
            )
            await listener.start(timeout=settings.database_connect_timeout_seconds)
            self._listener = listener
            self._tasks = [
                asyncio.create_task(self._flush_loop(), name="jobrunner-push-flush"),
                asyncio.create_task(self._check_loop(), name="jobrunner-push-check"),
            ]

    # --- notifications in ---

    def _on_notify(self, payload: str) -> None:
        now = time.monotonic()
        interval = self._settings.sse_progress_interval_seconds
        loop = asyncio.get_running_loop()
        dirty = False
        for line in payload.split("\n"):
            parts = line.split(" ", 3)
            if len(parts) != 4:
                continue
            job_id, status, organization_id, user_id = parts
            if job_id not in self._by_job and (organization_id, user_id) not in self._lists:
                continue
            mark = self._marks.get(job_id)
            if mark is not None and mark.status == status and (wait := mark.sent_at + interval - now) > 0:
                if job_id not in self._held:  # coalesced: read once the interval is over
                    self._held.add(job_id)
                    loop.call_later(wait, self._release, job_id)
                continue
            self._dirty.add(job_id)
            dirty = True
        if dirty:
            self._kick.set()

    def _release(self, job_id: str) -> None:
        self._held.discard(job_id)
        self._dirty.add(job_id)
        self._kick.set()

    def _resync(self) -> None:
        """The LISTEN connection was re-established: notifications may have been lost.
        Watched jobs are re-read; list streams end (their clients resume with
        Last-Event-ID, which sends what changed meanwhile)."""
        self._dirty.update(self._by_job)
        self._kick.set()
        for subscriptions in self._lists.values():
            for subscription in subscriptions:
                subscription.end(sse.EndReason.RESYNC)

    # --- states out ---

    async def _flush_loop(self) -> None:
        failures = 0
        while True:
            await self._kick.wait()
            self._kick.clear()
            ids, self._dirty = list(self._dirty), set()
            try:
                for start in range(0, len(ids), READ_BATCH):
                    self._deliver(await self._repo.jobs(ids[start : start + READ_BATCH]))
                failures = 0
            except Exception as exc:  # the database is away (or a bug): read them again later
                if isinstance(exc, JobrunnerError):
                    log.warning("event streams: re-reading jobs failed (%s)", type(exc).__name__)
                else:
                    log.exception("event streams: delivering changes failed")
                self._dirty.update(ids)
                await asyncio.sleep(
                    backoff_seconds(
                        failures,
                        base=self._settings.database_reconnect_base_seconds,
                        cap=self._settings.database_reconnect_cap_seconds,
                    )
                )
                failures += 1
                self._kick.set()

    def _deliver(self, rows: Iterable[Mapping[str, Any]]) -> None:
        now = time.monotonic()
        for row in rows:
            job_id = str(row["id"])
            etag = status_etag(row)
            mark = self._marks.get(job_id)
            if mark is not None and mark.etag == etag:
                continue  # nothing a client sees changed (e.g. a lock released)
            self._marks[job_id] = _Mark(row["status"], etag, now)
            watchers = [
                subscription
                for subscription in (
                    *self._by_job.get(job_id, ()),
                    *self._lists.get((row["organization_id"], row["user_id"]), ()),
                )
                if subscription.shows(row)
            ]
            if watchers:
                version = present(row)
                for subscription in watchers:
                    subscription.offer(version)

    # --- authorization, each heartbeat ---

    async def _check_loop(self) -> None:
        while True:
            await asyncio.sleep(self._settings.sse_heartbeat_seconds)
            try:
                await self.check_access()
            except Exception:  # a bug must not stop the checks
                log.exception("event streams: access check failed")
            cutoff = time.monotonic() - MARK_TTL_SECONDS
            self._marks = {job_id: mark for job_id, mark in self._marks.items() if mark.sent_at > cutoff}

    async def check_access(self) -> None:
        """End the streams of owners who are no longer members with jobs.view_jobs."""
        owners = [owner for owner, subscriptions in self._by_owner.items() if subscriptions]
        if not owners:
            return
        try:
            allowed = await self._repo.still_allowed(owners, rbac.VIEW_JOBS)
        except JobrunnerError as exc:  # the database is away: check again next time
            log.warning("event streams: access check failed (%s)", type(exc).__name__)
            return
        for owner in owners:
            if owner not in allowed:
                for subscription in list(self._by_owner.get(owner, ())):
                    subscription.end(sse.EndReason.ACCESS_REVOKED)


def _discard(index: dict[Any, set[Subscription]], key: Any, subscription: Subscription) -> None:
    subscriptions = index.get(key)
    if subscriptions is not None:
        subscriptions.discard(subscription)
        if not subscriptions:
            del index[key]
