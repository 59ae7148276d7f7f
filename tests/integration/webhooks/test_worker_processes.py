"""``jobrunner worker`` processes run the delivery loop (the composition root wires it):
two real worker processes, ten jobs with a callback to a receiver that fails each
message's first attempt; every message arrives exactly once accepted, after one 500."""

from __future__ import annotations

import collections
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from jobrunner.settings import Settings
from tests.integration.webhooks.conftest import QUICK, settled, signing_secret, start, verifier, wait_for
from tests.support.receivers import Received, http_receiver
from tests.support.workers import spawn_worker, stop_worker


@pytest.fixture
def workers(database_url: str, settings: Settings, tmp_path: Path) -> Iterator[None]:
    env = {
        "JOBRUNNER_DATA_DIR": str(settings.data_dir),  # the secrets key the API sealed with
        "JOBRUNNER_OUTBOUND_ALLOWED_NETWORKS": "127.0.0.0/8",
        "JOBRUNNER_CALLBACK_RETRY_BASE_SECONDS": "0.1",
        "JOBRUNNER_CALLBACK_RETRY_CAP_SECONDS": "0.2",
        "JOBRUNNER_CALLBACK_POLL_INTERVAL_SECONDS": "0.05",
    }
    processes = [
        spawn_worker(database_url, env=env, log_path=tmp_path / f"worker-{i}.log", concurrency=4) for i in range(2)
    ]
    try:
        yield
    finally:
        for process in processes:
            assert stop_worker(process) == 0


async def test_worker_processes_deliver_each_message_once(client: httpx.AsyncClient, workers) -> None:
    secret = await signing_secret(client)
    check = verifier(secret)
    failed_once: set[str] = set()

    with http_receiver("") as receiver:

        def answer(headers: dict[str, str], body: bytes) -> int:
            """401 for a bad signature; each message's first attempt 500, then 200."""
            ok = check(headers, body)
            with receiver.lock:
                message = headers.get("webhook-id", "")
                status = 401 if not ok else (200 if message in failed_once else 500)
                failed_once.add(message)
                receiver.received.append(Received(headers, body, ok, status))
            return status

        receiver.answer = answer  # type: ignore[method-assign]
        jobs = [await start(client, QUICK, callbackUrl=receiver.url) for _ in range(10)]
        answers = [await wait_for(client, job_id, settled(), timeout=40) for job_id in jobs]
        received = list(receiver.received)
    assert all(r.signature_ok for r in received)
    by_message = collections.Counter((r.headers["webhook-id"], r.status) for r in received)
    assert len(failed_once) == 10
    assert by_message == {**{(m, 500): 1 for m in failed_once}, **{(m, 200): 1 for m in failed_once}}
    for answer in answers:
        [delivery] = answer["webhookDeliveries"]
        assert [a["statusCode"] for a in delivery["attempts"]] == [500, 200]
