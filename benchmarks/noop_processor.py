"""The benchmarks' job types, loaded by worker processes through
``JOBRUNNER_IMPORTS=noop_processor`` (with ``benchmarks/`` on PYTHONPATH).

``bench_noop`` does nothing except, on its first call in a process, write ``time.time()``
to ``$BENCH_STAMP.<pid>`` (the drain's "first job start", as the peers' harness measures).
``bench_latency`` appends ``<seq> <time.time()>`` to ``$BENCH_LAT`` when it starts.
"""

from __future__ import annotations

import os
import time

from pydantic import BaseModel

from jobrunner import JobContext, job_type


class NoopPayload(BaseModel):
    seq: int = 0


_first = True


@job_type("bench_noop", payload=NoopPayload, timeout_seconds=60, description="benchmark: does nothing")
async def run_noop(ctx: JobContext[NoopPayload]) -> None:
    global _first
    if _first:
        _first = False
        stamp = os.environ.get("BENCH_STAMP")
        if stamp:
            with open(f"{stamp}.{os.getpid()}", "w") as f:
                f.write(repr(time.time()))


@job_type("bench_latency", payload=NoopPayload, timeout_seconds=60, description="benchmark: pickup latency")
async def run_latency(ctx: JobContext[NoopPayload]) -> None:
    now = time.time()
    path = os.environ.get("BENCH_LAT")
    if path:
        with open(path, "a") as f:
            f.write(f"{ctx.payload.seq} {now!r}\n")
