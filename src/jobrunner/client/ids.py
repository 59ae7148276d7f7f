"""Job ids as people type them: a full id, or the start of one (``3f2a91c0``), resolved
through the list API among the caller's own jobs; and the shortest prefixes that tell a
list of jobs apart, for display."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from jobrunner.client.http import JobrunnerClient

SHORT_ID = 8  # characters of an id shown by default (and enough to type back)


class JobIdError(Exception):
    """A prefix that names no job or several; the message says which."""


def _full(text: str) -> str | None:
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return None


async def resolve_job_id(api: JobrunnerClient, text: str) -> str:
    """The full id of the caller's job whose id is ``text`` or starts with it."""
    full = _full(text.strip())
    if full is not None:
        return full
    prefix = text.strip().lower()
    if not prefix or any(c not in "0123456789abcdef-" for c in prefix):
        raise JobIdError(f"{text!r} is not a job id or the start of one")
    matches = [job["id"] async for job in api.all_jobs() if job["id"].startswith(prefix)]
    if not matches:
        raise JobIdError(f"No job of yours has an id starting with {prefix!r}.")
    if len(matches) > 1:
        shown = ", ".join(matches[:5]) + (", ..." if len(matches) > 5 else "")
        raise JobIdError(f"{prefix!r} is ambiguous: {len(matches)} of your jobs start with it ({shown}).")
    return matches[0]


def short_ids(ids: Sequence[str], minimum: int = SHORT_ID) -> dict[str, str]:
    """Each id cut to the shortest length (at least ``minimum``) at which the ids shown
    are told apart."""
    length = minimum
    while length < 36 and len({i[:length] for i in ids}) < len(set(ids)):
        length += 1
    return {i: i[:length] for i in ids}
