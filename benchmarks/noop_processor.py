"""The benchmarks' job types, loaded by worker processes through
``JOBRUNNER_IMPORTS=noop_processor`` (with ``benchmarks/`` on PYTHONPATH).

``bench_noop`` does nothing except, on its first call in a process, write ``time.time()``
to ``$BENCH_STAMP.<pid>`` (the drain's "first job start", as the peers' harness measures).
``bench_latency`` appends ``<seq> <time.time()>`` to ``$BENCH_LAT`` when it starts.
"""

from __future__ import annotations

import os
import time

from jobrunner.domain.jobtypes import JobType, PayloadModel, register_job_type
from jobrunner.worker.context import JobContext
from jobrunner.worker.registry import processor


class NoopPayload(PayloadModel):
    seq: int = 0


register_job_type(JobType("bench_noop", "jobs.create_jobs", NoopPayload, 0, "benchmark: does nothing"))
register_job_type(JobType("bench_latency", "jobs.create_jobs", NoopPayload, 0, "benchmark: pickup latency"))

_first = True


@processor("bench_noop", steps=[], timeout_seconds=60)
async def run_noop(ctx: JobContext) -> None:
    global _first
    if _first:
        _first = False
        stamp = os.environ.get("BENCH_STAMP")
        if stamp:
            with open(f"{stamp}.{os.getpid()}", "w") as f:
                f.write(repr(time.time()))


@processor("bench_latency", steps=[], timeout_seconds=60)
async def run_latency(ctx: JobContext) -> None:
    now = time.time()
    path = os.environ.get("BENCH_LAT")
    if path:
        with open(path, "a") as f:
            f.write(f"{ctx.payload.seq} {now!r}\n")
