"""A worker of the head-end on Redis: one asyncio loop holding many meter sessions, fed by the job queue.

The worker reads jobs from the queue's consumer group (jobs of a dead worker first, taken over with
``XAUTOCLAIM`` once idle longer than a lease), takes the meter's lease in Redis (:class:`MeterLeases`; a
meter leased by another worker is left pending and comes back later), and runs the job through the
:class:`~dlmskit.headend.engine.Engine`'s session code with a :meth:`~dlmskit.headend.store.Store.fenced`
store: every write checks the lease's fencing token in the same transaction. While the job runs, the
lease is renewed and the queue entry claimed again (its idle time reset); when a renewal finds the lease
gone, the job is cancelled. A job is acknowledged only once its outcome is stored. Invocation counters come
from the shared database in blocks (:class:`~dlmskit.headend.counters.DatabaseCounterStore`): a dead
worker's block is skipped, never handed out again.
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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa

from dlmskit.headend.engine import RETRIED, Engine, EngineLimits, JobOutcome
from dlmskit.headend.inventory import Inventory
from dlmskit.headend.lease import MeterLeases
from dlmskit.headend.meter_io import classify, make_settings
from dlmskit.headend.metrics import QueueMetrics
from dlmskit.headend.plans import BUILTIN_PLANS, ReadPlan
from dlmskit.headend.queue import Job, JobQueue, RedisOutage, redis_unavailable
from dlmskit.headend.store import StaleLease, Store, utc

__all__ = ["Worker", "WorkerStats", "bound_idle_transactions"]

log = logging.getLogger(__name__)


@dataclass
class WorkerStats:
    """What one worker did."""

    done: int = 0
    busy: int = 0
    stale: int = 0
    reclaimed: int = 0
    dropped: int = 0
    retried: int = 0


class Worker:
    """Runs queued jobs; ``limits.max_sessions`` at once, leases of ``limits.lease_seconds``."""

    def __init__(
        self,
        inventory: Inventory,
        redis: Any,
        limits: EngineLimits | None = None,
        *,
        name: str | None = None,
        prefix: str = "dlmskit",
        block: float = 1.0,
        metrics: QueueMetrics | None = None,
        trace_frames: str | None = None,
    ) -> None:
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.inventory = inventory
        self.limits = limits or EngineLimits()
        self.metrics = metrics
        self.engine = Engine(inventory, self.limits, owner=self.name, metrics=metrics)
        self.queue = JobQueue(redis, prefix=prefix)
        self.leases = MeterLeases(redis, prefix=prefix)
        self._redis = redis
        self._block = block
        self.stats = WorkerStats()
        self.outage = RedisOutage(
            log, f"worker {self.name}", on_outage=metrics.outages.inc if metrics is not None else None
        )
        self._stop = asyncio.Event()
        self.trace_frames = trace_frames
        """Frame traces for every job's sessions (``ciphered``/``decrypted``) over what the plans say; None:
        each plan's own ``trace_frames``."""
        if self.engine.store.dialect == "postgresql":
            bound_idle_transactions(self.engine.store.engine, max(5.0, self.limits.lease_seconds))

    def _plan(self, name: str) -> ReadPlan:
        body = self.inventory.plan_bodies().get(name)
        plan = ReadPlan.from_mapping(name, body) if body is not None else BUILTIN_PLANS[name]
        if self.trace_frames is not None and plan.trace_frames != self.trace_frames:
            plan = replace(plan, trace_frames=self.trace_frames)
        return plan

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Work until ``stop`` is set (jobs under way are finished first). Redis going away stops nothing:
        the worker says so, tries again with backoff, and goes on where it was once Redis is back."""
        stop = self._stop = stop or asyncio.Event()
        running: dict[str, asyncio.Task[None]] = {}
        moved = observed = 0.0
        created = False
        while not stop.is_set():
            try:
                if not created:  # again after an outage: a server without persistence lost the group
                    await self.queue.create()
                    created = True
                if time.monotonic() - moved >= 1.0:  # retries now due back to the stream (any worker may)
                    moved = time.monotonic()
                    await self.queue.move_due()
                if self.metrics is not None and time.monotonic() - observed >= 5.0:
                    observed = time.monotonic()
                    await self.metrics.observe(self.queue)
                free = self.limits.max_sessions - len(running)
                if free <= 0:
                    await asyncio.wait(set(running.values()), return_when=asyncio.FIRST_COMPLETED)
                    continue
                entries = await self.queue.reclaim(self.name, self.limits.lease_seconds, free)
                self.stats.reclaimed += sum(1 for entry, _ in entries if entry not in running)
                if not entries:
                    entries = await self.queue.take(self.name, free, self._block)
                self.outage.over()
            except Exception as error:
                if not redis_unavailable(error) and "NOGROUP" not in str(error):
                    raise
                created = False
                await self.outage.wait(error, stop)
                continue
            for entry, job in entries:
                if entry in running:
                    continue
                task = asyncio.ensure_future(self._handle(entry, job))
                running[entry] = task
                task.add_done_callback(lambda _t, e=entry: running.pop(e, None))  # type: ignore[misc]
        if running:
            await asyncio.gather(*running.values(), return_exceptions=True)

    async def _handle(self, entry: str, job: Job) -> None:
        seconds = self.limits.lease_seconds
        try:
            token = await self.leases.acquire(job.meter, self.name, seconds)
            held = await self.leases.remaining(job.meter) if token is None else 0.0
            # Read before a pause, and since taken over (and perhaps done) by another worker: not ours.
            ours = token is not None and await self.queue.owns(self.name, entry)
        except Exception as error:
            if not redis_unavailable(error):
                raise
            log.info("meter %s: Redis unavailable (%s); its job stays pending", job.meter, error)
            return
        if token is None:
            # Another worker has the meter (or a dead one's lease has not expired yet): tried again later,
            # not before that lease may have expired.
            self.stats.busy += 1
            outcome = JobOutcome(job.meter, "busy", "another worker holds this meter's lease", job.attempt)
            await self._finish(entry, job, outcome, self.engine.store, _now(), at_least=held)
            return
        if not ours:
            with contextlib.suppress(Exception):
                await self.leases.release(job.meter, self.name)
            self.stats.dropped += 1
            return
        work = asyncio.ensure_future(self._run(entry, job, token))

        finished = asyncio.Event()

        async def renew() -> None:
            # Stopped by ``finished``, never by cancelling it: redis-py's asyncio client can swallow a
            # cancellation that arrives during a command (the call returns as if nothing happened), and a
            # renewer that went on renewing kept its worker from ever stopping (the "1 run in 20" fault).
            while not finished.is_set():
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(finished.wait(), seconds / 3)
                if finished.is_set():
                    return
                try:
                    kept = await self.leases.renew(job.meter, self.name, seconds)
                except Exception as error:
                    if not redis_unavailable(error):
                        raise
                    log.info("meter %s: lease not renewed, Redis unavailable (%s)", job.meter, error)
                    continue
                if finished.is_set():
                    return
                if not kept:
                    log.warning("lease of meter %s lost: its job is stopped", job.meter)
                    work.cancel()
                    return
                with contextlib.suppress(Exception):  # reset the entry's idle time: not taken over
                    await self._redis.xclaim(
                        self.queue.stream, self.queue.group, self.name, 0, [entry], justid=True
                    )

        renewer = asyncio.ensure_future(renew())
        try:
            await work
        except StaleLease as error:
            self.stats.stale += 1
            log.warning("%s", error)
        except asyncio.CancelledError:
            if not work.cancelled():
                raise
        except Exception:
            log.exception("job of meter %s failed; it stays pending", job.meter)
        finally:
            finished.set()
            # A Redis call under way ends within the client's socket timeout; the job does not wait for it
            # longer than a lease (the renewer then ends on its own, its XCLAIM of an acknowledged entry and
            # its renewal of a released lease changing nothing).
            await asyncio.wait({renewer}, timeout=seconds)
            if renewer.done() and not renewer.cancelled() and renewer.exception() is not None:
                log.warning("renewal of meter %s's lease failed: %s", job.meter, renewer.exception())
            with contextlib.suppress(Exception):
                await self.leases.release(job.meter, self.name)

    async def _run(self, entry: str, job: Job, token: int) -> None:
        store = self.engine.store.fenced(job.meter, token)
        started = _now()
        plan: ReadPlan | None = None
        try:
            plan = await asyncio.to_thread(self._plan, job.plan)
            meter = await asyncio.to_thread(self.inventory.meter, job.meter)
            templates = await asyncio.to_thread(self.inventory.templates)
            settings = make_settings(await asyncio.to_thread(self.inventory.settings_of, meter, templates))
        except Exception as error:
            kind, reason = classify(error)
            outcome = JobOutcome(job.meter, kind, reason, job.attempt)
        else:
            outcome = await self.engine._attempt(plan, meter, settings, job.attempt, store=store)
        await self._finish(entry, job, outcome, store, started)

    async def _finish(
        self, entry: str, job: Job, outcome: JobOutcome, store: Store, started: str, at_least: float = 0.0
    ) -> None:
        """Retry a job that may succeed next time (with backoff), else record its outcome; then acknowledge."""
        limits = self.limits
        if outcome.outcome in RETRIED and job.attempt <= limits.retries:
            # Exponential backoff with full jitter, as Engine.run waits between attempts.
            delay = min(limits.backoff_max, limits.backoff * 2 ** (job.attempt - 1)) * _random()
            self.stats.retried += 1
            if self.metrics is not None:
                self.metrics.retries.labels(outcome.outcome).inc()
            log.info(
                "meter %s: %s (attempt %d), tried again in %.1f s",
                job.meter,
                outcome.outcome,
                job.attempt,
                max(delay, at_least),
            )
            retry = replace(job, attempt=job.attempt + 1)
            await self._redis_call(job, lambda: self.queue.retry(entry, retry, max(delay, at_least)))
            return
        await asyncio.to_thread(
            store.record_job,
            meter=job.meter,
            plan=job.plan,
            started_at=started,
            finished_at=_now(),
            outcome=outcome.outcome,
            reason=outcome.reason[:2000],
            attempts=outcome.attempts,
            stored=outcome.report.stored if outcome.report is not None else 0,
        )
        await self._redis_call(job, lambda: self.queue.ack(entry))
        self.stats.done += 1
        if self.metrics is not None:
            self.metrics.outcomes.labels(outcome.outcome).inc()
            if outcome.report is not None:
                self.metrics.stored.inc(outcome.report.stored)

    async def _redis_call(self, job: Job, call: Callable[[], Awaitable[Any]]) -> None:
        """Acknowledge a job whose outcome is stored (or put in the retries): tried again while Redis is
        away, so that the job is not run twice; when stopping, given up after a lease's time (the job is
        then run again: at least once)."""
        outage = RedisOutage(log, f"job of meter {job.meter}")
        give_up: float | None = None
        while True:
            try:
                await call()
            except Exception as error:
                if not redis_unavailable(error):
                    raise
                if self._stop.is_set():
                    give_up = give_up or time.monotonic() + self.limits.lease_seconds
                    if time.monotonic() > give_up:
                        log.warning("job of meter %s stored but not acknowledged: it runs again", job.meter)
                        return
                await outage.wait(error)
            else:
                outage.over()
                return


def bound_idle_transactions(engine: sa.Engine, seconds: float) -> None:
    """Have PostgreSQL end a session of ``engine`` that stays idle inside a transaction longer than
    ``seconds`` (``idle_in_transaction_session_timeout``). A worker paused in the middle of a write (SIGSTOP,
    a stalled machine) would otherwise hold its row locks (the meter's fence, its counters) and stop every
    other worker's job of that meter until it wakes; the server ends its transaction instead, and the
    woken worker's write fails (its lease is stale by then anyway). The pool's connections are made again
    so that every one has it."""
    milliseconds = max(1, round(seconds * 1000))

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"SET idle_in_transaction_session_timeout = {milliseconds}")
        finally:
            cursor.close()
        dbapi_connection.commit()

    sa.event.listen(engine, "connect", on_connect)
    engine.dispose()


def _now() -> str:
    return utc(_dt.datetime.now(_dt.timezone.utc))


def _random() -> float:
    return secrets.randbelow(1 << 30) / float(1 << 30)
