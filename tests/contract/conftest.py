"""Fixtures of the contract tests: the OpenAPI document of a service with every optional
part switched on (demo endpoints, metrics, the test job types of
``tests/support/processors.py`` as custom job types), the npm tools (installed once per
checkout from ``node/package-lock.json``), and a live service with a worker on loopback."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jobrunner import plugins
from jobrunner.app import create_app
from jobrunner.settings import Settings
from tests.conftest import JWT_SECRET
from tests.integration.worker.conftest import fast_settings
from tests.support.processes import serving_in_thread

NODE_DIR = Path(__file__).parent / "node"
CUSTOM_TYPES = "tests.support.processors"


# The service with every optional part on.
CONTRACT_SETTINGS: dict[str, Any] = dict(
    demo_mode=True, metrics_token="m" * 32, imports=[CUSTOM_TYPES], pool_min_size=1, pool_max_size=8
)


@pytest.fixture(scope="session")
def document() -> dict[str, Any]:
    settings = Settings(**CONTRACT_SETTINGS)
    plugins.load_imports(settings)  # what the lifespan does
    return create_app(settings, "postgresql://unused/unused", JWT_SECRET).openapi()


@pytest.fixture(scope="session")
def spec_file(document: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    import json

    path = tmp_path_factory.mktemp("spec") / "openapi.json"
    path.write_text(json.dumps(document, indent=1))
    return path


@pytest.fixture(scope="session")
def node_tools() -> Path:
    """``node/node_modules``, installed with ``npm ci`` when missing or older than the lock."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed: the Redocly and TypeScript checks need Node.js and npm")
    modules = NODE_DIR / "node_modules"
    stamp = modules / ".package-lock.json"
    if not stamp.exists() or stamp.stat().st_mtime < (NODE_DIR / "package-lock.json").stat().st_mtime:
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True, capture_output=True, timeout=300
        )
    return NODE_DIR


def run_node_tool(
    node_dir: Path, *args: str, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(node_dir / "node_modules" / ".bin" / args[0]), *args[1:]],
        cwd=cwd or node_dir,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def live_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """The API with an in-process worker, served by uvicorn in a thread on a free port."""
    from jobrunner.worker.loop import Worker

    settings = fast_settings(**CONTRACT_SETTINGS, data_dir=tmp_path)
    worker = Worker(database_url, settings, concurrency=2)
    app = create_app(settings, database_url, JWT_SECRET, lifespans=[lambda app: worker.running()])
    with serving_in_thread(app) as url:
        yield url
