"""Response models of flow control's API (/v1/admin/flow, a breaker's reset) and of the
paused job types a waiting job can be held back by (/v1/me/activity)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

BreakerState = Literal["closed", "open", "half_open"]


class PausedJobType(BaseModel):
    """A job type whose circuit breaker holds its jobs back: why a queued job of that type waits."""

    jobType: str
    reason: str = Field(description='Why its jobs wait, e.g. "paused: receiver failing".')
    state: Literal["open", "half_open"] = Field(
        description="open: none is started until retryAt; half_open: one trial job is running."
    )
    retryAt: dt.datetime | None = Field(description="When an open breaker lets a trial job through.")


class OrganizationFlow(BaseModel):
    tier: str | None = Field(description="The organization's plan, if it is on one.")
    weight: int = Field(description="Its share of the workers under contention (jobs per turn).")
    maxRunning: int = Field(description="Jobs it may run at once: its own limit, else its tier's, else the service's.")
    running: int = Field(description="Its jobs held by a worker now.")


class JobTypeCap(BaseModel):
    jobType: str
    maxRunning: int | None = Field(description="Running on the whole cluster, all organizations together.")
    maxRunningPerOrganization: int | None = Field(description="Running per organization.")


class RateLimitOut(BaseModel):
    jobType: str | None = Field(description="The job type limited; null: every type together.")
    scope: Literal["organization", "cluster"] = Field(
        description="organization: each organization has its own count; cluster: one count for all."
    )
    maxStarts: int = Field(description="Starts (claims of an attempt) allowed per period.")
    periodSeconds: int
    usedByOrganization: int | None = Field(
        description="Starts of the caller's organization in the current window (organization scope only)."
    )


class BreakerOut(BaseModel):
    jobType: str
    scope: Literal["organization", "cluster"] = Field(
        description="organization: the organization's own breaker (its integration target, e.g. its webhook "
        "receiver); cluster: one breaker shared by every organization (reset by operators only)."
    )
    state: BreakerState
    failures: int = Field(description="Transient failures in a row within the window.")
    failureThreshold: int
    windowSeconds: int
    cooldownSeconds: int
    openedAt: dt.datetime | None
    retryAt: dt.datetime | None = Field(description="When an open breaker lets a trial job through.")


class FlowResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "organization": {"tier": "pro", "weight": 1, "maxRunning": 5, "running": 2},
                    "jobTypeCaps": [{"jobType": "export_report", "maxRunning": 4, "maxRunningPerOrganization": 2}],
                    "rateLimits": [
                        {
                            "jobType": "notification",
                            "scope": "organization",
                            "maxStarts": 100,
                            "periodSeconds": 60,
                            "usedByOrganization": 12,
                        }
                    ],
                    "breakers": [
                        {
                            "jobType": "notification",
                            "scope": "organization",
                            "state": "open",
                            "failures": 5,
                            "failureThreshold": 5,
                            "windowSeconds": 60,
                            "cooldownSeconds": 30,
                            "openedAt": "2026-12-01T10:30:00.000Z",
                            "retryAt": "2026-12-01T10:30:30.000Z",
                        }
                    ],
                }
            ]
        }
    )

    organization: OrganizationFlow
    jobTypeCaps: list[JobTypeCap]
    rateLimits: list[RateLimitOut]
    breakers: list[BreakerOut]


class BreakerResetResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"jobType": "notification", "previousState": "open", "state": "closed"}]}
    )

    jobType: str
    previousState: BreakerState
    state: Literal["closed"]
