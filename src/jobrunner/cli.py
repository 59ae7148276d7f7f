"""The ``jobrunner`` command. Each command is a thin shell over a module that does the work."""

from __future__ import annotations

import asyncio
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape

from jobrunner.cli_client import export_command, jobs_app
from jobrunner.settings import Settings, get_settings

app = typer.Typer(help="jobrunner: background jobs with a status API for frontends.", no_args_is_help=True)
console = Console()


def _runtime(*, demo: bool | None = None):
    """The runtime, or a one-line error and exit code 1 when the configuration is refused
    (e.g. a JWT secret shorter than 32 bytes)."""
    from jobrunner.domain.errors import ConfigurationError
    from jobrunner.runtime import load_runtime

    try:
        return load_runtime(get_settings(), demo=demo)
    except ConfigurationError as exc:
        console.print(f"[red]refusing to start: {escape(exc.detail)}[/red]", soft_wrap=True)
        raise typer.Exit(1) from None


_DEMO_HELP = ("Serve the demo sign-in (/v1/demo/*: an admin token for anyone who can reach the port). "
              "Default: JOBRUNNER_DEMO_MODE, else on only with the embedded database")


@app.command()
def migrate() -> None:
    """Upgrade the database schema to the newest revision."""
    from jobrunner.db import migrate as migrations

    runtime = _runtime()
    migrations.upgrade(runtime.database_url)
    console.print("[green]database migrated[/green]")


@app.command()
def token(
    user: Annotated[str, typer.Option("--user", help="User id, e.g. user_admin")],
    org: Annotated[Optional[str], typer.Option("--org", help="Organization id (default: the user's)")] = None,
    ttl: Annotated[Optional[int], typer.Option(
        "--ttl", help="Lifetime in seconds (default JOBRUNNER_TOKEN_TTL_SECONDS; at most JOBRUNNER_MAX_TOKEN_TTL_SECONDS)")] = None,
) -> None:
    """Print a bearer token for a user."""
    from jobrunner.auth.tokens import check_ttl, issue_token
    from jobrunner.db.identities import find_membership
    from jobrunner.domain.errors import InvalidInput

    settings = get_settings()
    ttl = settings.token_ttl_seconds if ttl is None else ttl
    try:
        check_ttl(ttl, settings.max_token_ttl_seconds)
    except InvalidInput as exc:
        console.print(f"[red]{escape(exc.detail)}[/red]", soft_wrap=True)
        raise typer.Exit(1) from None
    runtime = _runtime()
    organization_id = asyncio.run(find_membership(runtime.database_url, user, org))
    if organization_id is None:
        console.print(f"[red]no user {user!r}{' in ' + org if org else ''}[/red]")
        raise typer.Exit(1)
    typer.echo(issue_token(runtime.jwt_secret, user, organization_id, ttl))


@app.command("demo-data")
def demo_data(
    quotes: Annotated[int, typer.Option("--quotes", help="Quotes per organization")] = 5000,
) -> None:
    """Create the demo organizations, users, customers and quotes."""
    from jobrunner.db.demo_data import load_demo_data

    runtime = _runtime()
    asyncio.run(load_demo_data(runtime.database_url, quotes_per_org=quotes))
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

    settings = get_settings()
    serve_service(_runtime(demo=demo), host=host or settings.host, port=port or settings.port, with_worker=worker)


@app.command("worker")
def worker_command(
    concurrency: Annotated[Optional[int], typer.Option(help="Jobs run at once by this process")] = None,
) -> None:
    """Run a worker process."""
    from jobrunner.service import run_worker_process

    run_worker_process(_runtime(), concurrency=concurrency)


@app.command()
def run(
    host: Annotated[Optional[str], typer.Option(help="Listen address")] = None,
    port: Annotated[Optional[int], typer.Option(help="Listen port (or PORT)")] = None,
    demo: Annotated[Optional[bool], typer.Option("--demo/--no-demo", help=_DEMO_HELP)] = None,
) -> None:
    """Everything for a first look: migrate, load demo data into an empty database, print a
    token per demo user (in demo mode), then serve the API with a worker."""
    from jobrunner.service import run_all

    settings: Settings = get_settings()
    run_all(_runtime(demo=demo), host=host or settings.host, port=port or settings.port)


# Commands that drive a running service over HTTP (jobs, export).
app.add_typer(jobs_app, name="jobs")
app.command("export")(export_command)

if __name__ == "__main__":
    app()
