"""The composition root: the processes jobrunner runs, put together from packages that
don't import each other. ``jobrunner serve`` / ``run``: the app (``jobrunner.app``) with an
in-process worker by default; ``jobrunner worker``: a worker process. Every worker, in
either, is built here (``build_worker``: the job types of ``plugins`` loaded first) and
runs with the service's maintenance beside it (``_maintained``); the worker package
itself never imports the job types or the processors."""

from __future__ import annotations

import asyncio
import errno
import logging
import signal
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import uvicorn
from fastapi import FastAPI
from rich.console import Console

from jobrunner import plugins
from jobrunner.domain.errors import ConfigurationError
from jobrunner.maintenance import periodic_maintenance
from jobrunner.observability.logs import configure_logging
from jobrunner.runtime import Runtime
from jobrunner.schedules.firing import periodic_scheduler
from jobrunner.settings import Settings
from jobrunner.worker.loop import Worker
from jobrunner.storage import close_storage
from jobrunner.webhooks.dispatcher import webhook_deliveries

console = Console()
DEMO_TOKEN_TTL_SECONDS = 12 * 3600
log = logging.getLogger(__name__)


def build_app(runtime: Runtime, *, with_worker: bool) -> FastAPI:
    from jobrunner.app import create_app

    lifespans = [_worker_lifespan(runtime)] if with_worker else []
    return create_app(runtime.settings, runtime.database_url, runtime.jwt_secret, lifespans=lifespans)


def build_worker(runtime: Runtime, concurrency: int | None = None) -> Worker:
    """A worker that knows every job type: jobrunner's own and ``JOBRUNNER_IMPORTS``'."""
    from jobrunner.app import register_presenters

    plugins.load_imports(runtime.settings)
    # The completion webhooks' bodies show results as the status endpoint does.
    register_presenters(runtime.jwt_secret, runtime.settings)
    return Worker(runtime.database_url, runtime.settings, concurrency=concurrency)


@asynccontextmanager
async def _maintained(worker: Worker) -> AsyncIterator[None]:
    """Beside a started worker, the service's maintenance, the scheduler of recurring
    schedules (``schedules/firing.py``) and the completion webhooks' delivery loop; on the
    way out, they end first, then the worker stops gracefully (``Worker.stop``)."""
    try:
        async with (
            periodic_maintenance(worker.database_url, worker.settings),
            periodic_scheduler(worker.database_url, worker.settings),
            webhook_deliveries(worker.database_url, worker.settings),
        ):
            yield
    finally:
        await worker.stop()
        await close_storage(worker.settings)


def _worker_lifespan(runtime: Runtime):
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        worker = build_worker(runtime)
        app.state.worker = worker
        await worker.start()
        async with _maintained(worker):
            yield

    return lifespan


async def serve_worker(worker: Worker) -> None:
    """Run ``worker`` until the process gets SIGTERM or SIGINT. A worker started before
    the database is up waits for it (``Worker.start``); a signal meanwhile ends the wait."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    starting = asyncio.create_task(worker.start(), name="jobrunner-worker-start")
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if not starting.done():
        log.info("signal received before the database was reachable: exiting")
        starting.cancel()
        await asyncio.gather(starting, return_exceptions=True)
        return
    stopping.cancel()
    starting.result()
    async with _maintained(worker):
        await stop.wait()
        log.info("signal received: stopping (grace %.0f s)", worker.settings.shutdown_grace_seconds)


def _event_loop_runner():
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency, but optional
        return asyncio.run
    return uvloop.run


def run_worker_process(runtime: Runtime, concurrency: int | None, metrics_port: int | None = None) -> None:
    """``jobrunner worker``: runs until SIGTERM or SIGINT, then stops gracefully and exits 0.
    With ``metrics_port`` (or JOBRUNNER_WORKER_METRICS_PORT), serves this process's
    ``/metrics`` there (the same bearer check as the API's)."""
    settings = runtime.settings
    port = metrics_port if metrics_port is not None else settings.worker_metrics_port
    if port is not None and not settings.metrics_token:
        raise ConfigurationError("--metrics-port needs JOBRUNNER_METRICS_TOKEN (the scraper's bearer token)")
    if port is not None:
        check_port(settings.host, port)
    configure_logging(settings.log_level, settings.log_format)
    worker = build_worker(runtime, concurrency)

    async def main() -> None:
        async with _metrics_server(settings, port):
            await serve_worker(worker)

    _event_loop_runner()(main())


class _QuietServer(uvicorn.Server):
    """A uvicorn server inside a process that handles its own signals."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@asynccontextmanager
async def _metrics_server(settings: Settings, port: int | None) -> AsyncIterator[None]:
    """A worker's ``/metrics`` on ``port`` (api/routes/health.py's endpoint: this
    process's registry, ``JOBRUNNER_METRICS_TOKEN`` as the bearer), or nothing."""
    if port is None:
        yield
        return
    from jobrunner.api.errors import install_error_handlers
    from jobrunner.api.routes.health import metrics_router
    from jobrunner.observability.metrics import REGISTRY

    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.metrics_registry = REGISTRY
    install_error_handlers(app)
    app.include_router(metrics_router)
    server = _QuietServer(uvicorn.Config(app, host=settings.host, port=port, log_config=None, access_log=False))
    task = asyncio.create_task(server.serve(), name="jobrunner-metrics")
    try:
        while not server.started and not task.done():
            await asyncio.sleep(0.01)
        if task.done():  # the port is taken, or the address is wrong: say so, stop
            task.result()
            raise ConfigurationError(f"cannot serve metrics on {settings.host}:{port}")
        log.info("worker metrics at http://%s:%d/metrics", settings.host, port)
        yield
    finally:
        server.should_exit = True
        await asyncio.gather(task, return_exceptions=True)


def serve(runtime: Runtime, *, host: str, port: int, with_worker: bool) -> None:
    configure_logging(runtime.settings.log_level, runtime.settings.log_format)
    app = build_app(runtime, with_worker=with_worker)
    console.print(demo_mode_line(runtime), soft_wrap=True, markup=False)
    # uvicorn's lines go through our logging (log_config=None); one line per request is ours.
    uvicorn.run(app, host=host, port=port, log_config=None, log_level=runtime.settings.log_level, access_log=False)


def demo_mode_line(runtime: Runtime) -> str:
    """One line saying whether demo sign-in is on, and why."""
    if runtime.settings.demo_mode:
        return (
            f"demo mode: ON ({runtime.demo_reason}): anyone who can reach this port can sign in "
            "as any demo user at /v1/demo/token"
        )
    return f"demo mode: off ({runtime.demo_reason}): no demo sign-in; tokens come from `jobrunner token`"


def check_port(host: str, port: int) -> None:
    """ConfigurationError when ``host:port`` cannot be listened on (another service, or a
    second ``make run``, holds it): a bind test, as uvicorn binds (SO_REUSEADDR)."""
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        raise ConfigurationError(f"cannot listen on {host}:{port}: unknown host {host!r}") from None
    for family, kind, proto, _, address in addresses:
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(address)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    raise ConfigurationError(
                        f"port {port} on {host} is in use (is jobrunner already running? "
                        "choose another with PORT or --port)"
                    ) from None
                raise ConfigurationError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def run_all(runtime: Runtime, *, host: str, port: int) -> None:
    """Migrate, load demo data into an empty database, print tokens (in demo mode), serve
    with a worker."""
    from jobrunner.db import migrate
    from jobrunner.db.demo_data import database_is_empty, load_demo_data

    migrate.upgrade(runtime.database_url)
    if asyncio.run(database_is_empty(runtime.database_url)):
        console.print("loading demo data (first run)…")
        asyncio.run(load_demo_data(runtime.database_url, examples=True))
    _print_welcome(runtime, host, port)
    serve(runtime, host=host, port=port, with_worker=True)


def _print_welcome(runtime: Runtime, host: str, port: int) -> None:
    from jobrunner.auth.tokens import issue_token
    from jobrunner.db.seed import DEMO_USERS

    if runtime.secret_generated:
        console.print(
            f"generated a JWT secret into {runtime.settings.data_dir}/jwt-secret "
            "(set JOBRUNNER_JWT_SECRET to choose your own)"
        )
    where = (
        "DATABASE_URL"
        if runtime.settings.database_url
        else f"embedded PostgreSQL in {runtime.settings.data_dir}/pgdata"
    )
    console.print(f"database: {where}")
    if runtime.settings.demo_mode:
        ttl = min(DEMO_TOKEN_TTL_SECONDS, runtime.settings.max_token_ttl_seconds)
        valid = f"{ttl // 3600} h" if ttl % 3600 == 0 else f"{ttl} s"
        console.print(f"[bold]Demo tokens[/bold] (valid {valid}; use as 'Authorization: Bearer <token>'):")
        for user in DEMO_USERS:
            token = issue_token(runtime.jwt_secret, user.user_id, user.organization_id, ttl)
            # One line per user, plain, so a terminal can copy it whole and a script can parse it.
            print(f"  {user.user_id} ({user.role}, {user.organization_id}): {token}", flush=True)
    base = f"http://{host}:{port}"
    console.print(f"jobs page: {base}/", soft_wrap=True)
    console.print(f"API: {base}/v1/jobs   docs: {base}/docs   health: {base}/healthz", soft_wrap=True)
