"""Client sessions over real transports against the asyncio meter server: HDLC/TCP, wrapper/TCP, HDLC/pty.

Covers the sessions issue's end-to-end list: SNRM, AARQ with none, LLS and HLS-GMAC (auth+enc), GETs including
one of 10,000+ blocks, SET, ACTION, release, DISC; sync and asyncio.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.tinymeter import client_security, demo_meter

from dlmskit.apdu.common import CosemAttributeDescriptor, CosemMethodDescriptor
from dlmskit.apdu.results import ActionResult, DataAccessResult
from dlmskit.client.connection import AsyncConnection, Connection
from dlmskit.codec import axdr
from dlmskit.codec.obis import Obis
from dlmskit.errors import LinkError, MeterTimeout
from dlmskit.link.hdlc_address import HdlcAddress
from dlmskit.link.hdlc_link import LARGEST_PARAMETERS, HdlcClientLink
from dlmskit.link.wrapper_link import WrapperLink
from dlmskit.security.hls import Mechanism
from dlmskit.session.client import ClientSession, ClientSettings
from dlmskit.session.events import ActionCompleted, GetCompleted, SetCompleted
from dlmskit.simulator.server import MeterServer
from dlmskit.transport import AsyncSerialTransport, AsyncTcpTransport, SerialTransport, TcpTransport

LDN = CosemAttributeDescriptor(1, Obis(0, 0, 42, 0, 0, 255), 2)
ENERGY = CosemAttributeDescriptor(3, Obis(1, 0, 1, 8, 0, 255), 2)
PROFILE = CosemAttributeDescriptor(7, Obis(1, 0, 99, 1, 0, 255), 2)
DISCONNECT = CosemMethodDescriptor(70, Obis(0, 0, 96, 3, 10, 255), 1)

CASES = {
    "none": (16, ClientSettings),
    "lls": (32, lambda **kw: ClientSettings(mechanism=Mechanism.LOW, secret=b"12345678", **kw)),
    "hls-gmac": (
        1,
        lambda **kw: ClientSettings(mechanism=Mechanism.HIGH_GMAC, security=client_security(), **kw),
    ),
}


class ServerThread:
    """The asyncio meter server on its own event loop thread, for the blocking client tests."""

    def __init__(self, server: MeterServer) -> None:
        self.server = server
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    def stop(self) -> None:
        self.call(self.server.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture(params=["hdlc", "wrapper"])
def tcp_meter(request: pytest.FixtureRequest) -> Iterator[tuple[str, int, Any]]:
    meter = demo_meter()
    runner = ServerThread(MeterServer(meter, link=request.param))
    server = runner.call(runner.server.start_tcp("127.0.0.1", 0))
    port = server.sockets[0].getsockname()[1]
    yield request.param, port, meter
    runner.stop()


def _link(kind: str, client_sap: int, **kwargs: Any) -> Any:
    if kind == "wrapper":
        return WrapperLink(client_sap, 1)
    return HdlcClientLink(client_sap, HdlcAddress(1, 17), kwargs.get("parameters", LARGEST_PARAMETERS))


def _session(case: str, **kwargs: Any) -> tuple[int, ClientSession]:
    sap, make = CASES[case]
    return sap, ClientSession(make(**kwargs), challenge=secrets.token_bytes(16))


@pytest.mark.parametrize("case", ["none", "lls", "hls-gmac"])
def test_sync_session_over_tcp(tcp_meter: tuple[str, int, Any], case: str) -> None:
    kind, port, meter = tcp_meter
    sap, session = _session(case)
    with Connection(TcpTransport("127.0.0.1", port), _link(kind, sap), session, timeout=5) as conn:
        got = conn.request(session.get(LDN))
        assert isinstance(got, GetCompleted) and got.results[0].value == b"DLMSKIT000000001"
        written = conn.request(session.set(ENERGY, axdr.DoubleLongUnsigned(42)))
        assert isinstance(written, SetCompleted) and written.results == (DataAccessResult.SUCCESS,)
        done = conn.request(session.action(DISCONNECT, axdr.Integer(0)))
        assert isinstance(done, ActionCompleted) and done.results[0].result == ActionResult.SUCCESS
    assert meter.values[(3, "1.0.1.8.0.255", 2)] == 42
    assert meter.calls[-1][:3] == (70, "0.0.96.3.10.255", 1)


def test_sync_get_of_ten_thousand_blocks(tcp_meter: tuple[str, int, Any]) -> None:
    kind, port, meter = tcp_meter
    sap, session = _session("hls-gmac", max_receive_pdu_size=64)
    progress: list[int] = []
    with Connection(TcpTransport("127.0.0.1", port), _link(kind, sap), session, timeout=5) as conn:
        got = conn.request(session.get(PROFILE), progress=lambda step: progress.append(step.blocks))
    assert isinstance(got, GetCompleted)
    assert got.blocks >= 10_000 and progress[-1] == got.blocks - 1
    assert got.results[0].value == meter.values[(7, "1.0.99.1.0.255", 2)]


@pytest.mark.parametrize("case", ["none", "hls-gmac"])
async def test_async_session_over_tcp(case: str) -> None:
    for kind in ("hdlc", "wrapper"):
        meter = demo_meter()
        server = MeterServer(meter, link=kind)  # type: ignore[arg-type]
        listener = await server.start_tcp("127.0.0.1", 0)
        port = listener.sockets[0].getsockname()[1]
        sap, session = _session(case)
        try:
            async with AsyncConnection(
                AsyncTcpTransport("127.0.0.1", port), _link(kind, sap), session
            ) as conn:
                got = await conn.request(session.get(ENERGY))
                assert isinstance(got, GetCompleted) and got.results[0].value == 123456
                done = await conn.request(session.action(DISCONNECT, axdr.Integer(0)))
                assert isinstance(done, ActionCompleted)
        finally:
            await server.close()


async def test_many_concurrent_sessions() -> None:
    meter = demo_meter()
    server = MeterServer(meter)
    listener = await server.start_tcp("127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]

    async def one(i: int) -> int:
        sap, session = _session(("none", "lls", "hls-gmac")[i % 3])
        async with AsyncConnection(
            AsyncTcpTransport("127.0.0.1", port), _link("hdlc", sap), session, timeout=20
        ) as conn:
            got = await conn.request(session.get(ENERGY))
            assert isinstance(got, GetCompleted)
            return int(got.results[0].value)

    try:
        results = await asyncio.gather(*(one(i) for i in range(60)))
    finally:
        await server.close()
    assert results == [123456] * 60
    assert server.stats.connections == 60 and server.stats.connection_errors == 0


async def test_garbage_on_one_connection_does_not_affect_another() -> None:
    meter = demo_meter()
    server = MeterServer(meter)
    listener = await server.start_tcp("127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    try:
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(bytes(range(256)) * 40 + b"\x7e\xa0\x07\x03\x21\x93\x0f\x01\x7e" + b"\x7e\xa8\xff" * 100)
        await writer.drain()
        sap, session = _session("none")
        async with AsyncConnection(AsyncTcpTransport("127.0.0.1", port), _link("hdlc", sap), session) as conn:
            got = await conn.request(session.get(LDN))
            assert isinstance(got, GetCompleted)
        writer.close()
    finally:
        await server.close()


def test_unreachable_meter_is_said_in_words() -> None:
    sap, session = _session("none")
    with pytest.raises(LinkError, match="cannot connect"):
        Connection(TcpTransport("127.0.0.1", 1), _link("hdlc", sap), session).open()


@pytest.mark.timeout(30)  # a hang guard (pytest-timeout), not a timing assertion
def test_silent_peer_times_out_with_words() -> None:
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    sap, session = _session("none")
    try:
        with pytest.raises((LinkError, MeterTimeout)):
            Connection(
                TcpTransport("127.0.0.1", port),
                HdlcClientLink(sap, HdlcAddress(1, 17), max_retries=1),
                session,
                timeout=0.2,
            ).open()
        sap, session = _session("none")
        with pytest.raises(MeterTimeout, match="no answer from the meter"):
            Connection(TcpTransport("127.0.0.1", port), WrapperLink(sap, 1), session, timeout=0.2).open()
    finally:
        listener.close()


# -- HDLC over a real pseudo-terminal pair -----------------------------------------------------------------------


@pytest.fixture
def pty_pair(tmp_path: Path) -> Iterator[tuple[str, str]]:
    if shutil.which("socat") is None:
        pytest.skip("socat is not installed (make test installs it)")
    a, b = str(tmp_path / "meter"), str(tmp_path / "client")
    proc = subprocess.Popen(
        ["socat", f"pty,raw,echo=0,link={a}", f"pty,raw,echo=0,link={b}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        if Path(a).exists() and Path(b).exists():
            break
        time.sleep(0.02)
    try:
        yield a, b
    finally:
        proc.terminate()
        proc.wait(timeout=5)


@pytest.mark.parametrize("case", ["none", "hls-gmac"])
def test_sync_session_over_serial_pty(pty_pair: tuple[str, str], case: str) -> None:
    meter_end, client_end = pty_pair
    meter = demo_meter()
    runner = ServerThread(MeterServer(meter))
    transport = AsyncSerialTransport(meter_end, 9600)

    async def serve() -> None:
        await transport.open()
        await runner.server.serve_transport(transport, forever=True)

    future = asyncio.run_coroutine_threadsafe(serve(), runner.loop)
    try:
        sap, session = _session(case, max_receive_pdu_size=256)
        with Connection(SerialTransport(client_end, 9600), _link("hdlc", sap), session, timeout=5) as conn:
            got = conn.request(session.get(ENERGY))
            assert isinstance(got, GetCompleted) and got.results[0].value == 123456
            profile = conn.request(session.get(PROFILE))
            assert isinstance(profile, GetCompleted) and len(profile.results[0].value) == 20_000
            done = conn.request(session.action(DISCONNECT, axdr.Integer(0)))
            assert isinstance(done, ActionCompleted)
    finally:
        future.cancel()
        runner.call(transport.close())
        runner.stop()
