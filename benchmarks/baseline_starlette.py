"""The polling benchmark's baseline: a bare Starlette route doing the same single-row
SELECT through asyncpg as jobrunner's status endpoint, with no auth, no permission
check, no presenter. Served by ``status_polling.py`` under uvicorn (uvloop, httptools).

The SQL is inline on purpose: this file is the yardstick, not part of jobrunner."""

from __future__ import annotations

import os
import uuid
from contextlib import asynccontextmanager

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import asyncpg

from jobrunner.db.pool import init_connection

SELECT_JOB = """
SELECT id, organization_id, user_id, job_type, status::text AS status, priority, retry_count,
       max_retries, payload, result, error_message, progress, total_steps, current_step,
       step_label, started_at, completed_at, scheduled_at, created_at, updated_at
  FROM jobs WHERE id = $1
"""


async def job_status(request: Request) -> Response:
    row = await request.app.state.pool.fetchrow(SELECT_JOB, uuid.UUID(request.path_params["job_id"]))
    if row is None:
        return Response(status_code=404)
    return Response(orjson.dumps(dict(row), default=str), media_type="application/json")


def app() -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette):
        # asyncpg's own pool with its defaults (only the same JSON codecs as jobrunner's).
        app.state.pool = await asyncpg.create_pool(
            os.environ["BENCH_DATABASE_URL"],
            min_size=2,
            max_size=int(os.environ.get("BENCH_POOL_SIZE", "10")),
            init=init_connection,
        )
        yield
        await app.state.pool.close()

    return Starlette(routes=[Route("/v1/jobs/{job_id}/status", job_status)], lifespan=lifespan)
