"""Flow control for an organization's administrator (``jobs.manage_jobs``), beside the
operations console's /v1/admin routes: what holds its jobs back (tier, caps, rate limits,
circuit breakers) and a breaker's manual reset. Operators configure flow control with
``jobrunner flow`` (docs/flow-control.md)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request

from jobrunner.api.deps import Caller
from jobrunner.api.errors import problem_responses
from jobrunner.db.flow_repository import FlowRepository
from jobrunner.db.jobs_repository import JobsRepository
from jobrunner.jobs.flow import FlowService
from jobrunner.jobs.flow_models import BreakerResetResponse, FlowResponse

router = APIRouter(prefix="/v1/admin", tags=["admin"])


async def flow_service(request: Request) -> FlowService:
    pool = request.app.state.pool
    return FlowService(FlowRepository(pool), JobsRepository(pool), request.app.state.settings)


Flow = Annotated[FlowService, Depends(flow_service)]
JobTypeName = Annotated[
    str, Path(min_length=1, max_length=50, pattern=r"^[A-Za-z0-9_.:-]+$", description="A job type, e.g. notification")
]


@router.get(
    "/flow",
    operation_id="getFlowControl",
    summary="Flow control as it applies to the organization: tier, caps, rate limits, circuit breakers",
    response_model=FlowResponse,
    responses=problem_responses(401, 403, 503),
)
async def get_flow(caller: Caller, flow: Flow) -> Any:
    return await flow.view(caller)


@router.post(
    "/breakers/{job_type}/reset",
    operation_id="resetBreaker",
    summary="Close the organization's circuit breaker of a job type by hand: its waiting jobs are claimed again",
    description="Only an organization's own breaker (scope `organization`); a breaker shared by every "
    "organization (scope `cluster`) is reset by operators (`jobrunner flow reset`): 409.",
    response_model=BreakerResetResponse,
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def reset_breaker(job_type: JobTypeName, caller: Caller, flow: Flow) -> Any:
    return await flow.reset_breaker(caller, job_type)
