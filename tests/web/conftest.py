"""Shared fixtures of the web console tests: a real simulated meter on a free port, private state dirs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="the web console's extra is not installed (pip install -e '.[web]')")

from dlmskit.simulator import SimulatedMeter, SimulatorThread

EK = "000102030405060708090A0B0C0D0E0F"  # the simulator's documented demo keys (docs/simulator.md)
AK = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"
TAMPER_TOKEN = "1234 5678 9012 3456 7890"


@pytest.fixture(autouse=True)
def private_state(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Keep the invocation counter file and the profile file away from the user's home."""
    state = tmp_path_factory.getbasetemp() / "web-state"
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.getbasetemp() / "web-config"))
    return state


@pytest.fixture(scope="module")
def meter() -> Iterator[SimulatorThread]:
    """The default simulated meter, in the tamper state (relay open until the tamper token)."""
    running = SimulatorThread(SimulatedMeter(tamper=True), link="hdlc", port=0)
    try:
        yield running
    finally:
        running.stop()
