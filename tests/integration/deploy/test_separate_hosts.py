"""Processes on separate hosts: two API processes and three worker processes, each with a
data folder of its own (no shared disk), on one PostgreSQL and one object store. An
upload through API A is imported by some worker; an export created through A downloads
through B; a cancel through B stops the job on whichever worker holds it. The secrets
key and the JWT secret are the same everywhere (docs/deployment.md)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from cryptography.fernet import Fernet

from tests.conftest import JWT_SECRET
from tests.integration.api.conftest import EXPORT_BODY, token_for
from tests.integration.exports.conftest import seed_export_data
from tests.support.object_store import ObjectStore
from tests.support.processes import REPO_ROOT, command_env, free_port, wait_until_healthy
from tests.support.workers import FAST, spawn_worker, stop_worker

pytestmark = pytest.mark.slow

SECRETS_KEY = Fernet.generate_key().decode()


def shared_env(database_url: str, object_store: ObjectStore, bucket: str) -> dict[str, str]:
    """What every process of the deployment has in common."""
    return {
        **object_store.env,
        **FAST,
        "DATABASE_URL": database_url,
        "JOBRUNNER_JWT_SECRET": JWT_SECRET,
        "JOBRUNNER_SECRETS_KEY": SECRETS_KEY,
        "JOBRUNNER_STORAGE_URL": f"s3://{bucket}/deployment",
        "JOBRUNNER_IMPORTS": "tests.support.processors",
    }


@contextlib.contextmanager
def api_process(env: dict[str, str], data_dir: Path) -> Iterator[str]:
    port = free_port()
    log = data_dir.with_suffix(".log")
    data_dir.mkdir(parents=True)
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "jobrunner.cli", "serve", "--no-worker", "--port", str(port)],
            env=command_env(
                **env,
                JOBRUNNER_DATA_DIR=str(data_dir),
                PYTHONPATH=os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
            ),
            cwd=REPO_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(process, base, log.read_text)
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def headers(user: str = "user_admin") -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(user)}"}


async def final(api: httpx.AsyncClient, job_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = (await api.get(f"/v1/jobs/{job_id}/status", headers=headers())).json()["job"]
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return job
        assert time.monotonic() < deadline, job
        await asyncio.sleep(0.1)


async def test_two_apis_three_workers_no_shared_disk(
    database_url: str, pool: asyncpg.Pool, object_store: ObjectStore, tmp_path: Path
) -> None:
    await seed_export_data(pool)
    await pool.execute(
        "CREATE TABLE IF NOT EXISTS test_events (job_id uuid, organization_id text, kind text, attempt int, pid int, at timestamptz DEFAULT clock_timestamp())"
    )
    bucket = object_store.new_bucket()
    env = shared_env(database_url, object_store, bucket)
    workers = [
        spawn_worker(
            database_url,
            env={**env, "JOBRUNNER_DATA_DIR": str(tmp_path / f"worker-{n}")},
            log_path=tmp_path / f"worker-{n}.log",
        )
        for n in range(3)
    ]
    try:
        with api_process(env, tmp_path / "api-a") as a_url, api_process(env, tmp_path / "api-b") as b_url:
            async with (
                httpx.AsyncClient(base_url=a_url, timeout=30) as a,
                httpx.AsyncClient(base_url=b_url, timeout=30) as b,
            ):
                # An upload through A, imported by some worker (none shares A's disk).
                rows = "".join(f"Person {i},p{i}@example.test,CH\n" for i in range(500))
                upload = await a.post(
                    "/v1/uploads?filename=people.csv",
                    content=("name,email,country\n" + rows).encode(),
                    headers={**headers(), "Content-Type": "text/csv"},
                )
                assert upload.status_code == 201, upload.text
                created = await a.post(
                    "/v1/jobs",
                    json={
                        "jobType": "data_processing",
                        "payload": {
                            "operation": "import",
                            "dataset": "customers",
                            "uploadId": upload.json()["uploadId"],
                            "mode": "insert",
                        },
                    },
                    headers=headers(),
                )
                assert created.status_code == 202, created.text
                imported = await final(b, created.json()["jobId"])
                assert imported["status"] == "succeeded", {
                    k: v for k, v in imported.items() if "rror" in k or k == "result"
                }
                assert imported["result"]["inserted"] == 500

                # An export created through A, downloaded through B.
                created = await a.post("/v1/jobs", json=EXPORT_BODY, headers=headers())
                assert created.status_code == 202, created.text
                export = await final(a, created.json()["jobId"])
                assert export["status"] == "succeeded", export
                link = (await b.get(f"/v1/jobs/{export['id']}/status", headers=headers())).json()["job"]["result"][
                    "downloadUrl"
                ]
                download = await b.get(link)
                assert download.status_code == 200, download.text
                assert download.content.count(b"\n") == export["result"]["recordCount"] + 1
                ranged = await b.get(link, headers={"Range": "bytes=0-9"})
                assert ranged.status_code == 206 and ranged.content == download.content[:10]

                # A long job created through A, cancelled through B: the worker holding it stops it.
                created = await a.post(
                    "/v1/jobs", json={"jobType": "test_work", "payload": {"seconds": 60}}, headers=headers()
                )
                assert created.status_code == 202, created.text
                job_id = created.json()["jobId"]
                deadline = time.monotonic() + 30
                while (
                    holder := await pool.fetchval(
                        "SELECT locked_by FROM jobs WHERE id = $1::uuid AND status = 'running'", job_id
                    )
                ) is None:
                    assert time.monotonic() < deadline
                    await asyncio.sleep(0.05)
                cancelled_at = time.monotonic()
                response = await b.post(f"/v1/jobs/{job_id}/cancel", headers=headers())
                assert response.status_code == 200, response.text
                job = await final(a, job_id, timeout=20)
                assert job["status"] == "cancelled"
                # The holder saw the cancel and stopped its processor, within a few seconds.
                stopped = (
                    "SELECT e.pid FROM test_events e JOIN jobs j ON j.id = e.job_id"
                    " WHERE e.job_id = $1::uuid AND e.kind = 'cancel_seen' AND j.locked_by IS NULL"
                )
                while (seen := await pool.fetchval(stopped, job_id)) is None:
                    assert time.monotonic() - cancelled_at < 10, "the holder did not stop the job"
                    await asyncio.sleep(0.05)
                assert str(seen) in holder, (seen, holder)
    finally:
        for process in workers:
            stop_worker(process)
    # No process wrote a file to another's disk: everything is in the object store.
    keys = object_store.keys(bucket)
    assert any(key.startswith("deployment/uploads/files/") for key in keys)
    assert any(key.startswith("deployment/exports/") for key in keys)
    for name in ("api-a", "api-b", "worker-0", "worker-1", "worker-2"):
        assert not list((tmp_path / name).glob("exports/*")) and not list((tmp_path / name).glob("uploads/files/*"))
