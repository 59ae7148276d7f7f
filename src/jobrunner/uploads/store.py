"""Where uploads and rejected-rows files live: the upload storage (``storage.upload_storage``:
``DATA_DIR/uploads/<key>`` or ``s3://bucket/prefix/uploads/<key>``). Keys are chosen by
jobrunner (``files/<upload id>.csv``, ``rejected/<job id>.csv``), never by a client.
A worker's private working files stay on its own disk (``DATA_DIR/uploads/work``)."""

from __future__ import annotations

import uuid
from pathlib import Path

from jobrunner.settings import Settings
from jobrunner.storage import Storage, upload_storage


class UploadStore:
    def __init__(self, storage: Storage, work_root: Path) -> None:
        self.storage = storage
        self.work_root = work_root

    @classmethod
    def from_settings(cls, settings: Settings) -> UploadStore:
        return cls(upload_storage(settings), Path(settings.data_dir) / "uploads" / "work")

    def work_file(self, job_id: uuid.UUID, kind: str) -> Path:
        """A job's private working file (``work/<job id>.<kind>``): the same name in every
        attempt, so a retry overwrites what a killed attempt left behind."""
        self.work_root.mkdir(parents=True, exist_ok=True)
        return self.work_root / f"{job_id}.{kind}"


def upload_key(upload_id: uuid.UUID) -> str:
    return f"files/{upload_id}.csv"


def rejected_rows_key(job_id: uuid.UUID) -> str:
    return f"rejected/{job_id}.csv"
