"""jobrunner-client.js's polling rules, in Chromium against the real service: Retry-After
honoured, If-None-Match sent and 304 handled, stop on final, pause while hidden."""

from __future__ import annotations

import time

import pytest

from tests.integration.web.conftest import LiveService

pytestmark = pytest.mark.slow

# A client whose fetch logs each request (start time, If-None-Match) and its answer, and a
# job that stays queued (scheduled far ahead) until the test cancels it.
START_WATCH = """async ({ token, hidden }) => {
  let isHidden = hidden;
  Object.defineProperty(document, "hidden", { configurable: true, get: () => isHidden });
  window.__setHidden = (value) => { isHidden = value; document.dispatchEvent(new Event("visibilitychange")); };
  const { createClient } = await import("/static/jobrunner-client.js");
  const log = (window.__log = []);
  const loggingFetch = async (url, init) => {
    const entry = { url, method: init.method, start: performance.now(), ifNoneMatch: init.headers["If-None-Match"] || null };
    const response = await fetch(url, init);
    Object.assign(entry, { status: response.status, etag: response.headers.get("ETag"), retryAfter: response.headers.get("Retry-After") });
    log.push(entry);
    return response;
  };
  // push: false, the polling rules (used too when the service cannot stream; test_client_push.py).
  const client = createClient({ getToken: () => token, fetch: loggingFetch, push: false });
  const { jobId } = await client.createJob({
    jobType: "export_report", payload: { reportType: "quotes", format: "csv" }, scheduledAt: "2099-01-01T00:00:00.000Z",
  });
  window.__updates = [];
  window.__controller = new AbortController();
  window.__done = client.watchJob(jobId, (status) => window.__updates.push(status.job.status), { signal: window.__controller.signal });
  return jobId;
}"""


def polls(page) -> list[dict]:
    return page.evaluate("window.__log.filter((e) => e.url.endsWith('/status'))")


def wait_for_polls(page, count: int, timeout: float) -> list[dict]:
    deadline = time.monotonic() + timeout
    while len(found := polls(page)) < count:
        assert time.monotonic() < deadline, f"{len(found)} polls, expected {count}"
        time.sleep(0.1)
    return found


def test_watch_follows_retry_after_revalidates_and_stops_when_final(page, live_service: LiveService):
    page.goto("/")
    job_id = page.evaluate(START_WATCH, {"token": live_service.token(), "hidden": False})
    first, second = wait_for_polls(page, 2, timeout=5)
    with live_service.api() as api:
        assert api.post(f"/v1/jobs/{job_id}/cancel").status_code == 200
    assert page.evaluate("window.__done.then((s) => s.job.status)") == "cancelled"
    time.sleep(2.5)
    log = polls(page)
    assert len(log) == 3, "no poll after the final state"
    third = log[2]

    # Right after creation the service asks for 2 s, then 10 s while queued.
    assert (first["status"], first["retryAfter"], first["ifNoneMatch"]) == (200, "2", None)
    assert 1900 <= second["start"] - first["start"] < 3500
    # Unchanged: the ETag went back and the answer was a bodyless 304.
    assert second["ifNoneMatch"] == first["etag"]
    assert (second["status"], second["retryAfter"]) == (304, "10")
    assert 9900 <= third["start"] - second["start"] < 12000
    assert third["ifNoneMatch"] == first["etag"]
    assert (third["status"], third["retryAfter"]) == (200, None)
    # onUpdate saw each change once; the 304 was no update.
    assert page.evaluate("window.__updates") == ["queued", "cancelled"]


def test_watch_polls_nothing_while_the_tab_is_hidden(page, live_service: LiveService):
    page.goto("/")
    page.evaluate(START_WATCH, {"token": live_service.token(), "hidden": True})
    time.sleep(2.5)
    assert polls(page) == []
    page.evaluate("window.__setHidden(false)")
    wait_for_polls(page, 1, timeout=2)
    page.evaluate("window.__setHidden(true)")
    # Aborting stops it and resolves with the last status seen.
    assert page.evaluate("window.__controller.abort(), window.__done.then((s) => s.job.status)") == "queued"
    time.sleep(2.5)
    assert len(polls(page)) == 1


def test_watch_backs_off_on_failures_then_carries_on(page, live_service: LiveService):
    """The first two polls fail (the network, then a 503 from a proxy): the client waits
    1-2 s, then 2-4 s, then polls the real service again."""
    page.goto("/")
    job_id = page.evaluate(
        START_WATCH.replace(
            "const response = await fetch(url, init);",
            """const failures = (window.__failures = (window.__failures || 0) + (url.endsWith('/status') ? 1 : 0));
        if (url.endsWith('/status') && failures === 1) { entry.status = 'network'; log.push(entry); throw new TypeError('network down'); }
        const response = failures === 2 && url.endsWith('/status')
          ? new Response('{"status": 503, "detail": "busy"}', { status: 503 }) : await fetch(url, init);""",
        ).replace(
            "{ signal: window.__controller.signal }",
            "{ signal: window.__controller.signal, onError: (e, s) => (window.__delays = [...(window.__delays || []), s]) }",
        ),
        {"token": live_service.token(), "hidden": False},
    )
    first, second, third = wait_for_polls(page, 3, timeout=10)
    assert [first["status"], second["status"], third["status"]] == ["network", 503, 200]
    delays = page.evaluate("window.__delays")
    assert 1 <= delays[0] <= 2 and 2 <= delays[1] <= 4
    assert delays[0] * 1000 - 50 <= second["start"] - first["start"] < delays[0] * 1000 + 1000
    assert delays[1] * 1000 - 50 <= third["start"] - second["start"] < delays[1] * 1000 + 1000
    assert page.evaluate("window.__updates") == ["queued"]
    with live_service.api() as api:
        api.post(f"/v1/jobs/{job_id}/cancel")
    page.evaluate("window.__controller.abort()")
