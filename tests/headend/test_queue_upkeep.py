"""Upkeep of the workers' Redis keys (issue 15), against a real ``redis-server`` (conftest.py):

- the job stream is trimmed to the entries still needed: pending and undelivered jobs survive, acknowledged
  ones go; a pending job found deleted is logged, not dropped silently;
- a scheduler back after an outage appends the latest missed rounds only (``catch_up``), logging the rest
  (the takeover case, every round due meanwhile appended once, is in test_workers.py);
- a meter's fence key expires (renewed with its lease), and an expired one lets no stale writer through:
  the database's ``fences`` table is the guard.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import logging
from pathlib import Path
from typing import Any

import pytest

from dlmskit.headend import Inventory, Meter, Schedule, Store
from dlmskit.headend.lease import FENCE_SECONDS, MeterLeases
from dlmskit.headend.queue import Job, JobQueue
from dlmskit.headend.scheduler import Scheduler
from dlmskit.headend.store import StaleLease, readings

ROW = {"meter": "m", "logical_name": "1.0.1.8.0.255", "attribute": 2, "value": "1", "unit": "kWh"}


def _redis(url: str) -> Any:
    import redis.asyncio as aioredis

    return aioredis.from_url(url)


async def _ids(redis: Any, queue: JobQueue) -> list[str]:
    return [entry.decode() for entry, _fields in await redis.xrange(queue.stream)]


async def test_a_trim_keeps_pending_and_undelivered_jobs_and_removes_acknowledged_ones(
    redis_url: str,
) -> None:
    redis = _redis(redis_url)
    try:
        queue = JobQueue(redis, prefix="trim")
        await queue.create()
        assert await queue.trim() == ("0-0", 0)  # nothing delivered yet: nothing to trim
        ids = [await queue.put(Job(f"m{i}", "registers", "round")) for i in range(10)]
        assert [entry for entry, _job in await queue.take("w", 6, 0.1)] == ids[:6]
        for entry in (ids[0], ids[1], ids[3], ids[4]):
            await queue.ack(entry)
        # ids[2] and ids[5] are pending (a dead worker's, say), ids[6:] not yet delivered.
        assert await queue.trim() == (ids[2], 2)
        assert await _ids(redis, queue) == ids[2:]
        await queue.ack(ids[2])
        assert await queue.trim() == (ids[5], 3)
        assert await _ids(redis, queue) == ids[5:]
        await queue.ack(ids[5])
        # Nothing pending: down to the last delivered entry, the undelivered ones kept.
        assert await queue.trim() == (ids[5], 0)
        assert await _ids(redis, queue) == ids[5:]
        assert [entry for entry, _job in await queue.take("w", 10, 0.1)] == ids[6:]
        for entry in ids[6:]:
            await queue.ack(entry)
        later = [await queue.put(Job(f"n{i}", "registers", "next")) for i in range(3)]
        assert await queue.trim() == (ids[9], 4)
        assert await _ids(redis, queue) == [ids[9], *later]
        assert await queue.depths() == {"backlog": 3, "pending": 0, "retries_waiting": 0, "retries_due": 0}
        assert [entry for entry, _job in await queue.take("w", 10, 0.1)] == later
    finally:
        await redis.aclose()


async def test_a_pending_job_deleted_from_the_stream_is_logged_when_reclaimed(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    redis = _redis(redis_url)
    try:
        queue = JobQueue(redis, prefix="deleted")
        await queue.create()
        ids = [await queue.put(Job(f"m{i}", "registers", "round")) for i in range(3)]
        assert len(await queue.take("dead", 3, 0.1)) == 3
        await redis.xdel(queue.stream, ids[1])  # trimmed by hand, too far
        with caplog.at_level(logging.WARNING, logger="dlmskit.headend.queue"):
            found = await queue.reclaim("alive", 0, 10)
        assert [entry for entry, _job in found] == [ids[0], ids[2]]
        assert f"job {ids[1]} was pending" in caplog.text and "dropped" in caplog.text
    finally:
        await redis.aclose()


async def test_the_active_scheduler_trims_the_stream(tmp_path: Path, redis_url: str) -> None:
    store = Store(f"sqlite:///{tmp_path / 'headend.sqlite'}")
    inventory = Inventory(store)
    inventory.put_meter(Meter("m0", groups=("fleet",), settings={"port": 9}))
    redis = _redis(redis_url)
    stop = asyncio.Event()
    try:
        schedules = [Schedule("registers", "fleet", "@every 3600s")]
        scheduler = Scheduler(redis, inventory, schedules, prefix="sched", trim_every=0.0)
        queue = JobQueue(redis, prefix="sched")
        await queue.create()
        ids = [await queue.put(Job(f"m{i}", "registers", "round")) for i in range(4)]
        for entry, _job in await queue.take("w", 3, 0.1):
            await queue.ack(entry)
        running = asyncio.create_task(scheduler.run(stop, tick=0.05))
        while scheduler.trimmed < 2:  # a hang is caught by pytest-timeout
            await asyncio.sleep(0.05)
        stop.set()
        await running
        assert scheduler.trimmed == 2
        assert await _ids(redis, queue) == ids[2:]  # the last delivered one and the undelivered one
    finally:
        stop.set()
        store.close()
        await redis.aclose()


def _fleet(tmp_path: Path, count: int) -> tuple[Store, Inventory]:
    store = Store(f"sqlite:///{tmp_path / 'headend.sqlite'}")
    inventory = Inventory(store)
    for index in range(count):
        inventory.put_meter(Meter(f"m{index}", groups=("fleet",), settings={"port": 9}))
    return store, inventory


async def _round_keys(redis: Any, queue: JobQueue) -> list[str]:
    keys = [Job.from_fields(fields).key for _entry, fields in await redis.xrange(queue.stream)]
    return sorted(set(keys), key=keys.index)


async def test_a_scheduler_back_after_a_long_outage_appends_the_latest_rounds_only(
    tmp_path: Path, redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    store, inventory = _fleet(tmp_path, 3)
    start = _dt.datetime(2026, 1, 1, tzinfo=_dt.timezone.utc)
    clock = {"now": start}
    redis = _redis(redis_url)
    try:
        schedules = [Schedule("registers", "fleet", "@every 60s")]
        scheduler = Scheduler(
            redis, inventory, schedules, prefix="outage", lock_seconds=0.3, now=lambda: clock["now"]
        )
        queue = JobQueue(redis, prefix="outage")
        assert await scheduler.step() == 0  # the schedule starts now
        clock["now"] = start + _dt.timedelta(hours=10, seconds=5)  # 600 rounds missed
        with caplog.at_level(logging.WARNING, logger="dlmskit.headend.scheduler"):
            assert await scheduler.step() == 2 * 3  # the latest two rounds, each once (2 = the least kept)
        assert "598 missed round(s) skipped" in caplog.text
        assert scheduler.skipped == 598
        clock["now"] += _dt.timedelta(seconds=60)
        assert await scheduler.step() == 3  # then on as usual, without a gap
        assert await _round_keys(redis, queue) == [
            "registers@2026-01-01T09:59:00Z",
            "registers@2026-01-01T10:00:00Z",
            "registers@2026-01-01T10:01:00Z",
        ]
    finally:
        store.close()
        await redis.aclose()


async def test_missed_cron_rounds_are_caught_up_to_the_configured_count(
    tmp_path: Path, redis_url: str
) -> None:
    store, inventory = _fleet(tmp_path, 2)
    start = _dt.datetime(2026, 1, 1, tzinfo=_dt.timezone.utc)
    clock = {"now": start}
    redis = _redis(redis_url)
    try:
        schedules = [Schedule("registers", "fleet", "*/15 * * * *")]
        queue = JobQueue(redis, prefix="cron")
        one = Scheduler(redis, inventory, schedules, prefix="cron", catch_up=1, now=lambda: clock["now"])
        assert await one.step() == 0
        clock["now"] = start + _dt.timedelta(hours=3, minutes=20)  # 13 rounds due, 00:15 to 03:15
        assert await one.step() == 2 and one.skipped == 12
        assert await _round_keys(redis, queue) == ["registers@2026-01-01T03:15:00Z"]
        await one.lock.release()
        # Under the limit, every missed round is appended, each once, in order.
        three = Scheduler(redis, inventory, schedules, prefix="cron", catch_up=3, now=lambda: clock["now"])
        clock["now"] = start + _dt.timedelta(hours=3, minutes=50)
        assert await three.step() == 2 * 2 and three.skipped == 0
        assert (await _round_keys(redis, queue))[1:] == [
            "registers@2026-01-01T03:30:00Z",
            "registers@2026-01-01T03:45:00Z",
        ]
    finally:
        store.close()
        await redis.aclose()


async def test_a_fence_key_expires_renewed_with_its_lease(redis_url: str) -> None:
    redis = _redis(redis_url)
    try:
        leases = MeterLeases(redis)
        assert leases.fence_seconds == FENCE_SECONDS >= 24 * 3600
        token = await leases.acquire("m", "worker A", 60)
        assert token is not None
        assert 60_000 < await redis.pttl("dlmskit:fence:m") <= FENCE_SECONDS * 1000
        await redis.pexpire("dlmskit:fence:m", 5_000)  # as if the lease were taken long ago
        assert await leases.renew("m", "worker A", 60)
        assert await redis.pttl("dlmskit:fence:m") > 5_000  # renewed with the lease
        await redis.pexpire("dlmskit:fence:m", 5_000)
        assert await leases.acquire("m", "worker A", 60) == token  # the holder's own token, the fence renewed
        assert await redis.pttl("dlmskit:fence:m") > 5_000
        assert not await leases.renew("m", "worker B", 60)  # not B's lease: nothing renewed
    finally:
        await redis.aclose()


async def test_an_expired_fence_key_lets_no_stale_writer_through(database_url: str, redis_url: str) -> None:
    """The guard is the database's ``fences`` table (the highest token written per meter), not the key in Redis."""
    redis = _redis(redis_url)
    store = Store(database_url)
    try:
        leases = MeterLeases(redis, fence_seconds=0.2)
        paused = await leases.acquire("m", "worker A", 0.2)
        assert paused is not None
        assert store.fenced("m", paused).save_readings([{**ROW, "capture_time": "2026-01-01T00:00:00Z"}]) == 1
        while await redis.exists("dlmskit:lease:m", "dlmskit:fence:m"):  # A is paused; lease and fence expire
            await asyncio.sleep(0.05)
        newer = await leases.acquire("m", "worker B", 60)
        assert newer is not None and newer > paused  # from the server's clock, which went on
        assert store.fenced("m", newer).save_readings([{**ROW, "capture_time": "2026-01-01T00:15:00Z"}]) == 1
        with pytest.raises(StaleLease):  # A wakes up: its late write is refused by the database
            store.fenced("m", paused).save_readings([{**ROW, "capture_time": "2026-01-01T00:30:00Z"}])
        # Even a token handed out lower than one already written (a server clock set back, the key gone) does
        # not write over the newer results: the database refuses it.
        with pytest.raises(StaleLease):
            store.fenced("m", newer - 1).save_readings([{**ROW, "capture_time": "2026-01-01T00:45:00Z"}])
        assert store.count(readings) == 2
    finally:
        store.close()
        await redis.aclose()
