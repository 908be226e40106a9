"""Timing: the median of repeated runs with ``time.perf_counter``, after a warm-up.

A run calls the function ``calls`` times in a row, with ``calls`` chosen so that a run takes at least
:data:`MIN_RUN_SECONDS` (so that microsecond operations are not lost in timer resolution). Runs repeat
until ``budget`` seconds are spent and at least ``min_runs`` are done, or ``max_runs`` are done. The
garbage collector stays on, as in real use, but is emptied before every run so that one run does not pay
for the garbage of the previous one.
"""

from __future__ import annotations

import gc
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["MIN_RUN_SECONDS", "Measurement", "measure"]

MIN_RUN_SECONDS = 0.005


@dataclass(frozen=True)
class Measurement:
    """Seconds per call: the median over ``runs`` runs of ``calls`` calls each, and the fastest run."""

    seconds: float
    fastest: float
    runs: int
    calls: int

    def to_json(self) -> dict[str, float | int]:
        return {"seconds": self.seconds, "fastest": self.fastest, "runs": self.runs, "calls": self.calls}


def measure(
    function: Callable[[], object],
    *,
    budget: float = 1.5,
    min_runs: int = 5,
    max_runs: int = 30,
    clock: Callable[[], float] = time.perf_counter,
) -> Measurement:
    """Time ``function`` (warm-up call first); see the module for how runs are chosen.

    ``clock`` is wall time by default; ``time.process_time`` measures the CPU time of this process instead,
    which other work on a shared machine disturbs less (the budget is then CPU seconds too)."""
    started = clock()
    function()  # warm-up: imports, caches, first allocation of buffers
    first = clock() - started
    calls = max(1, math.ceil(MIN_RUN_SECONDS / first)) if first > 0 else 1000
    samples: list[float] = []
    deadline = started + budget
    while len(samples) < max_runs and (len(samples) < min_runs or clock() < deadline):
        gc.collect()
        begin = clock()
        for _ in range(calls):
            function()
        samples.append((clock() - begin) / calls)
    return Measurement(statistics.median(samples), min(samples), len(samples), calls)
