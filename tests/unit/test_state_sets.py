"""The state sets outside Python (the JS client, the web page) and the CLI's come from
domain/states.py: the JS constants and the page's status filter are parsed and compared
with the Python enum and sets."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jobrunner.client.http
from jobrunner.domain import states
from jobrunner.domain.states import JobStatus

STATIC = Path(states.__file__).resolve().parents[1] / "web" / "static"


def js_constants() -> dict[str, set[str]]:
    text = (STATIC / "jobrunner-client.js").read_text()
    found = re.findall(r"export const (\w+_STATES) = Object\.freeze\((\[[^\]]*\])\);", text)
    return {name: set(json.loads(values)) for name, values in found}


def test_js_client_state_sets_equal_the_domain() -> None:
    constants = js_constants()
    assert constants == {
        "FINAL_STATES": {s.value for s in states.FINAL_STATES},
        "CANCELLABLE_STATES": {s.value for s in states.CANCELLABLE_STATES},
        "RETRYABLE_STATES": {s.value for s in states.RETRYABLE_STATES},
    }


def test_web_page_names_exactly_the_states() -> None:
    page = (STATIC / "index.html").read_text()
    select = re.search(r'<select id="filter-status".*?</select>', page, re.DOTALL)
    assert select is not None
    options = [v for v in re.findall(r'value="(\w*)"', select.group(0)) if v]
    assert len(options) == len(set(options)) and set(options) == {s.value for s in JobStatus}
    app = (STATIC / "app.js").read_text()
    assert set(re.findall(r'case "(\w+)":', app)) <= {s.value for s in JobStatus}


def test_cli_client_uses_the_domain_sets() -> None:
    assert jobrunner.client.http.FINAL_STATES is states.FINAL_STATES


def test_derived_sets() -> None:
    assert states.CANCELLABLE_STATES == {JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.RETRYING}
    assert states.RETRYABLE_STATES == {JobStatus.FAILED}
    assert not any(
        states.is_allowed(final, other)
        for final in (JobStatus.SUCCEEDED, JobStatus.CANCELLED)
        for other in JobStatus
        if other != final
    )
