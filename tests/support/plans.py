"""The plans PostgreSQL chose for the statements inside a function call (auto_explain with
nested statements, sent back as notices), for tests that check an index is used."""

from __future__ import annotations

from typing import Any

import asyncpg


async def nested_plans(pool: asyncpg.Pool, statement: str, *args: Any, analyze: bool = False) -> tuple[list[Any], str]:
    """Run ``statement``; answers its rows and the plans of every statement it ran."""
    async with pool.acquire() as conn:
        await conn.execute("LOAD 'auto_explain'")
        await conn.execute("SET auto_explain.log_min_duration = 0")
        await conn.execute("SET auto_explain.log_nested_statements = on")
        if analyze:  # actual row counts and loops, without the timing noise
            await conn.execute("SET auto_explain.log_analyze = on")
            await conn.execute("SET auto_explain.log_timing = off")
        await conn.execute("SET client_min_messages = log")
        await conn.execute("SET auto_explain.log_level = notice")
        plans: list[str] = []
        listener = lambda _c, msg: plans.append(str(msg.message))  # noqa: E731
        conn.add_log_listener(listener)
        try:
            rows = await conn.fetch(statement, *args)
            await conn.execute("SELECT 1")  # flush notices
        finally:
            conn.remove_log_listener(listener)
            await conn.execute("RESET ALL")
    return rows, "\n".join(plans)
