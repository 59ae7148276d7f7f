"""``jobrunner flow ...``: the operators' flow control, straight on the database (like
``migrate``): tiers and which organization is on which, job-type caps, rate limits,
circuit breakers and their manual reset (docs/flow-control.md). Cluster-wide settings, so
no tenant's API token can change them; every change is audited in ``flow_changes`` with
the operator's name. The database URL comes from the ``jobrunner`` command (``cli.py``
sets ``ctx.obj`` to a function that finds it, called when a command runs)."""

from __future__ import annotations

import asyncio
import datetime as dt
import getpass
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.table import Table

from jobrunner.cli_client import AsJson, console, errors
from jobrunner.db.flow_repository import FlowRepository
from jobrunner.db.pool import create_pool
from jobrunner.domain.errors import JobrunnerError

T = TypeVar("T")

flow_app = typer.Typer(
    help="Flow control on the database (operators): tiers, job-type caps, rate limits, circuit breakers.",
    no_args_is_help=True,
)

JobType = Annotated[str, typer.Argument(help="A job type, e.g. export_report")]


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no user name (a container without one)
        return "cli"


def _run(ctx: typer.Context, work: Callable[[FlowRepository], Awaitable[T]]) -> T:
    database_url: str = ctx.obj()

    async def run() -> T:
        pool = await create_pool(database_url, min_size=1, max_size=1)
        try:
            return await work(FlowRepository(pool))
        finally:
            await pool.close()

    try:
        return asyncio.run(run())
    except JobrunnerError as exc:
        errors.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None


def _plain(row: Any) -> dict[str, Any]:
    """A record as JSON-ready values (timestamps in ISO 8601, ids as text)."""
    return {
        k: v.isoformat() if isinstance(v, dt.datetime) else str(v) if isinstance(v, uuid.UUID) else v
        for k, v in row.items()
    }


def _table(title: str, rows: list[Any], columns: list[str]) -> Table:
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("-" if row[c] is None else str(row[c]) for c in columns))
    return table


@flow_app.command("show")
def show(ctx: typer.Context, as_json: AsJson = False) -> None:
    """Everything configured, with what is running and counted now."""

    async def read(repo: FlowRepository) -> dict[str, list[Any]]:
        return {
            "tiers": await repo.tiers(),
            "organizations": await repo.organization_tiers(),
            "caps": await repo.type_limits(),
            "rate_limits": await repo.rate_limits(None),
            "breaker_rules": await repo.breaker_rules(),
            "breakers": await repo.breakers(),
        }

    found = _run(ctx, read)
    if as_json:
        typer.echo(json.dumps({k: [_plain(r) for r in rows] for k, rows in found.items()}, indent=2))
        return
    console.print(_table("Tiers", found["tiers"], ["name", "max_running", "weight", "organizations"]))
    console.print(_table("Organizations on a tier", found["organizations"], ["organization_id", "tier"]))
    console.print(_table("Job-type caps", found["caps"], ["job_type", "max_running", "max_running_per_org", "running"]))
    console.print(
        _table(
            "Rate limits (used: the cluster's current window)",
            found["rate_limits"],
            ["job_type", "per_organization", "max_starts", "period_seconds", "used"],
        )
    )
    console.print(
        _table(
            "Circuit breaker rules",
            found["breaker_rules"],
            ["job_type", "per_organization", "failure_threshold", "window_seconds", "cooldown_seconds"],
        )
    )
    console.print(
        _table(
            "Circuit breakers that counted failures (organization -: the cluster's)",
            found["breakers"],
            ["job_type", "organization_id", "state", "failures", "failure_threshold", "retry_at", "last_error"],
        )
    )


@flow_app.command("tier")
def tier(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Tier name, e.g. pro")],
    max_running: Annotated[
        int | None, typer.Option("--max-running", min=0, help="Jobs running per organization")
    ] = None,
    weight: Annotated[int, typer.Option("--weight", min=1, max=100, help="Share of the workers under contention")] = 1,
    delete: Annotated[bool, typer.Option("--delete", help="Remove the tier (none may be on it)")] = False,
) -> None:
    """Create or change a tier (--max-running, --weight), or remove it (--delete)."""
    if delete:
        if not _run(ctx, lambda repo: repo.delete_tier(_actor(), name)):
            errors.print(f"[red]no tier {name!r}[/red]")
            raise typer.Exit(1)
        console.print(f"tier {name} removed")
        return
    if max_running is None:
        errors.print("[red]--max-running is required (or --delete)[/red]")
        raise typer.Exit(1)
    _run(ctx, lambda repo: repo.set_tier(_actor(), name, max_running, weight))
    console.print(f"tier {name}: {max_running} running per organization, weight {weight}")


@flow_app.command("org")
def organization(
    ctx: typer.Context,
    organization_id: Annotated[str, typer.Argument(help="Organization id")],
    tier_name: Annotated[str | None, typer.Option("--tier", help="Put it on this tier")] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Back to the service's limit, no tier")] = False,
) -> None:
    """Put an organization on a tier (takes effect at the next claim), or take it off."""
    if (tier_name is None) == (not clear):
        errors.print("[red]give --tier NAME or --clear[/red]")
        raise typer.Exit(1)
    done = _run(ctx, lambda repo: repo.set_organization_tier(_actor(), organization_id, tier_name))
    if not done:
        errors.print(f"[red]{organization_id} is on no tier[/red]")
        raise typer.Exit(1)
    console.print(f"{organization_id}: {'tier ' + tier_name if tier_name else 'no tier'}")


@flow_app.command("cap")
def cap(
    ctx: typer.Context,
    job_type: JobType,
    max_running: Annotated[int | None, typer.Option("--max-running", min=0, help="On the whole cluster")] = None,
    per_org: Annotated[int | None, typer.Option("--per-org", min=0, help="Per organization")] = None,
) -> None:
    """Cap a job type's running jobs (neither option: remove its caps)."""
    _run(ctx, lambda repo: repo.set_type_limit(_actor(), job_type, max_running, per_org))
    if max_running is None and per_org is None:
        console.print(f"{job_type}: no caps")
    else:
        console.print(
            f"{job_type}: at most {max_running if max_running is not None else '∞'} running on the cluster, "
            f"{per_org if per_org is not None else '∞'} per organization"
        )


@flow_app.command("rate")
def rate(
    ctx: typer.Context,
    job_type: Annotated[str | None, typer.Argument(help="A job type (none: all types)")] = None,
    max_starts: Annotated[int | None, typer.Option("--max", min=1, help="Starts per period")] = None,
    per: Annotated[int, typer.Option("--per", min=1, max=86400, help="Period in seconds")] = 60,
    cluster: Annotated[
        bool, typer.Option("--cluster", help="One window for the cluster (default: per organization)")
    ] = False,
    delete: Annotated[bool, typer.Option("--delete", help="Remove this rate limit")] = False,
) -> None:
    """At most --max starts per --per seconds, per organization (or --cluster)."""
    scope = "the cluster" if cluster else "each organization"
    what = job_type or "all job types"
    if delete:
        if not _run(ctx, lambda repo: repo.delete_rate_limit(_actor(), job_type, not cluster)):
            errors.print(f"[red]no rate limit on {what} for {scope}[/red]")
            raise typer.Exit(1)
        console.print(f"rate limit on {what} for {scope} removed")
        return
    if max_starts is None:
        errors.print("[red]--max is required (or --delete)[/red]")
        raise typer.Exit(1)
    _run(ctx, lambda repo: repo.set_rate_limit(_actor(), job_type, not cluster, max_starts, per))
    console.print(f"{what}: at most {max_starts} starts per {per} s for {scope}")


@flow_app.command("breaker")
def breaker(
    ctx: typer.Context,
    job_type: JobType,
    failures: Annotated[int, typer.Option("--failures", min=1, help="Transient failures in a row that open it")] = 5,
    window: Annotated[int, typer.Option("--window", min=1, help="...within this many seconds")] = 60,
    cooldown: Annotated[int, typer.Option("--cooldown", min=1, help="Seconds open before a trial job")] = 30,
    per_org: Annotated[
        bool, typer.Option("--per-org", help="One breaker per organization (its own receiver); default: one for all")
    ] = False,
    delete: Annotated[bool, typer.Option("--delete", help="No breaker for this type")] = False,
) -> None:
    """Watch a job type with a circuit breaker (or stop watching it: --delete)."""
    if delete:
        if not _run(ctx, lambda repo: repo.delete_breaker(_actor(), job_type)):
            errors.print(f"[red]no breaker for {job_type}[/red]")
            raise typer.Exit(1)
        console.print(f"{job_type}: no breaker")
        return
    _run(ctx, lambda repo: repo.set_breaker(_actor(), job_type, per_org, failures, window, cooldown))
    scope = "each organization's" if per_org else "one for the cluster"
    console.print(
        f"{job_type}: breaker ({scope}) opens after {failures} transient failures in a row within {window} s, "
        f"cool-down {cooldown} s"
    )


@flow_app.command("reset")
def reset(
    ctx: typer.Context,
    job_type: JobType,
    org: Annotated[str | None, typer.Option("--org", help="Only this organization's breaker")] = None,
) -> None:
    """Close a job type's breakers by hand (all, or one organization's): its jobs are claimed again at once."""
    previous = _run(ctx, lambda repo: repo.reset_breakers(_actor(), job_type, org))
    if not previous:
        errors.print(f"[red]no breaker of {job_type}{' for ' + org if org else ''} has counted a failure[/red]")
        raise typer.Exit(1)
    tripped = sum(state != "closed" for state in previous)
    console.print(f"{job_type}: {len(previous)} breaker(s) closed ({tripped} were open or half-open)")


@flow_app.command("changes")
def changes(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 20,
    as_json: AsJson = False,
) -> None:
    """The last changes of the configuration: who, when, before and after."""
    rows = _run(ctx, lambda repo: repo.changes(limit))
    if as_json:
        typer.echo(json.dumps([_plain(r) for r in rows], indent=2))
        return
    console.print(
        _table("Changes, newest first", rows, ["changed_at", "actor", "subject", "operation", "before", "after"])
    )
