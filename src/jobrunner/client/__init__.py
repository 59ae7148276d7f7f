"""A small async HTTP client for the jobrunner API (httpx), used by the CLI and usable
from any Python program: ``async with JobrunnerClient(url, token) as api: ...``."""

from jobrunner.client.errors import ApiError, explain
from jobrunner.client.events import PushUnavailable
from jobrunner.client.http import FINAL_STATES, JobrunnerClient, StatusAnswer
from jobrunner.client.ids import SHORT_ID, JobIdError, resolve_job_id, short_ids
from jobrunner.client.templates import TemplateNotFound, resolve_template
from jobrunner.client.waiting import wait_reason

__all__ = [
    "ApiError",
    "FINAL_STATES",
    "SHORT_ID",
    "JobIdError",
    "JobrunnerClient",
    "PushUnavailable",
    "StatusAnswer",
    "TemplateNotFound",
    "explain",
    "resolve_job_id",
    "resolve_template",
    "short_ids",
    "wait_reason",
]
