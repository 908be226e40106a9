"""Shared helpers of the client tests: an asyncio meter server on its own thread, an isolated counter store."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest

from dlmskit.simulator.server import MeterServer


class ServedMeter:
    """A :class:`MeterServer` for ``application`` listening on a free TCP port, on an event loop thread."""

    def __init__(self, application: Any, link: str = "hdlc") -> None:
        self.application = application
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server = MeterServer(application, link=link)  # type: ignore[arg-type]
        listener = asyncio.run_coroutine_threadsafe(self.server.start_tcp("127.0.0.1", 0), self.loop).result(
            10
        )
        self.port: int = cast(asyncio.Server, listener).sockets[0].getsockname()[1]

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture(autouse=True)
def private_state(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Keep the invocation counter file and the profile file of every test away from the user's home."""
    state = tmp_path_factory.getbasetemp() / "client-state"
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.getbasetemp() / "client-config"))
    return state


@pytest.fixture
def serve() -> Iterator[Any]:
    """``serve(application, link)`` starts a server; all are stopped after the test."""
    started: list[ServedMeter] = []

    def start(application: Any, link: str = "hdlc") -> ServedMeter:
        started.append(ServedMeter(application, link))
        return started[-1]

    yield start
    for served in started:
        served.stop()


@pytest.fixture
def simulator() -> Iterator[Any]:
    """``simulator(link="hdlc", **meter_options)`` serves a :class:`SimulatedMeter`; stopped after the test."""
    from dlmskit.simulator import SimulatedMeter, SimulatorThread

    started: list[Any] = []

    def start(link: str = "hdlc", **options: Any) -> Any:
        meter = SimulatedMeter(**options)
        started.append(SimulatorThread(meter, link=link, port=0))  # type: ignore[arg-type]
        return started[-1]

    yield start
    for running in started:
        running.stop()
