"""Interoperability fixtures: dlmskit's simulated meter on a thread, gurux-dlms sessions, our own client.

gurux-dlms is a test-only dependency: this file imports it only inside the ``gurux`` fixture, and each
test module skips itself when ``gurux_dlms`` cannot be imported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from tests.interop.demo_meter import AK, EK, PINNED, Link, settled

from dlmskit.client import DlmsClient
from dlmskit.simulator import SimulatedMeter, SimulatorThread

if TYPE_CHECKING:
    from tests.interop.gurux_session import GuruxSession


@pytest.fixture
def simulator() -> Iterator[Callable[..., SimulatorThread]]:
    """``simulator(link, tamper=False)``: the default-model meter at :data:`PINNED`, served on a free port
    from a background thread; stopped after the test."""
    started: list[SimulatorThread] = []

    def start(link: Link, *, tamper: bool = False) -> SimulatorThread:
        meter = SimulatedMeter(now=lambda: PINNED, tamper=tamper)
        started.append(SimulatorThread(meter, link=link, port=0))
        return started[-1]

    yield start
    for running in started:
        stats = settled(running)
        running.stop()
        # Every scenario ends with a clean release (and DISC on HDLC): the server never saw a broken
        # connection, whatever the client did.
        assert stats.connection_errors == 0, f"the simulator saw a broken connection: {stats}"
        assert stats.active == 0, f"a connection was still open at the end: {stats}"


@pytest.fixture
def gurux(simulator: Callable[..., SimulatorThread]) -> Iterator[Callable[..., GuruxSession]]:
    """``gurux(running, client_address, authentication, password, keys=..., answer_timeout_ms=...)``: a
    :class:`~tests.interop.gurux_session.GuruxSession` with the simulator, not yet connected (use it as a
    context manager to connect and associate); its TCP connection is closed after the test, before the
    simulator stops."""
    from tests.interop.gurux_session import GuruxSession

    sessions: list[GuruxSession] = []

    def make(running: SimulatorThread, client_address: int, *args: Any, **options: Any) -> GuruxSession:
        link: Link = running.server.link_kind
        sessions.append(GuruxSession(running.port, link, client_address, *args, **options))
        return sessions[-1]

    yield make
    for session in sessions:
        session.close()


@pytest.fixture
def ours(tmp_path: Path) -> Callable[[SimulatorThread], DlmsClient]:
    """``ours(running)``: dlmskit's own client as the management client (HLS-GMAC, demo keys), with its
    invocation counters in the test's temporary directory. Use it as a context manager."""

    def make(running: SimulatorThread) -> DlmsClient:
        return DlmsClient.connect(
            port=running.port,
            link=running.server.link_kind,
            client_address=1,
            authentication="gmac",
            block_cipher_key=EK,
            authentication_key=AK,
            invocation_counter_path=tmp_path / "invocation-counters.json",
        )

    return make
