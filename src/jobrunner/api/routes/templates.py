"""``/v1/job-templates``: an organization's saved job configurations. Members read them;
``templates.manage_templates`` (admins) changes them. A job starts from one through
``POST /v1/jobs`` with ``templateId``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from jobrunner.api.bodies import JSON, json_response, read_json
from jobrunner.api.deps import Caller
from jobrunner.api.errors import problem_responses
from jobrunner.api.openapi import links, schema_ref
from jobrunner.db.jobs_repository import JobsRepository
from jobrunner.db.templates_repository import TemplatesRepository
from jobrunner.jobs.template_models import TemplateListResponse, TemplateOut, TemplatePatch, TemplateRequest
from jobrunner.jobs.templates import TemplateService

router = APIRouter(prefix="/v1/job-templates", tags=["job templates"])

TEMPLATE_ID_DESCRIPTION = "The template's id (a UUID; anything else is a 404)."
TemplateId = Annotated[str, Path(description=TEMPLATE_ID_DESCRIPTION, json_schema_extra={"format": "uuid"})]
MAX_TEMPLATE_PAGE = 10_000


def _service(request: Request) -> TemplateService:
    pool = request.app.state.pool
    return TemplateService(TemplatesRepository(pool), JobsRepository(pool), request.app.state.settings)


def _links(id_expression: str, *operations: str) -> dict:
    return links("template_id", id_expression, *operations)


_ITEM_OPERATIONS = ("getJobTemplate", "updateJobTemplate", "deleteJobTemplate")


def _body(model: type) -> dict:
    return {"requestBody": {"required": True, "content": {JSON: {"schema": schema_ref(model)}}}}


@router.post(
    "",
    status_code=201,
    operation_id="createJobTemplate",
    summary="Save a job configuration under a name",
    openapi_extra=_body(TemplateRequest),
    responses={
        201: {
            "model": TemplateOut,
            "description": "Created",
            "headers": {
                "Location": {
                    "description": "/v1/job-templates/{id}",
                    "schema": {"type": "string", "format": "uri-reference"},
                }
            },
            "links": _links("$response.body#/id", *_ITEM_OPERATIONS),
        },
        **problem_responses(401, 403, 409, 413, 415, 422, 503),
    },
)
async def create_template(request: Request, caller: Caller) -> Response:
    body = await _service(request).create(caller, await read_json(request))
    return json_response(body, status_code=201, headers={"Location": f"/v1/job-templates/{body['id']}"})


@router.get(
    "",
    operation_id="listJobTemplates",
    summary="The organization's job templates, by name",
    responses={
        200: {
            "model": TemplateListResponse,
            "description": "One page",
            "links": _links("$response.body#/templates/0/id", *_ITEM_OPERATIONS),
        },
        **problem_responses(401, 422, 503),
    },
)
async def list_templates(
    request: Request,
    caller: Caller,
    page: Annotated[int, Query(ge=1, le=MAX_TEMPLATE_PAGE)] = 1,
    page_size: Annotated[int, Query(alias="pageSize", ge=1, le=100)] = 25,
) -> Response:
    return json_response(await _service(request).list(caller, page, page_size))


@router.get(
    "/{template_id}",
    operation_id="getJobTemplate",
    summary="One job template",
    responses={
        200: {
            "model": TemplateOut,
            "description": "The template",
            "links": _links("$response.body#/id", *_ITEM_OPERATIONS),
        },
        **problem_responses(401, 404, 503),
    },
)
async def get_template(template_id: TemplateId, request: Request, caller: Caller) -> Response:
    return json_response(await _service(request).get(caller, template_id))


@router.patch(
    "/{template_id}",
    operation_id="updateJobTemplate",
    summary="Change some of a job template's fields",
    openapi_extra=_body(TemplatePatch),
    responses={
        200: {
            "model": TemplateOut,
            "description": "The template as changed",
            "links": _links("$response.body#/id", *_ITEM_OPERATIONS),
        },
        **problem_responses(401, 403, 404, 409, 413, 415, 422, 503),
    },
)
async def update_template(template_id: TemplateId, request: Request, caller: Caller) -> Response:
    return json_response(await _service(request).update(caller, template_id, await read_json(request)))


@router.delete(
    "/{template_id}",
    status_code=204,
    operation_id="deleteJobTemplate",
    summary="Delete a job template (jobs started from it keep their templateId)",
    responses={
        204: {"description": "Deleted"},
        **problem_responses(401, 403, 404, 503),
    },
)
async def delete_template(template_id: TemplateId, request: Request, caller: Caller) -> Response:
    await _service(request).delete(caller, template_id)
    return Response(status_code=204)
