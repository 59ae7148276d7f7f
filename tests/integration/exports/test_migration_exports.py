"""Revision 0002 (export_files) goes down to 0001 and up again."""

from __future__ import annotations

import asyncpg

from jobrunner.db import migrate


async def _has_export_files(url: str) -> bool:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval("SELECT to_regclass('public.export_files') IS NOT NULL")
    finally:
        await conn.close()


async def test_0002_down_and_up(empty_database_url: str) -> None:
    migrate.upgrade(empty_database_url, "0002")
    assert await _has_export_files(empty_database_url)
    migrate.downgrade(empty_database_url, "0001")
    assert not await _has_export_files(empty_database_url)
    migrate.upgrade(empty_database_url, "head")
    assert await _has_export_files(empty_database_url)
