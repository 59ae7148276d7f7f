"""``notification``: an email to users of the organization (text and HTML parts) or a
signed webhook POST to the organization's ``notifications`` integration.

Transient: the SMTP server is unreachable or refuses, the webhook times out, cannot be
reached, answers 5xx or 429. Permanent: unknown template, data the template needs is
missing, a link that is not http(s)/mailto, a recipient outside the organization, no
``notifications`` integration, a 3xx or 4xx answer, a refused destination. Recipients reached by an earlier attempt are not sent the email again.

A notification created with ``dependsOn`` runs once those jobs succeeded; its template
reads them as ``dependencies.<name>`` (``processors/dependencies.py``): "export, then
email me the link" is an ``export_ready`` notification depending on an export named
``export``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from jobrunner.db.sql import Q
from jobrunner.domain.errors import PermanentError
from jobrunner.domain.jobtypes import Step
from jobrunner.domain.payloads import NotificationPayload
from jobrunner.domain.results import NotificationResult
from jobrunner.integrations.delivery import post_signed
from jobrunner.integrations.repository import find_integration
from jobrunner.integrations.secrets import secret_box
from jobrunner.timestamps import iso_utc
from jobrunner.notifications import email
from jobrunner.notifications.templates import render, template_exists
from jobrunner.outbound.client import outbound_client
from jobrunner.processors.dependencies import dependency_results, shareable
from jobrunner.worker.context import JobContext
from jobrunner.worker.registry import job_type

STEPS = [Step(10, "Check recipients and template"), Step(30, "Render"), Step(50, "Deliver")]
WEBHOOK_INTEGRATION = "notifications"
WEBHOOK_RECIPIENT = "webhook"


@job_type(
    "notification",
    payload=NotificationPayload,
    result=NotificationResult,
    permission="notifications.send_notifications",
    steps=STEPS,
    timeout_seconds=300,
)
async def run_notification(ctx: JobContext[NotificationPayload]) -> dict[str, Any]:
    """Send an email to users of the organization, or a signed webhook to its endpoint."""
    payload = ctx.payload
    await ctx.step(1)
    if not template_exists(payload.template):
        raise PermanentError(f"Invalid notification payload: unknown template '{payload.template}'")
    delivered = {row["recipient"] for row in await ctx.pool.fetch(Q.delivered_recipients, ctx.job_id)}
    dependencies = shareable(await dependency_results(ctx.pool, ctx.job_id), ctx.settings)
    if payload.channel == "email":
        sent = await _send_emails(ctx, payload, delivered, dependencies)
    else:
        sent = await _post_webhook(ctx, payload, delivered, dependencies)
    return {
        "channel": payload.channel,
        "template": payload.template,
        "recipientCount": len(payload.recipients) if payload.channel == "email" else 1,
        "delivered": sent,
        "alreadyDelivered": len(delivered),
    }


async def _send_emails(
    ctx: JobContext[NotificationPayload],
    payload: NotificationPayload,
    delivered: set[str],
    dependencies: dict[str, dict[str, Any]],
) -> int:
    rows = await ctx.pool.fetch(Q.notification_recipients, ctx.organization_id, payload.recipients)
    users = {row["id"]: row for row in rows}
    unknown = [user for user in payload.recipients if user not in users]
    if unknown:
        raise PermanentError(
            f"Invalid notification payload: recipients not in the organization: {', '.join(unknown[:10])}"
        )
    await ctx.step(2)
    pending = [users[user] for user in payload.recipients if user not in delivered]
    messages = [
        email.build_message(
            ctx.settings.smtp_from,
            user["display_name"],
            user["email"],
            render(
                payload.template,
                payload.data,
                {"name": user["display_name"], "email": user["email"]},
                dependencies,
            ),
        )
        for user in pending
    ]
    await ctx.step(3)
    if not messages:
        return 0
    async with email.smtp_session(ctx.settings) as client:
        for number, (user, message) in enumerate(zip(pending, messages), start=1):
            ctx.check_cancelled()
            await email.send(client, message)
            await ctx.pool.execute(Q.record_delivery, ctx.job_id, user["id"])
            await ctx.progress(number / len(messages))
    return len(messages)


async def _post_webhook(
    ctx: JobContext[NotificationPayload],
    payload: NotificationPayload,
    delivered: set[str],
    dependencies: dict[str, dict[str, Any]],
) -> int:
    integration = await find_integration(ctx.pool, secret_box(ctx.settings), ctx.organization_id, WEBHOOK_INTEGRATION)
    if integration is None:
        raise PermanentError(
            f"Invalid notification payload: the organization has no '{WEBHOOK_INTEGRATION}' integration "
            f"(PUT /v1/integrations/{WEBHOOK_INTEGRATION})"
        )
    await ctx.step(2)
    rendered = render(payload.template, payload.data, dependencies=dependencies)
    document = {
        "id": str(ctx.job_id),
        "type": "notification",
        "template": payload.template,
        "organizationId": ctx.organization_id,
        "subject": rendered.subject,
        "text": rendered.text,
        "data": payload.data,
        "sentAt": iso_utc(dt.datetime.now(dt.UTC)),
    }
    await ctx.step(3)
    if WEBHOOK_RECIPIENT in delivered:
        return 0
    async with outbound_client(ctx.settings) as client:
        # The job id is the idempotency key: a receiver that saw it already can ignore a repeat.
        await post_signed(
            client,
            integration.target_url,
            integration.secret,
            document,
            idempotency_key=str(ctx.job_id),
            timeout=ctx.settings.webhook_timeout_seconds,
        )
    await ctx.pool.execute(Q.record_delivery, ctx.job_id, WEBHOOK_RECIPIENT)
    return 1
