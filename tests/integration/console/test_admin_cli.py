"""``jobrunner admin ...`` as a real process against a running service (no worker, so jobs
stay where the test puts them)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator

import asyncpg
import pytest

from tests.integration.web.conftest import LiveService, running_service
from tests.support.jobs import execute_unchecked
from tests.support.processes import REPO_ROOT, command_env

pytestmark = pytest.mark.slow

EXPORT = {"jobType": "export_report", "payload": {"reportType": "quotes", "format": "csv"}}


@pytest.fixture
def service(database_url: str) -> Iterator[LiveService]:
    with running_service(database_url, with_worker=False) as live:
        yield live


def admin(service: LiveService, *args: str, user: str = "user_admin") -> subprocess.CompletedProcess[str]:
    env = command_env(JOBRUNNER_TOKEN=service.token(user), JOBRUNNER_URL=service.url, COLUMNS="200")
    return subprocess.run(
        [sys.executable, "-m", "jobrunner.cli", "admin", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO_ROOT,
    )


def fail_exhausted(database_url: str, job_id: str) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(database_url)
        try:
            await execute_unchecked(
                conn,
                "UPDATE jobs SET status = 'failed', completed_at = now(), retry_count = max_retries, "
                "error_message = 'boom' WHERE id = $1",
                uuid.UUID(job_id),
            )
        finally:
            await conn.close()

    asyncio.run(run())


def test_jobs_show_retry_cancel_queue_workers(service: LiveService) -> None:
    with service.api("user_member") as member:
        failed = member.post("/v1/jobs", json=EXPORT).json()["jobId"]
        queued = member.post("/v1/jobs", json=EXPORT).json()["jobId"]
    fail_exhausted(service.database_url, failed)

    listed = admin(service, "jobs", "--json")
    assert listed.returncode == 0, listed.stderr
    assert {job["id"] for job in json.loads(listed.stdout)["jobs"]} == {failed, queued}
    table = admin(service, "jobs", "--status", "failed")
    assert failed in table.stdout and queued not in table.stdout and "boom" in table.stdout

    shown = admin(service, "show", failed)
    assert shown.returncode == 0, shown.stderr
    assert "job.created" in shown.stdout and "Max Member" in shown.stdout

    retried = admin(service, "retry", "--status", "failed", "--type", "export_report")
    assert retried.returncode == 0, retried.stderr
    assert retried.stdout.strip() == "1 job queued again"
    with service.api("user_member") as member:
        job = member.get(f"/v1/jobs/{failed}/status").json()["job"]
    assert (job["status"], job["retryCount"]) == ("queued", 0)

    cancelled = admin(service, "cancel", queued, failed, "--json")
    assert cancelled.returncode == 0, cancelled.stderr
    assert sorted(json.loads(cancelled.stdout)["jobIds"]) == sorted([queued, failed])

    queue = admin(service, "queue")
    assert queue.returncode == 0, queue.stderr
    assert "running 0 of 5" in queue.stdout
    workers = admin(service, "workers", "--json")
    assert workers.returncode == 0 and json.loads(workers.stdout) == {"workers": []}


def test_errors_go_to_stderr_with_exit_code_1(service: LiveService) -> None:
    denied = admin(service, "queue", user="user_member")
    assert denied.returncode == 1 and denied.stdout == ""
    assert "permission" in denied.stderr and "jobs.manage_jobs" in denied.stderr
    nothing = admin(service, "cancel")
    assert nothing.returncode == 2 and nothing.stdout == "" and "filter" in nothing.stderr
