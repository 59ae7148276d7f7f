"""Naming a job template the way people do: by its name, or by its id (or the start of
it, as the CLI shows ids)."""

from __future__ import annotations

from typing import Any

from jobrunner.client.http import JobrunnerClient


class TemplateNotFound(Exception):
    """No template, or more than one, answers to what was given."""


async def resolve_template(api: JobrunnerClient, name_or_id: str) -> dict[str, Any]:
    """The organization's template whose name is ``name_or_id`` exactly, else the one whose
    id is or starts with it (at least 4 characters)."""
    templates = [template async for template in api.all_templates()]
    for template in templates:
        if template["name"] == name_or_id:
            return template
    wanted = name_or_id.lower()
    matches = [t for t in templates if len(wanted) >= 4 and t["id"].startswith(wanted)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise TemplateNotFound(f"{len(matches)} templates have an id starting with {name_or_id!r}; give more of it")
    raise TemplateNotFound(f"no template named {name_or_id!r} (nor with such an id): see `jobrunner templates list`")
