"""Regenerate the README's screenshots of the jobs page (docs/screenshots/*.png; the
console's come from tests/integration/console the same way): runs the page's browser tests with JOBRUNNER_SCREENSHOTS=1, against a
fresh database, the real service and Debian's Chromium, like any test run.

    .venv/bin/python scripts/screenshots.py            # every screenshot
    .venv/bin/python scripts/screenshots.py -k import  # only those of matching tests

Needs what the browser tests need: PostgreSQL (tests/conftest.py), /usr/bin/chromium and
tests/node_modules (axe-core). Exit status: pytest's."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = [
    "tests/integration/web/test_page.py",
    "tests/integration/web/test_page_views.py",
]


def main(argv: list[str]) -> int:
    env = {**os.environ, "JOBRUNNER_SCREENSHOTS": "1"}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *TESTS, *argv]
    answer = subprocess.run(command, cwd=ROOT, env=env, check=False)
    shots = sorted((ROOT / "docs" / "screenshots").glob("*.png"))
    print(f"{len(shots)} screenshots in docs/screenshots: " + ", ".join(shot.name for shot in shots))
    return answer.returncode


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
