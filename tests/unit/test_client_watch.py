"""The Python client's polling rules (the service's side is tested end to end in
tests/integration/web): answers scripted with httpx.MockTransport, sleeps recorded."""

from __future__ import annotations

import httpx
import pytest

from jobrunner.client import ApiError, JobrunnerClient, explain
from jobrunner.client.http import BACKOFF_CAP_SECONDS, backoff_seconds


def status(state: str, progress: int = 0) -> dict:
    return {
        "job": {"id": "j1", "status": state, "progress": progress},
        "progress": progress,
        "canCancel": state in ("queued", "running", "retrying"),
        "canRetry": False,
    }


def scripted(answers: list) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return httpx.MockTransport(handler), seen


def ok(body: dict, etag: str, retry_after: int | None) -> httpx.Response:
    headers = {"ETag": etag}
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return httpx.Response(200, json=body, headers=headers)


async def watch_all(transport: httpx.MockTransport) -> tuple[list[str], list[float]]:
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    # push=False: the polling rules (used too when the service cannot stream).
    async with JobrunnerClient("http://service", "t0ken", transport=transport, push=False) as api:
        states = [answer["job"]["status"] async for answer in api.watch("j1", sleep=sleep)]
    return states, sleeps


async def test_watch_follows_retry_after_sends_the_etag_and_stops_when_final():
    transport, seen = scripted(
        [
            ok(status("queued"), 'W/"a"', 2),
            httpx.Response(304, headers={"ETag": 'W/"a"', "Retry-After": "10"}),
            ok(status("running", 40), 'W/"b"', 5),
            ok(status("succeeded", 100), 'W/"c"', None),
        ]
    )
    states, sleeps = await watch_all(transport)
    assert states == ["queued", "running", "succeeded"]  # the 304 yields nothing
    assert sleeps == [2, 10, 5]  # none after the final answer
    assert [r.headers.get("If-None-Match") for r in seen] == [None, 'W/"a"', 'W/"a"', 'W/"b"']
    assert all(r.headers["Authorization"] == "Bearer t0ken" for r in seen)


async def test_watch_backs_off_on_transient_failures_then_goes_on():
    transport, _ = scripted(
        [
            httpx.ConnectError("refused"),
            httpx.Response(503, json={"status": 503, "detail": "busy"}),
            ok(status("cancelled"), 'W/"a"', None),
        ]
    )
    states, sleeps = await watch_all(transport)
    assert states == ["cancelled"]
    assert 1 <= sleeps[0] <= 2 and 2 <= sleeps[1] <= 4


@pytest.mark.parametrize("code", [401, 403, 404])
async def test_watch_gives_up_at_once_when_polling_cannot_help(code: int):
    transport, seen = scripted([httpx.Response(code, json={"status": code, "detail": "no"})])
    with pytest.raises(ApiError) as caught:
        await watch_all(transport)
    assert caught.value.status == code and len(seen) == 1


def test_backoff_grows_and_is_capped():
    assert all(BACKOFF_CAP_SECONDS / 2 <= backoff_seconds(20) <= BACKOFF_CAP_SECONDS for _ in range(50))
    assert all(4 <= backoff_seconds(3) <= 8 for _ in range(50))


def test_errors_in_plain_words():
    problem = {
        "type": "about:blank",
        "title": "Unprocessable Content",
        "status": 422,
        "detail": "invalid payload",
        "errors": [{"loc": "payload.format", "message": "Input should be 'csv', 'json' or 'xlsx'"}],
    }
    assert explain(ApiError(422, problem)) == "Invalid input: payload.format: Input should be 'csv', 'json' or 'xlsx'"
    assert explain(ApiError(403, {"detail": "missing permission jobs.cancel_jobs"}), "cancel this job") == (
        "You don't have permission to cancel this job (missing permission jobs.cancel_jobs)."
    )
    assert "current state" in explain(ApiError(409, {"detail": "job is succeeded"}), "cancel this job")
    assert "isn't yours" in explain(ApiError(404, None))


async def test_download_streams_a_relative_link_to_a_file(tmp_path):
    transport, seen = scripted([httpx.Response(200, content=b"a,b\n1,2\n")])
    async with JobrunnerClient("http://service/", "t0ken", transport=transport) as api:
        size = await api.download("/v1/exports/j1/download?expires=1&sig=x", tmp_path / "out.csv")
    assert size == 8 and (tmp_path / "out.csv").read_bytes() == b"a,b\n1,2\n"
    assert str(seen[0].url) == "http://service/v1/exports/j1/download?expires=1&sig=x"


async def test_download_refusal_is_an_api_error(tmp_path):
    transport, _ = scripted([httpx.Response(410, json={"status": 410, "detail": "expired"})])
    async with JobrunnerClient("http://service", None, transport=transport) as api:
        with pytest.raises(ApiError) as caught:
            await api.download("/v1/exports/j1/download", tmp_path / "out.csv")
    assert caught.value.status == 410


def stream(*events: str) -> httpx.Response:
    return httpx.Response(200, headers={"Content-Type": "text/event-stream"}, content="".join(events).encode())


def job_event(event_id: int, state: str, progress: int = 0) -> str:
    import json

    return f"id: {event_id}\nevent: job\ndata: {json.dumps(status(state, progress))}\n\n"


async def watch_pushed(transport: httpx.MockTransport) -> tuple[list[str], list[float]]:
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async with JobrunnerClient("http://service", "t0ken", transport=transport) as api:
        states = [answer["job"]["status"] async for answer in api.watch("j1", sleep=sleep)]
    return states, sleeps


async def test_watch_follows_the_event_stream_and_resumes_with_last_event_id():
    transport, seen = scripted(
        [
            stream("retry: 2000\n\n", job_event(10, "queued"), ": heartbeat\n\n", job_event(11, "running", 40),
                   'event: end\ndata: {"reason": "token_expired"}\n\n'),
            stream(job_event(12, "running", 80), job_event(13, "succeeded", 100), 'event: end\ndata: {"reason": "final"}\n\n'),
        ]
    )
    states, sleeps = await watch_pushed(transport)
    assert states == ["queued", "running", "running", "succeeded"]
    assert [r.url.path for r in seen] == ["/v1/jobs/j1/events"] * 2
    assert seen[0].headers["Accept"] == "text/event-stream" and "Last-Event-ID" not in seen[0].headers
    assert seen[1].headers["Last-Event-ID"] == "11"
    assert seen[0].headers["Authorization"] == "Bearer t0ken" and "t0ken" not in str(seen[0].url)
    assert sleeps == []


async def test_watch_polls_when_the_service_cannot_stream():
    transport, seen = scripted(
        [
            httpx.Response(503, json={"status": 503, "detail": "no streams"}, headers={"Retry-After": "5"}),
            ok(status("queued"), 'W/"a"', 10),
            ok(status("succeeded", 100), 'W/"b"', None),
        ]
    )
    states, sleeps = await watch_pushed(transport)
    assert states == ["queued", "succeeded"]
    assert [r.url.path for r in seen] == ["/v1/jobs/j1/events", "/v1/jobs/j1/status", "/v1/jobs/j1/status"]
    assert sleeps == [10]


async def test_watch_refusals_of_the_stream_are_errors():
    transport, _ = scripted([httpx.Response(404, json={"status": 404, "detail": "job not found"})])
    with pytest.raises(ApiError) as caught:
        await watch_pushed(transport)
    assert caught.value.status == 404
