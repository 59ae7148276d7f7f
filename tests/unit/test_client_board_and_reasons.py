"""The Python client's newest-jobs board (``jobrunner jobs watch`` without an id) over the
list stream, with its polling fallback; the waiting reasons of ``jobrunner jobs status``;
``create_job(callback_url=...)``. Answers scripted with httpx.MockTransport (the service's
side is tested end to end in tests/integration/web/test_cli_gaps.py)."""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest

from jobrunner.client import JobrunnerClient, PushUnavailable, wait_reason
from jobrunner.client.board import POLL_SECONDS, JobBoard, follow_newest


def job(job_id: str, status: str, created: str, updated: str | None = None, **extra) -> dict:
    return {
        "id": job_id,
        "jobType": "export_report",
        "status": status,
        "progress": 0,
        "createdAt": f"2026-12-01T10:00:{created}.000Z",
        "updatedAt": f"2026-12-01T10:00:{updated or created}.000Z",
        **extra,
    }


def answer(item: dict) -> dict:
    return {"job": item, "progress": item["progress"], "canCancel": True, "canRetry": False}


def listing(*jobs: dict) -> httpx.Response:
    return httpx.Response(
        200, json={"jobs": list(jobs), "total": len(jobs), "page": 1, "pageSize": 20, "totalPages": 1}
    )


def stream(*events: str) -> httpx.Response:
    return httpx.Response(200, headers={"Content-Type": "text/event-stream"}, content="".join(events).encode())


def event(event_id: int, item: dict) -> str:
    return f"id: {event_id}\nevent: job\ndata: {json.dumps(answer(item))}\n\n"


def scripted(answers: list) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers.pop(0)

    return httpx.MockTransport(handler), seen


async def follow(transport: httpx.MockTransport, size: int = 20, push: bool = True) -> tuple[list, list, list]:
    shown: list[list[tuple[str, str]]] = []
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async with JobrunnerClient("http://service", "t0ken", transport=transport, push=push) as api:
        rows = await follow_newest(api, size, lambda r: shown.append([(j["id"], j["status"]) for j in r]), sleep=sleep)
    return rows, shown, sleeps


async def test_watch_reads_the_list_when_the_stream_opens_then_follows_its_events():
    transport, seen = scripted(
        [
            stream(
                event(1, job("a", "running", "01")),
                event(2, job("b", "queued", "02")),
                event(3, job("a", "succeeded", "01", "05")),
                event(4, job("b", "cancelled", "02", "06")),
            ),
            listing(job("b", "queued", "02"), job("a", "running", "01"), job("z", "failed", "00")),
        ]
    )
    rows, shown, sleeps = await follow(transport)
    assert [r.url.path for r in seen] == ["/v1/jobs/events", "/v1/jobs"]  # one read of the list, no polling
    assert seen[0].headers["Accept"] == "text/event-stream" and seen[0].headers["Authorization"] == "Bearer t0ken"
    assert shown[0] == [("b", "queued"), ("a", "running"), ("z", "failed")]  # the list, read once open
    assert shown[-1] == [("b", "cancelled"), ("a", "succeeded"), ("z", "failed")]
    assert [j["status"] for j in rows] == ["cancelled", "succeeded", "failed"] and sleeps == []


async def test_watch_ends_at_once_when_every_job_listed_is_final():
    transport, seen = scripted([stream(": heartbeat\n\n"), listing(job("a", "succeeded", "01"))])
    rows, shown, _ = await follow(transport)
    assert [j["id"] for j in rows] == ["a"] and shown == [[("a", "succeeded")]]
    assert [r.url.path for r in seen] == ["/v1/jobs/events", "/v1/jobs"]


async def test_watch_polls_the_list_when_the_service_cannot_stream():
    transport, seen = scripted(
        [
            httpx.Response(503, json={"status": 503, "detail": "no streams"}, headers={"Retry-After": "5"}),
            listing(job("a", "queued", "01")),
            listing(job("a", "running", "01", "03")),
            listing(job("a", "succeeded", "01", "04")),
        ]
    )
    rows, shown, sleeps = await follow(transport)
    assert [r.url.path for r in seen] == ["/v1/jobs/events", "/v1/jobs", "/v1/jobs", "/v1/jobs"]
    assert [s[0][1] for s in shown] == ["queued", "running", "succeeded"]
    assert sleeps == [POLL_SECONDS, POLL_SECONDS] and rows[0]["status"] == "succeeded"


async def test_watch_without_push_polls_and_watch_jobs_says_so():
    transport, seen = scripted([listing(job("a", "failed", "01"))])
    rows, _, _ = await follow(transport, push=False)
    assert [r.url.path for r in seen] == ["/v1/jobs"] and rows[0]["status"] == "failed"
    async with JobrunnerClient("http://service", None, transport=transport, push=False) as api:
        with pytest.raises(PushUnavailable):
            async for _ in api.watch_jobs():
                pass


def test_the_board_keeps_the_newest_and_the_latest_state_of_each():
    board = JobBoard(2)
    board.listed([job("b", "running", "02", "04"), job("a", "queued", "01")])
    assert not board.pushed(job("b", "queued", "02", "03"))  # older than what is known
    assert board.pushed(job("c", "queued", "05"))  # a new job: on top, the oldest goes
    assert [j["id"] for j in board.rows()] == ["c", "b"]
    assert not board.pushed(job("a", "succeeded", "01", "06"))  # no longer shown
    board.listed([job("c", "queued", "05"), job("b", "running", "02", "03")])  # an older list answer
    assert board.rows()[1]["updatedAt"].endswith("04.000Z")  # the pushed state stays
    assert not board.done()
    board.pushed(job("c", "cancelled", "05", "07"))
    board.pushed(job("b", "succeeded", "02", "08"))
    assert board.done()


NOW = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)
ACTIVITY = {"organizationRunning": 5, "organizationLimit": 5, "pausedJobTypes": []}


def queued(**extra) -> dict:
    return {"jobType": "export_report", "status": "queued", "blockedBy": 0, "scheduledAt": None, **extra}


@pytest.mark.parametrize(
    ("item", "activity", "reason"),
    [
        (queued(blockedBy=2, scheduledAt="2099-01-01T00:00:00.000Z"), ACTIVITY, "Waiting for 2 jobs"),
        (queued(blockedBy=1), None, "Waiting for 1 job"),
        (queued(scheduledAt="2099-01-01T00:00:00.000Z"), ACTIVITY, "Scheduled for 2099-01-01 00:00 UTC"),
        (
            queued(),
            {
                **ACTIVITY,
                "pausedJobTypes": [
                    {
                        "jobType": "export_report",
                        "reason": "paused: receiver failing",
                        "state": "open",
                        "retryAt": "2026-12-01T10:01:00.000Z",
                    }
                ],
            },
            "Paused: receiver failing; trying again at 2026-12-01 10:01 UTC",
        ),
        (
            queued(),
            {
                **ACTIVITY,
                "pausedJobTypes": [
                    {
                        "jobType": "export_report",
                        "reason": "paused: receiver failing",
                        "state": "half_open",
                        "retryAt": None,
                    }
                ],
            },
            "Paused: receiver failing",
        ),
        (queued(), ACTIVITY, "Waiting: 5 of 5 running in your organization"),
        (
            queued(scheduledAt="2026-12-01T09:00:00.000Z"),
            {**ACTIVITY, "organizationRunning": 2},
            "Waiting for a free worker",
        ),
        (queued(), None, "Waiting for a free worker"),
        (
            {
                "jobType": "sync",
                "status": "retrying",
                "retryCount": 1,
                "maxRetries": 3,
                "scheduledAt": "2026-12-01T10:05:00.000Z",
            },
            None,
            "Trying again at 2026-12-01 10:05 UTC (attempt 2 of 4)",
        ),
        ({"jobType": "sync", "status": "running"}, ACTIVITY, None),
        ({"jobType": "sync", "status": "succeeded"}, ACTIVITY, None),
    ],
)
def test_waiting_reasons_in_the_pages_words(item: dict, activity: dict | None, reason: str | None):
    assert wait_reason(item, activity, now=NOW) == reason


async def test_create_job_sends_the_callback_url_only_when_given():
    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(202, json={"jobId": "j1", "message": "Job created successfully"})

    bodies: list[dict] = []
    async with JobrunnerClient("http://service", None, transport=httpx.MockTransport(handler)) as api:
        await api.create_job("export_report", {}, callback_url="https://backend.example.com/hooks/jobs")
        await api.create_job("export_report", {})
    assert bodies[0]["callbackUrl"] == "https://backend.example.com/hooks/jobs"
    assert "callbackUrl" not in bodies[1]
