"""The engine's calm garbage collector: fewer collections while it runs, the process's settings back after."""

from __future__ import annotations

import gc
import threading

from dlmskit.headend.collector import YOUNG_THRESHOLD, calm_collector


def test_thresholds_and_frozen_objects_come_back_after_the_last_of_overlapping_runs() -> None:
    before = gc.get_threshold()
    assert gc.get_freeze_count() == 0
    with calm_collector():
        assert gc.get_threshold()[0] == YOUNG_THRESHOLD
        assert gc.get_freeze_count() > 0  # what was alive at the start is out of the collector's sight
        with calm_collector():
            pass
        assert gc.get_threshold()[0] == YOUNG_THRESHOLD  # still inside the outer run
        cycle: list[object] = []
        cycle.append(cycle)
        del cycle
        assert gc.collect() >= 1  # cycles are still collected
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_objects_someone_else_froze_stay_frozen() -> None:
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with calm_collector():
            pass
        assert gc.get_freeze_count() >= frozen
    finally:
        gc.unfreeze()


def test_runs_in_threads_restore_once() -> None:
    before = gc.get_threshold()
    inside = threading.Barrier(4)
    leave = threading.Event()

    def run() -> None:
        with calm_collector():
            inside.wait()
            leave.wait()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    inside.wait()
    assert gc.get_threshold()[0] == YOUNG_THRESHOLD
    leave.set()
    for thread in threads:
        thread.join()
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
