"""Result models of the built-in job types: what each processor returns (validated by the
worker, ``job_type(result=...)``) and what a job's ``result`` holds in the API's answers,
so that a client generated from the OpenAPI document can narrow ``result`` by ``jobType``.

Timestamps stay the strings the processors write (``domain.schema.Timestamp``), so a
stored result is never rewritten by its model."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from jobrunner.domain.payloads import ExportFormat
from jobrunner.domain.schema import Timestamp, not_required


class ResultModel(BaseModel):
    """Strict: a key the processor did not declare fails the job rather than going unseen."""

    model_config = ConfigDict(extra="forbid")


class ExportReportResult(ResultModel):
    """``export_report``: the file made. ``downloadUrl`` is signed and fresh in each status
    answer (a plain link works in a browser); ``expiresAt``: when the file is deleted."""

    downloadUrl: str
    fileSize: Annotated[int, Field(ge=0, description="Bytes")]
    recordCount: Annotated[int, Field(ge=0)]
    generatedAt: Timestamp
    reportType: str
    format: ExportFormat
    expiresAt: Annotated[Timestamp, Field(json_schema_extra=not_required)] = None  # type: ignore[assignment]


class DataProcessingResult(ResultModel):
    """``data_processing``: what the import wrote; ``rejectedRowsUrl`` (signed, fresh in each
    status answer) when rows were rejected, else null."""

    dataset: Literal["customers", "quotes"]
    mode: Literal["insert", "upsert"]
    fileName: str | None = None  # the uploaded file's name (what the page and the CLI show)
    recordCount: int
    inserted: int
    updated: int
    rejected: int
    rejectedRowsUrl: str | None
    batches: int
    batchesResumed: int


class NotificationResult(ResultModel):
    """``notification``: how many messages went out in this attempt and before it."""

    channel: Literal["email", "webhook"]
    template: str
    recipientCount: int
    delivered: int
    alreadyDelivered: int


class CleanupResult(ResultModel):
    """``cleanup``: what was deleted (older than ``cutoff``) and the bytes freed."""

    target: Literal["exports", "jobs", "uploads", "all"]
    olderThanDays: int
    cutoff: Timestamp
    exportFilesDeleted: int
    uploadsDeleted: int
    jobsDeleted: int
    bytesFreed: int


class SyncCheckpoint(ResultModel):
    updatedAt: Timestamp
    id: int


class SyncResult(ResultModel):
    """``sync``: the batches and records pushed; ``checkpoint``: the last record pushed
    (null when nothing has been pushed yet)."""

    integration: str
    dataset: Literal["quotes", "customers"]
    batches: int
    records: int
    checkpoint: SyncCheckpoint | None
