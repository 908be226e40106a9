"""The engine: runs a plan over many meters with asyncio, within limits, and records every outcome in words.

- one session per meter at a time, across processes: a lease row in the database, renewed every third of
  ``lease_seconds`` while the job runs, so that the lease of a head-end that died (SIGKILL, power) expires
  soon after; a meter whose lease another head-end holds is tried again after the backoff, then reported
  ``busy``;
- the database work of many sessions in few transactions (:class:`~dlmskit.headend.batch.BatchWriter`):
  leases taken with their invocation counter blocks, all open leases renewed together, readings, profile
  rows, events, job records and lease releases committed together; a job is done once its rows are committed;
- at most ``max_sessions`` sessions at once, and at most ``connections_per_second`` new connections a second
  (a token bucket); meters with the same ``gateway`` (a serial port, a concentrator) one at a time;
- each attempt bounded by ``job_timeout``; unreachable meters and timeouts retried ``retries`` times, after
  ``backoff * 2**attempt`` seconds with full jitter (at most ``backoff_max``);
- every job recorded: ``ok``, ``refused`` (with the meter's reason), ``unreachable``, ``timeout``,
  ``security``, ``error``, ``configuration`` or ``busy``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import secrets
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from dlmskit.headend.async_store import AsyncStore
from dlmskit.headend.batch import BatchWriter
from dlmskit.headend.collector import calm_collector, session_ended
from dlmskit.headend.counters import DatabaseCounterStore
from dlmskit.headend.inventory import Inventory, Meter
from dlmskit.headend.job import JobReport, run_job
from dlmskit.headend.meter_io import classify, counter_keys, make_settings, open_meter
from dlmskit.headend.metrics import EngineMetrics
from dlmskit.headend.plans import ReadPlan
from dlmskit.headend.store import StaleLease, Store, utc_now
from dlmskit.headend.traces import capture
from dlmskit.transport.eventloop import within

__all__ = ["Engine", "EngineLimits", "JobOutcome"]

RETRIED = frozenset({"unreachable", "timeout", "busy"})
"""Outcomes worth another attempt: the meter may answer next time. A refusal or a key problem will not change."""


@dataclass(frozen=True)
class EngineLimits:
    """The engine's limits."""

    max_sessions: int = 200
    connections_per_second: float = 100.0
    retries: int = 2
    backoff: float = 1.0
    backoff_max: float = 60.0
    job_timeout: float = 120.0
    lease_seconds: float = 60.0
    counter_block: int = 128
    batch_rows: int = 1000
    batch_delay: float = 0.02
    """The shortest time a batch of database work gathers before its transaction (seconds)."""
    batch_share: float = 0.05
    """A batch gathers for this share of the recent sessions' mean duration, between ``batch_delay`` and
    ``batch_delay_max``: a fleet answering in 0.3-1.5 s (sessions of seconds) commits every 0.2 s, a meter on
    the desk every 20 ms. Each transaction has a fixed cost (a commit, a thread hand-over, the futures of its
    sessions): at 2,000 sessions at once with such round trips, 20 ms batches were a quarter of the head-end's
    CPU. A session waits for two commits (its lease, its rows): about this share longer. 0: always
    ``batch_delay``."""
    batch_delay_max: float = 0.25
    """The longest time a batch gathers (seconds)."""
    calm_collector: bool = True
    """While the engine runs, Python's cyclic garbage collector ignores the objects alive at its start and
    collects less often (:func:`~dlmskit.headend.collector.calm_collector`): a fifth of the CPU a session at
    thousands of sessions. False leaves the process's collector as it is."""


@dataclass(frozen=True)
class JobOutcome:
    """How one meter's job ended."""

    meter: str
    outcome: str
    reason: str
    attempts: int
    report: JobReport | None = None


class _Bucket:
    """A token bucket: ``rate`` new connections a second, bursts up to ``rate``; without polling: each taker
    is given the next free moment (the generic cell rate algorithm) and sleeps once until then."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self.tolerance = (max(1.0, rate) - 1.0) * self.interval
        self.next = time.monotonic() - self.tolerance

    async def take(self) -> None:
        now = time.monotonic()
        moment = max(self.next, now - self.tolerance)
        self.next = moment + self.interval
        wait = moment - now
        if wait > 0:
            await asyncio.sleep(wait)


class _Slots:
    """A semaphore for many waiters: FIFO, each freed slot handed to the next waiter in O(1).

    ``asyncio.Semaphore`` removes each woken waiter from its deque (O(waiters)) and may scan them all in
    ``locked()``: with 10,000 meters queued for 200 sessions that is work per session proportional to the
    fleet. Here a released slot goes straight to the first waiter still waiting; a cancelled waiter is
    skipped when its turn comes (and passes a slot on if it was handed one as it was cancelled)."""

    __slots__ = ("_free", "_waiting")

    def __init__(self, count: int) -> None:
        self._free = count
        self._waiting: collections.deque[asyncio.Future[None]] = collections.deque()

    async def acquire(self) -> None:
        if self._free > 0 and not self._waiting:
            self._free -= 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed a slot just as it was cancelled: the next waiter takes it
            raise

    def release(self) -> None:
        waiting = self._waiting
        while waiting:
            waiter = waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._free += 1

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(self, *_: object) -> None:
        self.release()


def _random() -> float:
    return secrets.randbelow(1 << 30) / float(1 << 30)


class Engine:
    """Runs plans over the inventory's meters."""

    def __init__(
        self,
        inventory: Inventory,
        limits: EngineLimits | None = None,
        *,
        owner: str | None = None,
        sleep: Callable[[float], Any] = asyncio.sleep,
        metrics: EngineMetrics | None = None,
        async_store: AsyncStore | None = None,
    ) -> None:
        self.inventory = inventory
        self.store: Store = inventory.store
        self.limits = limits or EngineLimits()
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._sleep = sleep
        self.metrics = metrics
        self._counters: dict[str, DatabaseCounterStore] = {}
        self.async_store = async_store
        """Given, the batch writer commits on SQLAlchemy's async engine instead of in a worker thread."""
        self._writer: BatchWriter | None = None
        self._runs = 0
        self.transactions = 0
        """Transactions the batch writer committed so far (for benchmarks)."""
        self.outcomes: Counter[str] = Counter()
        self.active = 0
        self.peak = 0
        """The most sessions that were open at once."""

    def counters_of(self, meter: str) -> DatabaseCounterStore:
        """The invocation counters of one meter (one store object per meter and engine)."""
        store = self._counters.get(meter)
        if store is None:
            store = self._counters[meter] = DatabaseCounterStore(
                self.store, meter, block=self.limits.counter_block
            )
            store.refill = self._refill
        return store

    def _refill(self, counters: DatabaseCounterStore, key: tuple[str, str]) -> None:
        """A meter's counter block is half used: the next one reserved ahead by the batch writer (without
        a running writer, the block is reserved when it runs out, as before)."""
        writer = self._writer
        if writer is None:
            counters.install_spare(key, 0, None)
        else:
            writer.refill(counters, key)

    async def run(
        self,
        plan: ReadPlan,
        meters: Sequence[Meter],
        *,
        progress: Callable[[JobOutcome], None] | None = None,
        jitter: float = 0.0,
    ) -> list[JobOutcome]:
        """Run ``plan`` on every meter; returns the outcomes in the order of ``meters``. Each meter's job
        starts after a random delay of up to ``jitter`` seconds (schedules spread a fleet's calls so)."""
        templates = await asyncio.to_thread(self.inventory.templates)
        loop = asyncio.get_running_loop()
        settings: dict[str, asyncio.Future[dict[str, Any]]] = {m.name: loop.create_future() for m in meters}

        async def load() -> None:
            """Every meter's settings and keys, 500 meters a query, in a worker thread."""
            for start in range(0, len(meters), 500):
                chunk = meters[start : start + 500]
                try:
                    found = await asyncio.to_thread(self.inventory.settings_of_many, chunk, templates)
                except Exception as error:
                    found = [error] * len(chunk)
                for meter, values in zip(chunk, found, strict=True):
                    future = settings[meter.name]
                    if not future.done():
                        if isinstance(values, Exception):
                            future.set_exception(values)
                        else:
                            future.set_result(values)

        loader = asyncio.ensure_future(load())
        sessions = _Slots(self.limits.max_sessions)
        bucket = _Bucket(self.limits.connections_per_second)
        gateways: dict[str, _Slots] = {}

        async def one(meter: Meter) -> JobOutcome:
            if jitter > 0:
                await self._sleep(jitter * _random())
            gateway = None
            if meter.gateway:
                gateway = gateways.get(meter.gateway) or gateways.setdefault(meter.gateway, _Slots(1))
            outcome = await self._meter(plan, meter, settings[meter.name], sessions, bucket, gateway)
            self.outcomes[outcome.outcome] += 1
            if self.metrics is not None:
                self.metrics.outcomes.labels(outcome.outcome).inc()
                if outcome.report is not None:
                    self.metrics.stored.inc(outcome.report.stored)
            if progress is not None:
                progress(outcome)
            return outcome

        try:
            async with self._batching():
                return list(await asyncio.gather(*(one(meter) for meter in meters)))
        finally:
            loader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await loader
            for future in settings.values():
                if future.done() and not future.cancelled():
                    future.exception()  # retrieved: a meter that failed before needing it is not logged
                else:
                    future.cancel()

    @contextlib.asynccontextmanager
    async def _batching(self) -> AsyncIterator[BatchWriter]:
        """The engine's batch writer, running while any :meth:`run` runs (runs may overlap)."""
        if self._writer is None:
            limits = self.limits
            self._writer = BatchWriter(
                self.store,
                self.owner,
                limits.lease_seconds,
                max_rows=limits.batch_rows,
                max_delay=limits.batch_delay,
                session_share=limits.batch_share,
                longest_delay=limits.batch_delay_max,
                async_store=self.async_store,
            )
            await self._writer.__aenter__()
        writer = self._writer
        self._runs += 1
        calm = calm_collector() if self.limits.calm_collector else contextlib.nullcontext()
        try:
            with calm:
                yield writer
        finally:
            self._runs -= 1
            if self._runs == 0:
                self._writer = None
                await writer.__aexit__(None, None, None)
                self.transactions += writer.transactions

    async def _meter(
        self,
        plan: ReadPlan,
        meter: Meter,
        loaded: asyncio.Future[dict[str, Any]],
        sessions: _Slots,
        bucket: _Bucket,
        gateway: _Slots | None,
    ) -> JobOutcome:
        started = utc_now()
        limits = self.limits
        try:
            # The meter's own future (only this job waits on it): awaited as it is, without a shield.
            settings = make_settings(loaded.result() if loaded.done() else await loaded)
        except Exception as error:
            kind, reason = classify(error)
            outcome = JobOutcome(meter.name, kind, reason, 0)
            await self._record(plan, outcome, started)
            return outcome
        attempts = 0
        while True:
            attempts += 1
            if self.metrics is not None:
                self.metrics.queued.inc()
            async with sessions:
                if self.metrics is not None:
                    self.metrics.queued.dec()
                if gateway is not None:
                    await gateway.acquire()
                try:
                    outcome = await self._leased(plan, meter, settings, attempts, bucket)
                finally:
                    if gateway is not None:
                        gateway.release()
            if outcome.outcome not in RETRIED or attempts > limits.retries:
                break
            delay = min(limits.backoff_max, limits.backoff * 2 ** (attempts - 1))
            await self._sleep(delay * _random())
        await self._record(plan, outcome, started)
        return outcome

    async def _leased(
        self, plan: ReadPlan, meter: Meter, settings: Any, attempts: int, bucket: _Bucket
    ) -> JobOutcome:
        """One attempt under the meter's lease (``busy`` when another head-end holds it)."""
        writer = self._writer
        if writer is None:
            return await self._leased_alone(plan, meter, settings, attempts, bucket)
        counters = self.counters_of(meter.name)
        if not await writer.acquire(meter.name, counters, counter_keys(settings)):
            return JobOutcome(meter.name, "busy", "another head-end holds this meter's lease", attempts)
        try:
            await bucket.take()
            return await self._attempt(plan, meter, settings, attempts)
        finally:
            writer.release(meter.name)

    async def _leased_alone(
        self, plan: ReadPlan, meter: Meter, settings: Any, attempts: int, bucket: _Bucket
    ) -> JobOutcome:
        """As :meth:`_leased`, a transaction for each lease change (no batch writer running)."""
        seconds = self.limits.lease_seconds
        if not await asyncio.to_thread(self.store.acquire_lease, meter.name, self.owner, seconds):
            return JobOutcome(meter.name, "busy", "another head-end holds this meter's lease", attempts)

        async def renew() -> None:
            while True:
                await asyncio.sleep(seconds / 3)
                await asyncio.to_thread(self.store.acquire_lease, meter.name, self.owner, seconds)

        renewer = asyncio.ensure_future(renew())
        try:
            await bucket.take()
            return await self._attempt(plan, meter, settings, attempts)
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await renewer
            await asyncio.to_thread(self.store.release_lease, meter.name, self.owner)

    async def _attempt(
        self, plan: ReadPlan, meter: Meter, settings: Any, attempts: int, store: Store | None = None
    ) -> JobOutcome:
        """One session with the meter; ``store`` (default: the engine's) takes what the job stores, e.g. a
        :meth:`Store.fenced` view for a worker on Redis."""
        store = store or self.store
        self.active += 1
        self.peak = max(self.peak, self.active)
        started = time.monotonic()
        writer = self._writer if store is self.store else None
        if self.metrics is not None:
            self.metrics.sessions.inc()
            self.metrics.attempts.inc()
        try:
            commands = await asyncio.to_thread(store.queued_commands, meter.name) if plan.commands else []

            counters = self.counters_of(meter.name)
            if writer is None:  # a fenced store, or no run: the blocks were not reserved with the lease
                await asyncio.to_thread(counters.prefetch, counter_keys(settings))

            async def work() -> JobReport:
                async with open_meter(
                    settings,
                    counters,
                    trace=capture(plan.trace_frames or meter.trace_frames, store, meter.name, settings),
                ) as io:
                    save = writer.save if writer is not None else None
                    return await run_job(io, store, plan, meter.name, commands, save=save)

            loop = writer.loop if writer is not None else None
            report = await within(work(), self.limits.job_timeout, loop=loop)
            return JobOutcome(meter.name, "ok", _words(report), attempts, report)
        except (asyncio.CancelledError, StaleLease):
            raise
        except Exception as error:
            kind, reason = classify(error)
            return JobOutcome(meter.name, kind, reason, attempts)
        finally:
            self.active -= 1
            elapsed = time.monotonic() - started
            session_ended()  # the calm collector's valve
            if writer is not None:
                writer.observe_session(elapsed)
            if self.metrics is not None:
                self.metrics.sessions.dec()
                self.metrics.latency.observe(elapsed)

    async def _record(self, plan: ReadPlan, outcome: JobOutcome, started: str) -> None:
        writer = self._writer
        await (writer.record_job if writer is not None else self._record_alone)(
            meter=outcome.meter,
            plan=plan.name,
            started_at=started,
            finished_at=utc_now(),
            outcome=outcome.outcome,
            reason=outcome.reason[:2000],
            attempts=outcome.attempts,
            stored=outcome.report.stored if outcome.report is not None else 0,
        )

    async def _record_alone(self, **values: Any) -> None:
        await asyncio.to_thread(self.store.record_job, **values)


def _words(report: JobReport) -> str:
    parts = [f"{report.stored} new rows"]
    if report.drift is not None:
        parts.append(f"clock drift {report.drift:+.0f} s" + (" (set)" if report.clock_set else ""))
    if report.commands:
        parts.append(", ".join(f"command {i} {state}" for i, state, _ in report.commands))
    return "; ".join(parts)
