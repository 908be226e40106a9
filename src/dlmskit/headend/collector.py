"""Python's cyclic garbage collector while the head-end reads a fleet.

Thousands of sessions alive at once are millions of objects; with CPython's default thresholds (a young
collection every 700 allocations) the collector scans them again and again, and its time lands on whatever
allocates: 0.2-0.25 ms of CPU a session at 2,000 sessions at once (``gc.callbacks`` in
``python -m bench.headend_split --meters 2000``), a fifth of the head-end's CPU. :func:`calm_collector`,
entered by :class:`~dlmskit.headend.engine.Engine` while it runs (``EngineLimits.calm_collector``), moves
the objects alive at its start (modules, the inventory, the key store) out of the collector's sight
(``gc.freeze``) and collects the young generation every ``young`` allocations instead of 700; on leaving
(the last of overlapping runs) the thresholds are those of before and the objects it froze are seen again
(unless something else froze objects too: then they stay frozen, as that code expects). Nothing is turned
off: cycles are still collected, only less often (the young generation holds up to ``young`` objects more).
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

__all__ = ["YOUNG_THRESHOLD", "calm_collector"]

YOUNG_THRESHOLD = 200_000
"""Allocations between two collections of the young generation while the engine runs (CPython: 700).
At 10,000 sessions at once (``bench.headend_split --meters 10000 --jitter 1.2``, the collector timed by
``gc.callbacks``) 50,000 spent 0.15-0.16 ms a session collecting (24 young collections and one of the
middle generation, which alone took 0.07 ms a session); 200,000 spends 0.065-0.075 ms (5-6 young
collections). The young generation then holds up to 200,000 objects more: tens of MiB at most."""

_lock = threading.Lock()
_users = 0
_saved: tuple[int, ...] = ()
_froze_alone = False


@contextlib.contextmanager
def calm_collector(young: int = YOUNG_THRESHOLD) -> Iterator[None]:
    """Fewer, cheaper collections while the block runs (re-entrant and thread-safe: the first entry sets
    them, the last exit restores them)."""
    global _users, _saved, _froze_alone
    with _lock:
        if _users == 0:
            _saved = gc.get_threshold()
            _froze_alone = gc.get_freeze_count() == 0
            gc.freeze()
            gc.set_threshold(young, 20, 20)
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
