"""``jobrunner schedules list|create|pause|resume|delete``: recurring schedules over the
HTTP API (``/v1/schedules``, permission ``schedules.manage_schedules``; docs/workflows.md).
Same ``--url``/``--token`` as ``jobrunner jobs``; errors go to stderr with exit code 1. A
schedule id may be shortened to its first characters."""

from __future__ import annotations

import json
from typing import Annotated, Any, Optional

import typer
from rich.markup import escape
from rich.table import Table

from jobrunner.cli_client import AsJson, Token, Url, call_with, console, errors, print_json
from jobrunner.client import short_ids
from jobrunner.client.schedules import ScheduleClient

schedules_app = typer.Typer(
    help="Recurring schedules: list them with their next run, create, pause, resume, delete "
    "(needs schedules.manage_schedules).",
    no_args_is_help=True,
)

ScheduleId = Annotated[str, typer.Argument(help="The schedule's id, or its first characters")]
ACTION = "manage schedules"


def _call(url: str | None, token: str | None, work: Any) -> Any:
    return call_with(ScheduleClient, url, token, ACTION, work, thing="schedule")


@schedules_app.command("list")
def list_command(
    page: Annotated[int, typer.Option(min=1)] = 1,
    page_size: Annotated[int, typer.Option("--page-size", min=1, max=100)] = 25,
    wide: Annotated[bool, typer.Option("--wide", help="Show whole ids")] = False,
    url: Url = None,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """The organization's schedules, newest first, with their next run."""
    answer = _call(url, token, lambda api: api.list_schedules(page=page, page_size=page_size))
    if as_json:
        print_json(answer)
        return
    ids = [s["id"] for s in answer["schedules"]]
    shown = {i: i for i in ids} if wide else short_ids(ids)
    table = Table("id", "cron", "zone", "type", "owner", "next run", "last run", "last error")
    for s in answer["schedules"]:
        table.add_row(
            shown[s["id"]],
            s["cron"],
            s["timezone"],
            s["jobType"],
            s["userId"],
            "paused" if s["paused"] else s["nextRunAt"],
            s["lastRunAt"] or "-",
            escape(s["lastError"] or ""),
        )
    console.print(table)
    console.print(f"page {answer['page']} of {max(answer['totalPages'], 1)} ({answer['total']} schedules)")


@schedules_app.command("create")
def create_command(
    job_type: Annotated[str, typer.Argument(help="Job type, e.g. export_report")],
    cron: Annotated[str, typer.Option("--cron", help="Cron expression, e.g. '0 6 * * 1' (Mondays at 6:00)")],
    timezone: Annotated[str, typer.Option("--timezone", help="IANA time zone, e.g. Europe/Paris")] = "UTC",
    payload: Annotated[str, typer.Option("--payload", help="The jobs' payload as JSON")] = "{}",
    priority: Annotated[Optional[int], typer.Option(help="0-10, higher runs first")] = None,
    max_retries: Annotated[Optional[int], typer.Option("--max-retries", help="0-10")] = None,
    misfire: Annotated[
        Optional[str], typer.Option("--misfire", help="run_once (default: one job on recovery) or skip")
    ] = None,
    overlap: Annotated[
        Optional[str], typer.Option("--overlap", help="allow (default) or skip (while the last job is active)")
    ] = None,
    paused: Annotated[bool, typer.Option("--paused", help="Create it paused")] = False,
    url: Url = None,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Create a schedule; prints its id and next run."""
    try:
        body_payload = json.loads(payload)
    except json.JSONDecodeError as exc:
        errors.print(f"[red]--payload is not JSON: {exc}[/red]")
        raise typer.Exit(2) from exc
    body: dict[str, Any] = {"cron": cron, "timezone": timezone, "jobType": job_type, "payload": body_payload}
    optional = {"priority": priority, "maxRetries": max_retries, "misfirePolicy": misfire, "overlap": overlap}
    body.update({key: value for key, value in optional.items() if value is not None})
    if paused:
        body["paused"] = True
    answer = _call(url, token, lambda api: api.create_schedule(body))
    if as_json:
        print_json(answer)
        return
    typer.echo(f"{answer['id']}  next run {answer['nextRunAt'] or '- (paused)'}")


def _set_paused(schedule_id: str, paused: bool, url: str | None, token: str | None, as_json: bool) -> None:
    async def work(api: ScheduleClient) -> dict[str, Any]:
        return await api.update_schedule(await api.resolve_schedule_id(schedule_id), {"paused": paused})

    answer = _call(url, token, work)
    if as_json:
        print_json(answer)
    elif paused:
        typer.echo(f"{answer['id']} paused")
    else:
        typer.echo(f"{answer['id']} resumed; next run {answer['nextRunAt']}")


@schedules_app.command("pause")
def pause_command(schedule_id: ScheduleId, url: Url = None, token: Token = None, as_json: AsJson = False) -> None:
    """Pause a schedule: no firing until it is resumed."""
    _set_paused(schedule_id, True, url, token, as_json)


@schedules_app.command("resume")
def resume_command(schedule_id: ScheduleId, url: Url = None, token: Token = None, as_json: AsJson = False) -> None:
    """Resume a paused schedule from now on (firings missed while paused are not made up)."""
    _set_paused(schedule_id, False, url, token, as_json)


@schedules_app.command("delete")
def delete_command(schedule_id: ScheduleId, url: Url = None, token: Token = None) -> None:
    """Delete a schedule (the jobs it made stay)."""

    async def work(api: ScheduleClient) -> str:
        full = await api.resolve_schedule_id(schedule_id)
        await api.delete_schedule(full)
        return full

    typer.echo(f"{_call(url, token, work)} deleted")
