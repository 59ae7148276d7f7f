"""Flow control's database access (queries/flow.sql): tiers, caps, rate limits and circuit
breakers (migration 0014). Every change runs in a transaction that names its actor, so the
audit trigger's ``flow_changes`` row says who made it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg

from jobrunner.db.errors import DRIVER_ERRORS, translate
from jobrunner.db.sql import Q
from jobrunner.domain.errors import InvalidInput

T = TypeVar("T")


class FlowRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    # -- reading ------------------------------------------------------------------------

    async def tiers(self) -> list[asyncpg.Record]:
        return await self._read(lambda c: c.fetch(Q.flow_tiers))

    async def organization_tiers(self) -> list[asyncpg.Record]:
        return await self._read(lambda c: c.fetch(Q.flow_org_tiers))

    async def type_limits(self) -> list[asyncpg.Record]:
        return await self._read(lambda c: c.fetch(Q.flow_type_limits))

    async def rate_limits(self, organization_id: str | None) -> list[asyncpg.Record]:
        return await self._read(lambda c: c.fetch(Q.flow_rate_limits, organization_id))

    async def breaker_rules(self) -> list[asyncpg.Record]:
        return await self._read(lambda c: c.fetch(Q.flow_breaker_rules))

    async def breakers(self, limit: int = 1000) -> list[asyncpg.Record]:
        """Breakers that counted a failure, tripped ones first (operators: every organization)."""
        return await self._read(lambda c: c.fetch(Q.flow_breakers, limit))

    async def organization_breakers(self, organization_id: str) -> list[asyncpg.Record]:
        """Per job type with a breaker, the one that applies to this organization."""
        return await self._read(lambda c: c.fetch(Q.flow_org_breakers, organization_id))

    async def paused_types(self, organization_id: str) -> list[asyncpg.Record]:
        return await self._read(lambda c: c.fetch(Q.flow_paused_types, organization_id))

    async def organization(self, organization_id: str, default_limit: int) -> asyncpg.Record | None:
        return await self._read(lambda c: c.fetchrow(Q.flow_organization, organization_id, default_limit))

    async def changes(self, limit: int) -> list[asyncpg.Record]:
        return await self._read(lambda c: c.fetch(Q.flow_changes, limit))

    # -- changing (audited) ----------------------------------------------------------------

    async def set_tier(self, actor: str, name: str, max_running: int, weight: int) -> None:
        await self._change(actor, lambda c: c.execute(Q.flow_tier_set, name, max_running, weight))

    async def delete_tier(self, actor: str, name: str) -> bool:
        return await self._change(actor, lambda c: c.fetchval(Q.flow_tier_delete, name)) is not None

    async def set_organization_tier(self, actor: str, organization_id: str, tier: str | None) -> bool:
        """Put an organization on a tier (None: back to the service's limit). False when
        there was nothing to clear."""
        if tier is None:
            return await self._change(actor, lambda c: c.fetchval(Q.flow_org_tier_clear, organization_id)) is not None
        await self._change(actor, lambda c: c.execute(Q.flow_org_tier_set, organization_id, tier))
        return True

    async def set_type_limit(self, actor: str, job_type: str, max_running: int | None, per_org: int | None) -> None:
        await self._change(actor, lambda c: c.execute(Q.flow_type_limit_set, job_type, max_running, per_org))

    async def set_rate_limit(
        self, actor: str, job_type: str | None, per_organization: bool, max_starts: int, period_seconds: int
    ) -> None:
        await self._change(
            actor,
            lambda c: c.execute(Q.flow_rate_limit_set, job_type, per_organization, max_starts, period_seconds),
        )

    async def delete_rate_limit(self, actor: str, job_type: str | None, per_organization: bool) -> bool:
        deleted = await self._change(actor, lambda c: c.fetchval(Q.flow_rate_limit_delete, job_type, per_organization))
        return deleted is not None

    async def set_breaker(
        self,
        actor: str,
        job_type: str,
        per_organization: bool,
        failure_threshold: int,
        window_seconds: int,
        cooldown_seconds: int,
    ) -> None:
        await self._change(
            actor,
            lambda c: c.execute(
                Q.flow_breaker_set, job_type, per_organization, failure_threshold, window_seconds, cooldown_seconds
            ),
        )

    async def delete_breaker(self, actor: str, job_type: str) -> bool:
        return await self._change(actor, lambda c: c.fetchval(Q.flow_breaker_delete, job_type)) is not None

    async def reset_breakers(
        self, actor: str, job_type: str, organization_key: str | None, audit: tuple[str, str] | None = None
    ) -> list[str]:
        """Close breakers of a job type by hand: one organization's (``organization_key``;
        '' the cluster's) or all of them (None). Answers the states they were in.
        ``audit`` (organization, user): an audit row of that organization too."""

        async def reset(conn: asyncpg.Connection) -> list[str]:
            previous = [r["previous_state"] for r in await conn.fetch(Q.flow_breaker_reset, job_type, organization_key)]
            if audit is not None:
                await conn.execute(
                    Q.flow_breaker_reset_audit, audit[0], audit[1], job_type, previous[0] if previous else "closed"
                )
            return previous

        return await self._change(actor, reset)

    # -- plumbing -----------------------------------------------------------------------

    async def _read(self, run: Callable[[Any], Awaitable[T]]) -> T:
        try:
            return await run(self._pool)
        except DRIVER_ERRORS as exc:
            raise translate(exc) from exc

    async def _change(self, actor: str, run: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                await conn.execute(Q.flow_set_actor, actor)
                await conn.execute(Q.flow_lock)
                return await run(conn)
        except asyncpg.ForeignKeyViolationError as exc:
            # An unknown organization or tier, or a tier still assigned.
            raise InvalidInput(f"refused: {exc.detail or exc}") from exc
        except DRIVER_ERRORS as exc:
            raise translate(exc) from exc
