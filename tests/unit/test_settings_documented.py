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


def test_every_documented_default_is_the_settings_default() -> None:
    """The default column of docs/operations.md's settings tables says what Settings holds
    (settings without a value by default are described in words: "none", "generated")."""
    import re

    text = (REPO_ROOT / "docs" / "operations.md").read_text()
    wrong = {}
    for name, field in Settings.model_fields.items():
        default = field.default if field.default_factory is None else field.default_factory()  # type: ignore[call-arg]
        if default in (None, []):
            continue
        variable = UNPREFIXED.get(name, "JOBRUNNER_" + name.upper())
        row = re.search(rf"^\| `{variable}` \| `([^`]*)`", text, re.M)
        shown = row.group(1) if row else None
        same = shown is not None and (
            shown.lower() == str(default).lower()
            or (not isinstance(default, bool) and re.fullmatch(r"[\d.]+", shown) and float(shown) == float(default))
        )
        if not same:
            wrong[variable] = (shown, default)
    assert wrong == {}
