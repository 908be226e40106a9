"""The scheduler of the workers on Redis: appends each schedule's due jobs to the queue, one active at a time.

Any number of schedulers may run; the one holding the :class:`~dlmskit.headend.lease.RedisLock`
``{prefix}:scheduler`` is active, the others wait as standbys and take over when its lock expires (a
scheduler that died renews it no more). Each schedule's last due time is kept in Redis, and a round is
appended in one ``MULTI``/``EXEC`` transaction with the new due time, watched: a round is appended once and
completely, even when a paused scheduler wakes up after its standby took over. Redis going away stops no
scheduler: it says so, tries again with backoff and goes on once Redis is back (a standby until its lock
says otherwise).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as _dt
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable, Sequence
from typing import Any

from dlmskit.headend.inventory import Inventory
from dlmskit.headend.lease import RedisLock
from dlmskit.headend.metrics import QueueMetrics
from dlmskit.headend.queue import Job, JobQueue, RedisOutage, redis_unavailable
from dlmskit.headend.schedule import Schedule, next_run
from dlmskit.headend.store import parse_utc, utc

__all__ = ["Scheduler"]

log = logging.getLogger(__name__)


class Scheduler:
    """Appends the due jobs of ``schedules`` while it holds the scheduler lock."""

    def __init__(
        self,
        redis: Any,
        inventory: Inventory,
        schedules: Sequence[Schedule],
        *,
        owner: str | None = None,
        lock_seconds: float = 10.0,
        prefix: str = "dlmskit",
        now: Callable[[], _dt.datetime] = lambda: _dt.datetime.now(_dt.timezone.utc),
        metrics: QueueMetrics | None = None,
    ) -> None:
        self._redis = redis
        self.inventory = inventory
        self.schedules = list(schedules)
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.lock = RedisLock(redis, f"{prefix}:scheduler", self.owner)
        self.lock_seconds = lock_seconds
        self.queue = JobQueue(redis, prefix=prefix)
        self._prefix = prefix
        self._now = now
        self.active = False
        self.appended = 0
        self.metrics = metrics
        self.outage = RedisOutage(
            log, f"scheduler {self.owner}", on_outage=metrics.outages.inc if metrics is not None else None
        )

    async def step(self) -> int:
        """One tick: hold (or try to take) the lock, then append every round now due; returns the jobs appended."""
        self.active = await self.lock.hold(self.lock_seconds)
        if not self.active:
            return 0
        await self.queue.create()
        appended = 0
        for schedule in self.schedules:
            appended += await self._due(schedule)
        self.appended += appended
        if self.metrics is not None:
            self.metrics.appended.inc(appended)
        return appended

    async def _due(self, schedule: Schedule) -> int:
        key = f"{self._prefix}:schedule:{schedule.plan}:{schedule.group or '*'}:{schedule.when}"
        appended = 0
        while True:
            async with self._redis.pipeline(transaction=True) as pipe:
                await pipe.watch(key)
                last_text = await pipe.get(key)
                now = self._now()
                if last_text is None:  # a new schedule starts from now
                    pipe.multi()
                    pipe.set(key, utc(now))
                    await pipe.execute()
                    return appended
                due = next_run(schedule, parse_utc(_text(last_text)))
                if due > now:
                    await pipe.unwatch()
                    return appended
                meters = await asyncio.to_thread(self.inventory.meters, schedule.group)
                round_key = f"{schedule.plan}@{utc(due)}"
                pipe.multi()
                for meter in meters:
                    pipe.xadd(self.queue.stream, Job(meter.name, schedule.plan, round_key).fields())
                pipe.set(key, utc(due))
                try:
                    await pipe.execute()
                except Exception as error:  # redis.WatchError: another scheduler moved the schedule on
                    if type(error).__name__ != "WatchError":
                        raise
                    log.info("schedule %s moved on by another scheduler", key)
                    return appended
                appended += len(meters)
                log.info("round %s: %d jobs appended", round_key, len(meters))

    async def run(self, stop: asyncio.Event | None = None, *, tick: float = 1.0) -> None:
        """Tick until ``stop`` is set; the lock is given back at the end."""
        stop = stop or asyncio.Event()
        was: bool | None = None
        observed = 0.0
        try:
            while not stop.is_set():
                try:
                    await self.step()
                    await self.queue.move_due()  # retries now due back to the stream (workers do it too)
                    if self.metrics is not None and time.monotonic() - observed >= 5.0:
                        observed = time.monotonic()
                        await self.metrics.observe(self.queue)
                except Exception as error:
                    if not redis_unavailable(error):
                        raise
                    self.active = was = False  # not known while Redis is away: the lock says once it is back
                    if self.metrics is not None:
                        self.metrics.active.set(0)
                    await self.outage.wait(error, stop)
                    continue
                self.outage.over()
                if self.metrics is not None:
                    self.metrics.active.set(1 if self.active else 0)
                if self.active != was:
                    log.info("scheduler %s is %s", self.owner, "active" if self.active else "standby")
                    was = self.active
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), tick)
        finally:
            if self.active:
                with contextlib.suppress(Exception):
                    await self.lock.release()


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
