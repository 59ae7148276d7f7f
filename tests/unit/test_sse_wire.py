"""The event streams' wire format and a subscription's queue (docs/push.md): ids only
grow, a slow client gets each job's latest state once, a one-job stream ends after the
final state, heartbeats fill silence."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import pytest

from jobrunner.domain.errors import InvalidInput
from jobrunner.jobs import sse
from jobrunner.jobs.push import JobVersion, Subscription


def test_last_event_id_is_an_id_this_service_sent() -> None:
    assert sse.parse_last_event_id(None) is None
    assert sse.parse_last_event_id("  ") is None
    assert sse.parse_last_event_id("1796145140180") == 1796145140180
    for bad in ("abc", "-1", "1e5", "12.5", "٣", "9" * 17, str(10**15)):
        with pytest.raises(InvalidInput):
            sse.parse_last_event_id(bad)


def test_stamps_are_milliseconds_and_round_trip() -> None:
    moment = dt.datetime(2026, 12, 1, 17, 12, 20, 180_999, tzinfo=dt.UTC)
    assert sse.stamp(moment) == 1796145140180
    assert sse.moment(1796145140180) == moment.replace(microsecond=180_000)


def version(job: str, event_id: int, final: bool = False) -> JobVersion:
    return JobVersion(job_id=job, event_id=event_id, data=b'{"job":"%s","v":%d}' % (job.encode(), event_id), final=final)


async def collect(subscription: Subscription, heartbeat: float = 10.0, max_seconds: float = 10.0) -> bytes:
    chunks = []
    async for chunk in subscription.stream(heartbeat, max_seconds):
        chunks.append(chunk)
    return b"".join(chunks)


async def test_a_slow_client_gets_the_latest_state_of_each_job_and_ids_only_grow() -> None:
    subscription = Subscription(owner=("org", "user"), expires_at=int(time.time()) + 60)
    subscription.offer(version("a", 100))
    subscription.offer(version("b", 90))
    subscription.offer(version("a", 120))  # replaces a@100 not yet written
    subscription.offer(version("a", 110))  # older than what is queued: dropped
    subscription.end(sse.EndReason.RESYNC)
    body = await collect(subscription)
    assert body == (
        b"retry: 2000\n\n"
        b'id: 120\nevent: job\ndata: {"job":"a","v":120}\n\n'
        b'id: 120\nevent: job\ndata: {"job":"b","v":90}\n\n'  # never smaller than the previous id
        b'event: end\ndata: {"reason":"resync"}\n\n'
    )


async def test_a_one_job_stream_ends_after_its_final_state() -> None:
    subscription = Subscription(owner=("org", "user"), expires_at=int(time.time()) + 60, job_id="a")
    subscription.offer(version("a", 5, final=True))
    body = await collect(subscription)
    assert body.endswith(b'id: 5\nevent: job\ndata: {"job":"a","v":5}\n\nevent: end\ndata: {"reason":"final"}\n\n')


async def test_heartbeats_fill_silence_and_the_token_expiry_ends_it() -> None:
    subscription = Subscription(owner=("org", "user"), expires_at=int(time.time()) + 2)
    body = await asyncio.wait_for(collect(subscription, heartbeat=0.2), 5)
    assert body.count(sse.HEARTBEAT) >= 2
    assert body.endswith(b'event: end\ndata: {"reason":"token_expired"}\n\n')


async def test_the_longest_duration_ends_it() -> None:
    subscription = Subscription(owner=("org", "user"), expires_at=int(time.time()) + 60)
    body = await asyncio.wait_for(collect(subscription, heartbeat=5, max_seconds=0.2), 5)
    assert body.endswith(b'event: end\ndata: {"reason":"max_duration"}\n\n')
