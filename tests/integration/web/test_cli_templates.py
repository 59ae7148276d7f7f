"""The CLI's job templates (``jobrunner templates ...``, ``jobs create --template``) and
``--idempotency-key``, as a real process against a running service."""

from __future__ import annotations

import json

import pytest

from tests.integration.web.conftest import LiveService
from tests.integration.web.test_cli_client import cli

pytestmark = pytest.mark.slow

LATER = "2099-01-01T00:00:00.000Z"


def jobrunner(service: LiveService, *args: str, user: str = "user_admin"):
    return cli(service, *args, user=user, module="jobrunner.cli")


def test_templates_and_idempotency_keys(live_service: LiveService):
    payload = json.dumps({"reportType": "quotes", "format": "csv", "filters": {"dateFrom": "2024-01-01"}})
    created = jobrunner(live_service, "templates", "create", "Quotes CSV", "export_report", "--payload", payload)
    assert created.returncode == 0, created.stderr
    template_id = created.stdout.strip()

    denied = jobrunner(live_service, "templates", "create", "Mine", "export_report", user="user_member")
    assert denied.returncode == 1 and "don't have permission" in denied.stderr
    listed = jobrunner(live_service, "templates", "list", "--json", user="user_member")
    assert [t["id"] for t in json.loads(listed.stdout)] == [template_id]
    assert "Quotes CSV" in jobrunner(live_service, "templates", "list", user="user_member").stdout

    # By name, with a payload override and an idempotency key: the same command twice, one job.
    start = ("jobs", "create", "--template", "Quotes CSV", "--payload", '{"format": "json"}')
    keyed = (*start, "--scheduled-at", LATER, "--idempotency-key", "cli-1")
    first = jobrunner(live_service, *keyed, user="user_member")
    assert first.returncode == 0, first.stderr
    again = jobrunner(live_service, *keyed, user="user_member")
    assert again.stdout == first.stdout
    job_id = first.stdout.strip()
    status = json.loads(jobrunner(live_service, "jobs", "status", job_id, "--json", user="user_member").stdout)
    assert status["job"]["templateId"] == template_id
    assert status["job"]["payload"]["format"] == "json" and status["job"]["payload"]["filters"] == {
        "dateFrom": "2024-01-01"
    }
    with live_service.api("user_member") as api:
        assert api.get("/v1/jobs").json()["total"] == 1
    reused = jobrunner(
        live_service, "jobs", "create", "--template", template_id[:8], "--idempotency-key", "cli-1", user="user_member"
    )
    assert reused.returncode == 1 and "another request body" in reused.stderr

    # By the start of its id; a type and a template at once (or neither) is a usage error.
    assert (
        jobrunner(live_service, "jobs", "create", "--template", template_id[:8], "--scheduled-at", LATER).returncode
        == 0
    )
    assert jobrunner(live_service, "jobs", "create", "export_report", "--template", "Quotes CSV").returncode == 2
    assert jobrunner(live_service, "jobs", "create").returncode == 2
    # The API takes no dependencies with a template: said, not silently dropped.
    with_dependency = jobrunner(live_service, "jobs", "create", "--template", "Quotes CSV", "--depends-on", "abc")
    assert with_dependency.returncode == 2 and "--depends-on" in with_dependency.stderr
    unknown = jobrunner(live_service, "jobs", "create", "--template", "nope")
    assert unknown.returncode == 1 and "no template named" in unknown.stderr

    deleted = jobrunner(live_service, "templates", "delete", "Quotes CSV")
    assert deleted.returncode == 0 and "deleted template" in deleted.stderr
    assert json.loads(jobrunner(live_service, "templates", "list", "--json").stdout) == []
