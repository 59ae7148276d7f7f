"""``jobrunner worker``: a worker process that runs until SIGTERM or SIGINT, then stops
gracefully (see ``Worker.stop``) and exits 0."""

from __future__ import annotations

import asyncio
import logging
import signal

from jobrunner.maintenance import periodic_maintenance
from jobrunner.plugins import load_imports
from jobrunner.runtime import Runtime
from jobrunner.worker.loop import Worker

__all__ = ["Worker", "run_worker_process"]

log = logging.getLogger(__name__)


async def serve_worker(worker: Worker) -> None:
    """Run ``worker`` until the process gets SIGTERM or SIGINT. A worker started before
    the database is up waits for it (``Worker.start``); a signal meanwhile ends the wait."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    starting = asyncio.create_task(worker.start(), name="jobrunner-worker-start")
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if not starting.done():
        log.info("signal received before the database was reachable: exiting")
        starting.cancel()
        await asyncio.gather(starting, return_exceptions=True)
        return
    stopping.cancel()
    starting.result()
    try:
        async with periodic_maintenance(worker.database_url, worker.settings):
            await stop.wait()
            log.info("signal received: stopping (grace %.0f s)", worker.settings.shutdown_grace_seconds)
    finally:
        await worker.stop()


def _event_loop_runner():
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency, but optional
        return asyncio.run
    return uvloop.run


def run_worker_process(runtime: Runtime, concurrency: int | None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    load_imports(runtime.settings)
    worker = Worker(runtime.database_url, runtime.settings, concurrency=concurrency)
    _event_loop_runner()(serve_worker(worker))
