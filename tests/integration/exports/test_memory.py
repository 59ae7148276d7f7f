"""Memory stays flat with row count. CSV and JSON: 200,000 quotes with a Python-allocation
peak (tracemalloc) far below the file's size, which a buffered export would hold whole.
XLSX (too slow under tracemalloc for the suite): the process's peak RSS grows by far less
than the rows it wrote would take in memory."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from tests.integration.exports.expected import export_file

BULK_QUOTES = """
INSERT INTO quotes (organization_id, quote_number, customer_id, status, currency, subtotal, tax, total, valid_until, created_at)
SELECT 'org_acme', 'M-' || i, $2, 'sent', 'EUR', round((i % 1000)::numeric / 7, 2), 1.5,
       round((i % 1000)::numeric / 7, 2) + 1.5, date '2025-01-01', timestamptz '2024-01-01Z' + (i || ' seconds')::interval
  FROM generate_series(1, $1) i
"""


async def add_quotes(pool, rows: int) -> None:
    customer = await pool.fetchval("SELECT min(id) FROM customers WHERE organization_id = 'org_acme'")
    await pool.execute(BULK_QUOTES, rows, customer)


async def write(pool, fmt: str, path: Path) -> int:
    count, _ = await export_file(pool, path, {"reportType": "quotes", "format": fmt})
    return count


@pytest.mark.parametrize("fmt", ["csv", "json"])
async def test_csv_and_json_memory_stays_flat(seeded, tmp_path, fmt) -> None:
    await add_quotes(seeded, 200_000)
    path = tmp_path / f"big.{fmt}"
    tracemalloc.start()
    try:
        count = await write(seeded, fmt, path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count > 200_000
    assert peak < 16e6 and peak < path.stat().st_size / 3, (peak, path.stat().st_size)


def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


async def test_xlsx_peak_rss_stays_flat(seeded, tmp_path) -> None:
    rows = 30_000
    await add_quotes(seeded, rows)
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM (the peak RSS)
    except OSError:
        pytest.skip("peak RSS cannot be reset here")
    before = _rss_kib("VmRSS")
    count = await write(seeded, "xlsx", tmp_path / "big.xlsx")
    growth_mb = (_rss_kib("VmHWM") - before) / 1024
    assert count > rows
    # Held in memory, 300,000 cells take well over 30 MB in XlsxWriter's cell table.
    assert growth_mb < 20, growth_mb
