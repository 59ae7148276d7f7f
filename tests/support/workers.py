"""Worker subprocesses (``python -m jobrunner.cli worker``) for tests and benchmarks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

FAST = {
    "JOBRUNNER_POLL_INTERVAL_SECONDS": "0.5",
    "JOBRUNNER_HEARTBEAT_INTERVAL_SECONDS": "0.3",
    "JOBRUNNER_LEASE_SECONDS": "1.5",
    "JOBRUNNER_CANCEL_CHECK_INTERVAL_SECONDS": "0.2",
    "JOBRUNNER_PROGRESS_WRITE_INTERVAL_SECONDS": "0.05",
    "JOBRUNNER_SHUTDOWN_GRACE_SECONDS": "1",
    "JOBRUNNER_RETRY_BACKOFF_BASE_SECONDS": "0.05",
    "JOBRUNNER_RETRY_BACKOFF_CAP_SECONDS": "0.2",
}

# Workers sign nothing, but start only with a valid configuration (at least 32 bytes).
WORKER_JWT_SECRET = "not-used-by-workers-but-required-0123456789abcdef"


def spawn_worker(
    database_url: str,
    *,
    concurrency: int = 10,
    imports: str = "tests.support.processors",
    env: dict[str, str] | None = None,
    log_path: Path | None = None,
) -> subprocess.Popen[bytes]:
    environment = dict(os.environ)
    environment.update(FAST)
    environment.update(
        DATABASE_URL=database_url,
        JOBRUNNER_IMPORTS=imports,
        JOBRUNNER_JWT_SECRET=WORKER_JWT_SECRET,
        PYTHONPATH=str(ROOT) + os.pathsep + environment.get("PYTHONPATH", ""),
    )
    environment.update(env or {})
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    return subprocess.Popen(
        [sys.executable, "-m", "jobrunner.cli", "worker", "--concurrency", str(concurrency)],
        cwd=ROOT,
        env=environment,
        stdout=out,
        stderr=subprocess.STDOUT if log_path else subprocess.DEVNULL,
        start_new_session=True,
    )


def stop_worker(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
    """Signal the worker and wait for it; SIGKILL it if it does not exit in time."""
    if process.poll() is None:
        process.send_signal(sig)
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    if process.poll() is None:
        process.kill()
        process.wait()
    return process.returncode
