"""Flow control as an organization's administrator sees it (``jobs.manage_jobs``): its tier,
weight and limit, the job-type caps and rate limits that apply to it, the circuit breakers,
and a breaker's manual reset. Operators configure all of it (``jobrunner flow``); tenants
only read it, and see nothing of another organization (no counts, no errors of others)."""

from __future__ import annotations

from typing import Any

from jobrunner.auth import rbac
from jobrunner.auth.tokens import TokenClaims
from jobrunner.db.flow_repository import FlowRepository
from jobrunner.db.jobs_repository import JobsRepository
from jobrunner.domain.errors import Conflict, NotFound
from jobrunner.settings import Settings
from jobrunner.timestamps import iso_utc

BREAKER_NOT_FOUND = "no circuit breaker for this job type"


def paused_reason(state: str) -> str:
    """The waiting reason a job of a type whose breaker is not closed shows: its jobs (the
    receiver, the integration, whatever the type talks to) kept failing transiently."""
    if state == "half_open":
        return "paused: receiver failing, one trial job running"
    return "paused: receiver failing"


def present_paused(rows: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "jobType": r["job_type"],
            "reason": paused_reason(r["state"]),
            "state": r["state"],
            "retryAt": iso_utc(r["retry_at"]),
        }
        for r in rows
    ]


class FlowService:
    def __init__(self, repo: FlowRepository, jobs: JobsRepository, settings: Settings) -> None:
        self._repo = repo
        self._jobs = jobs
        self._settings = settings

    async def _require(self, claims: TokenClaims) -> None:
        access = await self._jobs.access(claims.organization_id, claims.user_id, [rbac.MANAGE_JOBS])
        rbac.require(access, rbac.MANAGE_JOBS)

    async def view(self, claims: TokenClaims) -> dict[str, Any]:
        await self._require(claims)
        org = await self._repo.organization(claims.organization_id, self._settings.org_concurrency_limit)
        caps = await self._repo.type_limits()
        rates = await self._repo.rate_limits(claims.organization_id)
        breakers = await self._repo.organization_breakers(claims.organization_id)
        return {
            "organization": {
                "tier": org["tier"] if org else None,
                "weight": org["weight"] if org else 1,
                "maxRunning": org["max_running"] if org else self._settings.org_concurrency_limit,
                "running": org["running"] if org else 0,
            },
            "jobTypeCaps": [
                {
                    "jobType": c["job_type"],
                    "maxRunning": c["max_running"],
                    "maxRunningPerOrganization": c["max_running_per_org"],
                }
                for c in caps
            ],
            "rateLimits": [
                {
                    "jobType": r["job_type"],
                    "scope": "organization" if r["per_organization"] else "cluster",
                    "maxStarts": r["max_starts"],
                    "periodSeconds": r["period_seconds"],
                    "usedByOrganization": r["used"] if r["per_organization"] else None,
                }
                for r in rates
            ],
            "breakers": [
                {
                    "jobType": b["job_type"],
                    "scope": "organization" if b["per_organization"] else "cluster",
                    "state": b["state"],
                    "failures": b["failures"],
                    "failureThreshold": b["failure_threshold"],
                    "windowSeconds": b["window_seconds"],
                    "cooldownSeconds": b["cooldown_seconds"],
                    "openedAt": b["opened_at"],
                    "retryAt": b["retry_at"],
                }
                for b in breakers
            ],
        }

    async def reset_breaker(self, claims: TokenClaims, job_type: str) -> dict[str, Any]:
        """Close the organization's own breaker of a job type: its jobs are claimed again at
        once. A cluster-wide breaker concerns every organization: operators reset it
        (``jobrunner flow reset``), 409 here. Audited in the caller's organization and in
        ``flow_changes``."""
        await self._require(claims)
        rule = next(
            (b for b in await self._repo.organization_breakers(claims.organization_id) if b["job_type"] == job_type),
            None,
        )
        if rule is None:
            raise NotFound(BREAKER_NOT_FOUND)
        if not rule["per_organization"]:
            raise Conflict("this circuit breaker is shared by every organization: an operator resets it")
        actor = f"user:{claims.user_id}@{claims.organization_id}"
        previous = await self._repo.reset_breakers(
            actor, job_type, claims.organization_id, audit=(claims.organization_id, claims.user_id)
        )
        return {"jobType": job_type, "previousState": previous[0] if previous else "closed", "state": "closed"}

    async def paused(self, organization_id: str) -> list[dict[str, Any]]:
        return present_paused(await self._repo.paused_types(organization_id))
