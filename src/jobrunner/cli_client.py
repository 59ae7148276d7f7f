"""CLI commands that drive the HTTP API (never the database): ``jobs create|list|status|
cancel|retry|watch|download``, ``export REPORT --wait -o FILE`` with a Rich progress bar
and ``import DATASET FILE --wait``. Wherever a job id is taken, the start of one will do
(resolved among the caller's jobs through the list API; an ambiguous one is an error).

Plugged into ``jobrunner`` by cli.py (``app.add_typer(jobs_app, name="jobs")``,
``app.command("export")(export_command)``, ``app.command("import")(import_command)``);
``python -m jobrunner.cli_client`` runs them on their own. The service is ``--url`` (or JOBRUNNER_URL; default http://127.0.0.1:$PORT, the port
``make run`` serves on, 3000 unless PORT is set), the token ``--token`` or JOBRUNNER_TOKEN."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, Optional, TypeVar

import httpx
import typer
from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from jobrunner.client import (
    ApiError,
    JobIdError,
    JobrunnerClient,
    TemplateNotFound,
    explain,
    resolve_job_id,
    resolve_template,
    short_ids,
    wait_reason,
)
from jobrunner.client.board import follow_newest
from jobrunner.client.waiting import needs_activity
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
JobId = Annotated[str, typer.Argument(help="The job's id, or its first characters")]
Wide = Annotated[
    bool, typer.Option("--wide", help="Show whole job ids (by default the first 8 characters, enough to type back)")
]

jobs_app = typer.Typer(
    help="Start, list, watch, inspect, cancel, retry and download jobs through the HTTP API.", no_args_is_help=True
)
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


def call_with(
    client: type[C],
    url: str | None,
    token: str | None,
    action: str,
    work: Callable[[C], Awaitable[T]],
    thing: str = "job",
) -> T:
    """``call`` with a client class of one's own (``jobrunner admin`` uses ``AdminClient``);
    ``thing``: what a 404 says does not exist."""
    url = url or default_url()

    async def run() -> T:
        api = client(url, token)
        async with api:
            return await work(api)

    try:
        return asyncio.run(run())
    except ApiError as exc:
        errors.print(f"[red]{explain(exc, action, thing)}[/red]")
        raise typer.Exit(1) from exc
    except (JobIdError, TemplateNotFound) as exc:
        errors.print(f"[red]{escape(str(exc))}[/red]", soft_wrap=True)
        raise typer.Exit(1) from exc
    except httpx.HTTPError as exc:
        errors.print(f"[red]Could not reach the service at {url}: {exc}[/red]", soft_wrap=True)
        raise typer.Exit(1) from exc


def print_json(body: Any) -> None:
    typer.echo(json.dumps(body, indent=2))


def describe(status: dict[str, Any], waiting: str | None = None) -> None:
    """A status answer for people; ``waiting``: why the job has not started (``wait_reason``)."""
    job = status["job"]
    console.print(
        f"[bold]{job['id']}[/bold]  {job['jobType']}  [bold]{job['status']}[/bold]  {job['progress']}%"
        + (f"  step {job['currentStep']}/{job['totalSteps']}" if job.get("totalSteps") else "")
        + (f"  {escape(job['stepLabel'])}" if job.get("stepLabel") else "")
    )
    if waiting:
        console.print(f"[yellow]{escape(waiting)}[/yellow]")
    if job.get("errorMessage"):
        console.print(f"[red]{job['errorMessage']}[/red]")
    if job.get("dependsOn"):
        names = ", ".join(f"{d['as']} ({d['jobId']})" for d in job["dependsOn"])
        waiting = job.get("blockedBy", 0)
        shown = f"waiting for {waiting} of them" if job["status"] == "queued" and waiting else ""
        console.print(f"depends on {names}" + (f"  [yellow]{shown}[/yellow]" if shown else ""))
    if job.get("result"):
        console.print(f"result: {json.dumps(job['result'])}")
    console.print(
        f"retries {job['retryCount']}/{job['maxRetries']}  created {job['createdAt']}  "
        f"completed {job['completedAt'] or '-'}  canCancel={status['canCancel']}  canRetry={status['canRetry']}"
    )


@jobs_app.command("create")
def create_command(
    job_type: Annotated[Optional[str], typer.Argument(help="Job type, e.g. export_report (or --template)")] = None,
    payload: Annotated[
        Optional[str], typer.Option("--payload", help="The payload as JSON (with --template: merged over its payload)")
    ] = None,
    template: Annotated[
        Optional[str], typer.Option("--template", help="Start from this job template (its name or id)")
    ] = None,
    priority: Annotated[Optional[int], typer.Option(help="0-10, higher runs first")] = None,
    max_retries: Annotated[Optional[int], typer.Option("--max-retries", help="0-10")] = None,
    scheduled_at: Annotated[
        Optional[str], typer.Option("--scheduled-at", help="ISO 8601 time of the first run")
    ] = None,
    idempotency_key: Annotated[
        Optional[str],
        typer.Option(
            "--idempotency-key",
            help="Run the command again with the same key and arguments (within 24 h): no second job, the first id",
        ),
    ] = None,
    depends_on: Annotated[
        Optional[list[str]],
        typer.Option(
            "--depends-on",
            help="ID[:NAME]: a job (or the start of its id) that must succeed first, named NAME "
            "for the job's templates; repeat for several",
        ),
    ] = None,
    callback_url: Annotated[
        Optional[str],
        typer.Option(
            "--callback-url",
            help="POST each final state of the job here, signed (docs/webhooks.md); "
            "default: the organization's callback URL, if any",
        ),
    ] = None,
    url: Url = None,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Start a job, of a type or from a template; prints its id."""
    if (job_type is None) == (template is None):
        errors.print("[red]give a job type or --template NAME_OR_ID (one of them)[/red]")
        raise typer.Exit(2)
    if template is not None and depends_on:
        # The API takes no dependencies with a template (docs/workflows.md#templates).
        errors.print("[red]--depends-on needs a job type, not --template[/red]")
        raise typer.Exit(2)
    if template is not None and callback_url is not None:
        errors.print(
            "[red]--callback-url cannot be combined with --template: a job started from a template "
            "takes the organization's default callback URL[/red]",
            soft_wrap=True,
        )
        raise typer.Exit(2)
    body: dict[str, Any] | None = None
    if payload is not None:
        try:
            body = json.loads(payload)
        except json.JSONDecodeError as exc:
            errors.print(f"[red]--payload is not JSON: {exc}[/red]")
            raise typer.Exit(2) from exc
    options: dict[str, Any] = {
        "priority": priority,
        "max_retries": max_retries,
        "scheduled_at": scheduled_at,
        "idempotency_key": idempotency_key,
    }

    async def work(api: JobrunnerClient) -> dict[str, Any]:
        if template is None:
            assert job_type is not None
            dependencies: list[str | dict[str, str]] = []
            for item in depends_on or []:
                prefix, _, name = item.partition(":")
                job_id = await resolve_job_id(api, prefix)
                dependencies.append({"jobId": job_id, "as": name} if name else job_id)
            return await api.create_job(
                job_type,
                body if body is not None else {},
                depends_on=dependencies,
                callback_url=callback_url,
                **options,
            )
        found = await resolve_template(api, template)
        return await api.create_job_from_template(found["id"], payload=body, **options)

    answer = call(url, token, "create jobs", work)
    print_json(answer) if as_json else typer.echo(answer["jobId"])


@jobs_app.command("list")
def list_command(
    page: Annotated[int, typer.Option(min=1)] = 1,
    page_size: Annotated[int, typer.Option("--page-size", min=1, max=100)] = 25,
    status: Annotated[Optional[str], typer.Option(help="Only jobs in this state")] = None,
    job_type: Annotated[Optional[str], typer.Option("--type", help="Only jobs of this type")] = None,
    wide: Wide = False,
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
    console.print(jobs_table(answer["jobs"], wide=wide))
    console.print(f"page {answer['page']} of {answer['totalPages']} ({answer['total']} jobs)")


def jobs_table(jobs: list[dict[str, Any]], *, wide: bool) -> Table:
    """The jobs as rows. The id column is never wrapped nor cut (other columns give way),
    so what is shown can be copied back whole: a short unique prefix, or with ``wide`` the
    whole id."""
    ids = short_ids([job["id"] for job in jobs]) if not wide else {job["id"]: job["id"] for job in jobs}
    table = Table()
    table.add_column("id", no_wrap=True, min_width=max((len(i) for i in ids.values()), default=2))
    for name in ("type", "status", "progress"):
        table.add_column(name, no_wrap=True)
    table.add_column("step", overflow="ellipsis", no_wrap=True)
    table.add_column("created (UTC)", no_wrap=True)
    for job in jobs:
        table.add_row(
            ids[job["id"]],
            job["jobType"],
            job["status"],
            f"{job['progress']}%",
            job.get("stepLabel") or "",
            job["createdAt"][:16].replace("T", " "),
        )
    return table


@jobs_app.command("status")
def status_command(job_id: JobId, url: Url = None, token: Token = None, as_json: AsJson = False) -> None:
    """A job's status, progress and result; a job that has not started says why it waits."""

    async def work(api: JobrunnerClient) -> tuple[dict[str, Any], str | None]:
        answer = await api.get_status(await resolve_job_id(api, job_id))
        status = answer.status
        assert status is not None  # no If-None-Match sent: never a 304
        if as_json:
            return status, None
        return status, wait_reason(status["job"], await activity_for(api, status["job"]))

    status, waiting = call(url, token, "view jobs", work)
    print_json(status) if as_json else describe(status, waiting)


async def activity_for(api: JobrunnerClient, job: dict[str, Any]) -> dict[str, Any] | None:
    """``GET /v1/me/activity`` when the job's waiting reason depends on it; None when it
    does not, or cannot be read (the reason is then the plain "waiting for a free worker")."""
    if not needs_activity(job):
        return None
    try:
        return await api.activity()
    except (ApiError, httpx.HTTPError):
        return None


@jobs_app.command("cancel")
def cancel_command(job_id: JobId, url: Url = None, token: Token = None, as_json: AsJson = False) -> None:
    """Cancel a queued, running or retrying job."""

    async def work(api: JobrunnerClient) -> dict[str, Any]:
        return await api.cancel_job(await resolve_job_id(api, job_id))

    answer = call(url, token, "cancel this job", work)
    print_json(answer) if as_json else typer.echo(answer["message"])


@jobs_app.command("retry")
def retry_command(job_id: JobId, url: Url = None, token: Token = None, as_json: AsJson = False) -> None:
    """Retry a failed job that has retries left."""

    async def work(api: JobrunnerClient) -> dict[str, Any]:
        return await api.retry_job(await resolve_job_id(api, job_id))

    answer = call(url, token, "retry this job", work)
    print_json(answer) if as_json else typer.echo(answer["message"])


async def follow(api: JobrunnerClient, job_id: str, progress: Progress | None) -> dict[str, Any]:
    """Follows the job (pushed events, else polling) moving the bar; returns the final status."""
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

    def wait_for(job_id: str) -> dict[str, Any]:
        return wait_and_download(url, token, job_id, output or Path(f"{report_type}-{job_id[:8]}.{format}"), as_json)

    started_job(url, token, created, "export", wait_for if wait else None, as_json)


def started_job(
    url: str | None,
    token: str | None,
    created: dict[str, Any],
    kind: str,
    wait_for: Callable[[str], dict[str, Any]] | None,
    as_json: bool,
) -> None:
    """After a job was created: print its id, or follow it with ``wait_for`` (Ctrl-C asks
    whether to cancel it); exit 1 unless it succeeded."""
    job_id = created["jobId"]
    if wait_for is None:
        print_json(created) if as_json else typer.echo(job_id)
        return
    if not as_json:
        errors.print(f"{kind} started: job {job_id}")
    try:
        final = wait_for(job_id)
    except KeyboardInterrupt:
        offer_cancel(url, token, job_id)
        raise typer.Exit(130) from None
    if as_json:
        print_json(final)
    if final["job"]["status"] != JobStatus.SUCCEEDED:
        raise typer.Exit(1)


async def follow_with_bar(api: JobrunnerClient, job_id: str, quiet: bool) -> dict[str, Any]:
    """``follow`` with a progress bar on stderr (none if ``quiet``); the final status."""
    if quiet:
        return await follow(api, job_id, None)
    columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn())
    with Progress(*columns, console=errors, transient=False) as progress:
        return await follow(api, job_id, progress)


def failure_line(kind: str, job: dict[str, Any]) -> str:
    return f"[red]{kind} {job['status']}[/red]" + (
        f": {escape(job['errorMessage'])}" if job.get("errorMessage") else ""
    )


def wait_and_download(url: str | None, token: str | None, job_id: str, output: Path, quiet: bool) -> dict[str, Any]:
    async def work(api: JobrunnerClient) -> dict[str, Any]:
        final = await follow_with_bar(api, job_id, quiet)
        job = final["job"]
        if job["status"] == JobStatus.SUCCEEDED:
            size = await api.download(job["result"]["downloadUrl"], output)
            final = {**final, "file": str(output)}
            if not quiet:
                errors.print(f"[green]done[/green]: {job['result'].get('recordCount')} rows, {size} bytes -> {output}")
        elif not quiet:
            errors.print(failure_line("export", job))
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


class NoFile(Exception):
    """The job has no file to download (yet)."""


@jobs_app.command("watch")
def watch_command(
    job_id: Annotated[Optional[str], typer.Argument(help="Only this job (its id or first characters)")] = None,
    page_size: Annotated[int, typer.Option("--page-size", min=1, max=100, help="How many of my newest jobs")] = 20,
    wide: Wide = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """A live table of my newest jobs (or of one job), refreshed as they change, until none
    of them is queued, running or retrying; Ctrl-C stops watching (the jobs go on). Changes
    are pushed by the service (server-sent events); when it cannot stream, the list is
    polled. With an ID: exit 1 unless the job succeeded."""

    async def work(api: JobrunnerClient) -> list[dict[str, Any]]:
        target = await resolve_job_id(api, job_id) if job_id else None
        jobs: list[dict[str, Any]] = []
        with Live(console=console, auto_refresh=False) as live:
            if target is not None:
                async for status in api.watch(target):
                    jobs = [status["job"]]
                    live.update(jobs_table(jobs, wide=wide), refresh=True)
                return jobs
            return await follow_newest(
                api, page_size, lambda rows: live.update(jobs_table(rows, wide=wide), refresh=True)
            )

    try:
        jobs = call(url, token, "view jobs", work)
    except KeyboardInterrupt:
        raise typer.Exit(0) from None
    if job_id and jobs and jobs[0]["status"] != JobStatus.SUCCEEDED:
        raise typer.Exit(1)


@jobs_app.command("download")
def download_command(
    job_id: JobId,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Where to save the file")] = None,
    url: Url = None,
    token: Token = None,
) -> None:
    """Download a finished job's file: an export's file, or an import's rejected rows."""

    async def work(api: JobrunnerClient) -> tuple[Path, int]:
        full = await resolve_job_id(api, job_id)
        answer = await api.get_status(full)
        assert answer.status is not None  # no If-None-Match sent: never a 304
        job = answer.status["job"]
        result = job.get("result") or {}
        if job["status"] != JobStatus.SUCCEEDED:
            raise NoFile(f"Job {full} is {job['status']}: it has no file.")
        if result.get("downloadUrl"):
            link, name = result["downloadUrl"], f"{result.get('reportType')}-{full[:8]}.{result.get('format')}"
        elif result.get("rejectedRowsUrl"):
            link, name = result["rejectedRowsUrl"], f"rejected-rows-{full[:8]}.csv"
        else:
            raise NoFile(f"Job {full} ({job['jobType']}) has no file to download.")
        target = output or Path(name)
        return target, await api.download(link, target)

    try:
        target, size = call(url, token, "download this file", work)
    except NoFile as exc:
        errors.print(f"[red]{escape(str(exc))}[/red]", soft_wrap=True)
        raise typer.Exit(1) from None
    errors.print(f"{size} bytes -> {target}")


def import_command(
    dataset: Annotated[str, typer.Argument(help="customers or quotes")],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="The CSV file")],
    mode: Annotated[str, typer.Option(help="insert (existing rows are rejected) or upsert")] = "insert",
    wait: Annotated[
        bool, typer.Option("--wait/--no-wait", help="Follow the import; save rejected rows beside the file")
    ] = False,
    url: Url = None,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Import a CSV file: upload it and start the import. With --wait: a progress bar,
    then the inserted / updated / rejected counts, and the rejected rows (line, reason,
    the row) saved beside the file as FILE.rejected.csv (Ctrl-C asks whether to cancel)."""

    async def start(api: JobrunnerClient) -> dict[str, Any]:
        upload = await api.upload(file)
        payload = {"operation": "import", "dataset": dataset, "uploadId": upload["uploadId"], "mode": mode}
        return await api.create_job("data_processing", payload)

    created = call(url, token, "import data", start)
    started_job(
        url,
        token,
        created,
        "import",
        functools.partial(follow_import, url, token, file=file, quiet=as_json) if wait else None,
        as_json,
    )


def follow_import(url: str | None, token: str | None, job_id: str, *, file: Path, quiet: bool) -> dict[str, Any]:
    """Follows an import; saves its rejected rows beside ``file``; the final status."""

    async def work(api: JobrunnerClient) -> dict[str, Any]:
        final = await follow_with_bar(api, job_id, quiet)
        job = final["job"]
        result = job.get("result") or {}
        if job["status"] == JobStatus.SUCCEEDED and result.get("rejectedRowsUrl"):
            beside = file.with_name(f"{file.stem}.rejected.csv")
            await api.download(result["rejectedRowsUrl"], beside)
            final = {**final, "rejectedRowsFile": str(beside)}
        if quiet:
            return final
        if job["status"] == JobStatus.SUCCEEDED:
            errors.print(
                f"[green]done[/green]: {result.get('inserted')} inserted, {result.get('updated')} updated, "
                f"{result.get('rejected')} rejected"
                + (f" (line and reason of each -> {final['rejectedRowsFile']})" if "rejectedRowsFile" in final else "")
            )
        else:
            errors.print(failure_line("import", job))
        return final

    return call(url, token, "follow this import", work)


def standalone_app() -> typer.Typer:
    """The client commands on their own (``python -m jobrunner.cli_client``)."""
    app = typer.Typer(help="jobrunner's HTTP client commands.", no_args_is_help=True)
    app.add_typer(jobs_app, name="jobs")
    app.command("export")(export_command)
    app.command("import")(import_command)
    return app


if __name__ == "__main__":
    standalone_app()()
