"""Recurring schedules under /v1/schedules (``schedules.manage_schedules``, admin role):
create, list, read, change (pause and resume are ``PATCH {"paused": …}``), delete.
docs/workflows.md says what a schedule does; schedules/firing.py fires them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.responses import Response

from jobrunner.api.bodies import JSON, json_response, read_json
from jobrunner.api.deps import Caller
from jobrunner.api.errors import problem_responses
from jobrunner.api.openapi import links, schema_ref
from jobrunner.db.schedules_repository import SchedulesRepository
from jobrunner.jobs.service import MAX_PAGE
from jobrunner.schedules.models import (
    CreateScheduleRequest,
    ScheduleListResponse,
    ScheduleOut,
    UpdateScheduleRequest,
)
from jobrunner.schedules.service import ScheduleService

router = APIRouter(prefix="/v1/schedules", tags=["schedules"])


async def schedule_service(request: Request) -> ScheduleService:
    return ScheduleService(SchedulesRepository(request.app.state.pool), request.app.state.settings)


Schedules = Annotated[ScheduleService, Depends(schedule_service)]
ScheduleId = Annotated[
    str,
    Path(description="The schedule's id (a UUID; anything else is a 404).", json_schema_extra={"format": "uuid"}),
]


_ITEM_OPERATIONS = ("getSchedule", "updateSchedule", "deleteSchedule")


@router.post(
    "",
    status_code=201,
    operation_id="createSchedule",
    summary="Create a recurring schedule",
    openapi_extra={"requestBody": {"required": True, "content": {JSON: {"schema": schema_ref(CreateScheduleRequest)}}}},
    description="Needs `schedules.manage_schedules` and what creating the job type needs "
    "(`jobs.create_jobs` and the type's permission). The caller owns the schedule: its jobs "
    "are created as them.",
    responses={
        201: {
            "model": ScheduleOut,
            "description": "Created",
            "headers": {
                "Location": {
                    "description": "/v1/schedules/{id}",
                    "schema": {"type": "string", "format": "uri-reference"},
                }
            },
            # What a client does next with the new schedule's id.
            "links": links("schedule_id", "$response.body#/id", *_ITEM_OPERATIONS),
        },
        **problem_responses(401, 403, 413, 415, 422, 503),
    },
)
async def create_schedule(request: Request, caller: Caller, schedules: Schedules) -> Response:
    created = await schedules.create(caller, await read_json(request))
    return json_response(created, status_code=201, headers={"Location": f"/v1/schedules/{created['id']}"})


@router.get(
    "",
    operation_id="listSchedules",
    summary="The organization's schedules, newest first, with their next run",
    response_model=ScheduleListResponse,
    responses={
        200: {
            "description": "One page",
            "links": links("schedule_id", "$response.body#/schedules/0/id", *_ITEM_OPERATIONS),
        },
        **problem_responses(401, 403, 422, 503),
    },
)
async def list_schedules(
    caller: Caller,
    schedules: Schedules,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    page_size: Annotated[int, Query(alias="pageSize", ge=1, le=100)] = 25,
) -> Any:
    return await schedules.list(caller, page, page_size)


@router.get(
    "/{schedule_id}",
    operation_id="getSchedule",
    summary="One schedule",
    response_model=ScheduleOut,
    responses={
        200: {"description": "The schedule", "links": links("schedule_id", "$response.body#/id", *_ITEM_OPERATIONS)},
        **problem_responses(401, 403, 404, 503),
    },
)
async def get_schedule(schedule_id: ScheduleId, caller: Caller, schedules: Schedules) -> Any:
    return await schedules.get(caller, schedule_id)


@router.patch(
    "/{schedule_id}",
    operation_id="updateSchedule",
    summary='Change a schedule; pause it with {"paused": true}, resume it with {"paused": false}',
    response_model=ScheduleOut,
    openapi_extra={"requestBody": {"required": True, "content": {JSON: {"schema": schema_ref(UpdateScheduleRequest)}}}},
    responses=problem_responses(401, 403, 404, 413, 415, 422, 503),
)
async def update_schedule(schedule_id: ScheduleId, request: Request, caller: Caller, schedules: Schedules) -> Any:
    return await schedules.update(caller, schedule_id, await read_json(request))


@router.delete(
    "/{schedule_id}",
    status_code=204,
    operation_id="deleteSchedule",
    summary="Delete a schedule (its jobs stay, without the link)",
    response_class=Response,
    responses={204: {"description": "Deleted"}, **problem_responses(401, 403, 404, 503)},
)
async def delete_schedule(schedule_id: ScheduleId, caller: Caller, schedules: Schedules) -> Response:
    await schedules.delete(caller, schedule_id)
    return Response(status_code=204)
