"""Sending emails over SMTP (aiosmtplib): host, port, TLS mode and credentials from the
settings. Any SMTP or network failure is transient: the server may accept later."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

import aiosmtplib

from jobrunner.domain.errors import RetryLater
from jobrunner.notifications.templates import Rendered
from jobrunner.settings import Settings


def build_message(sender: str, to_name: str, to_address: str, rendered: Rendered) -> EmailMessage:
    """A multipart/alternative message: the text part first, the HTML part preferred."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = formataddr((to_name, to_address))
    message["Subject"] = rendered.subject
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    return message


@asynccontextmanager
async def smtp_session(settings: Settings) -> AsyncIterator[aiosmtplib.SMTP]:
    """One connection for all of a job's messages."""
    client = aiosmtplib.SMTP(
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        use_tls=settings.smtp_tls == "tls",
        start_tls=True if settings.smtp_tls == "starttls" else False,
        username=settings.smtp_username,
        password=settings.smtp_password,
        timeout=settings.smtp_timeout_seconds,
    )
    try:
        await client.connect()
    except (aiosmtplib.SMTPException, OSError) as exc:
        raise RetryLater(f"SMTP server {settings.smtp_host}:{settings.smtp_port} unavailable: {exc}") from exc
    try:
        yield client
    finally:
        try:
            await client.quit()
        except (aiosmtplib.SMTPException, OSError):
            client.close()


async def send(client: aiosmtplib.SMTP, message: EmailMessage) -> None:
    try:
        await client.send_message(message)
    except (aiosmtplib.SMTPException, OSError) as exc:
        raise RetryLater(f"SMTP server refused the message: {exc}") from exc
