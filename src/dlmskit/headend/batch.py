"""The engine's database writer: the writes of many sessions gathered into one transaction.

One :class:`BatchWriter` task per running :class:`~dlmskit.headend.engine.Engine` takes what the sessions
submit (lease acquisitions with their invocation counter blocks, lease renewals and releases, readings,
profile rows and events, job records), waits up to ``max_delay`` seconds for more (or until ``max_rows``
operations are queued), and runs them all in **one transaction**, in a worker thread (or, given an
:class:`~dlmskit.headend.async_store.AsyncStore`, on SQLAlchemy's async engine); while that transaction
runs, the next batch gathers. Every submitter awaits the commit of its batch: a job is recorded as done only
once its rows are committed, and a counter block is handed out only once its reservation is committed.

Within a batch the operations run in this order: releases, renewals, acquisitions (with counter blocks),
counter blocks reserved ahead for sessions whose block is half used, rows, job records. A release in the same batch as an acquisition of the same meter was submitted before it
(an acquisition is awaited before its session starts), so releasing first is the order they happened in.

When a batch's transaction fails, each of its operations is tried again in a transaction of its own, so
that one bad row fails its own session only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from dlmskit.headend.async_store import AsyncStore
from dlmskit.headend.counters import DatabaseCounterStore
from dlmskit.headend.store import Store, readings, utc_now

__all__ = ["BatchWriter"]

log = logging.getLogger(__name__)


@dataclass(eq=False)
class _Acquire:
    meter: str
    counters: DatabaseCounterStore | None
    keys: Sequence[tuple[bytes, str]]


@dataclass(eq=False)
class _Refill:
    counters: DatabaseCounterStore
    key: tuple[str, str]


@dataclass(eq=False)
class _Rows:
    table: sa.Table
    rows: list[dict[str, Any]]


@dataclass(eq=False)
class _Job:
    values: dict[str, Any]


@dataclass(eq=False)
class _Release:
    meter: str


@dataclass(eq=False)
class _Renew:
    meters: tuple[str, ...]


_Op = _Acquire | _Refill | _Rows | _Job | _Release | _Renew


@dataclass(eq=False)
class _Pending:
    op: _Op
    future: asyncio.Future[Any]
    result: Any = None
    blocks: list[tuple[DatabaseCounterStore, tuple[str, str], int, int]] = field(default_factory=list)


def _chunks(items: Sequence[Any], size: int = 500) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


class BatchWriter:
    """Gathers the database work of an engine's sessions into few transactions (see the module's docstring).

    ``owner`` names the engine in the leases table; leases are taken for ``lease_seconds`` and all the open
    ones renewed together every third of it. Use it as an async context manager: leaving it commits what
    is queued and stops the tasks."""

    def __init__(
        self,
        store: Store,
        owner: str,
        lease_seconds: float,
        *,
        max_rows: int = 1000,
        max_delay: float = 0.02,
        async_store: AsyncStore | None = None,
        session_share: float = 0.0,
        longest_delay: float = 0.25,
    ) -> None:
        self.store = store
        self.async_store = async_store
        self.owner = owner
        self.lease_seconds = lease_seconds
        self.max_rows = max_rows
        self.max_delay = max_delay
        """How long the next batch gathers: ``shortest_delay`` at first, then moved by :meth:`observe_session`."""
        self.shortest_delay = max_delay
        self.longest_delay = max(longest_delay, max_delay)
        self.session_share = session_share
        self._session_seconds: float | None = None
        self.transactions = 0
        """Transactions committed (for benchmarks and tests)."""
        self._queue: list[_Pending] = []
        self._wake = asyncio.Event()
        self._held: set[str] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The event loop the writer runs on (None before it started)."""
        return self._loop

    async def __aenter__(self) -> BatchWriter:
        self._loop = asyncio.get_running_loop()  # asked once: each call of get_running_loop is a getpid()
        self._tasks = [asyncio.ensure_future(self._write()), asyncio.ensure_future(self._renew())]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._closing = True
        self._wake.set()
        renewer = self._tasks[1]
        renewer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewer
        await self._tasks[0]

    # -- what sessions call ------------------------------------------------------------------------------

    def observe_session(self, seconds: float) -> None:
        """A session took ``seconds``: batches gather for ``session_share`` of the sessions' recent mean
        duration (an exponential average), between ``shortest_delay`` and ``longest_delay``. Slow meters
        (GPRS round trips of a second) make a batch gather longer, so that one transaction carries more
        sessions' work; a session waits for its commits about that share longer."""
        if self.session_share <= 0 or seconds < 0:
            return
        mean = self._session_seconds
        mean = seconds if mean is None else mean + (seconds - mean) * 0.02
        self._session_seconds = mean
        self.max_delay = min(self.longest_delay, max(self.shortest_delay, self.session_share * mean))

    async def acquire(
        self, meter: str, counters: DatabaseCounterStore | None = None, keys: Sequence[tuple[bytes, str]] = ()
    ) -> bool:
        """Take the meter's lease (False: another owner holds it) and, when taken, reserve fresh counter
        blocks of ``counters`` for the ``keys`` whose block is short, in the same transaction."""
        future = self._submit(_Acquire(meter, counters, tuple(keys)))
        try:
            return bool(await asyncio.shield(future))
        except asyncio.CancelledError:
            if future.done() and not future.cancelled() and future.exception() is None and future.result():
                self.release(meter)
            raise

    def release(self, meter: str) -> asyncio.Future[Any]:
        """Give the lease back with the next batch; the session need not wait for it (the future returned
        is done once committed). This engine's next acquisition of the meter comes after it."""
        self._held.discard(meter)
        future = self._submit(_Release(meter))
        future.add_done_callback(_log_failure)
        return future

    def refill(self, counters: DatabaseCounterStore, key: tuple[str, str]) -> None:
        """Reserve the next counter block of ``counters`` for ``key`` with the next batch (nothing to await:
        :meth:`DatabaseCounterStore.install_spare` receives it once committed)."""
        if not self._tasks or self._tasks[0].done():
            counters.install_spare(key, 0, None)  # no writer: the block is reserved when it runs out
            return
        future = self._submit(_Refill(counters, key))
        future.add_done_callback(lambda done: _refilled(counters, key, done))

    async def save(self, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> int:
        """Store readings, profile rows or events (a row already stored is left as it is); returns how
        many were new, once committed."""
        if not rows:
            return 0
        items = [dict(row) for row in rows]
        if table is readings:
            now = utc_now()
            items = [{"read_at": now, **row} for row in items]
        return int(await self._submit(_Rows(table, items)))

    async def record_job(self, **values: Any) -> None:
        """Record a finished job; returns once committed."""
        await self._submit(_Job(values))

    # -- the tasks ---------------------------------------------------------------------------------------

    def _submit(self, op: _Op) -> asyncio.Future[Any]:
        if not self._tasks or self._tasks[0].done():
            raise RuntimeError("the batch writer is not running")
        assert self._loop is not None
        future: asyncio.Future[Any] = self._loop.create_future()
        self._queue.append(_Pending(op, future))
        self._wake.set()
        return future

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            if self._held:
                future = self._submit(_Renew(tuple(self._held)))
                future.add_done_callback(_log_failure)

    async def _write(self) -> None:
        while True:
            if not self._queue:
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            if len(self._queue) < self.max_rows and not self._closing and self.max_delay > 0:
                await asyncio.sleep(self.max_delay)
            batch, self._queue = self._queue[: self.max_rows], self._queue[self.max_rows :]
            try:
                try:
                    await self._commit(batch)
                except Exception:
                    for pending in batch:
                        try:
                            await self._commit([pending])
                        except Exception as error:
                            pending.result = error
            except BaseException:  # cancelled: nobody waits forever for an answer that will not come
                for pending in (*batch, *self._queue):
                    pending.future.cancel()
                raise
            for pending in batch:
                try:
                    self._settle(pending)
                except Exception as error:  # pragma: no cover - a bug here must not leave a session waiting
                    if not pending.future.done():
                        pending.future.set_exception(error)

    def _settle(self, pending: _Pending) -> None:
        if isinstance(pending.result, Exception):
            if not pending.future.done():
                pending.future.set_exception(pending.result)
            return
        if isinstance(pending.op, _Acquire) and pending.result:
            self._held.add(pending.op.meter)
            for counters, key, start, end in pending.blocks:
                counters.install(key, start, end)
        if not pending.future.done():
            pending.future.set_result(pending.result)

    # -- one transaction (in a worker thread) ------------------------------------------------------------

    async def _commit(self, batch: Sequence[_Pending]) -> None:
        for pending in batch:  # a batch tried again op by op starts afresh
            pending.result, pending.blocks = None, []
        if self.async_store is not None:
            await self.async_store.run(lambda connection: self._apply(connection, batch))
        else:
            await asyncio.to_thread(self._apply_alone, batch)
        self.transactions += 1

    def _apply_alone(self, batch: Sequence[_Pending]) -> None:
        with self.store.engine.begin() as connection:
            self._apply(connection, batch)

    def _apply(self, connection: sa.Connection, batch: Sequence[_Pending]) -> None:
        store, owner = self.store, self.owner
        now = time.time()
        released = [p.op.meter for p in batch if isinstance(p.op, _Release)]
        for part in _chunks(released):
            store.release_leases(connection, owner, part)
        renewed = sorted({m for p in batch if isinstance(p.op, _Renew) for m in p.op.meters})
        for part in _chunks(renewed):
            store.renew_leases(connection, owner, part, now + self.lease_seconds)
        acquiring = [(p, p.op) for p in batch if isinstance(p.op, _Acquire)]
        got = (
            store.acquire_leases(
                connection, owner, [op.meter for _, op in acquiring], now, self.lease_seconds
            )
            if acquiring
            else set()
        )
        wanted: list[tuple[_Pending, DatabaseCounterStore, tuple[str, str]]] = []
        for pending, op in acquiring:
            pending.result = op.meter in got
            if pending.result and op.counters is not None:
                wanted.extend((pending, op.counters, key) for key in op.counters.short(op.keys))
        wanted.extend((p, p.op.counters, p.op.key) for p in batch if isinstance(p.op, _Refill))
        if wanted:
            ends = store.reserve_counter_blocks(
                connection,
                [(c.meter, title, key_id, c.block) for _, c, (title, key_id) in wanted],
            )
            for (pending, counters, key), end in zip(wanted, ends, strict=True):
                if isinstance(pending.op, _Refill):
                    pending.result = (end - counters.block, end)
                else:
                    pending.blocks.append((counters, key, end - counters.block, end))
        by_table: dict[str, list[_Pending]] = {}
        for pending in batch:
            if isinstance(pending.op, _Rows):
                by_table.setdefault(pending.op.table.name, []).append(pending)
        for group in by_table.values():
            first = group[0].op
            assert isinstance(first, _Rows)
            rows = [row for p in group if isinstance(p.op, _Rows) for row in p.op.rows]
            new = store.insert_new(connection, first.table, rows)
            names = [c.name for c in first.table.primary_key.columns]
            for pending in group:
                assert isinstance(pending.op, _Rows)
                count = 0
                for row in pending.op.rows:
                    key = tuple(row[n] for n in names)
                    if key in new:
                        new.discard(key)
                        count += 1
                pending.result = count
        recorded = [p.op.values for p in batch if isinstance(p.op, _Job)]
        if recorded:
            store.record_jobs(connection, recorded)


def _refilled(counters: DatabaseCounterStore, key: tuple[str, str], done: asyncio.Future[Any]) -> None:
    if done.cancelled() or done.exception() is not None:
        counters.install_spare(key, 0, None)
    else:
        start, end = done.result()
        counters.install_spare(key, start, end)


def _log_failure(future: asyncio.Future[Any]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.warning("a lease could not be renewed or released: %s", future.exception())
