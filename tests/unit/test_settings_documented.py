"""Every setting is documented in docs/operations.md under the variable that sets it."""

from __future__ import annotations

from jobrunner.settings import Settings
from tests.support.processes import REPO_ROOT

UNPREFIXED = {"database_url": "DATABASE_URL", "port": "PORT"}


def test_every_setting_is_documented() -> None:
    text = (REPO_ROOT / "docs" / "operations.md").read_text()
    missing = [
        name for name in Settings.model_fields if f"`{UNPREFIXED.get(name, 'JOBRUNNER_' + name.upper())}`" not in text
    ]
    assert missing == []


def test_imports_are_split_on_commas(monkeypatch) -> None:
    monkeypatch.setenv("JOBRUNNER_IMPORTS", "app.jobs, app.more_jobs,")
    assert Settings().imports == ["app.jobs", "app.more_jobs"]
