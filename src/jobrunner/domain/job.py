"""A job as the engine reads it from the database: typed, instead of a driver row.

``Job.from_row`` takes any mapping (an asyncpg ``Record``, a dict): the domain does not
know the driver. The columns are those of the ``job_columns`` fragment of
db/queries/jobs.sql (what the API may show) plus the engine's ``attempts`` and
``queue_wait``; the claim reads only those the engine needs, the others keep their
defaults.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from jobrunner.domain.states import JobStatus


@dataclass(frozen=True, slots=True)
class Job:
    id: uuid.UUID
    organization_id: str
    user_id: str
    job_type: str
    status: JobStatus
    retry_count: int
    max_retries: int
    payload: dict[str, Any] = field(default_factory=dict)
    priority: int = 0
    result: Any = None
    error_message: str | None = None
    progress: int = 0
    total_steps: int | None = None
    current_step: int = 0
    step_label: str | None = None
    started_at: dt.datetime | None = None
    completed_at: dt.datetime | None = None
    scheduled_at: dt.datetime | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    attempts: int = 0  # attempts started, this one included (an engine column)
    # Seconds from when the job was due (created, or scheduled) to the start of this
    # attempt, by the database's clock (an engine column, computed by the claim).
    queue_wait: float = 0.0

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Job:
        """The job of a row that has at least the required columns (id … max_retries);
        missing optional ones take their defaults."""
        values = {name: value for name, value in row.items() if name in _FIELDS}
        values["status"] = JobStatus(values["status"])
        if values.get("payload") is None:
            values["payload"] = {}
        return cls(**values)

    @property
    def is_retry(self) -> bool:
        """This attempt is an automatic retry (it was claimed while retrying)."""
        return self.status == JobStatus.RETRYING


_FIELDS = frozenset(f.name for f in fields(Job))
