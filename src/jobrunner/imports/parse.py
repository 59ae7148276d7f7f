"""Reading an uploaded CSV: the header (step 1), then every row once (step 2), checked by
the dataset's row check. Good rows go to a spool of pickled batches, bad ones to the
rejected-rows file. A batch is a fixed run of ``batch_size`` records of the file, so batch
numbers are the same in every attempt (the write step's idempotency relies on it).

Any client's file is read within ``Limits``: a line (or a record whose quoted values hold
line breaks) longer than ``max_line_chars``, or a record with more than ``max_columns``
fields, stops the import with ``TooLarge``. Lines are read with a bounded ``readline``,
so even a file without a single line break never sits in memory whole. Step 2 runs in a
worker thread (``worker/offload.py``): ``parse_batches`` yields at the end of each short
slice."""

from __future__ import annotations

import csv
import pickle
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from jobrunner.imports.datasets import Check
from jobrunner.reports.formulas import neutralise
from jobrunner.worker.offload import Slicer

# Undecodable bytes survive as surrogate escapes: the row check rejects them per row
# instead of the whole file failing.
TEXT: dict[str, Any] = {"encoding": "utf-8-sig", "errors": "surrogateescape", "newline": ""}
# The C reader's own cap on one value; ``Limits.max_line_chars`` (at most this) is ours.
MAX_FIELD_CHARS = 1 << 20
csv.field_size_limit(MAX_FIELD_CHARS)

GoodRow = tuple[int, tuple[str, ...], list[str]]
"""(line number, normalized values, the row as it was)."""


@dataclass(frozen=True)
class Limits:
    max_columns: int
    max_line_chars: int


class TooLarge(ValueError):
    """The file is beyond a limit: the import cannot go on (the message is for the user)."""


class _Lines:
    """The file's lines for ``csv.reader``, each read with a bounded ``readline``; counts
    the characters read (``chars``), so a record's length is known after it is parsed."""

    def __init__(self, file: IO[str], limit: int) -> None:
        self.chars = 0
        self.line = 0
        self._file = file
        self._limit = limit

    def __iter__(self) -> Iterator[str]:
        readline, limit = self._file.readline, self._limit
        while line := readline(limit + 2):  # room for the limit and a CR LF
            self.line += 1
            if len(line) > limit and len(line.rstrip("\r\n")) > limit:
                raise TooLarge(f"line {self.line} is longer than {limit} characters")
            self.chars += len(line)
            yield line


def read_header(path: Path, limits: Limits) -> list[str] | None:
    """The first record, or None for an empty file (TooLarge beyond the limits)."""
    with open(path, **TEXT) as file:
        lines = _Lines(file, limits.max_line_chars)
        try:
            header = next(csv.reader(lines), None)
        except csv.Error:
            return None
    if header is not None:
        if lines.chars > limits.max_line_chars + 2:  # its line break is not counted
            raise TooLarge(f"the header is longer than {limits.max_line_chars} characters")
        if len(header) > limits.max_columns:
            raise TooLarge(f"the header has more than {limits.max_columns} columns")
    return header


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
        self._writer.writerow(["line", "reason", *map(neutralise, header)])

    def add(self, line: int, reason: str, fields: Sequence[str]) -> None:
        """The row as it was uploaded, each value made safe to open in a spreadsheet
        (the rule of CSV exports: ``reports/formulas.py``)."""
        self._writer.writerow([line, reason, *map(neutralise, fields)])
        self.count += 1

    def add_many(self, rows: Sequence[tuple[int, str, Sequence[str]]]) -> None:
        for line, reason, fields in rows:
            self.add(line, reason, fields)

    def close(self) -> None:
        self._file.close()


@dataclass
class Parsed:
    records: int = 0
    good: int = 0
    rejected: int = 0
    batches: int = 0


def parse_batches(
    path: Path,
    check: Check,
    batch_size: int,
    spool: IO[bytes],
    rejected: RejectedRows,
    parsed: Parsed,
    limits: Limits,
) -> Generator[None, None, None]:
    """Parse the data records (after the header), yielding at the end of each short slice
    so the caller can report progress and notice a cancel; ``parsed`` keeps the tallies.
    Raises TooLarge at the first line or record beyond ``limits``."""
    slicer = Slicer()
    with open(path, **TEXT) as file:
        lines = _Lines(file, limits.max_line_chars)
        reader = csv.reader(lines)
        try:
            next(reader)
        except (StopIteration, csv.Error):
            return
        batch: list[GoodRow] = []
        in_batch = 0
        last_line = reader.line_num
        max_chars, max_columns = limits.max_line_chars, limits.max_columns
        while True:
            line = last_line + 1
            before = lines.chars
            outcome: tuple[str, ...] | str
            try:
                fields = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                fields, outcome = [], f"malformed CSV: {exc}"
            else:
                if lines.chars - before > max_chars + 2:  # its final line break is not counted
                    raise TooLarge(f"the record at line {line} is longer than {max_chars} characters")
                if len(fields) > max_columns:
                    raise TooLarge(f"line {line} has more than {max_columns} fields")
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
            if slicer.due():
                yield
                slicer.restart()
        if in_batch:
            _dump(spool, parsed, batch)


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
