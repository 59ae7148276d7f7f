"""What every writer shares: how it reports rows written, and its file type."""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from jobrunner.reports.validation import ExportRequest
from jobrunner.storage.base import PendingFile

# Rows fetched per round trip by the cursor-based writer (JSON).
BATCH_ROWS = 5000


# Past this share of the estimate the bar slows down instead of stopping: an estimate too
# low never leaves the bar standing still, one too high ends with a small jump.
ESTIMATE_KNEE = 0.9


def estimated_fraction(written: int, total: int) -> float:
    """How far ``written`` rows are through an estimated ``total``: ``written / total`` up
    to ``ESTIMATE_KNEE``, then closer and closer to 1.0 without reaching it."""
    if total <= 0:
        return 1.0
    share = written / total
    if share <= ESTIMATE_KNEE:
        return share
    over = (share - ESTIMATE_KNEE) / (1.0 - ESTIMATE_KNEE)
    return ESTIMATE_KNEE + (1.0 - ESTIMATE_KNEE) * over / (1.0 + over)


@dataclass
class RowProgress:
    """Told how many rows are written so far; checks for cancellation and reports the
    fraction of the expected ``total`` (an estimate) that is written."""

    total: int
    report: Callable[[float], Awaitable[None]]
    check_cancelled: Callable[[], None] = lambda: None

    async def rows(self, written: int) -> None:
        self.check_cancelled()
        await self.report(estimated_fraction(written, self.total))


class Writer(abc.ABC):
    """Writes one report into a pending file (``Writer.into``): ``write_rows`` streams the
    rows (memory stays flat), ``finish`` completes the file (closing brackets, the
    workbook's zip). Writers that produce bytes in order (CSV, JSON) send them to
    ``out.write``, straight to storage; one whose library needs a file (XLSX) writes
    ``path``, which storage takes on commit."""

    format: str
    extension: str
    content_type: str

    def __init__(self, path: Path) -> None:
        self.path = path
        self.pending: PendingFile | None = None

    @classmethod
    def into(cls, pending: PendingFile) -> Writer:
        writer = cls(pending.path)
        writer.pending = pending
        return writer

    @property
    def out(self) -> PendingFile:
        if self.pending is None:
            raise RuntimeError("a streaming writer writes into a pending file: Writer.into(pending)")
        return self.pending

    @abc.abstractmethod
    async def write_rows(self, conn: asyncpg.Connection, request: ExportRequest, progress: RowProgress) -> int:
        """Write every row; return how many were written."""

    async def finish(self) -> None:
        """Complete the file after the last row (nothing to do by default)."""

    async def close(self) -> None:
        """Release what the writer holds, finished or not (called on every path)."""
