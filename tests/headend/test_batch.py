"""The engine's batch writer (:mod:`dlmskit.headend.batch`) on SQLite and PostgreSQL: many sessions' leases,
counter blocks, rows and job records in few transactions, each submitter answered after the commit.

- two engines (owners) asking for the same meters in the same moment: each lease goes to one of them;
- counter blocks reserved with the leases never overlap, not across owners, not across batches;
- the same row saved by two sessions in one batch counts as new once; a bad row fails its own session only;
- a job record is in the database when ``record_job`` returns; releases and renewals touch only the owner's
  leases;
- all of it the same through SQLAlchemy's async engine (:class:`~dlmskit.headend.async_store.AsyncStore`:
  aiosqlite, psycopg's async mode) as through the store's engine in a worker thread.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from dlmskit.errors import ConfigurationError, SecurityError
from dlmskit.headend.async_store import AsyncStore, async_url
from dlmskit.headend.batch import BatchWriter
from dlmskit.headend.counters import DatabaseCounterStore
from dlmskit.headend.inventory import Inventory, Meter
from dlmskit.headend.keystore import KeyStore
from dlmskit.headend.store import Store, jobs, keys, leases, readings
from dlmskit.security.keys import SecretBytes

TITLE = bytes.fromhex("444C4B0000000001")


@pytest.fixture(params=["thread", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _writer(store: Store, owner: str, mode: str, delay: float) -> tuple[BatchWriter, AsyncStore | None]:
    engine = AsyncStore(store) if mode == "async" else None
    return BatchWriter(store, owner, 30.0, max_delay=delay, async_store=engine), engine


def _reading(meter: str, value: str = "1") -> dict[str, Any]:
    return {
        "meter": meter,
        "logical_name": "1.0.1.8.0.255",
        "attribute": 2,
        "capture_time": "2026-01-01T00:00:00Z",
        "value": value,
        "unit": "Wh",
    }


def test_leases_and_counter_blocks_of_two_owners_in_one_moment(database_url: str, mode: str) -> None:
    store = Store(database_url)
    meters = [f"m{i}" for i in range(40)]

    async def main() -> tuple[list[bool], list[bool], list[int], int]:
        (a, engine_a), (b, engine_b) = _writer(store, "a", mode, 0.01), _writer(store, "b", mode, 0.01)
        try:
            return await both(a, b)
        finally:
            for engine in (engine_a, engine_b):
                if engine is not None:
                    await engine.close()

    async def both(a: BatchWriter, b: BatchWriter) -> tuple[list[bool], list[bool], list[int], int]:
        async with a, b:
            counters_a = {m: DatabaseCounterStore(store, m, block=8) for m in meters}
            counters_b = {m: DatabaseCounterStore(store, m, block=8) for m in meters}
            keys = [(TITLE, "k")]
            got_a, got_b = await asyncio.gather(
                asyncio.gather(*(a.acquire(m, counters_a[m], keys) for m in meters)),
                asyncio.gather(*(b.acquire(m, counters_b[m], keys) for m in meters)),
            )
            taken = []
            for m, mine in zip(meters, got_a, strict=True):
                counters = counters_a[m] if mine else counters_b[m]
                taken += [counters.next(TITLE, "k") for _ in range(3)]
            await asyncio.gather(
                *((a if mine else b).release(m) for m, mine in zip(meters, got_a, strict=True))
            )
            # Now each meter again, by the other owner: fresh blocks after the first ones.
            again = await asyncio.gather(
                *(
                    (b.acquire(m, counters_b[m], keys) if mine else a.acquire(m, counters_a[m], keys))
                    for m, mine in zip(meters, got_a, strict=True)
                )
            )
            assert all(again)
            for m, mine in zip(meters, got_a, strict=True):
                counters = counters_b[m] if mine else counters_a[m]
                taken += [counters.next(TITLE, "k") for _ in range(3)]
                (b if mine else a).release(m)
        return list(got_a), list(got_b), taken, a.transactions + b.transactions

    try:
        got_a, got_b, taken, transactions = asyncio.run(main())
        assert all(x != y for x, y in zip(got_a, got_b, strict=True))  # one owner for each meter
        assert len(taken) == 240
        per_meter = [taken[i : i + 3] + taken[120 + i : 123 + i] for i in range(0, 120, 3)]
        for values in per_meter:
            assert len(set(values)) == 6 and values[3] > values[2]  # the second block after the first
        assert transactions < 40  # batched: far fewer transactions than acquisitions
        with store.engine.connect() as connection:
            assert connection.execute(sa.select(sa.func.count()).select_from(leases)).scalar() == 0
    finally:
        store.close()


def test_rows_counted_once_a_bad_row_fails_alone_a_job_is_committed_when_recorded(
    database_url: str, mode: str
) -> None:
    store = Store(database_url)

    async def main() -> tuple[list[Any], int]:
        writer, engine = _writer(store, "a", mode, 0.05)
        try:
            return await work(writer)
        finally:
            if engine is not None:
                await engine.close()

    async def work(writer: BatchWriter) -> tuple[list[Any], int]:
        async with writer:
            results = await asyncio.gather(
                writer.save(readings, [_reading("x")]),
                writer.save(readings, [_reading("x", "2")]),  # the same key: stored once
                writer.save(readings, [_reading("y")]),
                writer.save(readings, [{**_reading("z"), "attribute": None}]),  # NOT NULL: refused
                return_exceptions=True,
            )
            await writer.record_job(
                meter="x",
                plan="p",
                started_at="2026-01-01T00:00:00Z",
                finished_at="2026-01-01T00:00:01Z",
                outcome="ok",
                reason="1 new rows",
                attempts=1,
                stored=1,
            )
            with store.engine.connect() as connection:
                recorded = connection.execute(sa.select(sa.func.count()).select_from(jobs)).scalar()
            return results, int(recorded or 0)

    try:
        results, recorded = asyncio.run(main())
        assert sorted(results[:3]) == [0, 1, 1]
        assert isinstance(results[3], sa.exc.IntegrityError)
        assert recorded == 1
        assert store.count(readings) == 2
    finally:
        store.close()


def test_a_closed_writer_refuses_work(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'closed.sqlite'}")

    async def main() -> None:
        writer = BatchWriter(store, "a", 30.0)
        async with writer:
            pass
        with pytest.raises(RuntimeError):
            await writer.save(readings, [_reading("x")])

    try:
        asyncio.run(main())
    finally:
        store.close()


def test_a_batch_gathers_for_a_share_of_the_sessions_duration(tmp_path: Path) -> None:
    """Slow meters (sessions of seconds) make a batch gather longer, within the bounds; quick ones keep the
    shortest delay; without a share the delay never moves. How long each batch waited is then measured."""
    store = Store(f"sqlite:///{tmp_path / 'adaptive.sqlite'}")
    try:
        fixed = BatchWriter(store, "a", 30.0, max_delay=0.02)
        fixed.observe_session(10.0)
        assert fixed.max_delay == 0.02

        writer = BatchWriter(store, "a", 30.0, max_delay=0.02, session_share=0.05, longest_delay=0.25)
        writer.observe_session(0.01)  # a meter on the desk
        assert writer.max_delay == 0.02
        for _ in range(500):  # then a GPRS fleet: sessions of 4 s
            writer.observe_session(4.0)
        assert writer.max_delay == pytest.approx(0.2, rel=0.01)
        for _ in range(500):  # a fleet of timeouts: capped
            writer.observe_session(120.0)
        assert writer.max_delay == 0.25
        writer.observe_session(-1.0)  # a clock step: ignored
        assert writer.max_delay == 0.25

        async def main() -> float:
            loop = asyncio.get_running_loop()
            async with writer:
                started = loop.time()
                await writer.save(readings, [_reading("x")])
                return loop.time() - started

        assert asyncio.run(main()) >= 0.2  # the save waited for its batch to gather, then was committed
        assert store.count(readings) == 1
    finally:
        store.close()


def test_async_urls() -> None:
    assert async_url("sqlite:////tmp/h.sqlite") == "sqlite+aiosqlite:////tmp/h.sqlite"
    assert async_url("postgresql://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert async_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"


def test_the_next_counter_block_is_reserved_ahead_by_the_writer(database_url: str, mode: str) -> None:
    store = Store(database_url)
    counters = DatabaseCounterStore(store, "m", block=8)
    key = (TITLE.hex().upper(), "k")

    async def main() -> list[int]:
        writer, engine = _writer(store, "a", mode, 0.01)
        try:
            async with writer:
                counters.refill = writer.refill
                assert await writer.acquire("m", counters, [(TITLE, "k")])
                taken = [counters.next(TITLE, "k") for _ in range(5)]  # half used: the next block asked for
                await writer.release("m")  # committed in the refill's batch or after it
                taken += [counters.next(TITLE, "k") for _ in range(7)]  # 9..12 from the block ahead
                return taken
        finally:
            if engine is not None:
                await engine.close()

    try:
        taken = asyncio.run(main())
        assert taken == list(range(1, 13))
        assert counters.peek(TITLE, "k") == 17  # two blocks reserved, none by `next` itself
        counters.refill = None
        counters.install(key, 100, 108)
        counters.install_spare(key, 50, 58)  # below the block in use: never handed out
        assert [counters.next(TITLE, "k") for _ in range(9)] == [*range(100, 108), 17]
    finally:
        store.close()


def test_one_counter_row_asked_for_twice_in_a_batch_gets_disjoint_blocks(database_url: str) -> None:
    store = Store(database_url)
    try:
        with store.engine.begin() as connection:
            ends = store.reserve_counter_blocks(
                connection, [("m", "AA", "k", 8), ("n", "AA", "k", 8), ("m", "AA", "k", 4)]
            )
        assert ends == [9, 9, 13]  # m: 1..8 and 9..12; n: 1..8
        with store.engine.begin() as connection:
            assert store.reserve_counter_blocks(connection, [("m", "AA", "k", 8)]) == [21]
    finally:
        store.close()


def test_settings_of_many_meters_in_one_query_each_meter_its_own_error(database_url: str) -> None:
    store = Store(database_url)
    try:
        inventory = Inventory(store, KeyStore(store, SecretBytes(bytes(range(32)))))
        inventory.put_template("gmac", {"client_address": 1, "authentication": "gmac"})
        for name in ("a", "b", "c"):
            inventory.put_meter(Meter(name, "gmac", ("g",), settings={"port": 4100}))
            inventory.keystore.put(name, "block_cipher_key", "000102030405060708090A0B0C0D0E0F")  # type: ignore[union-attr]
        inventory.put_meter(Meter("d", "nowhere", ("g",)))
        with store.engine.begin() as connection:  # c's key sealed for another meter: it does not open
            sealed = connection.execute(sa.select(keys.c.sealed).where(keys.c.meter == "a")).scalar_one()
            connection.execute(sa.update(keys).where(keys.c.meter == "c").values(sealed=sealed))
        chosen = [inventory.meter(name) for name in ("a", "b", "c", "d")]
        found = inventory.settings_of_many(chosen)
        assert found[0] == inventory.settings_of(chosen[0]) and found[1] == inventory.settings_of(chosen[1])
        assert isinstance(found[0], dict) and found[0]["port"] == 4100 and "block_cipher_key" in found[0]
        assert isinstance(found[2], SecurityError) and isinstance(found[3], ConfigurationError)
    finally:
        store.close()
