"""``/v1/integrations/{name}``: an organization's external endpoints (admins only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from starlette.responses import Response

from jobrunner.api.bodies import JSON, json_response, read_json
from jobrunner.api.deps import Caller
from jobrunner.api.errors import problem_responses
from jobrunner.api.openapi import schema_ref
from jobrunner.integrations.service import IntegrationRequest, IntegrationResponse, IntegrationService

router = APIRouter(prefix="/v1/integrations", tags=["integrations"])

IntegrationName = Annotated[
    str,
    Path(
        pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$",
        description="Lower-case letters, digits, '_' and '-' (1-64). `notifications` receives webhook notifications.",
    ),
]


def _service(request: Request) -> IntegrationService:
    return IntegrationService(request.app.state.pool, request.app.state.settings)


@router.put(
    "/{name}",
    operation_id="putIntegration",
    summary="Create or replace an integration (target URL and signing secret)",
    openapi_extra={
        "requestBody": {"required": True, "content": {JSON: {"schema": schema_ref(IntegrationRequest)}}},
    },
    responses={
        200: {"model": IntegrationResponse, "description": "Replaced"},
        201: {"model": IntegrationResponse, "description": "Created"},
        **problem_responses(401, 403, 413, 415, 422, 503),
    },
)
async def put_integration(name: IntegrationName, request: Request, caller: Caller) -> Response:
    body, created = await _service(request).put(caller, name, await read_json(request))
    return json_response(body, status_code=201 if created else 200)


@router.get(
    "/{name}",
    operation_id="getIntegration",
    summary="An integration's settings (never its secret)",
    responses={
        200: {"model": IntegrationResponse, "description": "The integration"},
        **problem_responses(401, 403, 404, 422, 503),
    },
)
async def get_integration(name: IntegrationName, request: Request, caller: Caller) -> Response:
    return json_response(await _service(request).get(caller, name))
