"""Invocation counters: the sender's own (never reused) and the peer's (never accepted twice).

The GCM nonce of a protected APDU is the sender's system title and its 4-byte invocation counter. If
a counter is ever used twice with the same key, an eavesdropper can XOR the two ciphertexts and read
the plaintexts, and forge tags. A store therefore persists a counter *before* handing it out: after a
crash the worst case is a skipped counter, never a repeated one. Counters are kept per own system
title and key (``key_id`` is the caller's name for the key, e.g. ``"global-unicast"``); when a key is
replaced, use a new ``key_id`` or a new store. The first counter handed out is 1, since meters accept
only counters above the last one they saw.

* :class:`MemoryInvocationCounterStore` forgets everything when the process ends: right for a
  dedicated key, which lives for one association, and for tests.
* :class:`FileInvocationCounterStore` keeps a JSON file, rewritten atomically (temporary file, fsync,
  ``os.replace``). With ``block=N`` it reserves N counters per write: N times fewer writes, and up to
  N-1 counters skipped after a crash. One process per file.
* :class:`SqliteInvocationCounterStore` keeps a SQLite database, one transaction per counter; several
  processes may share it.

:class:`ReceivedCounterTracker` remembers the last counter accepted from each peer and refuses replays.

This is the one module of the security layer that does file I/O.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
import threading
from pathlib import Path
from typing import Protocol

from dlmskit.errors import ConfigurationError, InvocationCounterError

__all__ = [
    "MAX_INVOCATION_COUNTER",
    "FileInvocationCounterStore",
    "InvocationCounterStore",
    "MemoryInvocationCounterStore",
    "ReceivedCounterTracker",
    "SqliteInvocationCounterStore",
]

#: The last invocation counter a key can use; after it the key must be replaced.
MAX_INVOCATION_COUNTER = 0xFFFFFFFF
_FIRST_COUNTER = 1
_FILE_FORMAT = "dlmskit-invocation-counters"
_FILE_VERSION = 1


class InvocationCounterStore(Protocol):
    """Hands out the sender's invocation counters, each at most once, even across crashes."""

    def next(self, system_title: bytes, key_id: str) -> int:
        """The next unused counter for (own system title, key); persisted before it is returned.

        Raises :class:`~dlmskit.errors.InvocationCounterError` once the 0xFFFFFFFF counter is used.
        """
        ...

    def advance(self, system_title: bytes, key_id: str, minimum: int) -> None:
        """Make the next counter at least ``minimum`` (never goes back).

        For a meter that expects a higher counter, as read from its invocation counter object or
        reported in an exception-response invocation-counter-error.
        """
        ...


def _check_key(system_title: bytes, key_id: str) -> str:
    if len(system_title) != 8:
        raise ConfigurationError(f"system title must be 8 bytes, got {len(system_title)}")
    if not key_id:
        raise ConfigurationError("key_id must name the key (e.g. 'global-unicast')")
    return bytes(system_title).hex().upper()


def _exhausted(title: str, key_id: str) -> InvocationCounterError:
    return InvocationCounterError(
        f"invocation counters of key {key_id!r} for system title {title} are exhausted "
        f"(0x{MAX_INVOCATION_COUNTER:08X} was the last): the key must be replaced"
    )


def _check_minimum(minimum: int) -> None:
    if not 0 <= minimum <= MAX_INVOCATION_COUNTER + 1:
        raise ConfigurationError(f"invocation counter must be 0..{MAX_INVOCATION_COUNTER}, got {minimum}")


class MemoryInvocationCounterStore:
    """Counters in memory only (a dedicated key's counters, tests)."""

    def __init__(self) -> None:
        self._next: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def next(self, system_title: bytes, key_id: str) -> int:
        """The next counter for (system title, key)."""
        title = _check_key(system_title, key_id)
        with self._lock:
            value = self._next.get((title, key_id), _FIRST_COUNTER)
            if value > MAX_INVOCATION_COUNTER:
                raise _exhausted(title, key_id)
            self._next[(title, key_id)] = value + 1
            return value

    def advance(self, system_title: bytes, key_id: str, minimum: int) -> None:
        """Make the next counter at least ``minimum``."""
        title = _check_key(system_title, key_id)
        _check_minimum(minimum)
        with self._lock:
            key = (title, key_id)
            self._next[key] = max(self._next.get(key, _FIRST_COUNTER), minimum)


def _fsync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable (POSIX; Windows cannot open directories)."""
    if os.name != "posix":
        return
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class FileInvocationCounterStore:
    """Counters in a JSON file, written atomically before any counter is handed out.

    The file records, per system title and key, the first counter not yet reserved. ``block``
    counters are reserved per write (default 1: one write per counter). A larger block saves writes;
    after a crash the unused rest of the block (up to ``block - 1`` counters) is skipped, never reused.
    A missing file starts all counters afresh; a damaged file raises ``ConfigurationError`` rather
    than risk reusing counters.
    """

    def __init__(self, path: str | os.PathLike[str], *, block: int = 1) -> None:
        if block < 1:
            raise ConfigurationError(f"block must be at least 1, got {block}")
        self._path = Path(path)
        self._block = block
        self._lock = threading.Lock()
        self._reserved = self._load()
        self._next = {key: dict(counters) for key, counters in self._reserved.items()}

    def _load(self) -> dict[str, dict[str, int]]:
        try:
            text = self._path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        try:
            document = json.loads(text)
            if document["format"] != _FILE_FORMAT or document["version"] != _FILE_VERSION:
                raise ValueError("unknown format or version")
            counters = document["counters"]
            result = {
                str(title): {str(key_id): int(value) for key_id, value in keys.items()}
                for title, keys in counters.items()
            }
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise ConfigurationError(f"invocation counter file {self._path} is damaged: {error}") from None
        for title, keys in result.items():
            for key_id, value in keys.items():
                if not 0 <= value <= MAX_INVOCATION_COUNTER + 1:
                    raise ConfigurationError(
                        f"invocation counter file {self._path}: counter {value} of {title}/{key_id} "
                        "is out of range"
                    )
        return result

    def _write(self, reserved: dict[str, dict[str, int]]) -> None:
        document = {"format": _FILE_FORMAT, "version": _FILE_VERSION, "counters": reserved}
        directory = self._path.parent
        descriptor, temporary = tempfile.mkstemp(prefix=f".{self._path.name}.", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                json.dump(document, file, indent=1, sort_keys=True)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self._path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        _fsync_directory(directory)

    def _reserve(self, title: str, key_id: str, limit: int) -> None:
        """Persist ``limit`` as the first counter not yet reserved for (title, key)."""
        reserved = {key: dict(counters) for key, counters in self._reserved.items()}
        reserved.setdefault(title, {})[key_id] = limit
        self._write(reserved)
        self._reserved = reserved

    def next(self, system_title: bytes, key_id: str) -> int:
        """The next counter for (system title, key), reserved in the file first."""
        title = _check_key(system_title, key_id)
        with self._lock:
            value = self._next.get(title, {}).get(key_id, _FIRST_COUNTER)
            if value > MAX_INVOCATION_COUNTER:
                raise _exhausted(title, key_id)
            if value >= self._reserved.get(title, {}).get(key_id, 0):
                self._reserve(title, key_id, min(value + self._block, MAX_INVOCATION_COUNTER + 1))
            self._next.setdefault(title, {})[key_id] = value + 1
            return value

    def advance(self, system_title: bytes, key_id: str, minimum: int) -> None:
        """Make the next counter at least ``minimum`` (persisted at once)."""
        title = _check_key(system_title, key_id)
        _check_minimum(minimum)
        with self._lock:
            current = self._next.get(title, {}).get(key_id, _FIRST_COUNTER)
            if minimum <= current:
                return
            if minimum > self._reserved.get(title, {}).get(key_id, 0):
                self._reserve(title, key_id, minimum)
            self._next.setdefault(title, {})[key_id] = minimum


class SqliteInvocationCounterStore:
    """Counters in a SQLite database; each counter is committed (synchronous=FULL) before use.

    SQLite's locking makes it safe for several processes to share one database file. Close it with
    :meth:`close` or use it as a context manager.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(os.fspath(path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS invocation_counters ("
            " system_title TEXT NOT NULL, key_id TEXT NOT NULL, next_counter INTEGER NOT NULL,"
            " PRIMARY KEY (system_title, key_id))"
        )

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def __enter__(self) -> SqliteInvocationCounterStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _update(self, title: str, key_id: str, minimum: int | None) -> int:
        """In one transaction: read the next counter, then store it + 1 (or raise it to ``minimum``)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute(
                    "SELECT next_counter FROM invocation_counters WHERE system_title = ? AND key_id = ?",
                    (title, key_id),
                ).fetchone()
                value = _FIRST_COUNTER if row is None else int(row[0])
                if minimum is None:
                    if value > MAX_INVOCATION_COUNTER:
                        raise _exhausted(title, key_id)
                    stored = value + 1
                else:
                    stored = max(value, minimum)
                self._db.execute(
                    "INSERT INTO invocation_counters (system_title, key_id, next_counter) VALUES (?, ?, ?)"
                    " ON CONFLICT (system_title, key_id) DO UPDATE SET next_counter = excluded.next_counter",
                    (title, key_id, stored),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            return value

    def next(self, system_title: bytes, key_id: str) -> int:
        """The next counter for (system title, key), committed first."""
        return self._update(_check_key(system_title, key_id), key_id, None)

    def advance(self, system_title: bytes, key_id: str, minimum: int) -> None:
        """Make the next counter at least ``minimum`` (committed at once)."""
        _check_minimum(minimum)
        self._update(_check_key(system_title, key_id), key_id, minimum)


class ReceivedCounterTracker:
    """The last invocation counter accepted from each peer system title (and key); refuses replays.

    Call :meth:`check` before deciphering (cheap rejection) and :meth:`accept` only after the tag
    verified, so that forged APDUs cannot move the counter on.
    """

    def __init__(self) -> None:
        self._last: dict[tuple[bytes, str], int] = {}

    def last(self, system_title: bytes, *, key_id: str = "") -> int | None:
        """The last accepted counter, or ``None`` before the first."""
        return self._last.get((bytes(system_title), key_id))

    def check(self, system_title: bytes, invocation_counter: int, *, key_id: str = "") -> None:
        """Raise ``InvocationCounterError`` unless ``invocation_counter`` is above the last accepted one."""
        last = self._last.get((bytes(system_title), key_id))
        if last is not None and invocation_counter <= last:
            raise InvocationCounterError(
                f"invocation counter {invocation_counter} from system title "
                f"{bytes(system_title).hex().upper()} is not above the last accepted {last}: "
                "replayed or out-of-order APDU"
            )

    def accept(self, system_title: bytes, invocation_counter: int, *, key_id: str = "") -> None:
        """:meth:`check`, then remember ``invocation_counter`` as the last accepted one."""
        self.check(system_title, invocation_counter, key_id=key_id)
        self._last[(bytes(system_title), key_id)] = invocation_counter

    def reset(self, system_title: bytes, *, key_id: str = "") -> None:
        """Forget the peer's counter (its key was replaced, so its counters start again)."""
        self._last.pop((bytes(system_title), key_id), None)
