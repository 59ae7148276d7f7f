"""The status poll stays a primary-key lookup, whatever plan PostgreSQL caches for the
prepared statement (asyncpg prepares every statement; after five runs PostgreSQL may
switch to a generic plan)."""

from __future__ import annotations

import uuid

import asyncpg

from jobrunner.db.sql import Q


async def test_status_query_uses_the_primary_key_in_its_generic_plan(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        # Many jobs of one owner: a plan walking the owner's index would have to filter them.
        await conn.execute(
            "INSERT INTO jobs (organization_id, user_id, job_type, payload) "
            "SELECT 'org_acme', 'user_admin', 'export_report', '{}' FROM generate_series(1, 1000)"
        )
        await conn.execute("SET plan_cache_mode = force_generic_plan")
        await conn.execute(f"PREPARE status_poll(text, text, text, uuid) AS {Q.job_with_access}")
        plan = "\n".join(
            row[0]
            for row in await conn.fetch(
                f"EXPLAIN EXECUTE status_poll('org_acme', 'user_admin', 'jobs.view_jobs', '{uuid.uuid4()}')"
            )
        )
        await conn.execute("DEALLOCATE status_poll; RESET plan_cache_mode")
    assert "jobs_pkey" in plan, plan
    assert "jobs_owner_created_idx" not in plan, plan
