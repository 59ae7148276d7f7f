"""The download route through httpx against a small app with the router: signed links,
the owner's token, HEAD, ranges, 404 for everything else, 410 past retention."""

from __future__ import annotations

import asyncio

import datetime as dt
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from jobrunner.api.errors import install_error_handlers
from jobrunner.api.routes.downloads import router
from jobrunner.auth.tokens import issue_token
from jobrunner.api.deps import TokenCache
from jobrunner.exports.files import purge_expired_exports
from jobrunner.maintenance import periodic_maintenance
from jobrunner.exports.presenter import export_result_presenter, present_export_result
from jobrunner.storage import export_storage
from jobrunner.worker.standalone import run_in_memory
from tests.conftest import JWT_SECRET


@pytest.fixture
async def exported(make_context, settings):
    ctx = await make_context({"reportType": "quotes", "format": "csv"})
    result = await run_in_memory(ctx)
    return ctx, result


@pytest.fixture
async def client(seeded, settings) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    app.include_router(router)
    install_error_handlers(app)
    app.state.pool = seeded
    app.state.jwt_secret = JWT_SECRET
    app.state.token_cache = TokenCache(JWT_SECRET, settings.max_token_ttl_seconds)
    app.state.settings = settings
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield client


def signed(result: dict, ctx, **overrides) -> str:
    job_row = {"id": ctx.job_id, "user_id": ctx.user_id, "organization_id": ctx.organization_id, **overrides}
    return present_export_result(result, job_row, secret=JWT_SECRET, ttl_seconds=900)["downloadUrl"]


def bearer(user_id: str, org: str = "org_acme") -> dict:
    return {"Authorization": f"Bearer {issue_token(JWT_SECRET, user_id, org)}"}


def stored_file(settings, ctx) -> Path:
    return Path(settings.data_dir) / "exports" / f"{ctx.job_id}.csv"


async def test_signed_link_downloads_the_file(client, exported, settings) -> None:
    ctx, result = exported
    url = signed(result, ctx)
    response = await client.get(url)
    assert response.status_code == 200
    assert response.content == stored_file(settings, ctx).read_bytes()
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-length"] == str(result["fileSize"])
    assert response.headers["accept-ranges"] == "bytes"
    name = f"quotes_{result['generatedAt'][:10]}.csv"
    assert f'filename="{name}"' in response.headers["content-disposition"]
    assert response.headers["content-disposition"].startswith("attachment;")


async def test_presenter_signs_fresh_links(exported) -> None:
    ctx, result = exported
    present = export_result_presenter(JWT_SECRET, type("S", (), {"download_link_ttl_seconds": 60})())
    shown = present(result, {"id": ctx.job_id, "userId": ctx.user_id, "organizationId": ctx.organization_id})
    query = parse_qs(urlsplit(shown["downloadUrl"]).query)
    assert abs(int(query["expires"][0]) - (time.time() + 60)) < 5
    assert {k: v for k, v in shown.items() if k != "downloadUrl"} == {
        k: v for k, v in result.items() if k != "downloadUrl"
    }
    assert present(None, {}) is None


async def test_owner_token_works_without_a_signature(client, exported) -> None:
    ctx, result = exported
    response = await client.get(result["downloadUrl"], headers=bearer("user_admin"))
    assert response.status_code == 200 and len(response.content) == result["fileSize"]


async def test_head_has_headers_and_no_body(client, exported) -> None:
    ctx, result = exported
    response = await client.head(signed(result, ctx))
    assert response.status_code == 200
    assert response.headers["content-length"] == str(result["fileSize"])
    assert response.content == b""


async def test_single_ranges(client, exported, settings) -> None:
    ctx, result = exported
    content = stored_file(settings, ctx).read_bytes()
    url, size = signed(result, ctx), result["fileSize"]
    response = await client.get(url, headers={"Range": "bytes=10-19"})
    assert response.status_code == 206 and response.content == content[10:20]
    assert response.headers["content-range"] == f"bytes 10-19/{size}"
    assert response.headers["content-length"] == "10"
    response = await client.get(url, headers={"Range": "bytes=-7"})
    assert response.status_code == 206 and response.content == content[-7:]
    response = await client.get(url, headers={"Range": f"bytes={size - 3}-"})
    assert response.content == content[-3:]
    response = await client.get(url, headers={"Range": f"bytes={size}-"})
    await assert_problem(response, 416)
    assert response.headers["content-range"] == f"bytes */{size}"
    response = await client.get(url, headers={"Range": "bytes=0-1,5-6"})
    assert response.status_code == 200 and response.content == content


def _tampered(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(changes)
    return parts.path + "?" + "&".join(f"{k}={v}" for k, v in query.items())


async def assert_problem(response: httpx.Response, status: int) -> None:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == status


async def test_everything_else_is_404(client, exported, make_context) -> None:
    ctx, result = exported
    url = signed(result, ctx)
    sig = parse_qs(urlsplit(url).query)["sig"][0]
    expires = int(parse_qs(urlsplit(url).query)["expires"][0])
    other = await make_context({"reportType": "customers", "format": "csv"})
    await run_in_memory(other)
    cases = [
        result["downloadUrl"],  # no signature, no token
        _tampered(url, sig=sig[:-2] + ("AA" if not sig.endswith("AA") else "BB")),
        _tampered(url, expires=str(expires + 3600)),  # a later expiry
        _tampered(url, expires="nope"),
        url.replace(str(ctx.job_id), str(other.job_id)),  # a link moved to another file
        signed(result, ctx, user_id="user_member"),  # signed for someone else
        "/v1/exports/not-a-uuid/download",
        "/v1/exports/00000000-0000-0000-0000-000000000000/download",
    ]
    for case in cases:
        await assert_problem(await client.get(case), 404)
    expired = present_export_result(
        result,
        {"id": ctx.job_id, "user_id": "user_admin", "organization_id": "org_acme"},
        secret=JWT_SECRET,
        ttl_seconds=60,
        now=time.time() - 120,
    )["downloadUrl"]
    await assert_problem(await client.get(expired), 404)
    for headers in (
        bearer("user_member"),
        bearer("user_globex", "org_globex"),
        bearer("user_admin", "org_globex"),
        {"Authorization": "Bearer garbage"},
        {"Authorization": "Basic x"},
    ):
        await assert_problem(await client.get(result["downloadUrl"], headers=headers), 404)
    assert (await client.head(result["downloadUrl"])).status_code == 404


async def test_missing_file_is_404(client, exported, settings) -> None:
    ctx, result = exported
    stored_file(settings, ctx).unlink()
    await assert_problem(await client.get(signed(result, ctx)), 404)


async def test_past_retention_is_410_and_purge_deletes_the_file(client, exported, settings) -> None:
    ctx, result = exported
    url = signed(result, ctx)
    storage = export_storage(settings)
    # Not yet expired: nothing to purge.
    assert await purge_expired_exports(ctx.pool, storage) == 0
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=settings.export_retention_days, seconds=1)
    await ctx.pool.execute(
        "UPDATE export_files SET created_at = created_at - interval '8 days', expires_at = now() - interval '1 day'"
    )
    # Expired but not purged yet: 410 already.
    await assert_problem(await client.get(url), 410)
    assert await purge_expired_exports(ctx.pool, storage, now=later) == 1
    assert not stored_file(settings, ctx).exists()
    await assert_problem(await client.get(url), 410)
    await assert_problem(await client.get(result["downloadUrl"], headers=bearer("user_admin")), 410)
    # Past retention is only told to those allowed to fetch it.
    await assert_problem(await client.get(result["downloadUrl"]), 404)
    assert await purge_expired_exports(ctx.pool, storage, now=later) == 0


async def test_purge_finds_files_of_deleted_jobs(client, exported, settings) -> None:
    ctx, result = exported
    await ctx.pool.execute("DELETE FROM jobs WHERE id = $1", ctx.job_id)
    await ctx.pool.execute("UPDATE export_files SET expires_at = created_at WHERE job_id = $1", ctx.job_id)
    assert await purge_expired_exports(ctx.pool, export_storage(settings)) == 1
    assert not stored_file(settings, ctx).exists()


async def test_worker_maintenance_purges_expired_files_on_its_own(exported, settings, database_url) -> None:
    """What every worker process runs beside its jobs (service.py, the composition root)."""
    ctx, _ = exported
    await ctx.pool.execute("UPDATE export_files SET expires_at = created_at WHERE job_id = $1", ctx.job_id)
    assert stored_file(settings, ctx).exists()
    async with periodic_maintenance(database_url, settings.model_copy(update={"maintenance_interval_seconds": 0.1})):
        for _ in range(100):
            if not stored_file(settings, ctx).exists():
                break
            await asyncio.sleep(0.05)
    assert not stored_file(settings, ctx).exists()
    assert await ctx.pool.fetchval("SELECT deleted_at IS NOT NULL FROM export_files WHERE job_id = $1", ctx.job_id)
