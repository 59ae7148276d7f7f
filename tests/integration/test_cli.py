"""The ``jobrunner`` command as a user runs it: migrate, demo-data, token; against a
DATABASE_URL and against the embedded PostgreSQL (whose data persists across processes)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import asyncpg

from jobrunner.auth.tokens import decode_token
from tests.conftest import JWT_SECRET
from tests.support.processes import command_env, jobrunner

TOKEN = re.compile(r"^eyJ[\w-]+\.[\w-]+\.[\w-]+$")


async def _counts(url: str) -> dict[str, int]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT organization_id, count(*) AS n FROM quotes GROUP BY organization_id ORDER BY 1")
        return {row["organization_id"]: row["n"] for row in rows}
    finally:
        await conn.close()


async def _examples(url: str) -> dict[str, object]:
    """The demo templates and schedules per organization, and how many jobs exist."""
    conn = await asyncpg.connect(url)
    try:
        templates = await conn.fetch("SELECT organization_id, name FROM job_templates ORDER BY 1, 2")
        schedules = await conn.fetch("SELECT organization_id, paused, next_run_at FROM schedules ORDER BY 1")
        return {
            "templates": [(row["organization_id"], row["name"]) for row in templates],
            "schedules": [(row["organization_id"], row["paused"], row["next_run_at"]) for row in schedules],
            "jobs": await conn.fetchval("SELECT count(*) FROM jobs"),
        }
    finally:
        await conn.close()


DEMO_EXAMPLES = {
    "templates": [
        (org, name) for org in ("org_acme", "org_globex") for name in ("All customers (Excel)", "Quotes Q4 2025 (CSV)")
    ],
    # Paused: nothing seeded starts a job by itself.
    "schedules": [("org_acme", True, None), ("org_globex", True, None)],
    "jobs": 0,
}


def test_migrate_demo_data_and_token_with_database_url(empty_database_url: str) -> None:
    env = command_env(DATABASE_URL=empty_database_url, JOBRUNNER_JWT_SECRET=JWT_SECRET)
    assert jobrunner("migrate", env=env).returncode == 0
    first = jobrunner("demo-data", "--quotes", "300", env=env)
    assert first.returncode == 0, first.stderr
    assert asyncio.run(_counts(empty_database_url)) == {"org_acme": 300, "org_globex": 300}
    assert asyncio.run(_examples(empty_database_url)) == DEMO_EXAMPLES
    # Running it again tops up to the same numbers: nothing is duplicated.
    assert jobrunner("demo-data", "--quotes", "300", env=env).returncode == 0
    assert asyncio.run(_counts(empty_database_url)) == {"org_acme": 300, "org_globex": 300}
    assert asyncio.run(_examples(empty_database_url)) == DEMO_EXAMPLES

    issued = jobrunner("token", "--user", "user_member", "--ttl", "60", env=env)
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.strip()
    assert TOKEN.match(token)
    claims = decode_token(JWT_SECRET, token, max_ttl_seconds=3600)
    assert (claims.user_id, claims.organization_id) == ("user_member", "org_acme")

    unknown = jobrunner("token", "--user", "nobody", env=env)
    assert unknown.returncode == 1
    wrong_org = jobrunner("token", "--user", "user_member", "--org", "org_globex", env=env)
    assert wrong_org.returncode == 1


def test_embedded_database_persists_across_processes(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = command_env(JOBRUNNER_DATA_DIR=str(data_dir))
    assert jobrunner("migrate", env=env).returncode == 0
    loaded = jobrunner("demo-data", "--quotes", "20", env=env)
    assert loaded.returncode == 0, loaded.stderr
    assert (data_dir / "pgdata" / "PG_VERSION").exists()
    secret = (data_dir / "jwt-secret").read_text().strip()

    # A new process finds the users the first one created, and signs with the same secret.
    issued = jobrunner("token", "--user", "user_globex", env=env)
    assert issued.returncode == 0, issued.stderr
    claims = decode_token(secret, issued.stdout.strip(), max_ttl_seconds=3600)
    assert claims.organization_id == "org_globex"
