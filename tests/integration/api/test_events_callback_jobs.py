"""Events of a job with a callback URL (docs/push.md, docs/webhooks.md): an event is the
status answer without ``webhookDeliveries`` (events do not read them), never with an empty
list that would say "no delivery"; the status endpoint has them."""

from __future__ import annotations

import httpx
import pytest

from jobrunner.app import create_app
from jobrunner.settings import Settings
from tests.conftest import JWT_SECRET
from tests.integration.api.conftest import EXPORT_BODY, auth
from tests.support import sse
from tests.support.processes import serving_in_thread

pytestmark = pytest.mark.slow

HOOK = "https://backend.example.com/hooks/jobs"


async def test_events_leave_the_deliveries_out(database_url: str) -> None:
    app = create_app(Settings(pool_min_size=1, pool_max_size=4), database_url, JWT_SECRET)
    with serving_in_thread(app) as url:
        async with httpx.AsyncClient(base_url=url, timeout=15) as http:
            created = await http.post(
                "/v1/jobs", headers=auth("user_member"), json={**EXPORT_BODY, "callbackUrl": HOOK}
            )
            job_id = created.json()["jobId"]

            async def cancel(_stream: sse.Stream) -> None:
                await http.post(f"/v1/jobs/{job_id}/cancel", headers=auth("user_member"))

            stream = await sse.read(
                http,
                f"/v1/jobs/{job_id}/events",
                auth("user_member"),
                until=lambda s: s.end is not None,
                on_open=cancel,
            )
            assert [answer["job"]["status"] for answer in stream.jobs][-1] == "cancelled"
            assert all(set(answer) == {"job", "progress", "canCancel", "canRetry"} for answer in stream.jobs)
            assert stream.jobs[-1]["job"]["callbackUrl"] == HOOK
            status = (await http.get(f"/v1/jobs/{job_id}/status", headers=auth("user_member"))).json()
            assert [d["type"] for d in status["webhookDeliveries"]] == ["job.cancelled"]
