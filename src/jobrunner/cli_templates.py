"""``jobrunner templates list|show|create|delete``: the organization's job templates over
the HTTP API (``/v1/job-templates``; changing them needs ``templates.manage_templates``).
A job starts from one with ``jobrunner jobs create --template NAME_OR_ID``. Same
``--url``/``--token`` as ``jobrunner jobs``; errors go to stderr with exit code 1."""

from __future__ import annotations

import json
from typing import Annotated, Any, Optional

import typer
from rich.markup import escape
from rich.table import Table

from jobrunner.cli_client import AsJson, Token, Url, call, console, errors, print_json
from jobrunner.client import JobrunnerClient, resolve_template

templates_app = typer.Typer(
    help="Job templates: saved job configurations of the organization; start one with "
    "`jobrunner jobs create --template NAME`.",
    no_args_is_help=True,
)
NameOrId = Annotated[str, typer.Argument(help="The template's name, or its id (or the start of it)")]


@templates_app.command("list")
def list_command(url: Url = None, token: Token = None, as_json: AsJson = False) -> None:
    """The organization's templates, by name."""

    async def work(api: JobrunnerClient) -> list[dict[str, Any]]:
        return [template async for template in api.all_templates()]

    templates = call(url, token, "view templates", work)
    if as_json:
        print_json(templates)
        return
    table = Table()
    for column in ("id", "name", "type", "priority", "payload"):
        table.add_column(column, no_wrap=column != "payload", overflow="ellipsis")
    for template in templates:
        table.add_row(
            template["id"][:8],
            escape(template["name"]),
            template["jobType"],
            str(template["priority"]),
            escape(json.dumps(template["payload"])),
        )
    console.print(table)
    console.print(f"{len(templates)} templates")


@templates_app.command("show")
def show_command(template: NameOrId, url: Url = None, token: Token = None) -> None:
    """One template, as JSON."""
    print_json(call(url, token, "view templates", lambda api: resolve_template(api, template)))


@templates_app.command("create")
def create_command(
    name: Annotated[str, typer.Argument(help="Unique in the organization")],
    job_type: Annotated[str, typer.Argument(help="Job type, e.g. export_report")],
    payload: Annotated[str, typer.Option("--payload", help="The payload as JSON")] = "{}",
    priority: Annotated[int, typer.Option(help="0-10, higher runs first")] = 0,
    max_retries: Annotated[Optional[int], typer.Option("--max-retries", help="0-10 (default: the type's)")] = None,
    url: Url = None,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Save a job configuration under a name; prints its id."""
    try:
        body = json.loads(payload)
    except json.JSONDecodeError as exc:
        errors.print(f"[red]--payload is not JSON: {exc}[/red]")
        raise typer.Exit(2) from exc
    created = call(
        url,
        token,
        "manage templates",
        lambda api: api.create_template(name, job_type, body, priority=priority, max_retries=max_retries),
    )
    print_json(created) if as_json else typer.echo(created["id"])


@templates_app.command("delete")
def delete_command(template: NameOrId, url: Url = None, token: Token = None) -> None:
    """Delete a template (jobs started from it keep naming it)."""

    async def work(api: JobrunnerClient) -> dict[str, Any]:
        found = await resolve_template(api, template)
        await api.delete_template(found["id"])
        return found

    deleted = call(url, token, "manage templates", work)
    errors.print(f"deleted template {escape(deleted['name'])} ({deleted['id']})")
