"""Observability tests: the API fixtures (tests/integration/api/conftest.py) and the worker
ones (tests/integration/worker/conftest.py), plus reading a process's JSON log lines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tests.integration.api.conftest import app, client, create_job, db, settings  # noqa: F401
from tests.integration.worker.conftest import events  # noqa: F401

METRICS_TOKEN = "metrics-token-for-the-scraper-0123456789"


def json_lines(path: Path) -> list[dict[str, Any]]:
    """Every line of a log file, each of which must be one JSON object."""
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    return [json.loads(line) for line in lines]


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Prometheus text, read by Prometheus's own parser: value by (sample name, labels)."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)
