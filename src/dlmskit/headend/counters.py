"""Invocation counters of the head-end, per meter and key, in the head-end's database.

:class:`DatabaseCounterStore` implements :class:`~dlmskit.security.invocation.InvocationCounterStore` for one
meter. Counters are reserved in blocks with one atomic ``UPDATE ... RETURNING`` (one row per meter, own
system title and key): the reservation is committed before any counter of the block is handed out, so a
crash (even SIGKILL) skips at most the rest of a block and never hands a counter out twice; processes and
threads sharing the database each get disjoint blocks.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence

import sqlalchemy as sa

from dlmskit.errors import ConfigurationError, InvocationCounterError
from dlmskit.headend.store import Store, counters
from dlmskit.security.invocation import MAX_INVOCATION_COUNTER

__all__ = ["DEFAULT_BLOCK", "DatabaseCounterStore", "advance_counters"]

DEFAULT_BLOCK = 32
"""Counters reserved per database write: a ciphered session with a few reads uses well under one block."""


@functools.lru_cache(maxsize=4096)
def _key_of(system_title: bytes, key_id: str) -> tuple[str, str]:
    """(own system title in hex, key id): the key of a counter row (a session asks for it a few times)."""
    if len(system_title) != 8:
        raise ConfigurationError(f"system title must be 8 bytes, got {len(system_title)}")
    if not key_id:
        raise ConfigurationError("key_id must name the key (e.g. 'global-unicast')")
    return system_title.hex().upper(), key_id


class DatabaseCounterStore:
    """The invocation counters of one meter (``meter`` is its inventory name), reserved ``block`` at a time."""

    def __init__(self, store: Store, meter: str, *, block: int = DEFAULT_BLOCK) -> None:
        if block < 1:
            raise ConfigurationError(f"block must be at least 1, got {block}")
        self._store = store
        self._meter = meter
        self._block = block
        self._lock = threading.Lock()
        # (title, key_id) -> [next to hand out, end of the reserved block (exclusive)]
        self._reserved: dict[tuple[str, str], list[int]] = {}
        # (title, key_id) -> the next block, reserved and committed ahead (see refill)
        self._spare: dict[tuple[str, str], list[int]] = {}
        self._refilling: set[tuple[str, str]] = set()
        self._last_key: tuple[bytes, str, tuple[str, str]] | None = None
        self.refill: Callable[[DatabaseCounterStore, tuple[str, str]], None] | None = None
        """Called (without waiting) when a block is half used and no next block is reserved: the engine's
        batch writer reserves one and gives it back through :meth:`install_spare`, so that ``next`` finds the
        next block ready instead of reserving it itself (a blocking transaction) when the block runs out."""

    def _key(self, system_title: bytes, key_id: str) -> tuple[str, str]:
        # A session asks with the same title and key id each time: the last key is kept, not made again.
        last = self._last_key
        if last is not None and last[0] == system_title and last[1] == key_id:
            return last[2]
        key = _key_of(bytes(system_title), key_id)
        self._last_key = (bytes(system_title), key_id, key)
        return key

    def _where(self, title: str, key_id: str) -> sa.ColumnElement[bool]:
        return sa.and_(
            counters.c.meter == self._meter, counters.c.system_title == title, counters.c.key_id == key_id
        )

    def _ensure_row(self, connection: sa.Connection, title: str, key_id: str) -> None:
        connection.execute(
            self._store.insert(counters)
            .values(meter=self._meter, system_title=title, key_id=key_id, next_free=1)
            .on_conflict_do_nothing()
        )

    def _reserve(self, title: str, key_id: str) -> list[int]:
        with self._store.engine.begin() as connection:
            self._ensure_row(connection, title, key_id)
            end = connection.execute(
                sa.update(counters)
                .where(self._where(title, key_id))
                .values(next_free=counters.c.next_free + self._block)
                .returning(counters.c.next_free)
            ).scalar_one()
        return [int(end) - self._block, int(end)]

    def next(self, system_title: bytes, key_id: str) -> int:
        """The next unused counter; a new block is reserved (and committed) first when the last one is used up."""
        key = self._key(system_title, key_id)
        with self._lock:
            block = self._reserved.get(key)
            if block is None or block[0] >= block[1]:
                spare = self._spare.pop(key, None)
                if spare is None or (block is not None and spare[0] < block[1]):
                    spare = self._reserve(*key)  # counters only grow: a block below the last is skipped
                block = self._reserved[key] = spare
            value = block[0]
            if value > MAX_INVOCATION_COUNTER:
                raise InvocationCounterError(
                    f"invocation counters of key {key_id!r} for meter {self._meter} are exhausted "
                    f"(0x{MAX_INVOCATION_COUNTER:08X} was the last): the key must be replaced"
                )
            block[0] = value + 1
            refill = (
                self.refill is not None
                and block[1] - block[0] < self._block // 2
                and key not in self._spare
                and key not in self._refilling
            )
            if refill:
                self._refilling.add(key)
        if refill and self.refill is not None:
            self.refill(self, key)
        return value

    def install_spare(self, key: tuple[str, str], start: int, end: int | None) -> None:
        """Keep ``start``..``end - 1`` (a block whose reservation is committed) as the next block of ``key``;
        ``end`` None: the refill failed, the next one may be asked for again."""
        with self._lock:
            self._refilling.discard(key)
            block = self._reserved.get(key)
            if end is not None and (block is None or start >= block[1]):
                self._spare[key] = [start, end]

    def advance(self, system_title: bytes, key_id: str, minimum: int) -> None:
        """Make the next counter at least ``minimum`` (never goes back)."""
        if not 0 <= minimum <= MAX_INVOCATION_COUNTER + 1:
            raise ConfigurationError(f"invocation counter must be 0..{MAX_INVOCATION_COUNTER}, got {minimum}")
        title, key_id = key = self._key(system_title, key_id)
        with self._lock:
            spare = self._spare.get(key)
            if spare is not None and spare[0] < minimum:
                del self._spare[key]  # a block below the meter's counter: skipped
            block = self._reserved.get(key)
            if block is not None and block[0] >= minimum:
                return
            if block is not None and minimum < block[1]:
                block[0] = minimum
                return
            self._reserved.pop(key, None)
            with self._store.engine.begin() as connection:
                self._ensure_row(connection, title, key_id)
                connection.execute(
                    sa.update(counters)
                    .where(self._where(title, key_id), counters.c.next_free < minimum)
                    .values(next_free=minimum)
                )

    def prefetch(self, expected: Sequence[tuple[bytes, str]]) -> None:
        """Reserve a fresh block for each (own system title, key id) in ``expected`` whose block is short.
        Blocking: the engine calls it in a worker thread before a session, so that the session's ``next``
        does not wait for the database on the event loop. Nothing is read when the blocks suffice."""
        for title, key_id in expected:
            key = self._key(title, key_id)
            with self._lock:
                block = self._reserved.get(key)
                if block is None or block[1] - block[0] < self._block // 2:
                    fresh = self._reserved[key] = self._reserve(*key)
                    spare = self._spare.get(key)
                    if spare is not None and spare[0] < fresh[1]:
                        del self._spare[key]  # below the fresh block: skipped, counters only grow

    @property
    def meter(self) -> str:
        """The meter's inventory name."""
        return self._meter

    @property
    def block(self) -> int:
        """Counters reserved at a time."""
        return self._block

    def short(self, expected: Sequence[tuple[bytes, str]]) -> list[tuple[str, str]]:
        """The (own system title hex, key id) of ``expected`` whose block is short (as :meth:`prefetch`
        sees it): those a batched reservation (:meth:`Store.reserve_counter_blocks`) should renew."""
        found = []
        for title, key_id in expected:
            key = self._key(title, key_id)
            with self._lock:
                block = self._reserved.get(key)
                if block is None or block[1] - block[0] < self._block // 2:
                    found.append(key)
        return found

    def install(self, key: tuple[str, str], start: int, end: int) -> None:
        """Hand out ``start``..``end - 1`` next for ``key``: a block whose reservation is committed (a spare
        block below it is dropped: counters only grow)."""
        with self._lock:
            self._reserved[key] = [start, end]
            spare = self._spare.get(key)
            if spare is not None and spare[0] < end:
                del self._spare[key]

    def peek(self, system_title: bytes, key_id: str) -> int:
        """The first counter not yet reserved in the database (for reports and tests)."""
        title, key_id = self._key(system_title, key_id)
        with self._store.engine.connect() as connection:
            found = connection.execute(
                sa.select(counters.c.next_free).where(self._where(title, key_id))
            ).scalar()
        return int(found) if found is not None else 1


def advance_counters(store: Store, by: int, meters: Sequence[str] | None = None) -> int:
    """Move every stored invocation counter (or those of ``meters``) on by ``by``, at most to one past the
    last counter there is; the number of (meter, own system title, key) rows moved.

    For a database restored from a backup, or a failover to an asynchronous standby: blocks reserved on the
    old primary after its last replayed commit would be handed out again, and a reused counter is a
    security fault (the meter refuses it, an eavesdropper gets two ciphertexts under one nonce). Run it
    before any head-end process starts, with ``by`` above the counters used since then (sessions times the
    block size is a safe bound). Counters never go back."""
    if by < 1:
        raise ConfigurationError(f"the counters are moved on by at least 1, got {by}")
    ceiling = MAX_INVOCATION_COUNTER + 1
    moved = counters.c.next_free + by
    statement = sa.update(counters).values(next_free=sa.case((moved > ceiling, ceiling), else_=moved))
    if meters is not None:
        statement = statement.where(counters.c.meter.in_(list(meters)))
    with store.engine.begin() as connection:
        return int(connection.execute(statement).rowcount or 0)
