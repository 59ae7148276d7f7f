"""Recurring schedules (``/v1/schedules``, permission ``schedules.manage_schedules``) from
Python: ``async with ScheduleClient(url, token) as api: await api.list_schedules()``."""

from __future__ import annotations

import uuid
from typing import Any

from jobrunner.client.http import JobrunnerClient
from jobrunner.client.ids import JobIdError


class ScheduleClient(JobrunnerClient):
    """Everything ``JobrunnerClient`` does, plus schedules."""

    async def list_schedules(self, *, page: int = 1, page_size: int = 25) -> dict[str, Any]:
        """GET /v1/schedules (listSchedules): newest first, each with ``nextRunAt``."""
        params = {"page": page, "pageSize": page_size}
        return (await self._send("GET", "/v1/schedules", params=params)).json()

    async def create_schedule(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST /v1/schedules (createSchedule): ``cron``, ``jobType``, ``payload`` and the
        optional ``timezone``, ``priority``, ``maxRetries``, ``paused``, ``misfirePolicy``,
        ``overlap``."""
        return (await self._send("POST", "/v1/schedules", json=body)).json()

    async def get_schedule(self, schedule_id: str) -> dict[str, Any]:
        """GET /v1/schedules/{id} (getSchedule)."""
        return (await self._send("GET", f"/v1/schedules/{schedule_id}")).json()

    async def update_schedule(self, schedule_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """PATCH /v1/schedules/{id} (updateSchedule); ``{"paused": True}`` pauses."""
        return (await self._send("PATCH", f"/v1/schedules/{schedule_id}", json=changes)).json()

    async def delete_schedule(self, schedule_id: str) -> None:
        """DELETE /v1/schedules/{id} (deleteSchedule)."""
        await self._send("DELETE", f"/v1/schedules/{schedule_id}")

    async def resolve_schedule_id(self, text: str) -> str:
        """The full id of the organization's schedule whose id is ``text`` or starts with it
        (``JobIdError`` when none or several do)."""
        try:
            return str(uuid.UUID(text.strip()))
        except ValueError:
            pass
        prefix = text.strip().lower()
        if not prefix or any(c not in "0123456789abcdef-" for c in prefix):
            raise JobIdError(f"{text!r} is not a schedule id or the start of one")
        matches: list[str] = []
        page = 1
        while True:
            answer = await self.list_schedules(page=page, page_size=100)
            matches += [s["id"] for s in answer["schedules"] if s["id"].startswith(prefix)]
            if page >= answer["totalPages"]:
                break
            page += 1
        if not matches:
            raise JobIdError(f"No schedule of your organization has an id starting with {prefix!r}.")
        if len(matches) > 1:
            raise JobIdError(f"{prefix!r} is ambiguous: {len(matches)} schedules start with it.")
        return matches[0]
