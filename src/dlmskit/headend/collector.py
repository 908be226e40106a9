"""Python's cyclic garbage collector while the head-end reads a fleet.

Thousands of sessions alive at once are millions of objects; with CPython's default thresholds (a young
collection every 700 allocations) the collector scans them again and again, and its time lands on whatever
allocates: 0.2-0.25 ms of CPU a session at 2,000 sessions at once (``gc.callbacks`` in
``python -m bench.headend_split --meters 2000``), a fifth of the head-end's CPU. :func:`calm_collector`,
entered by :class:`~dlmskit.headend.engine.Engine` while it runs (``EngineLimits.calm_collector``), moves
the objects alive at its start (modules, the inventory, the key store) out of the collector's sight
(``gc.freeze``) and stops its automatic collections; instead the engine calls :func:`session_ended` after
each session, and every :data:`VALVE_SESSIONS` sessions the young and middle generations are collected
(every tenth time all of them). On leaving (the last of overlapping runs) the thresholds are those of
before and the objects it froze are seen again (unless something else froze objects too: then they stay
frozen, as that code expects). Cycles are still collected: a session leaves about seven objects in cycles
(68,000 found after 10,000 sessions), so between two valves at most some tens of MiB wait.

Why not a threshold: CPython counts allocations minus deallocations, and sessions that end free objects
older than the young generation, so at its threshold the young generation holds many more objects than the
threshold says: at 10,000 sessions at once young collections every 50,000 allocations cost 0.15-0.16 ms a
session, every 200,000 0.06-0.07 ms (each a pause of about 0.1 s), every million 0.04 ms (one 0.4 s pause);
with the valve, nothing during a run of 10,000 sessions and about 0.01 ms a session beyond.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

__all__ = ["FULL_EVERY", "VALVE_SESSIONS", "YOUNG_THRESHOLD", "calm_collector", "session_ended"]

YOUNG_THRESHOLD = 1 << 30
"""The young generation's threshold while the engine runs: never reached (the valve collects instead)."""

VALVE_SESSIONS = 50_000
"""Sessions between two collections of the young and middle generations while the engine runs."""

FULL_EVERY = 10
"""Every this many valves, all generations are collected."""

_lock = threading.Lock()
_users = 0
_saved: tuple[int, ...] = ()
_froze_alone = False
_sessions = 0
_valves = 0


def session_ended() -> None:
    """One more session ended while the collector is calm: every :data:`VALVE_SESSIONS` of them, collect
    (the young and middle generations; all of them every :data:`FULL_EVERY` times). Nothing otherwise."""
    global _sessions, _valves
    if not _users:
        return
    _sessions += 1
    if _sessions % VALVE_SESSIONS:
        return
    _valves += 1
    gc.collect(2 if _valves % FULL_EVERY == 0 else 1)


@contextlib.contextmanager
def calm_collector(young: int = YOUNG_THRESHOLD) -> Iterator[None]:
    """No automatic collections while the block runs, the valve's instead (re-entrant and thread-safe: the
    first entry sets them, the last exit restores them)."""
    global _users, _saved, _froze_alone
    with _lock:
        if _users == 0:
            _saved = gc.get_threshold()
            _froze_alone = gc.get_freeze_count() == 0
            gc.freeze()
            gc.set_threshold(young, 1 << 30, 1 << 30)
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0:
                gc.set_threshold(*_saved)
                if _froze_alone:
                    gc.unfreeze()
