"""``/v1/settings/webhook``: the organization's completion webhooks (admins only,
``integrations.manage_integrations``): the default callback URL, the signing secret and
its rotation (docs/webhooks.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from jobrunner.api.bodies import JSON, json_response, read_json
from jobrunner.api.deps import Caller
from jobrunner.api.errors import problem_responses
from jobrunner.api.openapi import schema_ref
from jobrunner.webhooks.settings import WebhookSettingsRequest, WebhookSettingsResponse, WebhookSettingsService

router = APIRouter(prefix="/v1/settings/webhook", tags=["webhooks"])


def _service(request: Request) -> WebhookSettingsService:
    return WebhookSettingsService(request.app.state.pool, request.app.state.settings)


_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {"model": WebhookSettingsResponse, "description": "The organization's webhook settings"}
}


@router.get(
    "",
    operation_id="getWebhookSettings",
    summary="The organization's default callback URL and signing secret (made on first use)",
    responses={**_ANSWER, **problem_responses(401, 403, 503)},
)
async def get_webhook_settings(request: Request, caller: Caller) -> Response:
    return json_response(await _service(request).get(caller))


@router.put(
    "",
    operation_id="putWebhookSettings",
    summary="Set or clear the default callback URL of the organization's new jobs",
    openapi_extra={
        "requestBody": {"required": True, "content": {JSON: {"schema": schema_ref(WebhookSettingsRequest)}}},
    },
    responses={**_ANSWER, **problem_responses(401, 403, 413, 415, 422, 503)},
)
async def put_webhook_settings(request: Request, caller: Caller) -> Response:
    return json_response(await _service(request).put(caller, await read_json(request)))


@router.post(
    "/rotate-secret",
    operation_id="rotateWebhookSecret",
    summary="A new signing secret; the previous one keeps signing too for JOBRUNNER_CALLBACK_SECRET_OVERLAP_SECONDS",
    responses={**_ANSWER, **problem_responses(401, 403, 503)},
)
async def rotate_webhook_secret(request: Request, caller: Caller) -> Response:
    return json_response(await _service(request).rotate(caller))
