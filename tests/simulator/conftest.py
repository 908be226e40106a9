"""Fixtures of the simulator tests: a meter of the default model at a pinned time."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.simulator.simclient import PinnedTime

from dlmskit.simulator import SimulatedMeter


@pytest.fixture
def clock() -> PinnedTime:
    return PinnedTime()


@pytest.fixture
def meter(clock: PinnedTime, tmp_path: Path) -> SimulatedMeter:
    return SimulatedMeter(now=clock, state_dir=tmp_path)
