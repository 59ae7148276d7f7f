"""The files the service hands out, made the way the workers make them (set-up only): a
finished export with its file, and a finished import with its rejected rows, both of one
user. Each ``ServedFile`` knows its endpoint and how to get a fresh signed link from the
job's status answer."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest

from jobrunner.exports.files import ExportFile, record_export_file
from jobrunner.exports.naming import download_path, storage_key
from jobrunner.settings import Settings
from jobrunner.uploads.links import rejected_rows_path
from jobrunner.uploads.store import rejected_rows_key
from tests.integration.api.conftest import EXPORT_BODY, auth, set_state

CONTENT = b"".join(b"line %04d,=cell,value\n" % i for i in range(200))
IMPORT_BODY = {
    "jobType": "data_processing",
    "payload": {"operation": "import", "dataset": "customers", "uploadId": str(uuid.uuid4())},
}


@dataclass(frozen=True)
class ServedFile:
    kind: str  # "export" or "rejected-rows"
    job_id: str
    user: str
    path: str  # the endpoint, without a signature

    async def signed_link(self, client: httpx.AsyncClient, user: str | None = None) -> str:
        """The link the job's status answer gives its owner right now."""
        status = await client.get(f"/v1/jobs/{self.job_id}/status", headers=auth(user or self.user))
        assert status.status_code == 200, status.text
        result = status.json()["job"]["result"]
        url = result["downloadUrl"] if self.kind == "export" else result["rejectedRowsUrl"]
        assert url.startswith(self.path + "?"), url
        return url


async def make_export(
    client: httpx.AsyncClient, db: asyncpg.Connection, pool: asyncpg.Pool, settings: Settings, user: str = "user_member"
) -> ServedFile:
    response = await client.post("/v1/jobs", json=EXPORT_BODY, headers=auth(user))
    assert response.status_code == 202, response.text
    job_id = response.json()["jobId"]
    row = await db.fetchrow("SELECT user_id, organization_id FROM jobs WHERE id = $1", uuid.UUID(job_id))
    key = storage_key(job_id, "csv")
    path = Path(settings.data_dir) / "exports" / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(CONTENT)
    now = dt.datetime.now(dt.UTC)
    await record_export_file(
        pool,
        ExportFile(
            job_id=uuid.UUID(job_id),
            organization_id=row["organization_id"],
            user_id=row["user_id"],
            report_type="quotes",
            format="csv",
            storage_key=key,
            download_name="quotes.csv",
            content_type="text/csv; charset=utf-8",
            size_bytes=len(CONTENT),
            record_count=200,
            created_at=now,
            expires_at=now + dt.timedelta(days=7),
        ),
    )
    result = {
        "downloadUrl": download_path(job_id),
        "fileSize": len(CONTENT),
        "recordCount": 200,
        "generatedAt": now.isoformat(),
        "reportType": "quotes",
        "format": "csv",
    }
    await set_state(db, job_id, status="succeeded", completed_at=now, progress=100, current_step=6, result=result)
    return ServedFile("export", job_id, user, download_path(job_id))


async def make_rejected_rows(
    client: httpx.AsyncClient, db: asyncpg.Connection, settings: Settings, user: str = "user_member"
) -> ServedFile:
    response = await client.post("/v1/jobs", json=IMPORT_BODY, headers=auth(user))
    assert response.status_code == 202, response.text
    job_id = response.json()["jobId"]
    path = Path(settings.data_dir) / "uploads" / rejected_rows_key(uuid.UUID(job_id))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(CONTENT)
    result = {"inserted": 0, "updated": 0, "rejected": 200, "rejectedRowsUrl": rejected_rows_path(job_id)}
    await set_state(
        db,
        job_id,
        status="succeeded",
        completed_at=dt.datetime.now(dt.UTC),
        progress=100,
        current_step=4,
        result=result,
    )
    return ServedFile("rejected-rows", job_id, user, rejected_rows_path(job_id))


# Fixtures of the suites over both file endpoints (import them into the test module).
@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(max_body_bytes=16 * 1024, pool_min_size=1, pool_max_size=8, data_dir=tmp_path / "data")


@pytest.fixture(params=["export", "rejected-rows"])
async def served(request, client, db, app, settings) -> ServedFile:
    if request.param == "export":
        return await make_export(client, db, app.state.pool, settings)
    return await make_rejected_rows(client, db, settings)
