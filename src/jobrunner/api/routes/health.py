"""Liveness/readiness and metrics. ``/metrics`` serves the app's ``metrics_registry``: in
the API, the HTTP metrics, this process's job metrics and the cluster-wide snapshot; on a
worker's metrics port, that worker process's metrics."""

from __future__ import annotations

import asyncio
from typing import Literal

import orjson
from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from starlette.responses import PlainTextResponse, Response

from jobrunner.api.errors import Unavailable, problem_responses
from jobrunner.api.openapi import METRICS_TOKEN, PUBLIC
from jobrunner.auth.metrics import check_metrics_access
from jobrunner.db.errors import UNAVAILABLE_ERRORS
from jobrunner.db.sql import Q

router = APIRouter(tags=["operations"])
# /metrics alone: the API's (below) and a worker's metrics port (service.py) serve it.
metrics_router = APIRouter(tags=["operations"])

HEALTH_TIMEOUT_SECONDS = 2.0


class HealthResponse(BaseModel):
    status: Literal["ok"]


@router.get(
    "/healthz",
    operation_id="getHealth",
    summary="Ready to serve (the database answers)",
    response_class=Response,
    openapi_extra={"security": PUBLIC},
    responses={
        200: {
            "model": HealthResponse,
            "description": "Ready",
            "content": {"application/json": {"example": {"status": "ok"}}},
        },
        **problem_responses(503),
    },
)
async def healthz(request: Request) -> Response:
    pool = getattr(request.app.state, "pool", None)
    if pool is None:
        raise Unavailable("starting")
    try:
        await asyncio.wait_for(pool.fetchval(Q.ping), HEALTH_TIMEOUT_SECONDS)
    except UNAVAILABLE_ERRORS as exc:
        raise Unavailable("database unavailable") from exc
    return Response(orjson.dumps({"status": "ok"}), media_type="application/json")


@metrics_router.get(
    "/metrics",
    operation_id="getMetrics",
    summary="Prometheus metrics (Bearer JOBRUNNER_METRICS_TOKEN; absent when that is unset)",
    response_class=PlainTextResponse,
    openapi_extra={"security": METRICS_TOKEN},
    responses={
        200: {
            "content": {"text/plain": {"schema": {"type": "string"}}},
            "description": f"Prometheus text format (`{CONTENT_TYPE_LATEST}`)",
        },
        **problem_responses(401, 404),
    },
)
async def metrics(request: Request) -> Response:
    check_metrics_access(request.app.state.settings.metrics_token, request.headers.get("authorization"))
    return Response(generate_latest(request.app.state.metrics_registry), media_type=CONTENT_TYPE_LATEST)


router.include_router(metrics_router)
