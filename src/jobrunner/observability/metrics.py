"""The Prometheus metrics of one process (the API, a worker, or both in one).

``REGISTRY`` holds what this process counts: job events by job type (``JOBS``), the
worker's slots, heartbeat and claims, export rows. The API serves it at ``/metrics`` next
to its HTTP metrics and the cluster-wide snapshot (``snapshot.py``); a worker process
serves it on ``--metrics-port`` (``server.py``). Each process counts its own: Prometheus
adds them up across processes (``sum by (job_type)``).

The job counters are on the hot path (a worker finishes thousands of jobs a second), so
they are plain integers and lock-free bucket arrays, written by the event loop and turned
into Prometheus families only when scraped (``JobMetrics.collect``). Labels are bounded:
job types are declared (unknown ones share ``other``), never organizations or ids.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

__all__ = [
    "EXPORT_ROWS",
    "JOBS",
    "JOBS_CREATED",
    "REGISTRY",
    "WEBHOOK_DELIVERIES",
    "WORKER",
    "Buckets",
    "Forward",
    "JobMetrics",
    "sse_streams_gauge",
]

REGISTRY = CollectorRegistry(auto_describe=False)

# Queue wait and attempt duration: from a few milliseconds to an hour.
JOB_SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)
MAX_JOB_TYPES = 100  # beyond this many names, further ones are counted as "other"


class Buckets:
    """A histogram without a lock: ``counts[i]`` holds the observations in bucket ``i``
    (the last one: above every bound), ``total`` their sum."""

    __slots__ = ("bounds", "counts", "total")

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = tuple(bounds)
        self.counts = [0] * (len(self.bounds) + 1)
        self.total = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.total += value

    def cumulative(self) -> list[tuple[str, float]]:
        running = 0
        out: list[tuple[str, float]] = []
        for bound, count in zip((*map(_le, self.bounds), "+Inf"), self.counts):
            running += count
            out.append((bound, running))
        return out


def _le(bound: float) -> str:
    return repr(float(bound))


class TypeCounts:
    """What happened to the jobs of one type in this process."""

    __slots__ = ("started", "succeeded", "failed", "retried", "cancelled", "rescued", "timed_out", "wait", "duration")

    def __init__(self) -> None:
        self.started = self.succeeded = self.failed = self.retried = 0
        self.cancelled = self.rescued = self.timed_out = 0
        self.wait = Buckets(JOB_SECONDS_BUCKETS)
        self.duration = Buckets(JOB_SECONDS_BUCKETS)


_COUNTERS = (
    ("started", "Attempts started (jobs claimed) by this process"),
    ("succeeded", "Jobs that succeeded"),
    ("failed", "Jobs that failed for good (permanent error, or no retries left)"),
    ("retried", "Attempts that failed transiently and will be retried"),
    ("cancelled", "Running attempts stopped because the job was cancelled"),
    ("rescued", "Jobs of dead workers handed back or failed by this process's rescuer"),
    ("timed_out", "Attempts stopped by their job type's timeout"),
)


class JobMetrics(Collector):
    """Job events by job type, as Prometheus counters and histograms at scrape time."""

    def __init__(self) -> None:
        self._types: dict[str, TypeCounts] = {}

    def of(self, job_type: str) -> TypeCounts:
        counts = self._types.get(job_type)
        if counts is None:
            if len(self._types) >= MAX_JOB_TYPES:
                job_type = "other"
            counts = self._types.setdefault(job_type, TypeCounts())
        return counts

    def collect(self) -> Iterator[Metric]:
        types = list(self._types.items())
        for name, doc in _COUNTERS:
            family = CounterMetricFamily(f"jobrunner_jobs_{name}", doc, labels=["job_type"])
            for job_type, counts in types:
                family.add_metric([job_type], getattr(counts, name))
            yield family
        for name, doc in (
            ("queue_wait", "Seconds from when a job was due (created, or scheduled) to the start of its attempt"),
            ("attempt_duration", "Seconds an attempt ran"),
        ):
            histogram = HistogramMetricFamily(f"jobrunner_job_{name}_seconds", doc, labels=["job_type"])
            for job_type, counts in types:
                buckets = counts.wait if name == "queue_wait" else counts.duration
                histogram.add_metric([job_type], buckets.cumulative(), buckets.total)
            yield histogram


JOBS = JobMetrics()
REGISTRY.register(JOBS)


class WorkerMetrics:
    """The worker engine's own figures in this process (all its workers together)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.slots = Gauge("jobrunner_worker_slots", "Jobs this process's workers may run at once", registry=registry)
        # A plain count the engine moves per job (a Gauge's inc/dec takes a lock), read at
        # scrape time.
        self.running = 0
        self.slots_in_use = Gauge("jobrunner_worker_slots_in_use", "Jobs running in this process", registry=registry)
        self.slots_in_use.set_function(lambda: self.running)
        self.heartbeat = Gauge(
            "jobrunner_worker_last_heartbeat_timestamp_seconds",
            "Unix time of this process's last successful worker heartbeat",
            registry=registry,
        )
        self.heartbeats = Counter("jobrunner_worker_heartbeats", "Successful worker heartbeats", registry=registry)
        self.claim_size = Histogram(
            "jobrunner_worker_claim_batch_size",
            "Jobs claimed per claim statement",
            registry=registry,
            buckets=(0, 1, 2, 5, 10, 20, 50, 100, 200, 500),
        )
        self.claim_seconds = Histogram(
            "jobrunner_worker_claim_duration_seconds",
            "Latency of one claim statement",
            registry=registry,
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
        )


WORKER = WorkerMetrics(REGISTRY)
JOBS_CREATED = Counter(
    "jobrunner_jobs_created", "Jobs created through this API process", ["job_type"], registry=REGISTRY
)
EXPORT_ROWS = Counter("jobrunner_export_rows", "Rows written by export jobs (rate(): rows/s)", registry=REGISTRY)
WEBHOOK_DELIVERIES = Counter(
    "jobrunner_webhook_deliveries",
    "Completion webhook attempts by outcome: delivered (2xx), retried (another attempt follows), "
    "failed (given up: an answer not worth retrying, or no attempts left), refused (destination not allowed)",
    ["outcome"],
    registry=REGISTRY,
)


def sse_streams_gauge(registry: CollectorRegistry, count: Callable[[], float]) -> Gauge:
    """``jobrunner_sse_streams``: the server-sent event streams open in an API process now
    (docs/push.md), read from ``count`` at scrape time (the hub's own count: nothing is
    added to opening or closing a stream)."""
    gauge = Gauge(
        "jobrunner_sse_streams",
        "Server-sent event streams open in this API process now (one-job and list streams)",
        registry=registry,
    )
    gauge.set_function(count)
    return gauge


class Forward(Collector):
    """Another registry's metrics, collected into this one (the app's registry serves the
    process's)."""

    def __init__(self, source: CollectorRegistry) -> None:
        self._source = source

    def collect(self) -> Iterator[Metric]:
        yield from self._source.collect()
