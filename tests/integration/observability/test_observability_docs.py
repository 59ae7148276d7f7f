"""The Grafana dashboard and the alert rules in docs/observability/ query only metrics that
jobrunner serves, and every served metric is in docs/operations.md's table."""

from __future__ import annotations

import json
import re

import yaml

from jobrunner.app import create_app
from jobrunner.settings import Settings
from tests.conftest import JWT_SECRET
from tests.support.processes import REPO_ROOT

DOCS = REPO_ROOT / "docs"
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}


def served() -> tuple[set[str], set[str]]:
    """The families an API process serves (this process's registry included), and their
    sample names."""
    app = create_app(Settings(), "postgresql://unused", JWT_SECRET)
    app.middleware_stack = app.build_middleware_stack()  # the request metrics live in a middleware
    registry = app.state.metrics_registry
    families = {family.name: family.type for family in registry.collect() if family.name.startswith("jobrunner_")}
    samples = {name + suffix for name, kind in families.items() for suffix in SUFFIXES[kind]}
    return set(families), samples


def test_the_dashboard_and_the_alerts_use_served_metrics() -> None:
    _, samples = served()
    dashboard = json.loads((DOCS / "observability" / "grafana-dashboard.json").read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    rules = yaml.safe_load((DOCS / "observability" / "alerts.yml").read_text())
    exprs += [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    used = {name for expr in exprs for name in re.findall(r"jobrunner_[a-z_]+", expr)}
    assert used and used <= samples, used - samples
    assert {"JobrunnerQueueWaitHigh", "JobrunnerFailureRateHigh", "JobrunnerNoLiveWorker"} <= {
        rule["alert"] for group in rules["groups"] for rule in group["rules"]
    }


def test_every_served_metric_is_documented() -> None:
    families, samples = served()
    text = (DOCS / "operations.md").read_text()
    documented = set(re.findall(r"`(jobrunner_[a-z_]+)`", text))
    # A row may name several metrics sharing a prefix: `jobrunner_jobs_succeeded_total`, `_failed_total`.
    for prefix, rest in re.findall(r"`(jobrunner_[a-z]+(?:_[a-z]+)*?)_[a-z]+_total`((?:, `_[a-z_]+`)+)", text):
        documented |= {prefix + suffix for suffix in re.findall(r"`(_[a-z_]+)`", rest)}
    missing = {name for name in families if not ({name} | {s for s in samples if s.startswith(name)}) & documented}
    assert not missing, missing
