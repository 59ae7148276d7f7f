"""The application factory: the HTTP API (``jobrunner.api``) and the jobs page with its
demo sign-in (``jobrunner.web``) in one ASGI app. Neither package imports the other's
routes; this module puts them together, with the job types (``plugins``) and the result
presenters of the export and import features."""

from __future__ import annotations

import asyncio
import gc
import logging

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from jobrunner import plugins
from jobrunner.api.deps import TokenCache
from jobrunner.api.errors import install_error_handlers
from jobrunner.api.middleware import BodySizeLimit, Observe
from jobrunner.api.openapi import build_openapi
from jobrunner.api.routes import ROUTERS as API_ROUTERS
from jobrunner.api.routing import DirectDispatch, DirectRoute
from jobrunner.db.errors import DatabaseUnavailable
from jobrunner.db.events_repository import EventsRepository
from jobrunner.db.jobs_repository import JobsRepository
from jobrunner.db.notify import listen_url
from jobrunner.db.pool import FairPool, create_pool
from jobrunner.db.templates_repository import TemplatesRepository
from jobrunner.exports.presenter import export_result_presenter
from jobrunner.jobs.presenters import register_result_presenter
from jobrunner.jobs.push import JobEvents
from jobrunner.jobs.service import JobService
from jobrunner.jobs.streams import JobStreams
from jobrunner.observability import metrics
from jobrunner.observability.snapshot import Snapshot
from jobrunner.settings import Settings
from jobrunner.uploads.links import rejected_rows_presenter
from jobrunner.web import routes as web
from jobrunner.storage import close_storage

log = logging.getLogger(__name__)

ROUTERS = [*API_ROUTERS, web.router]
# Served only when the service runs with demo data (settings.demo_mode).
DEMO_ROUTERS = [web.demo_router]

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager]

DESCRIPTION = """Background jobs for web products: start a job, poll its status and
progress, cancel it, retry it, download what it made.

Every request authenticates with `Authorization: Bearer <JWT>`. Every error is an RFC 9457
problem (`application/problem+json`)."""


async def _open_pool(database_url: str, settings: Settings) -> FairPool:
    """The API's pool, warm (``pool_min_size`` connections). When the database is away at
    start, an empty pool instead: the API serves (503 with Retry-After) and connects on
    the first request after the database is back."""
    options: dict[str, Any] = {
        "max_size": settings.pool_max_size,
        "stateless": True,
        "connect_timeout": settings.database_connect_timeout_seconds,
        "pooled": settings.database_pooled,
    }
    try:
        return await create_pool(database_url, min_size=settings.pool_min_size, **options)
    except DatabaseUnavailable as exc:
        log.warning("database unavailable at start (%r); serving 503 until it is back", exc.__cause__)
        return await create_pool(database_url, min_size=0, **options)


@asynccontextmanager
async def _snapshots(app: FastAPI, settings: Settings) -> AsyncIterator[None]:
    """The metrics snapshot task (observability/snapshot.py) while the app runs."""
    snapshot: Snapshot = app.state.metrics_snapshot
    task = asyncio.create_task(
        snapshot.run(lambda: app.state.pool, settings.metrics_snapshot_interval_seconds), name="jobrunner-snapshot"
    )
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def register_presenters(jwt_secret: str, settings: Settings) -> None:
    """The result presenters of this process: the API's answers and the completion
    webhooks' bodies (a worker process registers them too, ``service.build_worker``)."""
    # Each status read signs a fresh download link for a finished export.
    register_result_presenter("export_report", export_result_presenter(jwt_secret, settings))
    # Each status read signs a fresh link to an import's rejected rows.
    register_result_presenter("data_processing", rejected_rows_presenter(jwt_secret, settings))


def create_app(
    settings: Settings,
    database_url: str,
    jwt_secret: str,
    *,
    lifespans: Sequence[Lifespan] = (),
) -> FastAPI:
    """The API. Its lifespan opens the database pool (``app.state.pool``), imports the
    modules that declare job types, then enters each extra lifespan (e.g. an in-process
    worker) and closes everything in reverse order on shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await _open_pool(database_url, settings)
        try:
            plugins.load_imports(settings)
            app.state.pool = pool
            app.state.jobs = JobService(JobsRepository(pool), settings, TemplatesRepository(pool))
            # Server-sent events: one LISTEN connection for every stream of this process.
            events = EventsRepository(pool)
            app.state.job_events = JobEvents(events, settings, listen_url(database_url, settings))
            app.state.streams = JobStreams(app.state.job_events, events, app.state.jobs, JobsRepository(pool), settings)
            async with AsyncExitStack() as stack:
                stack.push_async_callback(app.state.job_events.close)
                if settings.metrics_token:
                    await stack.enter_async_context(_snapshots(app, settings))
                for extra in lifespans:
                    await stack.enter_async_context(extra(app))
                # Everything built so far lives as long as the process: move it out of the
                # garbage collector's sight, so full collections stay short (polling p99).
                gc.collect()
                gc.freeze()
                yield
        finally:
            app.state.pool = None
            await pool.close()
            await close_storage(settings)

    app = FastAPI(
        title="jobrunner",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url=None,  # served offline by api/routes/docs.py
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.jwt_secret = jwt_secret
    app.state.token_cache = TokenCache(jwt_secret, settings.max_token_ttl_seconds)
    app.state.pool = None
    app.state.metrics_registry = CollectorRegistry()
    # This process's job metrics (an in-process worker's, jobs created here), and the
    # cluster-wide snapshot of the database (refreshed by the lifespan while metrics are on).
    app.state.metrics_registry.register(metrics.Forward(metrics.REGISTRY))
    app.state.metrics_snapshot = Snapshot(settings.lease_seconds)
    app.state.metrics_registry.register(app.state.metrics_snapshot)
    # The event streams open in this process (the hub is made by the lifespan).
    app.state.job_events = None
    metrics.sse_streams_gauge(
        app.state.metrics_registry, lambda: app.state.job_events.streams if app.state.job_events is not None else 0
    )
    register_presenters(jwt_secret, settings)
    install_error_handlers(app)
    for router in ROUTERS + (DEMO_ROUTERS if settings.demo_mode else []):
        app.include_router(router)
    direct_routes = [route for router in ROUTERS for route in router.routes if isinstance(route, DirectRoute)]
    # Added first = innermost: metrics see the hot path too.
    app.add_middleware(DirectDispatch, routes=direct_routes)
    app.add_middleware(
        BodySizeLimit, max_bytes=settings.max_body_bytes, limits={"/v1/uploads": settings.upload_max_bytes}
    )
    app.add_middleware(Observe, registry=app.state.metrics_registry)
    app.openapi = lambda: build_openapi(app)  # type: ignore[method-assign]
    return app
