"""Names of an export file: its storage key (unique per job), its human download name
(``quotes_2024-01-30.csv``) and the download path of the API."""

from __future__ import annotations

import datetime as dt
import uuid


def storage_key(job_id: uuid.UUID | str, extension: str) -> str:
    """One file per job; a retried job's new file replaces its old one."""
    return f"{uuid.UUID(str(job_id))}.{extension}"


def download_name(report_name: str, extension: str, generated_at: dt.datetime) -> str:
    return f"{report_name}_{generated_at.astimezone(dt.UTC):%Y-%m-%d}.{extension}"


def download_path(job_id: uuid.UUID | str) -> str:
    return f"/v1/exports/{job_id}/download"
