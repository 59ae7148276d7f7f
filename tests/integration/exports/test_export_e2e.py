"""The document's two export transcripts end to end: the real API (httpx against
``create_app``) and a real in-process worker, on seeded data.

Needs the API branch (``jobrunner.app.create_app``, ``jobrunner.jobs.presenters``)
and the engine branch (``jobrunner.worker.loop.Worker``); after the merge, remove the
skip and make sure the app registers the export presenter and includes the downloads
router (see docs/exports.md, "Wiring")."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

import httpx
import pytest

from jobrunner.auth.tokens import issue_token
from jobrunner.settings import Settings
from tests.conftest import JWT_SECRET
from tests.integration.exports.expected import as_csv, expected_rows, in_range_utc, read_csv


FAST = dict(
    poll_interval_seconds=0.2,
    heartbeat_interval_seconds=0.3,
    lease_seconds=3.0,
    cancel_check_interval_seconds=0.1,
    progress_write_interval_seconds=0.05,
    shutdown_grace_seconds=1.0,
)


@contextlib.asynccontextmanager
async def service(database_url: str, data_dir: Path):
    from jobrunner.app import create_app
    from jobrunner.worker.loop import Worker

    settings = Settings(data_dir=data_dir, jwt_secret=JWT_SECRET, database_url=database_url, **FAST)
    app = create_app(settings, database_url, JWT_SECRET)
    async with app.router.lifespan_context(app), Worker(database_url, settings, concurrency=4).running():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            client.headers["Authorization"] = f"Bearer {issue_token(JWT_SECRET, 'user_admin', 'org_acme')}"
            client.anonymous = httpx.AsyncClient(transport=transport, base_url="http://test")
            yield client, settings
            await client.anonymous.aclose()


async def poll(client: httpx.AsyncClient, job_id: str, *, timeout: float = 60.0, follow_retry_after: bool = False):
    """Poll until final; returns every status answer's JSON."""
    answers = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = await client.get(f"/v1/jobs/{job_id}/status")
        assert response.status_code == 200
        answers.append(response.json())
        if answers[-1]["job"]["status"] in ("succeeded", "failed", "cancelled"):
            return answers
        wait = float(response.headers.get("Retry-After", 1)) if follow_retry_after else 0.05
        await asyncio.sleep(wait)
    raise AssertionError(f"job {job_id} did not finish: {answers[-1]}")


async def test_success_transcript_csv(seeded, database_url, tmp_path) -> None:
    async with service(database_url, tmp_path) as (client, settings):
        payload = {
            "reportType": "quotes",
            "format": "csv",
            "filters": {"dateFrom": "2024-01-01", "dateTo": "2024-12-31"},
        }
        created = await client.post("/v1/jobs", json={"jobType": "export_report", "payload": payload, "priority": 5})
        assert created.status_code == 202
        job_id = created.json()["jobId"]
        answers = await poll(client, job_id)
        statuses = [a["job"]["status"] for a in answers]
        assert statuses[-1] == "succeeded" and set(statuses) <= {"queued", "running", "succeeded"}
        progress = [a["progress"] for a in answers]
        assert progress == sorted(progress) and progress[-1] == 100
        final = answers[-1]
        assert final["job"]["currentStep"] == 6 and final["canCancel"] is False and final["canRetry"] is False
        result = final["job"]["result"]
        assert set(result) >= {"downloadUrl", "fileSize", "recordCount", "generatedAt", "reportType", "format"}
        # A plain browser link: no Authorization header.
        download = await client.anonymous.get(result["downloadUrl"])
        assert download.status_code == 200 and len(download.content) == result["fileSize"]
        path = tmp_path / "downloaded.csv"
        path.write_bytes(download.content)
        expected = await expected_rows(seeded, "quotes", keep=lambda r: in_range_utc("2024-01-01", "2024-12-31", r[9]))
        assert read_csv(path)[1:] == [as_csv("quotes", r) for r in expected]
        assert result["recordCount"] == len(expected)
        # Each status read signs a fresh link.
        again = (await client.get(f"/v1/jobs/{job_id}/status")).json()["job"]["result"]["downloadUrl"]
        assert again.startswith(f"/v1/exports/{job_id}/download?expires=")


async def test_failure_transcript(seeded, database_url, tmp_path) -> None:
    async with service(database_url, tmp_path) as (client, _):
        created = await client.post(
            "/v1/jobs", json={"jobType": "export_report", "payload": {"reportType": "invalid_report", "format": "csv"}}
        )
        job_id = created.json()["jobId"]
        final = (await poll(client, job_id))[-1]
        assert final["job"]["status"] == "failed"
        assert final["job"]["progress"] == 20 and final["job"]["currentStep"] == 1
        assert final["job"]["errorMessage"].startswith("Invalid export job payload")
        assert final["canRetry"] is True and final["job"]["retryCount"] == 0


@pytest.mark.parametrize("fmt", ["json", "xlsx"])
async def test_other_formats_download(seeded, database_url, tmp_path, fmt) -> None:
    async with service(database_url, tmp_path) as (client, _):
        created = await client.post(
            "/v1/jobs", json={"jobType": "export_report", "payload": {"reportType": "customers", "format": fmt}}
        )
        final = (await poll(client, created.json()["jobId"]))[-1]
        result = final["job"]["result"]
        download = await client.get(result["downloadUrl"])
        assert download.status_code == 200 and len(download.content) == result["fileSize"]


async def test_cancel_mid_export_removes_the_file(seeded, database_url, tmp_path) -> None:
    customer = await seeded.fetchval("SELECT min(id) FROM customers WHERE organization_id = 'org_acme'")
    await seeded.execute(
        """INSERT INTO quotes (organization_id, quote_number, customer_id, status, currency, subtotal, tax, total, valid_until)
           SELECT 'org_acme', 'BULK-' || i, $1, 'draft', 'EUR', 1, 0, 1, date '2025-01-01'
             FROM generate_series(1, 200000) i""",
        customer,
    )
    async with service(database_url, tmp_path) as (client, settings):
        created = await client.post(
            "/v1/jobs", json={"jobType": "export_report", "payload": {"reportType": "quotes", "format": "xlsx"}}
        )
        job_id = created.json()["jobId"]
        for _ in range(400):
            job = (await client.get(f"/v1/jobs/{job_id}/status")).json()["job"]
            if job["currentStep"] >= 3:
                break
            await asyncio.sleep(0.05)
        assert (await client.post(f"/v1/jobs/{job_id}/cancel")).status_code == 200
        await asyncio.sleep(1.5)
        assert (await client.get(f"/v1/jobs/{job_id}/status")).json()["job"]["status"] == "cancelled"
        exports = Path(settings.data_dir) / "exports"
        assert not exports.exists() or [p for p in exports.rglob("*") if p.is_file()] == []
