"""A TypeScript client generated from the document (openapi-typescript types with
openapi-fetch) type-checks ``node/flows.ts`` with ``tsc --strict`` (including that a typo in
a job type or payload field does NOT compile) and runs it with node against a live service
with a worker: create, poll with ETag/304, the export's typed result, download (signed
link and bearer), cancel, retry, list, a 422 and a 404."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.contract.conftest import run_node_tool
from tests.integration.api.conftest import token_for

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def compiled(node_tools: Path, spec_file: Path) -> Iterator[Path]:
    """``flows.js``, built from ``flows.ts`` against the generated ``api.d.ts`` (once per
    run, in a directory of its own under ``node/`` so that node_modules resolve)."""
    run_dir = node_tools / f".run-{os.getpid()}"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir()
    try:
        shutil.copy(node_tools / "flows.ts", run_dir / "flows.ts")
        config = {
            "extends": "../tsconfig.json",
            "include": ["flows.ts", "api.d.ts"],
            "compilerOptions": {"outDir": "out"},
        }
        (run_dir / "tsconfig.json").write_text(json.dumps(config))
        generate = run_node_tool(node_tools, "openapi-typescript", str(spec_file), "-o", str(run_dir / "api.d.ts"))
        assert generate.returncode == 0, generate.stdout + generate.stderr
        for extra in (["--noEmit"], []):
            build = run_node_tool(node_tools, "tsc", "--strict", "-p", str(run_dir / "tsconfig.json"), *extra)
            assert build.returncode == 0, build.stdout + build.stderr
        yield run_dir / "out" / "flows.js"
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


def test_the_product_flows(compiled: Path, live_url: str) -> None:
    node = shutil.which("node")
    assert node is not None
    env = {**os.environ, "JOBRUNNER_URL": live_url, "JOBRUNNER_TOKEN": token_for("user_admin")}
    run = subprocess.run([node, str(compiled)], capture_output=True, text=True, timeout=120, env=env)
    assert run.returncode == 0 and "flows ok" in run.stdout, run.stdout + run.stderr
