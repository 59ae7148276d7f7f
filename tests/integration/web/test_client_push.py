"""jobrunner-client.js and the jobs page with server-sent events (docs/push.md), in
Chromium against the real service: watchJob follows the stream (fetch with the bearer
header, no token in a URL) and polls nothing; when the service cannot stream it falls back
to polling; the page keeps one stream for all its rows and polls nothing while it is open."""

from __future__ import annotations

import time

import pytest

from tests.integration.web.conftest import LiveService, sign_in

pytestmark = pytest.mark.slow

# A client whose fetch logs each request; `streams503` makes the stream answer 503.
START_WATCH = """async ({ token, streams503 }) => {
  const { createClient } = await import("/static/jobrunner-client.js");
  const log = (window.__log = []);
  const loggingFetch = async (url, init) => {
    log.push({ url, auth: init.headers.Authorization || null, lastEventId: init.headers["Last-Event-ID"] || null });
    if (streams503 && url.includes("/events")) {
      return new Response('{"status": 503, "detail": "no streams"}', { status: 503, headers: { "Retry-After": "5" } });
    }
    return fetch(url, init);
  };
  const client = createClient({ getToken: () => token, fetch: loggingFetch });
  const { jobId } = await client.createJob({
    jobType: "export_report", payload: { reportType: "quotes", format: "csv" }, scheduledAt: "2099-01-01T00:00:00.000Z",
  });
  window.__updates = [];
  window.__done = client.watchJob(jobId, (status) => window.__updates.push(status.job.status));
  return jobId;
}"""


def requests(page, part: str) -> list[dict]:
    return page.evaluate(f"window.__log.filter((e) => e.url.includes('{part}'))")


def test_watch_job_follows_the_stream_and_polls_nothing(page, live_service: LiveService):
    page.goto("/")
    token = live_service.token()
    job_id = page.evaluate(START_WATCH, {"token": token, "streams503": False})
    page.wait_for_function("() => window.__updates.length === 1")
    time.sleep(2.5)  # past the first poll interval (2 s): a polling client would have polled
    with live_service.api() as api:
        started = time.monotonic()
        assert api.post(f"/v1/jobs/{job_id}/cancel").status_code == 200
    assert page.evaluate("window.__done.then((s) => s.job.status)") == "cancelled"
    assert time.monotonic() - started < 3
    assert page.evaluate("window.__updates") == ["queued", "cancelled"]
    assert requests(page, "/status") == []
    streams = requests(page, "/events")
    assert len(streams) == 1
    assert streams[0]["url"].endswith(f"/v1/jobs/{job_id}/events")
    assert streams[0]["auth"] == f"Bearer {token}" and token not in streams[0]["url"]


def test_watch_job_falls_back_to_polling_when_the_service_cannot_stream(page, live_service: LiveService):
    page.goto("/")
    job_id = page.evaluate(START_WATCH, {"token": live_service.token(), "streams503": True})
    page.wait_for_function("() => window.__updates.length === 1")
    assert len(requests(page, "/events")) == 1  # a 503 is not retried as a stream
    assert len(requests(page, "/status")) >= 1
    with live_service.api() as api:
        api.post(f"/v1/jobs/{job_id}/cancel")
    assert page.evaluate("window.__done.then((s) => s.job.status)") == "cancelled"  # within 2 s, then 10 s


def test_the_page_keeps_one_stream_and_polls_nothing(page, live_service: LiveService):
    scheduled = {
        "jobType": "export_report",
        "payload": {"reportType": "quotes", "format": "csv"},
        "scheduledAt": "2099-01-01T00:00:00.000Z",
    }
    with live_service.api() as api:
        queued = [api.post("/v1/jobs", json=scheduled).json()["jobId"] for _ in range(8)]
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url))
    sign_in(page, "Max Member")
    for job_id in queued:
        page.locator(f'tr.job[data-job-id="{job_id}"] .badge.queued').wait_for()
    time.sleep(2.5)
    # Eight unfinished rows, one connection: a browser allows six per origin.
    assert [url for url in seen if "/events" in url] == [f"{live_service.url}/v1/jobs/events"]
    assert not [url for url in seen if url.endswith("/status")]
    with live_service.api() as api:
        for job_id in queued[:3]:
            api.post(f"/v1/jobs/{job_id}/cancel")
    for job_id in queued[:3]:
        page.locator(f'tr.job[data-job-id="{job_id}"] .badge.cancelled').wait_for(timeout=3000)
    assert not [url for url in seen if url.endswith("/status")]
