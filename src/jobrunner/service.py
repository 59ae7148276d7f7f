"""Composing the processes: the API (with an in-process worker by default) and the
first-look ``run`` command. The API and the worker don't import each other; this module
puts them in one process."""

from __future__ import annotations

import asyncio
import errno
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI
from rich.console import Console

from jobrunner.runtime import Runtime

console = Console()
DEMO_TOKEN_TTL_SECONDS = 12 * 3600


def build_app(runtime: Runtime, *, with_worker: bool) -> FastAPI:
    from jobrunner.api.app import create_app

    lifespans = [_worker_lifespan(runtime)] if with_worker else []
    return create_app(runtime.settings, runtime.database_url, runtime.jwt_secret, lifespans=lifespans)


def _worker_lifespan(runtime: Runtime):
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from jobrunner.maintenance import periodic_maintenance
        from jobrunner.worker.main import Worker

        worker = Worker(runtime.database_url, runtime.settings)
        app.state.worker = worker
        async with worker.running(), periodic_maintenance(runtime.database_url, runtime.settings):
            yield

    return lifespan


def serve(runtime: Runtime, *, host: str, port: int, with_worker: bool) -> None:
    app = build_app(runtime, with_worker=with_worker)
    console.print(demo_mode_line(runtime), soft_wrap=True, markup=False)
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)


def demo_mode_line(runtime: Runtime) -> str:
    """One line saying whether demo sign-in is on, and why."""
    if runtime.settings.demo_mode:
        return (f"demo mode: ON ({runtime.demo_reason}): anyone who can reach this port can sign in "
                "as any demo user at /v1/demo/token")
    return f"demo mode: off ({runtime.demo_reason}): no demo sign-in; tokens come from `jobrunner token`"


def check_port(host: str, port: int) -> None:
    """ConfigurationError when ``host:port`` cannot be listened on (another service, or a
    second ``make run``, holds it): a bind test, as uvicorn binds (SO_REUSEADDR)."""
    from jobrunner.domain.errors import ConfigurationError

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
                        "choose another with PORT or --port)") from None
                raise ConfigurationError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def run_all(runtime: Runtime, *, host: str, port: int) -> None:
    """Migrate, load demo data into an empty database, print tokens (in demo mode), serve
    with a worker."""
    from jobrunner.db import migrate
    from jobrunner.db.demo_data import database_is_empty, load_demo_data

    migrate.upgrade(runtime.database_url)
    if asyncio.run(database_is_empty(runtime.database_url)):
        console.print("loading demo data (first run)…")
        asyncio.run(load_demo_data(runtime.database_url))
    _print_welcome(runtime, host, port)
    serve(runtime, host=host, port=port, with_worker=True)


def _print_welcome(runtime: Runtime, host: str, port: int) -> None:
    from jobrunner.auth.tokens import issue_token
    from jobrunner.db.seed import DEMO_USERS

    if runtime.secret_generated:
        console.print(f"generated a JWT secret into {runtime.settings.data_dir}/jwt-secret "
                      "(set JOBRUNNER_JWT_SECRET to choose your own)")
    where = "DATABASE_URL" if runtime.settings.database_url else f"embedded PostgreSQL in {runtime.settings.data_dir}/pgdata"
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
