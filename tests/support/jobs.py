"""Inserting jobs straight into the database, as the API would (tests must not depend on it)."""

from __future__ import annotations

import contextlib
import importlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg

from jobrunner.domain.jobtypes import JOB_TYPES, JobType

INSERT_JOB = """
INSERT INTO jobs (organization_id, user_id, job_type, payload, priority, max_retries,
                  scheduled_at, total_steps)
VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7), $8)
RETURNING id"""


async def insert_job(
    db: asyncpg.Pool | asyncpg.Connection,
    job_type: str = "test_work",
    payload: dict[str, Any] | None = None,
    *,
    org: str = "org_acme",
    user: str = "user_admin",
    priority: int = 0,
    max_retries: int = 3,
    delay: float | None = None,
) -> uuid.UUID:
    return await db.fetchval(
        INSERT_JOB,
        org,
        user,
        job_type,
        payload or {},
        priority,
        max_retries,
        delay,
        declaration(job_type).total_steps,
    )


def declaration(name: str) -> JobType:
    """A job type's declaration; a built-in one is declared by importing its processor."""
    if name not in JOB_TYPES:
        importlib.import_module(f"jobrunner.processors.{name}")
    return JOB_TYPES[name]


@contextlib.asynccontextmanager
async def unchecked(db: Any) -> AsyncIterator[asyncpg.Connection]:
    """Test set-up only: a connection in a transaction where the state machine's trigger
    (migration 0005) lets any change of status through, to put a job straight into the
    state a worker would have left it in. The service never does this."""
    acquired = db.acquire() if hasattr(db, "acquire") else contextlib.nullcontext(db)
    async with acquired as conn, conn.transaction():
        await conn.execute("SET LOCAL jobrunner.unchecked_transitions = 'on'")
        yield conn


async def execute_unchecked(db: Any, statement: str, *args: Any) -> str:
    """One set-up statement run through ``unchecked``."""
    async with unchecked(db) as conn:
        return await conn.execute(statement, *args)


async def add_organizations(db: asyncpg.Pool | asyncpg.Connection, count: int, prefix: str = "org_t") -> list[str]:
    """Organizations ``{prefix}{i}``, each with a user ``user_{prefix}{i}``."""
    orgs = [f"{prefix}{i}" for i in range(count)]
    await db.execute("INSERT INTO organizations (id, name) SELECT o, o FROM unnest($1::text[]) o", orgs)
    await db.execute(
        "INSERT INTO users (id, email, display_name) SELECT 'user_' || o, o || '@example.com', o FROM unnest($1::text[]) o",
        orgs,
    )
    await db.execute(
        "INSERT INTO organization_members (organization_id, user_id) SELECT o, 'user_' || o FROM unnest($1::text[]) o",
        orgs,
    )
    return orgs


async def job(db: asyncpg.Pool | asyncpg.Connection, job_id: uuid.UUID) -> asyncpg.Record:
    return await db.fetchrow("SELECT * FROM jobs WHERE id = $1", job_id)
