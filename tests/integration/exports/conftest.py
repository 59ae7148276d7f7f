"""Export fixtures: customers, quotes and audit entries in both demo organizations
(org_globex's rows are there to tempt isolation bugs; some org_acme values start with
formula characters), a job row to hang files on, and a processor runner."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import asyncpg
import pytest

import jobrunner.processors.export_report  # noqa: F401  (registers the processor)
from jobrunner.settings import Settings
from jobrunner.worker.context import JobContext
from jobrunner.worker.standalone import in_memory_context

FORMULA_NAMES = ['=HYPERLINK("http://x")', "+41 22 000", "-2+3", "@SUM(A1)", "\tTabbed", "\rReturn"]

SEED_SQL = """
INSERT INTO customers (organization_id, name, email, country, created_at)
SELECT 'org_acme', 'Customer ' || i || CASE WHEN i % 7 = 0 THEN ', "Quoted"' ELSE '' END,
       'c' || i || '@acme.test', 'CH', timestamptz '2024-01-01 00:00:00Z' + (i || ' days')::interval
  FROM generate_series(1, 40) i;
INSERT INTO customers (organization_id, name, email, country, created_at)
SELECT 'org_acme', n, 'formula' || ord || '@acme.test', 'DE', timestamptz '2024-03-01 12:00:00Z'
  FROM unnest($1::text[]) WITH ORDINALITY AS f(n, ord);
INSERT INTO customers (organization_id, name, email, country, created_at)
SELECT 'org_globex', 'GLOBEX SECRET ' || i, 'g' || i || '@globex.test', 'US',
       timestamptz '2024-01-01 00:00:00Z' + (i || ' days')::interval
  FROM generate_series(1, 20) i;
-- Every fourth quote is Globex's; Acme's quotes reach the formula-named customers too.
INSERT INTO quotes (organization_id, quote_number, customer_id, status, currency, subtotal, tax, total, valid_until, created_at)
SELECT c.organization_id, upper(left(c.organization_id, 5)) || '-Q' || lpad(i::text, 5, '0'),
       c.id, (ARRAY['draft','sent','accepted','rejected','expired'])[1 + i % 5],
       (ARRAY['EUR','USD','CHF'])[1 + i % 3], (i * 13.37)::numeric(14,2), (i * 1.07)::numeric(14,2),
       (i * 13.37)::numeric(14,2) + (i * 1.07)::numeric(14,2),
       date '2024-06-30' + (i % 90),
       timestamptz '2024-01-01 08:00:00.123Z' + (i || ' hours')::interval * 9
  FROM generate_series(1, 400) i
  JOIN LATERAL (SELECT id, organization_id FROM customers
                 WHERE organization_id = CASE WHEN i % 4 = 0 THEN 'org_globex' ELSE 'org_acme' END
                 ORDER BY id OFFSET i % CASE WHEN i % 4 = 0 THEN 20 ELSE 46 END LIMIT 1) c ON true;
INSERT INTO audit_logs (organization_id, user_id, actor, action, details, created_at)
SELECT CASE WHEN i % 3 = 0 THEN 'org_globex' ELSE 'org_acme' END,
       CASE WHEN i % 3 = 0 THEN 'user_globex' ELSE 'user_admin' END, 'user', 'job.created',
       jsonb_build_object('n', i, 'note', CASE WHEN i % 5 = 0 THEN '=cmd' ELSE 'ok' END),
       timestamptz '2024-02-01 00:00:00Z' + (i || ' hours')::interval
  FROM generate_series(1, 60) i;
"""

INSERT_JOB = """
INSERT INTO jobs (id, organization_id, user_id, job_type, status, payload, total_steps, locked_by, started_at)
VALUES ($1, $2, $3, 'export_report', 'running', $4, 6, 'test-worker', now())
"""


async def seed_export_data(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        # The script has one parameter (the formula names); asyncpg runs it statement by statement.
        for statement in SEED_SQL.split(";\n"):
            if statement.strip():
                args = [FORMULA_NAMES] if "$1" in statement else []
                await conn.execute(statement, *args)


@pytest.fixture
async def seeded(pool: asyncpg.Pool) -> asyncpg.Pool:
    await seed_export_data(pool)
    return pool


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", jwt_secret="unused")


@pytest.fixture
def make_context(seeded: asyncpg.Pool, settings: Settings) -> Callable:
    """Creates the job row and an in-memory context for export_report on it (run it with
    ``run_in_memory``; ``ctx.reporter.history`` is what the row would have shown)."""

    async def make(payload: dict, user_id: str = "user_admin", organization_id: str = "org_acme") -> JobContext:
        job_id = uuid.uuid4()
        await seeded.execute(INSERT_JOB, job_id, organization_id, user_id, payload)
        return in_memory_context(
            "export_report",
            job_id=job_id,
            organization_id=organization_id,
            user_id=user_id,
            payload=payload,
            pool=seeded,
            settings=settings,
        )

    return make
