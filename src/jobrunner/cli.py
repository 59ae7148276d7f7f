"""The ``jobrunner`` command. Each command is a thin shell over a module that does the work.

Errors a user can cause or meet (a refused configuration, no database in the data folder,
a database that does not answer, a port in use) are one line on stderr and exit code 1;
stdout carries only what a command produces (a token, a table), so ``$(jobrunner token
...)`` never captures an error. Only ``run``, ``migrate``, ``demo-data``, ``serve`` and
``worker`` may create or start the embedded database; SIGTERM ends any command like
Ctrl-C does, so the embedded database is stopped on every way out."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, NoReturn, Optional

import typer
from rich.console import Console
from rich.markup import escape

from jobrunner.cli_admin import admin_app
from jobrunner.cli_schedules import schedules_app
from jobrunner.cli_client import export_command, import_command, jobs_app
from jobrunner.cli_templates import templates_app
from jobrunner.cli_flow import flow_app
from jobrunner.settings import Settings, get_settings, invalid_setting

app = typer.Typer(help="jobrunner: background jobs with a status API for frontends.", no_args_is_help=True)
console = Console()
errors = Console(stderr=True)


@app.callback()
def main() -> None:
    # SIGTERM (docker stop, systemd, kill) unwinds like Ctrl-C: finally blocks and exit
    # handlers run, and the embedded database is stopped (see db/embedded.py).
    signal.signal(signal.SIGTERM, _exit_on_signal)


def _exit_on_signal(signum: int, frame: object) -> NoReturn:
    raise SystemExit(128 + signum)


def fail(message: str) -> NoReturn:
    """One line on stderr, exit code 1."""
    errors.print(f"[red]{escape(message)}[/red]", soft_wrap=True)
    raise typer.Exit(1)


def _explain(exc: Exception) -> str | None:
    """An expected error in one line of our words, or None for a bug (which keeps its traceback)."""
    import asyncpg
    import pydantic
    import sqlalchemy.exc

    from jobrunner.db.errors import is_unavailable
    from jobrunner.domain.errors import ConfigurationError, JobrunnerError

    if isinstance(exc, pydantic.ValidationError):
        return f"refusing to start: invalid setting {invalid_setting(exc)}"
    if isinstance(exc, ConfigurationError):
        return f"refusing to start: {exc.detail}"
    settings = get_settings()
    where = "DATABASE_URL" if settings.database_url else f"the embedded PostgreSQL in {settings.data_dir}"
    if is_unavailable(exc) or isinstance(exc, sqlalchemy.exc.OperationalError):
        return f"cannot reach the database ({where}): is it running?"
    if isinstance(exc, asyncpg.UndefinedTableError) or (
        isinstance(exc, sqlalchemy.exc.ProgrammingError) and "does not exist" in str(exc.orig)
    ):
        return f"the database ({where}) has no jobrunner tables: run `jobrunner migrate` first"
    if isinstance(exc, JobrunnerError):
        return exc.detail
    return None


@contextmanager
def reported_errors() -> Iterator[None]:
    """Expected errors become one line on stderr and exit code 1 (see ``_explain``)."""
    try:
        yield
    except typer.Exit:
        raise
    except Exception as exc:
        message = _explain(exc)
        if message is None:
            raise
        fail(message)


def _runtime(*, demo: bool | None = None, existing_database: bool = False):
    """The runtime, or a one-line error and exit code 1 when the configuration is refused
    (e.g. a JWT secret shorter than 32 bytes). With ``existing_database`` the command only
    uses a database: when the data folder holds none, it says so and creates nothing (no
    database, no secret)."""
    from jobrunner.runtime import load_runtime

    with reported_errors():
        settings = get_settings()
        if existing_database:
            _require_database(settings)
        return load_runtime(settings, demo=demo)


def _require_database(settings: Settings) -> None:
    from jobrunner.auth.tokens import check_secret
    from jobrunner.db.embedded import embedded_database_exists, pgdata_of

    if settings.jwt_secret:  # a refused secret is said first, as by every other command
        check_secret(settings.jwt_secret, "JOBRUNNER_JWT_SECRET")
    if settings.database_url is None and not embedded_database_exists(settings.data_dir):
        fail(
            f"no database in {pgdata_of(settings.data_dir)}: set JOBRUNNER_DATA_DIR to the data folder "
            "of `jobrunner run` (or DATABASE_URL), or create one with `jobrunner migrate`"
        )


def _listen_address(host: str | None, port: int | None) -> tuple[str, int]:
    """The address to serve on; exit 1 in one line when it is taken (checked before the
    database is started or migrated, and before any token is printed)."""
    from jobrunner.service import check_port

    with reported_errors():
        settings = get_settings()
        address = (host or settings.host, port or settings.port)
        check_port(*address)
    return address


_DEMO_HELP = (
    "Serve the demo sign-in (/v1/demo/*: an admin token for anyone who can reach the port). "
    "Default: JOBRUNNER_DEMO_MODE, else on only with the embedded database"
)


@app.command()
def migrate() -> None:
    """Upgrade the database schema to the newest revision."""
    from jobrunner.db import migrate as migrations

    runtime = _runtime()
    with reported_errors():
        migrations.upgrade(runtime.database_url)
    console.print("[green]database migrated[/green]")


@app.command()
def token(
    user: Annotated[str, typer.Option("--user", help="User id, e.g. user_admin")],
    org: Annotated[Optional[str], typer.Option("--org", help="Organization id (default: the user's)")] = None,
    ttl: Annotated[
        Optional[int],
        typer.Option(
            "--ttl",
            help="Lifetime in seconds (default JOBRUNNER_TOKEN_TTL_SECONDS; at most JOBRUNNER_MAX_TOKEN_TTL_SECONDS)",
        ),
    ] = None,
) -> None:
    """Print a bearer token for a user (of an existing database: this command creates none)."""
    from jobrunner.auth.tokens import check_ttl, issue_token
    from jobrunner.db.identities import find_membership

    with reported_errors():
        settings = get_settings()
        ttl = settings.token_ttl_seconds if ttl is None else ttl
        check_ttl(ttl, settings.max_token_ttl_seconds)
    runtime = _runtime(existing_database=True)
    with reported_errors():
        organization_id = asyncio.run(find_membership(runtime.database_url, user, org))
    if organization_id is None:
        fail(f"no user {user!r}{' in ' + org if org else ''}")
    typer.echo(issue_token(runtime.jwt_secret, user, organization_id, ttl))


@app.command("demo-data")
def demo_data(
    quotes: Annotated[int, typer.Option("--quotes", help="Quotes per organization")] = 5000,
) -> None:
    """Create the demo organizations, users, customers and quotes, two job templates per
    organization and one paused schedule (re-running tops up, duplicates nothing)."""
    from jobrunner.db.demo_data import load_demo_data

    runtime = _runtime()
    with reported_errors():
        asyncio.run(load_demo_data(runtime.database_url, quotes_per_org=quotes, examples=True))
    console.print("[green]demo data loaded[/green]")


@app.command()
def serve(
    host: Annotated[Optional[str], typer.Option(help="Listen address")] = None,
    port: Annotated[Optional[int], typer.Option(help="Listen port (or PORT)")] = None,
    worker: Annotated[bool, typer.Option("--worker/--no-worker", help="Run a worker in the same process")] = True,
    demo: Annotated[Optional[bool], typer.Option("--demo/--no-demo", help=_DEMO_HELP)] = None,
) -> None:
    """Serve the HTTP API (with an in-process worker unless --no-worker)."""
    from jobrunner.service import serve as serve_service

    host, port = _listen_address(host, port)
    runtime = _runtime(demo=demo)
    with reported_errors():
        serve_service(runtime, host=host, port=port, with_worker=worker)


@app.command("worker")
def worker_command(
    concurrency: Annotated[Optional[int], typer.Option(help="Jobs run at once by this process")] = None,
    metrics_port: Annotated[
        Optional[int],
        typer.Option(
            "--metrics-port",
            help="Serve this process's /metrics on this port (or JOBRUNNER_WORKER_METRICS_PORT; "
            "needs JOBRUNNER_METRICS_TOKEN)",
        ),
    ] = None,
) -> None:
    """Run a worker process."""
    from jobrunner.service import run_worker_process

    runtime = _runtime()
    with reported_errors():
        run_worker_process(runtime, concurrency=concurrency, metrics_port=metrics_port)


@app.command()
def run(
    host: Annotated[Optional[str], typer.Option(help="Listen address")] = None,
    port: Annotated[Optional[int], typer.Option(help="Listen port (or PORT)")] = None,
    demo: Annotated[Optional[bool], typer.Option("--demo/--no-demo", help=_DEMO_HELP)] = None,
) -> None:
    """Everything for a first look: migrate, load demo data into an empty database, print a
    token per demo user (in demo mode), then serve the API with a worker."""
    from jobrunner.service import run_all

    host, port = _listen_address(host, port)
    runtime = _runtime(demo=demo)
    with reported_errors():
        run_all(runtime, host=host, port=port)


# Commands that drive a running service over HTTP (jobs, export).
app.add_typer(jobs_app, name="jobs")
app.command("export")(export_command)
app.add_typer(admin_app, name="admin")
app.add_typer(schedules_app, name="schedules")
app.add_typer(templates_app, name="templates")
app.command("import")(import_command)


@flow_app.callback()
def _flow_database(ctx: typer.Context) -> None:
    """Flow control on the database (operators): tiers, job-type caps, rate limits, circuit breakers."""
    # Looked up when a command runs, not here: click runs this callback before the
    # subcommand reads its arguments, so `jobrunner flow show --help` would otherwise need
    # (or start) a database.
    ctx.obj = lambda: _runtime(existing_database=True).database_url


# Flow control straight on the database (operators; docs/flow-control.md).
app.add_typer(flow_app, name="flow")

if __name__ == "__main__":
    app()
