"""CLI commands that drive the HTTP API (never the database): ``jobs create|list|status|
cancel|retry`` and ``export REPORT --wait -o FILE`` with a Rich progress bar.

Plugged into ``jobrunner`` by cli.py (``app.add_typer(jobs_app, name="jobs")`` and
``app.command("export")(export_command)``); ``python -m jobrunner.cli_client`` runs them
on their own. The service is ``--url`` (or JOBRUNNER_URL; default http://127.0.0.1:$PORT, the port
``make run`` serves on, 3000 unless PORT is set), the token ``--token`` or JOBRUNNER_TOKEN."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, Optional, TypeVar

import httpx
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from jobrunner.client import ApiError, JobrunnerClient, explain
from jobrunner.domain.states import JobStatus

Url = Annotated[
    Optional[str],
    typer.Option(
        "--url",
        envvar="JOBRUNNER_URL",
        show_default="http://127.0.0.1:$PORT, PORT default 3000",
        help="The service's base URL",
    ),
]
Token = Annotated[
    Optional[str], typer.Option("--token", envvar="JOBRUNNER_TOKEN", help="Bearer token (or JOBRUNNER_TOKEN)")
]
AsJson = Annotated[bool, typer.Option("--json", help="Print the API's JSON answer (for scripts)")]
JobId = Annotated[str, typer.Argument(help="The job's id")]

jobs_app = typer.Typer(help="Start, list, inspect, cancel and retry jobs through the HTTP API.", no_args_is_help=True)
console = Console()
errors = Console(stderr=True)
T = TypeVar("T")
C = TypeVar("C", bound=JobrunnerClient)


def default_url() -> str:
    """The service ``jobrunner run`` serves on this machine: its port setting (PORT)."""
    from pydantic import ValidationError

    from jobrunner.settings import get_settings, invalid_setting

    try:
        return f"http://127.0.0.1:{get_settings().port}"
    except ValidationError as exc:
        errors.print(
            f"[red]invalid setting {escape(invalid_setting(exc))}; or give the service's address "
            "with --url or JOBRUNNER_URL[/red]",
            soft_wrap=True,
        )
        raise typer.Exit(1) from None


def call(url: str | None, token: str | None, action: str, work: Callable[[JobrunnerClient], Awaitable[T]]) -> T:
    """Runs ``work`` with a client; API and connection errors become one plain line and exit 1."""
    return call_with(JobrunnerClient, url, token, action, work)


def call_with(client: type[C], url: str | None, token: str | None, action: str, work: Callable[[C], Awaitable[T]]) -> T:
    """``call`` with a client class of one's own (``jobrunner admin`` uses ``AdminClient``)."""
    url = url or default_url()

    async def run() -> T:
        api = client(url, token)
        async with api:
            return await work(api)

    try:
        return asyncio.run(run())
    except ApiError as exc:
        errors.print(f"[red]{explain(exc, action)}[/red]")
        raise typer.Exit(1) from exc
    except httpx.HTTPError as exc:
        errors.print(f"[red]Could not reach the service at {url}: {exc}[/red]", soft_wrap=True)
        raise typer.Exit(1) from exc


def print_json(body: Any) -> None:
    typer.echo(json.dumps(body, indent=2))


def describe(status: dict[str, Any]) -> None:
    job = status["job"]
    console.print(
        f"[bold]{job['id']}[/bold]  {job['jobType']}  [bold]{job['status']}[/bold]  {job['progress']}%"
        + (f"  step {job['currentStep']}/{job['totalSteps']}" if job.get("totalSteps") else "")
        + (f"  {job['stepLabel']}" if job.get("stepLabel") else "")
    )
    if job.get("errorMessage"):
        console.print(f"[red]{job['errorMessage']}[/red]")
    if job.get("result"):
        console.print(f"result: {json.dumps(job['result'])}")
    console.print(
        f"retries {job['retryCount']}/{job['maxRetries']}  created {job['createdAt']}  "
        f"completed {job['completedAt'] or '-'}  canCancel={status['canCancel']}  canRetry={status['canRetry']}"
    )


@jobs_app.command("create")
def create_command(
    job_type: Annotated[str, typer.Argument(help="Job type, e.g. export_report")],
    payload: Annotated[str, typer.Option("--payload", help="The payload as JSON")] = "{}",
    priority: Annotated[Optional[int], typer.Option(help="0-10, higher runs first")] = None,
    max_retries: Annotated[Optional[int], typer.Option("--max-retries", help="0-10")] = None,
    scheduled_at: Annotated[
        Optional[str], typer.Option("--scheduled-at", help="ISO 8601 time of the first run")
    ] = None,
    url: Url = None,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Start a job; prints its id."""
    try:
        body = json.loads(payload)
    except json.JSONDecodeError as exc:
        errors.print(f"[red]--payload is not JSON: {exc}[/red]")
        raise typer.Exit(2) from exc
    answer = call(
        url,
        token,
        "create jobs",
        lambda api: api.create_job(
            job_type, body, priority=priority, max_retries=max_retries, scheduled_at=scheduled_at
        ),
    )
    print_json(answer) if as_json else typer.echo(answer["jobId"])


@jobs_app.command("list")
def list_command(
    page: Annotated[int, typer.Option(min=1)] = 1,
    page_size: Annotated[int, typer.Option("--page-size", min=1, max=100)] = 25,
    status: Annotated[Optional[str], typer.Option(help="Only jobs in this state")] = None,
    job_type: Annotated[Optional[str], typer.Option("--type", help="Only jobs of this type")] = None,
    url: Url = None,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """My jobs, newest first."""
    answer = call(
        url,
        token,
        "view jobs",
        lambda api: api.list_jobs(page=page, page_size=page_size, status=status, job_type=job_type),
    )
    if as_json:
        print_json(answer)
        return
    table = Table("id", "type", "status", "progress", "step", "created")
    for job in answer["jobs"]:
        table.add_row(
            job["id"],
            job["jobType"],
            job["status"],
            f"{job['progress']}%",
            job.get("stepLabel") or "",
            job["createdAt"],
        )
    console.print(table)
    console.print(f"page {answer['page']} of {answer['totalPages']} ({answer['total']} jobs)")


@jobs_app.command("status")
def status_command(job_id: JobId, url: Url = None, token: Token = None, as_json: AsJson = False) -> None:
    """A job's status, progress and result."""
    answer = call(url, token, "view jobs", lambda api: api.get_status(job_id))
    status = answer.status
    assert status is not None  # no If-None-Match sent: never a 304
    print_json(status) if as_json else describe(status)


@jobs_app.command("cancel")
def cancel_command(job_id: JobId, url: Url = None, token: Token = None, as_json: AsJson = False) -> None:
    """Cancel a queued, running or retrying job."""
    answer = call(url, token, "cancel this job", lambda api: api.cancel_job(job_id))
    print_json(answer) if as_json else typer.echo(answer["message"])


@jobs_app.command("retry")
def retry_command(job_id: JobId, url: Url = None, token: Token = None, as_json: AsJson = False) -> None:
    """Retry a failed job that has retries left."""
    answer = call(url, token, "retry this job", lambda api: api.retry_job(job_id))
    print_json(answer) if as_json else typer.echo(answer["message"])


async def follow(api: JobrunnerClient, job_id: str, progress: Progress | None) -> dict[str, Any]:
    """Polls the job (Retry-After, If-None-Match) moving the bar; returns the final status."""
    task = progress.add_task("queued", total=100) if progress else None
    last: dict[str, Any] = {}
    async for status in api.watch(job_id):
        last = status
        job = status["job"]
        if progress is not None and task is not None:
            label = job.get("stepLabel") or job["status"]
            progress.update(task, completed=job["progress"], description=f"{job['status']}: {label}")
    return last


def export_command(
    report_type: Annotated[str, typer.Argument(help="quotes, customers or audit_log")],
    format: Annotated[str, typer.Option("--format", help="csv, json or xlsx")] = "csv",
    date_from: Annotated[Optional[str], typer.Option("--from", help="First day, YYYY-MM-DD")] = None,
    date_to: Annotated[Optional[str], typer.Option("--to", help="Last day, YYYY-MM-DD")] = None,
    priority: Annotated[Optional[int], typer.Option(help="0-10, higher runs first")] = None,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Follow the job and download the file")] = False,
    output: Annotated[
        Optional[Path], typer.Option("-o", "--output", help="Where to save the file (with --wait)")
    ] = None,
    url: Url = None,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Export a report. With --wait: a progress bar until it is done, then the file is
    downloaded (Ctrl-C asks whether to cancel the job)."""
    filters = {key: value for key, value in (("dateFrom", date_from), ("dateTo", date_to)) if value}
    payload: dict[str, Any] = {"reportType": report_type, "format": format}
    if filters:
        payload["filters"] = filters
    created = call(url, token, "start exports", lambda api: api.create_job("export_report", payload, priority=priority))
    job_id = created["jobId"]
    if not wait:
        print_json(created) if as_json else typer.echo(job_id)
        return
    if not as_json:
        errors.print(f"export started: job {job_id}")
    try:
        final = wait_and_download(url, token, job_id, output or Path(f"{report_type}-{job_id[:8]}.{format}"), as_json)
    except KeyboardInterrupt:
        offer_cancel(url, token, job_id)
        raise typer.Exit(130) from None
    if as_json:
        print_json(final)
    if final["job"]["status"] != JobStatus.SUCCEEDED:
        raise typer.Exit(1)


def wait_and_download(url: str | None, token: str | None, job_id: str, output: Path, quiet: bool) -> dict[str, Any]:
    async def work(api: JobrunnerClient) -> dict[str, Any]:
        if quiet:
            final = await follow(api, job_id, None)
        else:
            columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn())
            with Progress(*columns, console=errors, transient=False) as progress:
                final = await follow(api, job_id, progress)
        job = final["job"]
        if job["status"] == JobStatus.SUCCEEDED:
            size = await api.download(job["result"]["downloadUrl"], output)
            final = {**final, "file": str(output)}
            if not quiet:
                errors.print(f"[green]done[/green]: {job['result'].get('recordCount')} rows, {size} bytes -> {output}")
        elif not quiet:
            errors.print(
                f"[red]export {job['status']}[/red]" + (f": {job['errorMessage']}" if job.get("errorMessage") else "")
            )
        return final

    return call(url, token, "follow this export", work)


def offer_cancel(url: str | None, token: str | None, job_id: str) -> None:
    """After Ctrl-C: the job keeps running on the service unless the user cancels it."""
    errors.print()
    try:
        cancel = typer.confirm(f"Cancel job {job_id} on the service?", default=False, err=True)
    except (KeyboardInterrupt, typer.Abort):
        cancel = False
    if not cancel:
        errors.print(f"the job keeps running: jobrunner jobs status {job_id}")
        return
    answer = call(url, token, "cancel this job", lambda api: api.cancel_job(job_id))
    errors.print(answer["message"])


def standalone_app() -> typer.Typer:
    """The client commands on their own (``python -m jobrunner.cli_client``)."""
    app = typer.Typer(help="jobrunner's HTTP client commands.", no_args_is_help=True)
    app.add_typer(jobs_app, name="jobs")
    app.command("export")(export_command)
    return app


if __name__ == "__main__":
    standalone_app()()
