"""Step 3 of an import: the spool's batches written to the dataset's table, each batch in
one transaction with its marker (``import_batches``). A batch already marked by an
earlier attempt is not written again; its counts and the rows the database refused then
come from the marker."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from jobrunner.db.sql import Q
from jobrunner.imports.datasets import Dataset
from jobrunner.imports.parse import GoodRow, RejectedRows, read_spool

EXISTS = {
    "customers": "a customer with this email already exists",
    "quotes": "a quote with this quote_number already exists",
}
UNKNOWN_CUSTOMER = "customer_email names no customer of the organization"


@dataclass(frozen=True)
class Statements:
    temp: str
    insert: str
    upsert: str
    table: str
    unknown_references: str | None = None


STATEMENTS = {
    "customers": Statements(
        Q.import_customers_temp, Q.import_customers_insert, Q.import_customers_upsert, "import_customers"
    ),
    "quotes": Statements(
        Q.import_quotes_temp,
        Q.import_quotes_insert,
        Q.import_quotes_upsert,
        "import_quotes",
        Q.import_quotes_unknown_customers,
    ),
}


@dataclass
class Written:
    inserted: int = 0
    updated: int = 0
    rows: int = 0
    batches_skipped: int = 0
    markers: dict[int, asyncpg.Record] = field(default_factory=dict)


def collapse_duplicates(
    rows: list[GoodRow], key_at: int, mode: str, rejected: RejectedRows, dataset: str
) -> tuple[list[GoodRow], int]:
    """A key repeated within the batch: in insert mode the later rows are rejected; in
    upsert mode the last row wins and the earlier ones count as updated (as if written
    one after the other). Returns the rows to write and that count."""
    seen: dict[str, int] = {}
    for index, row in enumerate(rows):
        key = row[1][key_at]
        if key in seen and mode == "insert":
            rejected.add(row[0], f"{EXISTS[dataset]} (line {rows[seen[key]][0]} of this file)", row[2])
            continue
        seen[key] = index
    if len(seen) == len(rows):
        return rows, 0
    kept = sorted(seen.values())
    superseded = len(rows) - len(kept) if mode == "upsert" else 0
    return [rows[i] for i in kept], superseded


@dataclass
class _Batch:
    """One spool batch, ready to write: read and de-duplicated in a worker thread."""

    batch_no: int
    size: int
    rows: list[GoodRow]
    superseded: int


def _next_batch(
    spool: Iterator[tuple[int, list[GoodRow]]], key_at: int, mode: str, rejected: RejectedRows, dataset: str
) -> _Batch | None:
    item = next(spool, None)
    if item is None:
        return None
    batch_no, batch = item
    rows, superseded = collapse_duplicates(batch, key_at, mode, rejected, dataset)
    return _Batch(batch_no, len(batch), rows, superseded)


async def write_batches(
    conn: asyncpg.Connection,
    *,
    job_id: uuid.UUID,
    organization_id: str,
    dataset: Dataset,
    mode: str,
    spool: Path,
    rejected: RejectedRows,
    report: Callable[[int], Awaitable[None]],
) -> Written:
    """The CPU-bound parts (unpickling a batch, its duplicates, the rejected rows it
    adds) run in a worker thread, one batch at a time; the loop only talks to PostgreSQL."""
    statements = STATEMENTS[dataset.name]
    key_at = dataset.columns.index(dataset.key)
    written = Written(markers={r["batch_no"]: r for r in await conn.fetch(Q.import_batches_of_job, job_id)})
    batches = read_spool(spool)  # closed when dropped (a cancelled thread may still hold it)
    while batch := await asyncio.to_thread(_next_batch, batches, key_at, mode, rejected, dataset.name):
        rows = batch.rows
        marker = written.markers.get(batch.batch_no)
        if marker is not None:
            inserted, updated, refused = marker["inserted"], marker["updated"], marker["rejections"]
            written.batches_skipped += 1
        elif rows:
            async with conn.transaction():
                inserted, updated, refused = await _write_batch(
                    conn, statements, organization_id, mode, rows, dataset.name, key_at
                )
                updated += batch.superseded
                await conn.execute(Q.record_import_batch, job_id, batch.batch_no, inserted, updated, refused)
        else:
            inserted, updated, refused = 0, batch.superseded, []
        if refused:
            originals = {row[0]: row[2] for row in rows}
            await asyncio.to_thread(rejected.add_many, [(line, reason, originals[line]) for line, reason in refused])
        written.inserted += inserted
        written.updated += updated
        written.rows += batch.size
        await report(written.rows)
    return written


async def _write_batch(
    conn: asyncpg.Connection,
    statements: Statements,
    organization_id: str,
    mode: str,
    rows: list[GoodRow],
    dataset: str,
    key_at: int,
) -> tuple[int, int, list[list]]:
    """One batch, inside the caller's transaction: (inserted, updated, [[line, reason]] refused)."""
    await conn.execute(statements.temp)
    await conn.copy_records_to_table(statements.table, records=[(row[0], *row[1]) for row in rows])
    refused: list[list] = []
    unknown: set[int] = set()
    if statements.unknown_references:
        unknown = {r["line"] for r in await conn.fetch(statements.unknown_references, organization_id)}
        refused = [[line, UNKNOWN_CUSTOMER] for line in sorted(unknown)]
    if mode == "insert":
        keys = {r[0] for r in await conn.fetch(statements.insert, organization_id)}
        inserted, updated = len(keys), 0
    else:
        results = await conn.fetch(statements.upsert, organization_id)
        keys = {r[0] for r in results}
        inserted = sum(1 for r in results if r["inserted"])
        updated = len(results) - inserted
    refused += [[row[0], EXISTS[dataset]] for row in rows if row[0] not in unknown and row[1][key_at] not in keys]
    return inserted, updated, refused
