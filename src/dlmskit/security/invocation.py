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
  ``os.replace``) under an OS lock (``flock`` of ``<file>.lock``), re-read under that lock before every
  reservation. With ``block=N`` it reserves N counters per write: N times fewer writes, and up to N-1
  counters skipped after a crash.
* :class:`SqliteInvocationCounterStore` keeps a SQLite database (WAL, one short ``BEGIN IMMEDIATE``
  transaction per reservation), with the same ``block`` option.

Both shared stores are safe for any number of threads, processes and store objects on one file of one
machine: a reservation only ever raises the stored value (``max(stored, new)``), each process hands out only
the block it reserved, and the OS drops the lock of a process killed with SIGKILL.

:class:`ReceivedCounterTracker` remembers the last counter accepted from each peer and refuses replays.

This is the one module of the security layer that does file I/O.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import sqlite3
import tempfile
import threading
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

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


_process_locks: dict[str, threading.Lock] = {}
_process_locks_guard = threading.Lock()


def _reset_process_locks() -> None:
    """In a forked child, locks held by the parent's other threads would never be released."""
    global _process_locks_guard
    _process_locks_guard = threading.Lock()
    _process_locks.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_process_locks)


def _process_lock(path: Path) -> threading.Lock:
    """One lock per counter file in this process, shared by every store object on that file."""
    name = os.path.realpath(path)
    with _process_locks_guard:
        return _process_locks.setdefault(name, threading.Lock())


@contextlib.contextmanager
def _machine_lock(path: Path) -> Iterator[None]:
    """Hold the counter file ``path`` for this thread alone, against every thread and process of the machine.

    First the per-process lock of the file, then an OS lock on ``<path>.lock`` (``flock`` on POSIX,
    ``msvcrt.locking`` on Windows). The OS releases its lock when the process dies, SIGKILL included, so a
    killed process never leaves the file locked.
    """
    lock_path = path.with_name(path.name + ".lock")
    with _process_lock(path):
        descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if fcntl is not None:
                fcntl.flock(descriptor, fcntl.LOCK_EX)
            else:  # pragma: no cover - Windows
                import msvcrt

                while True:
                    try:
                        msvcrt.locking(descriptor, msvcrt.LK_LOCK, 1)
                        break
                    except OSError:
                        continue
            yield
        finally:
            os.close(descriptor)  # releases the OS lock


class _Blocks:
    """The counters one store object reserved and has not handed out yet: ``[next, limit)`` per key.

    A reservation belongs to the process that made it: after ``fork`` the child forgets the parent's blocks
    (they would hand out the same counters twice).
    """

    def __init__(self) -> None:
        self.ranges: dict[tuple[str, str], tuple[int, int]] = {}
        self.pid = os.getpid()

    def take(self, key: tuple[str, str]) -> int | None:
        """The next counter of the reserved block, or None when the block is used up."""
        if self.pid != os.getpid():
            self.ranges.clear()
            self.pid = os.getpid()
        start, limit = self.ranges.get(key, (0, 0))
        if start >= limit:
            return None
        self.ranges[key] = (start + 1, limit)
        return start

    def advance(self, key: tuple[str, str], minimum: int) -> bool:
        """Raise the block's next counter to ``minimum``; False when ``minimum`` lies beyond the block."""
        start, limit = self.ranges.get(key, (0, 0))
        if self.pid == os.getpid() and minimum < limit:
            self.ranges[key] = (max(start, minimum), limit)
            return True
        self.ranges.pop(key, None)
        return False


def _reservation(first: int, block: int, title: str, key_id: str) -> int:
    """The first counter after a block of ``block`` counters from ``first``."""
    if first > MAX_INVOCATION_COUNTER:
        raise _exhausted(title, key_id)
    return min(first + block, MAX_INVOCATION_COUNTER + 1)


class FileInvocationCounterStore:
    """Counters in a JSON file, shared safely by every thread and process of the machine.

    The file records, per system title and key, the first counter no process has reserved yet. Reserving
    takes the file's OS lock (``<file>.lock``), reads the file again, writes the raised value (temporary
    file, fsync, ``os.replace``) and only then hands counters out; a reservation only ever raises the stored
    value, so no process rolls another back. ``block`` counters are reserved per write (default 1): a
    larger block saves writes, and the unused rest of a block (up to ``block - 1`` counters) is skipped
    when the process ends or crashes, never reused. Several processes and several store objects on one
    file each reserve their own blocks.

    ``inherit`` names an older counter file to continue from while this one does not exist yet (so that
    moving to a new default file never starts the counters again). A missing file starts all counters
    afresh; a damaged file raises ``ConfigurationError`` rather than risk reusing counters. The lock needs
    a local file system (``flock`` over NFS is not reliable): share counters across machines never.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        block: int = 1,
        inherit: str | os.PathLike[str] | None = None,
    ) -> None:
        if block < 1:
            raise ConfigurationError(f"block must be at least 1, got {block}")
        self._path = Path(path)
        self._inherit = Path(inherit) if inherit is not None else None
        self._block = block
        self._lock = threading.Lock()
        self._blocks = _Blocks()
        self._load()  # a damaged file is refused at once

    @property
    def path(self) -> Path:
        """The counter file."""
        return self._path

    def _load(self) -> dict[str, dict[str, int]]:
        """The stored counters (those of ``inherit`` while the file does not exist)."""
        for path in (self._path, self._inherit):
            if path is None:
                continue
            try:
                text = path.read_text(encoding="utf-8")
            except FileNotFoundError:
                continue
            return self._parse(path, text)
        return {}

    @staticmethod
    def _parse(path: Path, text: str) -> dict[str, dict[str, int]]:
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
            raise ConfigurationError(f"invocation counter file {path} is damaged: {error}") from None
        for title, keys in result.items():
            for key_id, value in keys.items():
                if not 0 <= value <= MAX_INVOCATION_COUNTER + 1:
                    raise ConfigurationError(
                        f"invocation counter file {path}: counter {value} of {title}/{key_id} is out of range"
                    )
        return result

    def _write(self, reserved: dict[str, dict[str, int]]) -> None:
        """Replace the file (under the machine-wide lock, so a temporary file left over is from a writer
        that was killed, and is removed)."""
        document = {"format": _FILE_FORMAT, "version": _FILE_VERSION, "counters": reserved}
        directory = self._path.parent
        for stale in directory.glob(f".{glob.escape(self._path.name)}.*.tmp"):
            stale.unlink(missing_ok=True)
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

    def _update(self, title: str, key_id: str, raise_to: Callable[[int], int]) -> int:
        """Under the machine-wide lock: read the stored value, store ``max(stored, raise_to(stored))``.

        Returns the stored value found (the first counter no one had reserved).
        """
        with _machine_lock(self._path):
            counters = self._load()
            stored = counters.get(title, {}).get(key_id, _FIRST_COUNTER)
            wanted = raise_to(stored)
            if wanted > stored:
                counters.setdefault(title, {})[key_id] = wanted
                self._write(counters)
            return stored

    def next(self, system_title: bytes, key_id: str) -> int:
        """The next counter for (system title, key), reserved in the file first."""
        title = _check_key(system_title, key_id)
        with self._lock:
            value = self._blocks.take((title, key_id))
            if value is not None:
                return value
            block = self._block
            first = self._update(title, key_id, lambda stored: _reservation(stored, block, title, key_id))
            self._blocks.ranges[(title, key_id)] = (first + 1, _reservation(first, block, title, key_id))
            return first

    def advance(self, system_title: bytes, key_id: str, minimum: int) -> None:
        """Make the next counter at least ``minimum`` (persisted at once; never goes back)."""
        title = _check_key(system_title, key_id)
        _check_minimum(minimum)
        with self._lock:
            if not self._blocks.advance((title, key_id), minimum):
                self._update(title, key_id, lambda stored: max(stored, minimum))

    def stored(self) -> dict[tuple[str, str], int]:
        """Every (system title in hex, key id) and the first counter no process has reserved yet."""
        with _machine_lock(self._path):
            counters = self._load()
        return {(title, key_id): value for title, keys in counters.items() for key_id, value in keys.items()}


class SqliteInvocationCounterStore:
    """Counters in a SQLite database in WAL mode, shared safely by every thread and process of the machine.

    Each reservation is one short ``BEGIN IMMEDIATE`` transaction (committed with synchronous=FULL before a
    counter is handed out) that only ever raises the stored value. ``block`` counters are reserved per
    transaction, as in :class:`FileInvocationCounterStore`. Close it with :meth:`close` or use it as a
    context manager. WAL needs a local file system.
    """

    def __init__(self, path: str | os.PathLike[str], *, block: int = 1) -> None:
        if block < 1:
            raise ConfigurationError(f"block must be at least 1, got {block}")
        self._path = os.fspath(path)
        self._block = block
        self._lock = threading.Lock()
        self._blocks = _Blocks()
        self._db = self._connect()

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self._path, timeout=60.0, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute(
            "CREATE TABLE IF NOT EXISTS invocation_counters ("
            " system_title TEXT NOT NULL, key_id TEXT NOT NULL, next_counter INTEGER NOT NULL,"
            " PRIMARY KEY (system_title, key_id))"
        )
        self._pid = os.getpid()
        return db

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def __enter__(self) -> SqliteInvocationCounterStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _update(self, title: str, key_id: str, raise_to: Callable[[int], int]) -> int:
        """In one transaction: read the stored value, store ``max(stored, raise_to(stored))``; the value read."""
        if self._pid != os.getpid():
            self._db = self._connect()  # a connection must not cross a fork; the parent keeps its own
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute(
                "SELECT next_counter FROM invocation_counters WHERE system_title = ? AND key_id = ?",
                (title, key_id),
            ).fetchone()
            stored = _FIRST_COUNTER if row is None else int(row[0])
            wanted = raise_to(stored)
            if wanted > stored:
                db.execute(
                    "INSERT INTO invocation_counters (system_title, key_id, next_counter) VALUES (?, ?, ?)"
                    " ON CONFLICT (system_title, key_id)"
                    " DO UPDATE SET next_counter = max(next_counter, excluded.next_counter)",
                    (title, key_id, wanted),
                )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return stored

    def next(self, system_title: bytes, key_id: str) -> int:
        """The next counter for (system title, key), committed first."""
        title = _check_key(system_title, key_id)
        with self._lock:
            value = self._blocks.take((title, key_id))
            if value is not None:
                return value
            block = self._block
            first = self._update(title, key_id, lambda stored: _reservation(stored, block, title, key_id))
            self._blocks.ranges[(title, key_id)] = (first + 1, _reservation(first, block, title, key_id))
            return first

    def advance(self, system_title: bytes, key_id: str, minimum: int) -> None:
        """Make the next counter at least ``minimum`` (committed at once; never goes back)."""
        title = _check_key(system_title, key_id)
        _check_minimum(minimum)
        with self._lock:
            if not self._blocks.advance((title, key_id), minimum):
                self._update(title, key_id, lambda stored: max(stored, minimum))

    def stored(self) -> dict[tuple[str, str], int]:
        """Every (system title in hex, key id) and the first counter no process has reserved yet."""
        with self._lock:
            if self._pid != os.getpid():
                self._db = self._connect()
            rows = self._db.execute("SELECT system_title, key_id, next_counter FROM invocation_counters")
            return {(str(title), str(key_id)): int(value) for title, key_id, value in rows}


class ReceivedCounterTracker:
    """The invocation counters accepted from each peer system title (and key); refuses replays.

    Call :meth:`check` before deciphering (cheap rejection) and :meth:`accept` only after the tag
    verified, so that forged APDUs cannot move the counter on.

    With ``window=0`` (the default) a counter is accepted only above the last accepted one, as the standard
    asks of one security context. A meter that serves several associations of one client at once (as the
    simulator does) receives their counters out of order: each client process or store object hands out
    its own reserved block. With ``window=W``, while more than one association is :meth:`attach`-ed and
    alive, a counter up to W below the highest one is accepted too if it was never accepted before (every
    counter of the window is remembered, as in the anti-replay window of RFC 4303): a replay is still always
    refused, and with one association open the rule is the strict one. An association that has been open
    at the same time as another one keeps the window for its own counters when it names itself
    (``association=``) after the other has ended: its counters come from a block reserved before the other's,
    so they are legitimately below the other's last ones.
    """

    def __init__(self, *, window: int = 0) -> None:
        if window < 0:
            raise ConfigurationError(f"window must be 0 or more, got {window}")
        self.window = window
        self._last: dict[tuple[bytes, str], int] = {}
        self._seen: dict[tuple[bytes, str], set[int]] = {}
        # Made on the first attach (a client's tracker never attaches: no WeakSet per session).
        self._associations: weakref.WeakSet[object] | None = None
        self._overlapped: weakref.WeakSet[object] | None = None
        """Associations that have been open at the same time as another one."""

    def attach(self, association: object) -> None:
        """Count ``association`` as open while it lives (the window applies only to several at once)."""
        associations = self._associations
        if associations is None:
            associations = self._associations = weakref.WeakSet()
        if self.window and len(associations):
            if self._overlapped is None:
                self._overlapped = weakref.WeakSet()
            self._overlapped.update(associations)
            self._overlapped.add(association)
        associations.add(association)

    def last(self, system_title: bytes, *, key_id: str = "") -> int | None:
        """The highest accepted counter, or ``None`` before the first."""
        return self._last.get((bytes(system_title), key_id))

    def expected(self, system_title: bytes, *, key_id: str = "") -> int:
        """The lowest counter above every accepted one (0 before the first): what a meter expects next."""
        last = self.last(system_title, key_id=key_id)
        return 0 if last is None else min(last + 1, MAX_INVOCATION_COUNTER)

    def highest_expected(self, *, key_id: str | None = None) -> int:
        """The highest :meth:`expected` over every peer (of ``key_id`` only, when given); 0 before the first."""
        return max(
            (
                min(last + 1, MAX_INVOCATION_COUNTER)
                for (_title, key), last in self._last.items()
                if key_id is None or key == key_id
            ),
            default=0,
        )

    def check(
        self, system_title: bytes, invocation_counter: int, *, key_id: str = "", association: object = None
    ) -> None:
        """Raise ``InvocationCounterError`` unless ``invocation_counter`` may be accepted (``association``:
        the attached association it came in, if known)."""
        key = (bytes(system_title), key_id)
        last = self._last.get(key)
        if last is None or invocation_counter > last:
            return
        associations, overlapped = self._associations, self._overlapped
        concurrent = associations is not None and (
            len(associations) > 1
            or (association is not None and overlapped is not None and association in overlapped)
        )
        if (
            concurrent
            and last - invocation_counter < self.window
            and invocation_counter not in self._seen.get(key, ())
        ):
            return
        raise InvocationCounterError(
            f"invocation counter {invocation_counter} from system title "
            f"{bytes(system_title).hex().upper()} is not above the last accepted {last}: "
            "replayed or out-of-order APDU"
        )

    def accept(
        self, system_title: bytes, invocation_counter: int, *, key_id: str = "", association: object = None
    ) -> None:
        """:meth:`check`, then remember ``invocation_counter`` as accepted."""
        key = (system_title if type(system_title) is bytes else bytes(system_title), key_id)
        last = self._last.get(key)
        if last is None or invocation_counter > last:  # what check() lets through first, checked once
            self._last[key] = last = invocation_counter
        else:
            self.check(system_title, invocation_counter, key_id=key_id, association=association)
        if self.window:
            seen = self._seen.setdefault(key, set())
            seen.add(invocation_counter)
            if len(seen) > 2 * self.window:
                self._seen[key] = {value for value in seen if last - value < self.window}

    def reset(self, system_title: bytes, *, key_id: str = "") -> None:
        """Forget the peer's counter (its key was replaced, so its counters start again)."""
        self._last.pop((bytes(system_title), key_id), None)
        self._seen.pop((bytes(system_title), key_id), None)
