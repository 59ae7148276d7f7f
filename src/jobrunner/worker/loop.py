"""The worker: claims jobs in batches, runs their processors, and reports their outcomes.

One ``Worker`` per process (or inside the API process). It waits for work on whichever
comes first of a ``jobrunner_jobs`` notification, the poll interval, the next scheduled
job becoming due, a slot freeing up, or stop; it learns about cancels from
``jobrunner_cancel`` notifications and, in case one is lost, by polling its jobs every
``cancel_check_interval_seconds``. Outcomes go through the batched ``Writer``.

The database being away is a state, not a crash: ``start()`` waits for it (with backoff),
and every loop logs, backs off and goes on while it is away (``db/errors.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator

import asyncpg
import orjson

from jobrunner.db.errors import DRIVER_ERRORS, DRIVER_ONLY_ERRORS, DatabaseError, is_unavailable, wait_for_database
from jobrunner.db.notify import Listener, listen_url
from jobrunner.db.pool import create_pool
from jobrunner.db.worker_repository import WorkerRepository
from jobrunner.domain.errors import PermanentError, RetryLater
from jobrunner.domain.job import Job
from jobrunner.domain.retries import after_transient_failure
from jobrunner.domain.states import JobStatus, StopReason
from jobrunner.settings import Settings
from jobrunner.backoff import backoff_seconds
from jobrunner.worker import events
from jobrunner.worker.context import LiveJobContext, ProgressState
from jobrunner.worker.registry import Processor, get_processor, retry_backoff
from jobrunner.worker.rescuer import Rescuer
from jobrunner.worker.writer import AuditEntry, Outcome, Writer

log = logging.getLogger(__name__)

# How long a processor asked to stop (cancel, shutdown) may take before its task is cancelled.
STOP_GRACE_SECONDS = 1.0
# How long stop() waits for cancelled processors to end before it gives up on them.
ABANDON_AFTER_SECONDS = 5.0


def job_of(ctx: LiveJobContext) -> Job:
    """The Job a context runs."""
    return ctx.job


class Worker:
    """Runs jobs until ``stop()``. See docs/worker.md."""

    def __init__(
        self,
        database_url: str,
        settings: Settings,
        *,
        concurrency: int | None = None,
        worker_id: str | None = None,
    ) -> None:
        self.database_url = database_url
        self.settings = settings
        self.concurrency = concurrency or settings.worker_concurrency
        self.id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.pool: asyncpg.Pool | None = None  # the processors' (ctx.pool)
        self._db: asyncpg.Pool | None = None  # the engine's own statements
        self._repo: WorkerRepository | None = None  # the same pool, through worker.sql
        self.running_jobs: dict[uuid.UUID, LiveJobContext] = {}
        self._wake = asyncio.Event()
        self._stopping = False
        self._started = False
        self._writer: Writer | None = None
        self._listener: Listener | None = None
        self._loops: list[asyncio.Task[None]] = []
        self._claim_task: asyncio.Task[None] | None = None
        self._last_heartbeat = time.monotonic()
        self._wake_at_free = max(1, min(self.concurrency, settings.claim_batch_size) // 4)
        self._attempt_started: dict[uuid.UUID, float] = {}  # perf_counter at each attempt's start

    # -- life cycle ----------------------------------------------------------------------
    async def start(self) -> None:
        """Connect (waiting for the database, with backoff, as long as it takes), announce
        this worker, and start claiming. Returns once running."""
        s = self.settings
        await wait_for_database(
            self._connect,
            what=f"worker {self.id}",
            base=s.database_reconnect_base_seconds,
            cap=s.database_reconnect_cap_seconds,
        )
        self._writer = Writer(
            self._db,
            self.id,
            progress_interval=s.progress_write_interval_seconds,
            on_released=self._wake.set,
            retry_delay=s.database_reconnect_base_seconds,
            retry_cap=s.database_reconnect_cap_seconds,
        )
        self._writer.start()
        url = listen_url(self.database_url, s)
        if url is None:
            log.info("DATABASE_URL is pooled and no direct URL is set: polling every %.1f s", s.poll_interval_seconds)
        else:
            self._listener = Listener(
                url,
                {"jobrunner_jobs": self._on_new_jobs, "jobrunner_cancel": self._on_cancel},
                on_reconnect=self._wake.set,
                on_connect=self._hold_session_lock,
                backoff_base=s.database_reconnect_base_seconds,
                max_backoff=s.database_reconnect_cap_seconds,
                connect_timeout=s.database_connect_timeout_seconds,
            )
            await self._listener.start()
        self._claim_task = asyncio.create_task(self._claim_loop(), name="jobrunner-claim")
        self._loops = [
            asyncio.create_task(self._cancel_watch_loop(), name="jobrunner-cancel-watch"),
            asyncio.create_task(self._heartbeat_loop(), name="jobrunner-heartbeat"),
            asyncio.create_task(self._rescue_loop(), name="jobrunner-rescue"),
        ]
        self._started = True
        events.WORKER.slots.inc(self.concurrency)
        log.info("worker %s started (concurrency %d)", self.id, self.concurrency)

    async def _connect(self) -> None:
        """Both pools and the first heartbeat, or nothing (closed again on failure)."""
        s = self.settings
        timeout = s.database_connect_timeout_seconds
        pool = db = None
        try:
            pooled = s.database_pooled
            pool = await create_pool(
                self.database_url, min_size=1, max_size=s.pool_max_size, connect_timeout=timeout, pooled=pooled
            )
            # The engine's own statements leave no session state: no reset round trip.
            db = await create_pool(
                self.database_url, min_size=2, max_size=4, stateless=True, connect_timeout=timeout, pooled=pooled
            )
            self.pool, self._db = pool, db
            self._repo = WorkerRepository(db, self.id)
            await self._heartbeat()
        except BaseException:
            self.pool = self._db = None
            self._repo = None
            for opened in (db, pool):
                if opened is not None:
                    opened.terminate()
            raise

    async def stop(self) -> None:
        """Two-phase graceful stop: stop claiming; let running jobs finish within
        ``shutdown_grace_seconds``; then stop the rest and hand them back to the queue."""
        if not self._started or self._stopping:
            return
        self._stopping = True
        self._wake.set()
        if self._claim_task is not None:
            await asyncio.gather(self._claim_task, return_exceptions=True)
        tasks = [ctx.task for ctx in self.running_jobs.values()]
        if tasks:
            await asyncio.wait(tasks, timeout=self.settings.shutdown_grace_seconds)
        for ctx in list(self.running_jobs.values()):
            self._ask_to_stop(ctx, StopReason.SHUTDOWN, grace=0.0)
        remaining = [ctx.task for ctx in self.running_jobs.values()]
        if remaining:
            _, stuck = await asyncio.wait(remaining, timeout=ABANDON_AFTER_SECONDS)
            if stuck:
                # A processor that swallows cancellation: leave its job locked; once this
                # worker's row is gone the rescuer hands it back as a transient failure.
                log.error("%d processors ignored cancellation; leaving their jobs to the rescuer", len(stuck))
        for task in self._loops:
            task.cancel()
        await asyncio.gather(*self._loops, return_exceptions=True)
        assert self._writer is not None and self.pool is not None and self._db is not None
        assert self._repo is not None
        await self._writer.close()
        if self._listener is not None:
            await self._listener.close()
        if not self._writer.pending:
            with contextlib.suppress(*DRIVER_ERRORS):
                await self._repo.delete_worker()
        await self.pool.close()
        await self._db.close()
        events.WORKER.slots.dec(self.concurrency)
        log.info("worker %s stopped", self.id)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Worker]:
        await self.start()
        try:
            yield self
        finally:
            await self.stop()

    # -- notifications -------------------------------------------------------------------
    def _on_new_jobs(self, _payload: str) -> None:
        self._wake.set()

    def _on_cancel(self, payload: str) -> None:
        try:
            job_id = uuid.UUID(payload)
        except ValueError:
            return
        ctx = self.running_jobs.get(job_id)
        if ctx is not None:
            self._ask_to_stop(ctx, StopReason.CANCELLED)

    # -- claiming ------------------------------------------------------------------------
    async def _claim_loop(self) -> None:
        s = self.settings
        assert self._repo is not None
        repo = self._repo
        failures = 0  # in a row: the database is away, back off (a reconnect wakes us)
        while not self._stopping:
            self._wake.clear()
            free = self.concurrency - len(self.running_jobs)
            timeout = s.poll_interval_seconds
            if free > 0:
                asked = min(free, s.claim_batch_size)
                try:
                    claim_started = time.perf_counter()
                    jobs = await repo.claim(asked, s.org_concurrency_limit)
                    events.WORKER.claim_seconds.observe(time.perf_counter() - claim_started)
                    events.WORKER.claim_size.observe(len(jobs))
                    for job in jobs:
                        self._start_job(job)
                    if len(jobs) == asked:
                        await asyncio.sleep(0)  # let the claimed jobs start, then claim again
                        continue
                    due = await repo.next_scheduled_in()
                    failures = 0
                except DRIVER_ERRORS as exc:
                    timeout = max(
                        timeout,
                        backoff_seconds(
                            failures, base=s.database_reconnect_base_seconds, cap=s.database_reconnect_cap_seconds
                        ),
                    )
                    failures += 1
                    log.warning("claiming failed (%s); retrying in %.1f s", type(exc).__name__, timeout)
                    due = None
                except Exception:  # a bug must not stop the worker from claiming
                    log.exception("claim loop error")
                    due = None
                if due is not None:
                    timeout = min(timeout, max(due, 0.001))
            if self._stopping:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    def _start_job(self, job: Job) -> None:
        assert self._writer is not None and self.pool is not None
        processor = get_processor(job.job_type)
        ctx = LiveJobContext(job, processor, pool=self.pool, settings=self.settings, report=self._report)
        events.claimed(self.id, job, ctx)
        ctx.task = asyncio.create_task(self._execute(ctx))
        self.running_jobs[ctx.job_id] = ctx

    def _report(self, state: ProgressState) -> None:
        """A context's progress, to the writer; a step boundary is a job event too."""
        assert self._writer is not None
        if state.urgent:
            ctx = self.running_jobs.get(state.job_id)
            if ctx is not None:
                events.step(self.id, ctx)
        self._writer.progress(state)

    # -- running a job -------------------------------------------------------------------
    async def _execute(self, ctx: LiveJobContext) -> None:
        assert self._writer is not None
        processor: Processor | None = ctx.processor
        timed_out = False
        self._attempt_started[ctx.job_id] = time.perf_counter()
        try:
            if processor is None:
                raise PermanentError(f"No processor for job type {ctx.job_type!r} in this worker")
            try:
                ctx.payload = processor.job_type.payload_model.model_validate(ctx.raw_payload)
            except ValueError as exc:
                raise PermanentError(f"Invalid {ctx.job_type} job payload: {exc}") from exc
            async with asyncio.timeout(processor.timeout_seconds) as deadline:
                try:
                    result = await processor.run(ctx)
                finally:
                    timed_out = deadline.expired()
        except BaseException as exc:  # noqa: BLE001 - every ending is recorded
            if timed_out and ctx.stop_reason is None:
                ctx.stop_reason = StopReason.TIMED_OUT
            outcome = self._failure(ctx, exc)
            if outcome is None or outcome.status != JobStatus.SUCCEEDED:
                await ctx.run_cleanups()
            self._record(ctx, outcome)
        else:
            if ctx.stop_reason == StopReason.CANCELLED:
                await ctx.run_cleanups()
                self._record(ctx, None)
            else:
                self._record(ctx, self._success(ctx, result))
        finally:
            if ctx.stop_timer is not None:
                ctx.stop_timer.cancel()
            self.running_jobs.pop(ctx.job_id, None)
            # Claim in batches: wake the claim loop once a quarter of the slots are free
            # (the writer's flush wakes it too, and frees the organizations' slots).
            if self.concurrency - len(self.running_jobs) >= self._wake_at_free:
                self._wake.set()

    def _success(self, ctx: LiveJobContext, result: object) -> Outcome:
        """The outcome of a processor that returned: ``result`` must be storable as JSONB,
        or the job fails (a bad value must not poison the writer's batch)."""
        try:
            encoded = orjson.dumps(result)
        except TypeError as exc:
            return Outcome(ctx.job_id, JobStatus.FAILED, error=f"The job's result is not JSON: {exc}")
        if b"\\u0000" in encoded:
            return Outcome(ctx.job_id, JobStatus.FAILED, error="The job's result contains a NUL character")
        return Outcome(ctx.job_id, JobStatus.SUCCEEDED, result=result, on_rejected=ctx.run_cleanups)

    def _failure(self, ctx: LiveJobContext, exc: BaseException) -> Outcome | None:
        """The outcome of an attempt that raised; None when it was cancelled (the job is
        only released). Stopped for shutdown, or because this worker lost its heartbeat
        (others may rescue the job; the guarded write is then a no-op): handed back."""
        if ctx.stop_reason == StopReason.CANCELLED:
            return None
        if ctx.stop_reason in (StopReason.SHUTDOWN, StopReason.LEASE_LOST) or not isinstance(exc, Exception):
            # Handed back as it was before the attempt: a first attempt is queued again, a
            # retry stays retrying and is due at once; no retry is counted.
            return Outcome(ctx.job_id, JobStatus.RETRYING if job_of(ctx).is_retry else JobStatus.QUEUED)
        if isinstance(exc, PermanentError):
            return Outcome(ctx.job_id, JobStatus.FAILED, error=exc.detail or str(exc))
        if ctx.stop_reason == StopReason.TIMED_OUT:
            message = f"Job timed out after {ctx.processor.timeout_seconds:g} s"
        elif isinstance(exc, RetryLater):
            message = exc.detail or "transient failure"
        elif isinstance(exc, (*DRIVER_ONLY_ERRORS, DatabaseError)):
            # In our words: the driver's text (which may quote data) stays in the log.
            message = (
                "The database was unavailable during the attempt"
                if is_unavailable(exc)
                else "A database statement failed"
            )
            ctx.log.warning("attempt failed: %s", message, exc_info=exc)
        else:
            message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            ctx.log.warning("attempt failed: %s", message, exc_info=exc)
        return self._transient(ctx, message, exc.delay if isinstance(exc, RetryLater) else None)

    def _transient(self, ctx: LiveJobContext, message: str, delay: float | None) -> Outcome:
        job = job_of(ctx)
        decision = after_transient_failure(
            job.retry_count, job.max_retries, backoff=retry_backoff(job.job_type, self.settings), requested_delay=delay
        )
        return Outcome(ctx.job_id, decision.status, error=message, delay=decision.delay, bump=int(decision.retries))

    def _record(self, ctx: LiveJobContext, outcome: Outcome | None) -> None:
        assert self._writer is not None
        seconds = time.perf_counter() - self._attempt_started.pop(ctx.job_id, time.perf_counter())
        if outcome is None:
            events.ended(self.id, ctx, None, seconds)
            self._writer.release(ctx.job_id)
            return
        events.ended(
            self.id,
            ctx,
            outcome.status,
            seconds,
            error=outcome.error,
            retry_in_s=round(outcome.delay, 3) if outcome.bump else None,
        )
        self._writer.finish(outcome)
        if ctx.stop_reason == StopReason.TIMED_OUT:
            events.timed_out(self.id, ctx, ctx.processor.timeout_seconds)
            self._writer.audit(
                AuditEntry(
                    ctx.organization_id,
                    "job.timed_out",
                    ctx.job_id,
                    {"timeoutSeconds": ctx.processor.timeout_seconds, "status": outcome.status, "worker": self.id},
                )
            )

    def _ask_to_stop(self, ctx: LiveJobContext, reason: StopReason, grace: float = STOP_GRACE_SECONDS) -> None:
        """Tell a processor to stop (``ctx.cancelled``); cancel its task if it has not
        stopped after ``grace`` seconds. A cancel is never overridden (its job is final)."""
        if ctx.stop_reason != StopReason.CANCELLED:
            ctx.stop_reason = reason
        ctx.cancelled.set()
        if ctx.task.done():
            return
        if grace <= 0:
            ctx.task.cancel()
        elif ctx.stop_timer is None:
            ctx.stop_timer = asyncio.get_running_loop().call_later(grace, ctx.task.cancel)

    # -- background loops ----------------------------------------------------------------
    async def _cancel_watch_loop(self) -> None:
        """The fallback for lost cancel notifications, and the fence for rescued jobs."""
        assert self._repo is not None
        while True:
            await asyncio.sleep(self.settings.cancel_check_interval_seconds)
            ids = list(self.running_jobs)
            if not ids:
                continue
            try:
                to_stop = await self._repo.jobs_to_stop(ids)
            except Exception as exc:  # DB errors and bugs alike: log, go on
                log.warning("checking for cancelled jobs failed (%s)", exc)
                continue
            for job_id in to_stop:
                ctx = self.running_jobs.get(job_id)
                if ctx is not None:
                    self._ask_to_stop(ctx, StopReason.CANCELLED)

    async def _heartbeat(self) -> None:
        assert self._repo is not None
        await self._repo.heartbeat(socket.gethostname(), os.getpid(), self.concurrency)
        self._last_heartbeat = time.monotonic()
        events.heartbeat(time.time())

    async def _hold_session_lock(self, conn: asyncpg.Connection) -> None:
        """On each (re)connection of the LISTEN connection: hold this worker's session lock
        there, so that rescuers see this worker gone as soon as its session ends. Without
        it (no LISTEN connection, a collision) the lease alone tells."""
        assert self._repo is not None
        if not await self._repo.on(conn).hold_session_lock():
            log.warning("worker %s holds no session lock; if it dies, its jobs wait for the lease", self.id)

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.heartbeat_interval_seconds)
            try:
                await self._heartbeat()
            except Exception as exc:  # DB errors and bugs alike: log, go on
                log.warning("heartbeat failed (%s)", exc)
                if time.monotonic() - self._last_heartbeat > self.settings.lease_seconds:
                    # Others may already have rescued our jobs: stop running them.
                    for ctx in list(self.running_jobs.values()):
                        self._ask_to_stop(ctx, StopReason.LEASE_LOST)

    async def _rescue_loop(self) -> None:
        assert self._db is not None
        rescuer = Rescuer(self._db, self.settings, rescuer_id=self.id)
        while True:
            await asyncio.sleep(self.settings.rescue_interval_seconds)
            try:
                rescued = await rescuer.run_once()
                if rescued:
                    log.warning("rescued %d jobs of dead workers", len(rescued))
                    self._wake.set()
            except Exception as exc:  # DB errors and bugs alike: log, go on
                log.warning("rescue failed (%s)", exc)
