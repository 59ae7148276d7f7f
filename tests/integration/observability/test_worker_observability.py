"""Issue 11, "Metrics" and "Logs": a real worker process with ``--metrics-port``, scraped
with Prometheus's text parser while it runs jobs, its stderr read as JSON lines, and the
audit rows of the outcomes it decided."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.integration.observability.conftest import METRICS_TOKEN, json_lines, samples, value
from tests.integration.worker.conftest import eventually, wait_status
from tests.support.jobs import insert_job
from tests.support.processes import free_port
from tests.support.workers import spawn_worker, stop_worker

pytestmark = pytest.mark.slow

JOB_FIELDS = {"job_id", "job_type", "organization", "worker", "attempt"}


async def scrape(port: int, token: str | None = METRICS_TOKEN) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient() as http:
        return await http.get(f"http://127.0.0.1:{port}/metrics", headers=headers, timeout=5)


async def test_a_worker_serves_its_metrics_and_logs_each_job_event(
    database_url: str, events: asyncpg.Pool, tmp_path: Path
) -> None:
    pool = events
    port = free_port()
    log_path = tmp_path / "worker.log"
    env = {
        "JOBRUNNER_METRICS_TOKEN": METRICS_TOKEN,
        "JOBRUNNER_WORKER_METRICS_PORT": str(port),
        "JOBRUNNER_LOG_LEVEL": "debug",
    }
    worker = spawn_worker(database_url, env=env, log_path=log_path)
    try:
        await eventually(lambda: pool.fetchval("SELECT count(*) > 0 FROM workers WHERE pid = $1", worker.pid), 20)
        await eventually(lambda: _answers(port), 20)
        # The same check as the API's /metrics: a problem without the bearer.
        refused = await scrape(port, token=None)
        assert refused.status_code == 401 and refused.headers["content-type"] == "application/problem+json"
        assert (await scrape(port, token=METRICS_TOKEN + "x")).status_code == 401
        before = samples((await scrape(port)).text)
        assert value(before, "jobrunner_worker_slots") == 10
        assert value(before, "jobrunner_jobs_succeeded_total", job_type="test_work") == 0

        ok = [await insert_job(pool, payload={"seconds": 0.05}) for _ in range(3)]
        bad = await insert_job(pool, payload={"fail": "permanent"})
        flaky = await insert_job(pool, payload={"fail": "transient"}, max_retries=1)
        for job_id in ok:
            await wait_status(pool, job_id, "succeeded", timeout=20)
        await wait_status(pool, bad, "failed", timeout=20)
        await wait_status(pool, flaky, "failed", timeout=20)

        after = samples((await scrape(port)).text)
    finally:
        code = stop_worker(worker)
    assert code == 0
    work = {"job_type": "test_work"}
    assert value(after, "jobrunner_jobs_started_total", **work) == 6  # 3 + 1 + 2 attempts
    assert value(after, "jobrunner_jobs_succeeded_total", **work) == 3
    assert value(after, "jobrunner_jobs_failed_total", **work) == 2
    assert value(after, "jobrunner_jobs_retried_total", **work) == 1
    assert value(after, "jobrunner_job_attempt_duration_seconds_count", **work) == 6
    assert value(after, "jobrunner_job_queue_wait_seconds_count", **work) == 6
    assert value(after, "jobrunner_job_attempt_duration_seconds_sum", **work) >= 0.15
    assert value(after, "jobrunner_worker_claim_batch_size_sum") >= 6
    assert value(after, "jobrunner_worker_heartbeats_total") >= 1
    assert value(after, "jobrunner_worker_slots_in_use") == 0

    # stderr is not a terminal: every line is one JSON object, job events with their fields.
    lines = json_lines(log_path)
    job_lines = [line for line in lines if line.get("logger") == "jobrunner.job"]
    by_event: dict[str, list[dict]] = {}
    for line in job_lines:
        assert JOB_FIELDS <= set(line), line
        assert "timestamp" in line and "level" in line
        by_event.setdefault(line["event"], []).append(line)
    assert len(by_event["claimed"]) == 6
    assert {line["job_id"] for line in by_event["succeeded"]} == {str(j) for j in ok}
    failed = {line["job_id"]: line for line in by_event["failed"]}
    assert failed[str(bad)]["error"] == "told to fail permanently" and failed[str(bad)]["level"] == "warning"
    assert failed[str(flaky)]["attempt"] == 2
    assert [line["job_id"] for line in by_event["retried"]] == [str(flaky)]
    assert "told to fail" in by_event["retried"][0]["error"]
    assert {line["step"] for line in by_event["step"] if line["job_id"] == str(ok[0])} == {1, 2}
    # The engine's own messages come in the same format.
    assert any(line.get("logger") == "jobrunner.worker.loop" and "started" in line["event"] for line in lines)

    # The outcomes the system decided are in the audit log, attempt by attempt.
    rows = await pool.fetch(
        "SELECT job_id, action, actor, details FROM audit_logs WHERE actor = 'system' ORDER BY id"
    )
    actions = [(row["job_id"], row["action"]) for row in rows]
    for job_id in ok:
        assert (job_id, "job.succeeded") in actions
    assert (bad, "job.failed") in actions
    assert [a for j, a in actions if j == flaky] == ["job.attempt_failed", "job.failed"]
    flaky_rows = [row for row in rows if row["job_id"] == flaky]
    details = [row["details"] for row in flaky_rows]
    assert [d["attempt"] for d in details] == [1, 2] and all("told to fail" in d["error"] for d in details)


async def test_metrics_port_needs_the_metrics_token(database_url: str, tmp_path: Path) -> None:
    log_path = tmp_path / "worker.log"
    worker = spawn_worker(database_url, env={"JOBRUNNER_WORKER_METRICS_PORT": str(free_port())}, log_path=log_path)
    try:
        code = await asyncio.to_thread(worker.wait, 30)
    except subprocess.TimeoutExpired:
        stop_worker(worker, signal.SIGKILL)
        raise
    assert code == 1
    assert "JOBRUNNER_METRICS_TOKEN" in log_path.read_text()


async def _answers(port: int) -> bool:
    try:
        await scrape(port)
    except httpx.TransportError:
        return False
    return True
