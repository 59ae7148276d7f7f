"""The delivery loop every worker process runs beside its worker (``service._maintained``).

It claims due deliveries of the outbox (``claim_webhook_deliveries``: ``FOR UPDATE SKIP
LOCKED`` and a lease, so several processes never send one attempt twice), sends each
through the guarded outbound client, signed with the organization's secret(s), and
records the attempt (``record_webhook_attempt``, guarded by the holder). A final state
wakes it at once (``NOTIFY jobrunner_webhooks`` from the trigger); otherwise it looks every
``JOBRUNNER_CALLBACK_POLL_INTERVAL_SECONDS``. The database being away is waited out.

Delivery is at least once: a process that dies between sending and recording leaves the
delivery to be sent again when its lease ends; receivers deduplicate on ``webhook-id``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import socket
import time
import uuid
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx

from jobrunner.backoff import backoff_seconds
from jobrunner.background import in_background
from jobrunner.db.errors import DRIVER_ERRORS
from jobrunner.db.notify import Listener, listen_url
from jobrunner.db.pool import FairPool, service_pool
from jobrunner.db.sql import Q
from jobrunner.domain.errors import DestinationNotAllowed, PermanentError
from jobrunner.domain.webhooks import AttemptError, DeliveryState
from jobrunner.integrations.secrets import SecretBox, secret_box
from jobrunner.jobs.presenters import dumps_jobs_answer, present_job
from jobrunner.observability.metrics import WEBHOOK_DELIVERIES
from jobrunner.outbound.client import OutboundClient, outbound_client
from jobrunner.settings import Settings
from jobrunner.timestamps import iso_utc
from jobrunner.webhooks.keys import OrganizationWebhook, organization_webhook
from jobrunner.webhooks.outcomes import Attempt, next_state, outcome_label
from jobrunner.webhooks.signing import webhook_headers

log = logging.getLogger("jobrunner.webhooks")

CHANNEL = "jobrunner_webhooks"
# A claimed delivery is held this much longer than an attempt may take.
LEASE_MARGIN_SECONDS = 30.0


class Dispatcher:
    """Claims and sends due deliveries; ``run_once`` is one round (tests call it)."""

    def __init__(
        self,
        pool: Any,
        settings: Settings,
        client: OutboundClient,
        box: SecretBox,
        dispatcher_id: str | None = None,
    ) -> None:
        self._pool = pool
        self._settings = settings
        self._client = client
        self._box = box
        self.id = dispatcher_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    async def run_once(self) -> int:
        """Send every delivery due now (at most ``callback_concurrency``); how many."""
        lease = self._settings.callback_timeout_seconds + LEASE_MARGIN_SECONDS
        rows = await self._pool.fetch(Q.claim_webhook_deliveries, self.id, self._settings.callback_concurrency, lease)
        # One look-up of each organization's secrets per round.
        hooks: dict[str, OrganizationWebhook] = {}
        for org in dict.fromkeys(row["organization_id"] for row in rows):
            try:
                hooks[org] = await organization_webhook(self._pool, self._box, org)
            except PermanentError as exc:  # sealed with keys this process lacks: the log says so
                log.error("webhooks of %s cannot be signed: %s (tried again when the lease ends)", org, exc)
        rows = [row for row in rows if row["organization_id"] in hooks]
        results = await asyncio.gather(
            *(self._deliver(row, hooks[row["organization_id"]]) for row in rows), return_exceptions=True
        )
        for row, result in zip(rows, results):
            if isinstance(result, BaseException) and not isinstance(result, DRIVER_ERRORS):
                # A bug must not stop the loop: the lease ends and the delivery is tried again.
                log.error("webhook delivery %s failed unexpectedly", row["id"], exc_info=result)
        for result in results:
            if isinstance(result, DRIVER_ERRORS):
                raise result
        return len(rows)

    async def _deliver(self, row: Any, hook: OrganizationWebhook) -> None:
        body = row["body"] if row["body"] is not None else await self._body(row)
        if body is None:  # the job was deleted (retention) since the claim: its deliveries went with it
            return
        now = dt.datetime.now(dt.UTC)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "jobrunner",
            **webhook_headers(hook.signing_secrets(now), str(row["id"]), int(now.timestamp()), body),
        }
        attempt = await self._attempt(row["url"], body, headers)
        made = row["attempt_count"] + 1
        state = next_state(attempt, made, self._settings.callback_max_attempts)
        delay = backoff_seconds(
            row["attempt_count"],
            base=self._settings.callback_retry_base_seconds,
            cap=self._settings.callback_retry_cap_seconds,
        )
        record = {
            "at": iso_utc(now),
            "durationMs": attempt.duration_ms,
            "statusCode": attempt.status_code,
            "error": attempt.error.value if attempt.error else None,
        }
        await self._pool.execute(Q.record_webhook_attempt, row["id"], self.id, record, state.value, delay, body)
        WEBHOOK_DELIVERIES.labels(outcome_label(attempt, state)).inc()
        if state is DeliveryState.FAILED:
            log.warning("webhook %s for job %s given up after %d attempt(s)", row["id"], row["job_id"], made)

    async def _body(self, row: Any) -> bytes | None:
        """The message: the event, when the job reached it, and the job as the status
        endpoint shows it (read now; kept for every further attempt)."""
        found = await self._pool.fetchrow(Q.webhook_job, row["job_id"])
        if found is None:
            return None
        job = present_job(found)
        document = {"type": row["event"], "timestamp": iso_utc(row["created_at"]), "data": job}
        return dumps_jobs_answer(document, [job])

    async def _attempt(self, url: str, body: bytes, headers: dict[str, str]) -> Attempt:
        started = time.monotonic()
        status: int | None = None
        error: AttemptError | None = None
        try:
            response = await self._client.post(
                url, content=body, headers=headers, timeout=self._settings.callback_timeout_seconds
            )
            status = response.status_code
            if status >= 300:
                log.warning("webhook POST to %s answered %s", url, status)
        except DestinationNotAllowed:
            error = AttemptError.DESTINATION_NOT_ALLOWED
        except PermanentError:
            error = AttemptError.INVALID_URL
        except httpx.HTTPError as exc:  # timeouts included
            log.warning("webhook POST to %s failed: %s: %s", url, type(exc).__name__, exc)
            error = AttemptError.NO_ANSWER
        return Attempt(status, error, round((time.monotonic() - started) * 1000))


async def _loop(dispatcher: Dispatcher, wake: asyncio.Event, settings: Settings) -> None:
    failures = 0
    while True:
        wake.clear()
        try:
            sent = await dispatcher.run_once()
            failures = 0
        except DRIVER_ERRORS as exc:
            delay = backoff_seconds(
                failures, base=settings.database_reconnect_base_seconds, cap=settings.database_reconnect_cap_seconds
            )
            failures += 1
            log.warning("webhook deliveries: database unavailable (%s); retrying in %.1f s", type(exc).__name__, delay)
            await asyncio.sleep(delay)
            continue
        except Exception:  # a bug must not end the loop for the life of the process
            log.exception("webhook deliveries: round failed")
            sent = 0
        if sent:
            continue  # more may be due
        try:
            await asyncio.wait_for(wake.wait(), settings.callback_poll_interval_seconds)
        except TimeoutError:
            pass


async def _run(database_url: str, settings: Settings) -> None:
    pool: FairPool = await service_pool(database_url, settings, what="webhook deliveries", max_size=2)
    wake = asyncio.Event()
    url = listen_url(database_url, settings)
    listener = Listener(url, {CHANNEL: lambda _payload: wake.set()}, on_reconnect=wake.set) if url else None
    try:
        if listener is not None:
            await listener.start()
        async with outbound_client(settings) as client:
            await _loop(Dispatcher(pool, settings, client, secret_box(settings)), wake, settings)
    finally:
        if listener is not None:
            await listener.close()
        pool.terminate()


def webhook_deliveries(database_url: str, settings: Settings) -> AbstractAsyncContextManager[None]:
    """The delivery loop in the background while the block runs; connects (and
    reconnects) by itself."""
    return in_background(_run(database_url, settings), name="jobrunner-webhooks")
