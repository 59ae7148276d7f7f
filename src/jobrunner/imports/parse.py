"""Reading an uploaded CSV: the header (step 1), then every row once (step 2), checked by
the dataset's row check. Good rows go to a spool of pickled batches, bad ones to the
rejected-rows file. A batch is a fixed run of ``batch_size`` records of the file, so batch
numbers are the same in every attempt (the write step's idempotency relies on it)."""

from __future__ import annotations

import csv
import pickle
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from jobrunner.imports.datasets import Check

# Undecodable bytes survive as surrogate escapes: the row check rejects them per row
# instead of the whole file failing.
TEXT = {"encoding": "utf-8-sig", "errors": "surrogateescape", "newline": ""}
csv.field_size_limit(1 << 20)

GoodRow = tuple[int, tuple[str, ...], list[str]]
"""(line number, normalized values, the row as it was)."""


def read_header(path: Path) -> list[str] | None:
    """The first record, or None for an empty file."""
    with open(path, **TEXT) as file:
        try:
            return next(csv.reader(file), None)
        except csv.Error:
            return None


def count_records_estimate(path: Path) -> int:
    """Line breaks in the file: the number of records when no field spans lines (progress)."""
    count = 0
    with open(path, "rb") as file:
        while chunk := file.read(1 << 20):
            count += chunk.count(b"\n")
    return max(count, 1)


class RejectedRows:
    """The rejected-rows CSV: ``line``, ``reason``, then the row's own columns."""

    def __init__(self, path: Path, header: Sequence[str]) -> None:
        self.path = path
        self.count = 0
        self._file: IO[str] = open(path, "w", encoding="utf-8", errors="surrogateescape", newline="")  # noqa: SIM115
        self._writer = csv.writer(self._file)
        self._writer.writerow(["line", "reason", *header])

    def add(self, line: int, reason: str, fields: Sequence[str]) -> None:
        self._writer.writerow([line, reason, *fields])
        self.count += 1

    def close(self) -> None:
        self._file.close()


@dataclass
class Parsed:
    records: int = 0
    good: int = 0
    rejected: int = 0
    batches: int = 0


def parse_batches(
    path: Path, check: Check, batch_size: int, spool: IO[bytes], rejected: RejectedRows, parsed: Parsed
) -> Iterator[None]:
    """Parse the data records (after the header), yielding after each batch so the caller
    can report progress and notice a cancel; ``parsed`` keeps the tallies."""
    with open(path, **TEXT) as file:
        reader = csv.reader(file)
        try:
            next(reader)
        except (StopIteration, csv.Error):
            return
        batch: list[GoodRow] = []
        in_batch = 0
        last_line = reader.line_num
        while True:
            line = last_line + 1
            try:
                fields = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                fields, outcome = [], f"malformed CSV: {exc}"
            else:
                if not fields:  # a blank line is no record
                    last_line = reader.line_num
                    continue
                outcome = check(fields)
            last_line = reader.line_num
            parsed.records += 1
            in_batch += 1
            if isinstance(outcome, str):
                rejected.add(line, outcome, fields)
                parsed.rejected += 1
            else:
                batch.append((line, outcome, fields))
                parsed.good += 1
            if in_batch == batch_size:
                _dump(spool, parsed, batch)
                batch, in_batch = [], 0
                yield
        if in_batch:
            _dump(spool, parsed, batch)
            yield


def _dump(spool: IO[bytes], parsed: Parsed, batch: list[GoodRow]) -> None:
    pickle.dump((parsed.batches, batch), spool, protocol=pickle.HIGHEST_PROTOCOL)
    parsed.batches += 1


def read_spool(path: Path) -> Iterator[tuple[int, list[GoodRow]]]:
    """The batches step 2 wrote (a file this job wrote itself, never a client's)."""
    with open(path, "rb") as file:
        while True:
            try:
                item: Any = pickle.load(file)
            except EOFError:
                return
            yield item
