"""Migrations: upgrade -> downgrade -> upgrade on an empty database, and the job_status
enum equals the domain's JobStatus."""

from __future__ import annotations

import asyncpg

from jobrunner.db import migrate
from jobrunner.domain.states import JobStatus


async def _tables(url: str) -> set[str]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
        )
        return {row["tablename"] for row in rows}
    finally:
        await conn.close()


async def test_upgrade_downgrade_upgrade(empty_database_url: str) -> None:
    migrate.upgrade(empty_database_url)
    first = await _tables(empty_database_url)
    assert {"jobs", "organizations", "users", "roles", "audit_logs", "customers", "quotes"} <= first
    migrate.downgrade(empty_database_url, "base")
    assert await _tables(empty_database_url) == set()
    migrate.upgrade(empty_database_url)
    assert await _tables(empty_database_url) == first


async def test_job_status_enum_matches_domain(pool: asyncpg.Pool) -> None:
    values = await pool.fetchval("SELECT enum_range(NULL::job_status)::text[]")
    assert values == [status.value for status in JobStatus]


async def test_an_organization_takes_its_audit_rows_with_it(pool: asyncpg.Pool) -> None:
    """0017 dropped the audit rows' foreign key (a per-row check on every finished job);
    deleting an organization still deletes its audit rows, and only its own."""
    await pool.execute("INSERT INTO organizations (id, name) VALUES ('org_gone', 'Gone')")
    await pool.execute(
        "INSERT INTO audit_logs (organization_id, actor, action) VALUES ('org_gone', 'system', 'job.succeeded'),"
        " ('org_acme', 'system', 'job.succeeded')"
    )
    await pool.execute("DELETE FROM organizations WHERE id = 'org_gone'")
    rows = await pool.fetch("SELECT organization_id FROM audit_logs WHERE action = 'job.succeeded'")
    assert [r["organization_id"] for r in rows] == ["org_acme"]
