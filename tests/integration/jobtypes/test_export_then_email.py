"""The showcase of job dependencies, "export, then email me the link": an export, and an
``export_ready`` notification depending on it (``dependsOn: [{"jobId", "as": "export"}]``).
A real worker runs both, in order; the email the SMTP receiver gets holds the export's
download link, absolute and signed, and the link works in a plain request (no token)."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from jobrunner.settings import Settings
from tests.conftest import JWT_SECRET
from tests.integration.exports.conftest import seed_export_data
from tests.integration.jobtypes.conftest import start_job, wait_final
from tests.integration.worker.conftest import fast_settings
from tests.support.receivers import SmtpSink

PUBLIC_URL = "https://jobs.example.test"
EXPORT = {"reportType": "quotes", "format": "csv", "filters": {"dateFrom": "2023-01-01", "dateTo": "2025-12-31"}}


@pytest.fixture
def settings(tmp_path: Path, smtp: SmtpSink) -> Settings:
    return fast_settings(
        data_dir=tmp_path / "data",
        smtp_port=smtp.port,
        smtp_from="jobs@jobrunner.test",
        pool_min_size=1,
        # What a service's runtime gives its workers: the signing secret, where users reach it.
        jwt_secret=JWT_SECRET,
        public_url=PUBLIC_URL,
        notification_link_ttl_seconds=3600,
    )


async def test_export_then_email_me_the_link(client, worker, pool, smtp: SmtpSink) -> None:
    await seed_export_data(pool)
    export = await start_job(client, "export_report", EXPORT, user="user_member")
    notify = await start_job(
        client,
        "notification",
        {"channel": "email", "recipients": ["user_member"], "template": "export_ready", "data": {"message": "Q3"}},
        user="user_member",
        dependsOn=[{"jobId": export, "as": "export"}],
    )
    done = await wait_final(client, notify, user="user_member")
    assert done["status"] == "succeeded", done
    exported = await wait_final(client, export, user="user_member")
    assert exported["status"] == "succeeded"
    # The notification started only once the export had finished.
    assert done["startedAt"] >= exported["completedAt"]
    assert done["dependsOn"] == [{"jobId": export, "as": "export"}] and done["blockedBy"] == 0

    (message,) = smtp.messages
    assert message["Subject"] == "Your quotes export is ready"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert f"CSV, {exported['result']['recordCount']} records" in text and "Q3" in text
    links = re.findall(r"https://\S+", text)
    assert len(links) == 1
    link = links[0]
    assert link.startswith(f"{PUBLIC_URL}/v1/exports/{export}/download?") and "sig=" in link
    assert link.replace("&", "&amp;") in html

    # The link works without a token, as from a mail client; tampered, it does not.
    path = link.removeprefix(PUBLIC_URL)
    response = await client.get(path)
    assert response.status_code == 200, response.text
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0][0] == "Quote Number" and len(rows) == exported["result"]["recordCount"] + 1
    assert (await client.get(path[:-2] + "xx")).status_code == 404  # as a link of nobody's


async def test_a_failed_export_cancels_the_email(client, worker, smtp: SmtpSink) -> None:
    export = await start_job(client, "export_report", {**EXPORT, "reportType": "no_such_report"})
    notify = await start_job(
        client,
        "notification",
        {"channel": "email", "recipients": ["user_admin"], "template": "export_ready"},
        dependsOn=[{"jobId": export, "as": "export"}],
    )
    failed = await wait_final(client, export)
    assert failed["status"] == "failed"
    cancelled = await wait_final(client, notify)
    assert cancelled["status"] == "cancelled"
    assert cancelled["errorMessage"] == f"Cancelled: its dependency export (job {export}, export_report) failed"
    assert cancelled["startedAt"] is None
    assert smtp.messages == []


async def test_a_template_naming_a_missing_dependency_fails_permanently(client, worker, smtp: SmtpSink) -> None:
    notify = await start_job(
        client, "notification", {"channel": "email", "recipients": ["user_admin"], "template": "export_ready"}
    )
    job = await wait_final(client, notify)
    assert job["status"] == "failed" and job["retryCount"] == 0
    assert "template 'export_ready' needs" in job["errorMessage"] and "export" in job["errorMessage"]
    assert smtp.messages == []
