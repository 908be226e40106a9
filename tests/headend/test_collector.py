"""The engine's calm garbage collector: fewer collections while it runs, the process's settings back after."""

from __future__ import annotations

import gc
import threading

import pytest

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


def test_the_valve_collects_every_so_many_sessions_and_all_generations_now_and_then(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """While calm, nothing collects automatically; every VALVE_SESSIONS sessions the young and middle
    generations are, every FULL_EVERY-th time all three; outside a run, session_ended does nothing."""
    from dlmskit.headend import collector

    monkeypatch.setattr(collector, "VALVE_SESSIONS", 3)
    monkeypatch.setattr(collector, "FULL_EVERY", 2)
    monkeypatch.setattr(collector, "_sessions", 0)
    monkeypatch.setattr(collector, "_valves", 0)
    seen: list[int] = []

    def callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            seen.append(info["generation"])

    collector.session_ended()  # not calm: nothing counted
    gc.callbacks.append(callback)
    try:
        with calm_collector():
            for _ in range(200_000):  # allocations that would have collected before
                cycle: list[object] = []
                cycle.append(cycle)
            assert seen == []
            for _ in range(6):
                collector.session_ended()
            assert seen == [1, 2]
            cycle = []
            cycle.append(cycle)
            del cycle
            for _ in range(3):
                collector.session_ended()
            assert seen == [1, 2, 1]
    finally:
        gc.callbacks.remove(callback)
