"""``jobrunner admin jobs|show|retry|cancel|queue|workers``: the operations console's
operations over the HTTP API (``/v1/admin``, permission ``jobs.manage_jobs``). Same
``--url``/``--token`` as ``jobrunner jobs``; errors go to stderr with exit code 1."""

from __future__ import annotations

import json
from typing import Annotated, Any, Optional

import typer
from rich.markup import escape
from rich.table import Table

from jobrunner.cli_client import AsJson, Token, Url, call_with, console, errors, print_json
from jobrunner.client.admin import AdminClient

admin_app = typer.Typer(
    help="The operations console from the terminal: every job of the organization, bulk cancel "
    "and retry, retry anyway, the queue, the workers (needs jobs.manage_jobs).",
    no_args_is_help=True,
)

JobIds = Annotated[Optional[list[str]], typer.Argument(help="Job ids (or use the filter options)", show_default=False)]
Id = Annotated[Optional[str], typer.Option("--id", help="A job id or its first hex digits")]
User = Annotated[Optional[str], typer.Option("--user", help="Jobs created by this user id")]
JobType = Annotated[Optional[str], typer.Option("--type", help="Jobs of this type")]
Status = Annotated[Optional[list[str]], typer.Option("--status", help="In this state (repeat for several)")]
Since = Annotated[Optional[str], typer.Option("--since", help="Created at or after (ISO 8601)")]
Until = Annotated[Optional[str], typer.Option("--until", help="Created before (ISO 8601)")]


def _filter(
    id: str | None,
    user: str | None,
    job_type: str | None,
    status: list[str] | None,
    since: str | None,
    until: str | None,
) -> dict[str, Any]:
    return {
        "id": id,
        "userId": user,
        "jobType": job_type,
        "status": status,
        "createdFrom": since,
        "createdTo": until,
    }


@admin_app.command("jobs")
def jobs_command(
    id: Id = None,
    user: User = None,
    job_type: JobType = None,
    status: Status = None,
    since: Since = None,
    until: Until = None,
    page: Annotated[int, typer.Option(min=1)] = 1,
    page_size: Annotated[int, typer.Option("--page-size", min=1, max=100)] = 25,
    url: Url = None,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Every job of the organization, newest first, with search."""
    answer = call_with(
        AdminClient,
        url,
        token,
        "manage jobs",
        lambda api: api.list_admin_jobs(
            page=page,
            page_size=page_size,
            id=id,
            user_id=user,
            job_type=job_type,
            status=status,
            created_from=since,
            created_to=until,
        ),
    )
    if as_json:
        print_json(answer)
        return
    table = Table("id", "user", "type", "status", "retries", "created", "error")
    for job in answer["jobs"]:
        table.add_row(
            job["id"],
            job["userId"],
            job["jobType"],
            job["status"],
            f"{job['retryCount']}/{job['maxRetries']}",
            job["createdAt"],
            escape(job["errorMessage"] or ""),
        )
    console.print(table)
    more = "more than " if answer["totalCapped"] else ""
    console.print(f"page {answer['page']} of {max(answer['totalPages'], 1)} ({more}{answer['total']} jobs)")


@admin_app.command("show")
def show_command(
    job_id: Annotated[str, typer.Argument(help="The job's id")],
    url: Url = None,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """One job: payload, result, and its history from the audit log."""
    answer = call_with(AdminClient, url, token, "manage jobs", lambda api: api.get_admin_job(job_id))
    if as_json:
        print_json(answer)
        return
    job = answer["job"]
    console.print(f"[bold]{job['id']}[/bold]  {job['jobType']}  [bold]{job['status']}[/bold]  by {job['userId']}")
    console.print(f"retries {job['retryCount']}/{job['maxRetries']}  attempts {answer['attempts']}")
    if job["errorMessage"]:
        console.print(f"[red]{escape(job['errorMessage'])}[/red]")
    console.print(f"payload: {escape(json.dumps(job['payload']))}")
    if job["result"] is not None:
        console.print(f"result: {escape(json.dumps(job['result']))}")
    for entry in answer["history"]:
        who = entry["userName"] or entry["userId"] or entry["actor"]
        console.print(f"  {entry['at']}  {entry['action']}  {escape(who)}  {escape(json.dumps(entry['details']))}")


def _bulk(action: str, job_ids: list[str] | None, where: dict[str, Any], url, token, as_json: bool) -> None:
    if not job_ids and not any(where.values()):
        errors.print("[red]name jobs: ids, or at least one filter option (--status, --type, ...)[/red]")
        raise typer.Exit(2)
    answer = call_with(
        AdminClient,
        url,
        token,
        f"{action} jobs",
        lambda api: api.bulk(action, job_ids=job_ids, **where),
    )
    print_json(answer) if as_json else typer.echo(answer["message"])


def _bulk_command(action: str, doc: str) -> None:
    """``jobrunner admin cancel|retry``: the same options, one action each."""

    def command(
        job_ids: JobIds = None,
        id: Id = None,
        user: User = None,
        job_type: JobType = None,
        status: Status = None,
        since: Since = None,
        until: Until = None,
        url: Url = None,
        token: Token = None,
        as_json: AsJson = False,
    ) -> None:
        _bulk(action, job_ids, _filter(id, user, job_type, status, since, until), url, token, as_json)

    command.__doc__ = doc
    admin_app.command(action)(command)


_bulk_command("cancel", "Cancel jobs by id, or every cancellable job a filter names (at most 1000 per call).")
_bulk_command(
    "retry",
    "Retry anyway: failed jobs back to the queue with a fresh retry budget, retries left or not, "
    "by id or by filter (at most 1000 per call).",
)


@admin_app.command("queue")
def queue_command(url: Url = None, token: Token = None, as_json: AsJson = False) -> None:
    """The organization's live queue: running vs its limit, waiting by type, the last hour."""
    answer = call_with(AdminClient, url, token, "manage jobs", lambda api: api.queue())
    if as_json:
        print_json(answer)
        return
    console.print(f"running {answer['running']} of {answer['maxRunning']}")
    oldest = answer["oldestWaitingSeconds"]
    console.print(f"oldest waiting: {f'{oldest:.0f} s' if oldest is not None else '-'}")
    table = Table("type", "due", "scheduled")
    for row in answer["waiting"]:
        table.add_row(row["jobType"], str(row["due"]), str(row["scheduled"]))
    console.print(table)
    succeeded = sum(b["succeeded"] for b in answer["lastHour"])
    failed = sum(b["failed"] for b in answer["lastHour"])
    console.print(f"last hour: {succeeded} succeeded, {failed} failed")


@admin_app.command("workers")
def workers_command(url: Url = None, token: Token = None, as_json: AsJson = False) -> None:
    """The worker processes: host, pid, slots in use, last heartbeat."""
    answer = call_with(AdminClient, url, token, "manage jobs", lambda api: api.workers())
    if as_json:
        print_json(answer)
        return
    table = Table("host", "pid", "slots in use", "ours", "last heartbeat", "id")
    for w in answer["workers"]:
        age = f"{w['heartbeatAgeSeconds']:.0f} s ago" + (" (stale)" if w["stale"] else "")
        table.add_row(
            w["hostname"],
            str(w["pid"]),
            f"{w['slotsInUse']}/{w['slots']}",
            str(w["slotsInUseByOrganization"]),
            age,
            w["id"],
        )
    console.print(table)
