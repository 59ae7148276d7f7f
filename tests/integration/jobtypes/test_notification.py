"""notification: email to a real SMTP server on loopback, webhook to a real HTTP receiver
on loopback that checks the signature; transient and permanent failures."""

from __future__ import annotations

import uuid

import asyncpg
import httpx

from tests.integration.jobtypes.conftest import auth, start_job, wait_final
from tests.support.receivers import HttpReceiver, SmtpSink, http_receiver

SECRET = "webhook-secret-0123456789abcdef"


async def configure_webhook(client: httpx.AsyncClient, url: str) -> None:
    response = await client.put(
        "/v1/integrations/notifications", json={"targetUrl": url, "secret": SECRET}, headers=auth("user_admin")
    )
    assert response.status_code in (200, 201), response.text
    assert "secret" not in response.json()


async def test_email_has_text_and_html_parts_with_escaping(client, worker, smtp: SmtpSink) -> None:
    job_id = await start_job(
        client,
        "notification",
        {
            "channel": "email",
            "recipients": ["user_member", "user_viewer"],
            "template": "message",
            "data": {"subject": "Report\r\nBcc: evil@example.com", "body": "<script>alert(1)</script> & more"},
        },
        user="user_member",
    )
    job = await wait_final(client, job_id, user="user_member")
    assert job["status"] == "succeeded", job
    assert job["result"] == {
        "channel": "email",
        "template": "message",
        "recipientCount": 2,
        "delivered": 2,
        "alreadyDelivered": 0,
    }
    # One message per recipient: nobody sees the other addresses.
    assert sorted(rcpts for _, rcpts in smtp.envelopes) == [["user_member@example.com"], ["user_viewer@example.com"]]
    message = smtp.messages[0]
    assert message["Subject"] == "Report Bcc: evil@example.com"  # one header line, no injection
    assert message["Bcc"] is None
    assert message["From"] == "jobs@jobrunner.test"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "<script>alert(1)</script> & more" in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in html
    assert "<script>" not in html


async def test_smtp_refusal_is_retried(client, worker, smtp: SmtpSink, database_url: str) -> None:
    smtp.script.append("451 4.3.0 try again later")
    job_id = await start_job(
        client,
        "notification",
        {
            "channel": "email",
            "recipients": ["user_admin"],
            "template": "job_finished",
            "data": {"jobType": "export_report", "jobId": "j-1", "status": "succeeded"},
        },
    )
    job = await wait_final(client, job_id)
    assert job["status"] == "succeeded" and job["retryCount"] == 1, job
    # The failed first attempt, from the job's history (the retrying state itself lasts
    # only the test settings' backoff, tens of milliseconds: a poll may not see it).
    conn = await asyncpg.connect(database_url)
    try:
        history = await conn.fetch(
            "SELECT action, details->>'error' AS error FROM audit_logs WHERE job_id = $1 AND actor = 'system'"
            " ORDER BY id",
            uuid.UUID(job_id),
        )
    finally:
        await conn.close()
    assert [row["action"] for row in history] == ["job.attempt_failed", "job.succeeded"], history
    assert "451" in history[0]["error"], history
    assert len(smtp.messages) == 1


async def test_permanent_failures(client, worker, smtp: SmtpSink) -> None:
    unknown_template = await start_job(
        client, "notification", {"channel": "email", "recipients": ["user_admin"], "template": "no_such_template"}
    )
    foreign_recipient = await start_job(
        client,
        "notification",
        {
            "channel": "email",
            "recipients": ["user_globex"],
            "template": "message",
            "data": {"subject": "s", "body": "b"},
        },
    )
    missing_data = await start_job(
        client, "notification", {"channel": "email", "recipients": ["user_admin"], "template": "message", "data": {}}
    )
    no_endpoint = await start_job(
        client, "notification", {"channel": "webhook", "template": "message", "data": {"subject": "s", "body": "b"}}
    )
    for job_id, message in (
        (unknown_template, "unknown template 'no_such_template'"),
        (foreign_recipient, "not in the organization: user_globex"),
        (missing_data, "needs 'dict object' has no attribute 'subject'"),
        (no_endpoint, "no 'notifications' integration"),
    ):
        job = await wait_final(client, job_id)
        assert job["status"] == "failed" and job["retryCount"] == 0, job
        assert message in job["errorMessage"], job
    assert smtp.messages == []


async def webhook_job(client: httpx.AsyncClient, script: list[int]) -> tuple[dict, HttpReceiver]:
    """A webhook notification to a receiver answering ``script`` first; the final job."""
    with http_receiver(SECRET, script=script) as receiver:
        await configure_webhook(client, receiver.url)
        job_id = await start_job(
            client,
            "notification",
            {"channel": "webhook", "template": "message", "data": {"subject": "Hi", "body": "<b>x</b>"}},
        )
        return await wait_final(client, job_id), receiver


async def test_webhook_signed_503_then_success(client, worker) -> None:
    job, receiver = await webhook_job(client, [503])
    job_id = job["id"]
    assert job["status"] == "succeeded", job
    assert job["seen"][-2:] == ["retrying", "succeeded"] and job["retryCount"] == 1
    assert [r.status for r in receiver.received] == [503, 200]
    assert all(r.signature_ok for r in receiver.received)
    keys = {r.headers["idempotency-key"] for r in receiver.received}
    assert keys == {job_id}
    document = receiver.received[-1].json()
    assert document["id"] == job_id and document["template"] == "message"
    assert document["data"] == {"subject": "Hi", "body": "<b>x</b>"}
    assert document["organizationId"] == "org_acme"


async def test_webhook_4xx_is_permanent(client, worker) -> None:
    job, receiver = await webhook_job(client, [410])
    assert job["status"] == "failed" and job["retryCount"] == 0
    assert job["errorMessage"] == "the receiver answered 410"
    assert len(receiver.received) == 1


async def test_payload_validation(client) -> None:
    cases = [
        {"channel": "email", "recipients": [], "template": "message"},
        {"channel": "webhook", "recipients": ["user_admin"], "template": "message"},
        {"channel": "sms", "template": "message"},
        {"channel": "email", "recipients": ["user_admin"], "template": "Bad Name"},
        {"channel": "email", "recipients": ["user_admin"], "template": "message", "data": {"x": {"totalPrice": 3}}},
        {"channel": "email", "recipients": ["user_admin"], "template": "message", "extra": 1},
    ]
    for payload in cases:
        response = await client.post(
            "/v1/jobs", json={"jobType": "notification", "payload": payload}, headers=auth("user_admin")
        )
        assert response.status_code == 422, (payload, response.text)
    response = await client.post(
        "/v1/jobs",
        json={
            "jobType": "notification",
            "payload": {"channel": "email", "recipients": ["user_admin"], "template": "message"},
        },
        headers=auth("user_viewer"),
    )
    assert response.status_code == 403


async def test_integration_admin_only_and_secret_never_returned(client) -> None:
    body = {"targetUrl": "https://example.com/hook", "secret": SECRET}
    response = await client.put("/v1/integrations/notifications", json=body, headers=auth("user_member"))
    assert response.status_code == 403
    response = await client.put("/v1/integrations/notifications", json=body, headers=auth("user_admin"))
    assert response.status_code == 201 and SECRET not in response.text
    response = await client.put("/v1/integrations/notifications", json=body, headers=auth("user_admin"))
    assert response.status_code == 200
    response = await client.get("/v1/integrations/notifications", headers=auth("user_admin"))
    assert response.status_code == 200 and SECRET not in response.text
    assert response.json()["targetUrl"] == "https://example.com/hook"
    for name, payload in (
        ("Bad Name", body),
        ("ok", {"targetUrl": "ftp://x", "secret": SECRET}),
        ("ok", {"targetUrl": "https://x", "secret": "short"}),
    ):
        response = await client.put(f"/v1/integrations/{name}", json=payload, headers=auth("user_admin"))
        assert response.status_code == 422, response.text
    response = await client.get(f"/v1/integrations/{uuid.uuid4().hex}", headers=auth("user_admin"))
    assert response.status_code == 404
    response = await client.get("/v1/integrations/notifications", headers=auth("user_globex"))
    assert response.status_code == 404
