"""The sessions issue's scenarios with the real simulator as the peer: TCP (HDLC and wrapper) and a real
pseudo-terminal pair, sync and asyncio, none / LLS / HLS-GMAC, 10,000+ blocks, SET, ACTION, release, DISC;
and 500 concurrent sessions against one simulator."""

from __future__ import annotations

import asyncio
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dlmskit.apdu.common import CosemAttributeDescriptor, CosemMethodDescriptor, SelectiveAccessDescriptor
from dlmskit.apdu.results import ActionResult, DataAccessResult
from dlmskit.client.connection import AsyncConnection, Connection
from dlmskit.codec import axdr
from dlmskit.codec.obis import Obis
from dlmskit.link.hdlc_address import HdlcAddress
from dlmskit.link.hdlc_link import LARGEST_PARAMETERS, HdlcClientLink
from dlmskit.link.wrapper_link import WrapperLink
from dlmskit.security.hls import Mechanism
from dlmskit.security.invocation import MemoryInvocationCounterStore
from dlmskit.security.keys import SecretBytes
from dlmskit.session.client import ClientSession, ClientSettings
from dlmskit.session.events import ActionCompleted, GetCompleted, SetCompleted
from dlmskit.session.protection import SecurityPolicy, SecuritySettings
from dlmskit.simulator.meter import SimulatedMeter
from dlmskit.simulator.runner import SimulatorThread, meter_server
from dlmskit.transport import AsyncSerialTransport, AsyncTcpTransport, SerialTransport, TcpTransport

EK = bytes.fromhex("000102030405060708090A0B0C0D0E0F")  # the default model's demo keys (docs/simulator.md)
AK = bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF")
LDN = CosemAttributeDescriptor(1, Obis(0, 0, 42, 0, 0, 255), 2)
PROFILE = CosemAttributeDescriptor(7, Obis(1, 0, 99, 1, 0, 255), 2)
CONTROL_MODE = CosemAttributeDescriptor(70, Obis(0, 0, 96, 3, 10, 255), 4)
DISCONNECT = CosemMethodDescriptor(70, Obis(0, 0, 96, 3, 10, 255), 1)
RECONNECT = CosemMethodDescriptor(70, Obis(0, 0, 96, 3, 10, 255), 2)
COUNTERS = MemoryInvocationCounterStore()  # one client's counters, kept across its associations


def _settings(case: str, **kwargs: Any) -> tuple[int, ClientSettings]:
    if case == "none":
        return 16, ClientSettings(**kwargs)
    if case == "lls":
        return 32, ClientSettings(mechanism=Mechanism.LOW, secret=b"12345678", **kwargs)
    security = SecuritySettings(
        policy=SecurityPolicy.AUTHENTICATED_ENCRYPTED,
        system_title=bytes.fromhex("4D4D4D0000000001"),
        block_cipher_key=SecretBytes(EK),
        authentication_key=SecretBytes(AK),
        invocation_counters=COUNTERS,
    )
    return 1, ClientSettings(mechanism=Mechanism.HIGH_GMAC, security=security, **kwargs)


def _parts(case: str, link: str, **kwargs: Any) -> tuple[Any, ClientSession]:
    sap, settings = _settings(case, **kwargs)
    session = ClientSession(settings, challenge=secrets.token_bytes(16))
    if link == "wrapper":
        return WrapperLink(sap, 1), session
    return HdlcClientLink(sap, HdlcAddress(1, 17), LARGEST_PARAMETERS), session


def _scenario_steps(case: str) -> list[tuple[str, Any]]:
    steps: list[tuple[str, Any]] = [("get", LDN)]
    if case == "hls-gmac":
        steps += [("set", CONTROL_MODE), ("action", DISCONNECT), ("action", RECONNECT)]
    return steps


@pytest.fixture(params=["hdlc", "wrapper"])
def simulator(request: pytest.FixtureRequest) -> Iterator[tuple[str, SimulatedMeter, int]]:
    meter = SimulatedMeter()
    with SimulatorThread(meter, request.param) as running:
        yield request.param, meter, running.port


@pytest.mark.parametrize("case", ["none", "lls", "hls-gmac"])
def test_sync_sessions_over_tcp(simulator: tuple[str, SimulatedMeter, int], case: str) -> None:
    link_kind, meter, port = simulator
    link, session = _parts(case, link_kind)
    with Connection(TcpTransport("127.0.0.1", port), link, session) as conn:
        got = conn.request(session.get(LDN))
        assert isinstance(got, GetCompleted) and got.results[0].value == b"MMM0000012345678"
        if case == "hls-gmac":
            written = conn.request(session.set(CONTROL_MODE, axdr.Enum(2)))
            assert isinstance(written, SetCompleted) and written.results == (DataAccessResult.SUCCESS,)
            done = conn.request(session.action(DISCONNECT, axdr.Integer(0)))
            assert isinstance(done, ActionCompleted) and done.results[0].result == ActionResult.SUCCESS
            assert meter.relay.output_state is False
            done = conn.request(session.action(RECONNECT, axdr.Integer(0)))
            assert isinstance(done, ActionCompleted) and meter.relay.output_state is True
        else:
            refused = conn.request(session.action(DISCONNECT, axdr.Integer(0)))
            assert isinstance(refused, ActionCompleted)
            assert refused.results[0].result == ActionResult.READ_WRITE_DENIED


def test_sync_get_of_ten_thousand_blocks_from_the_load_profile(
    simulator: tuple[str, SimulatedMeter, int],
) -> None:
    link_kind, _meter, port = simulator
    link, session = _parts("hls-gmac", link_kind, max_receive_pdu_size=72)
    with Connection(TcpTransport("127.0.0.1", port), link, session, timeout=10) as conn:
        got = conn.request(session.get(PROFILE, SelectiveAccessDescriptor.entry_descriptor(1, 10_000)))
    assert isinstance(got, GetCompleted)
    assert got.blocks >= 10_000 and len(got.results[0].value) == 10_000


@pytest.mark.parametrize("link_kind", ["hdlc", "wrapper"])
@pytest.mark.parametrize("case", ["none", "lls", "hls-gmac"])
async def test_async_sessions_over_tcp(link_kind: str, case: str) -> None:
    meter = SimulatedMeter()
    server = meter_server(meter, link_kind)  # type: ignore[arg-type]
    listener = await server.start_tcp("127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    link, session = _parts(case, link_kind, max_receive_pdu_size=64 if case == "hls-gmac" else 0xFFFF)
    try:
        async with AsyncConnection(AsyncTcpTransport("127.0.0.1", port), link, session, timeout=10) as conn:
            got = await conn.request(session.get(LDN))
            assert isinstance(got, GetCompleted) and got.results[0].value == b"MMM0000012345678"
            if case == "hls-gmac":
                rows = await conn.request(
                    session.get(PROFILE, SelectiveAccessDescriptor.entry_descriptor(1, 10_000))
                )
                assert isinstance(rows, GetCompleted) and rows.blocks >= 10_000
                done = await conn.request(session.action(DISCONNECT, axdr.Integer(0)))
                assert isinstance(done, ActionCompleted) and meter.relay.output_state is False
    finally:
        await server.close()


async def test_five_hundred_concurrent_sessions() -> None:
    meter = SimulatedMeter()
    server = meter_server(meter, "hdlc")
    listener = await server.start_tcp("127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]

    async def one(index: int) -> bytes:
        link, session = _parts(("none", "lls")[index % 2], "hdlc")
        async with AsyncConnection(AsyncTcpTransport("127.0.0.1", port), link, session, timeout=60) as conn:
            got = await conn.request(session.get(LDN))
            assert isinstance(got, GetCompleted)
            return bytes(got.results[0].value)

    try:
        results = await asyncio.gather(*(one(i) for i in range(500)))
    finally:
        await server.close()
    assert results == [b"MMM0000012345678"] * 500
    assert server.stats.connections == 500 and server.stats.connection_errors == 0


# -- over a real pseudo-terminal pair ----------------------------------------------------------------------------


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


async def test_async_client_and_simulator_over_a_pty(pty_pair: tuple[str, str]) -> None:
    meter_end, client_end = pty_pair
    meter = SimulatedMeter()
    server = meter_server(meter, "hdlc")
    line = AsyncSerialTransport(meter_end, 9600)
    await line.open()
    serving = asyncio.create_task(server.serve_transport(line, forever=True))
    try:
        for case in ("none", "lls", "hls-gmac"):
            link, session = _parts(case, "hdlc")
            async with AsyncConnection(
                AsyncSerialTransport(client_end, 9600), link, session, timeout=10
            ) as conn:
                got = await conn.request(session.get(LDN))
                assert isinstance(got, GetCompleted) and got.results[0].value == b"MMM0000012345678"
                if case == "hls-gmac":
                    done = await conn.request(session.action(DISCONNECT, axdr.Integer(0)))
                    assert isinstance(done, ActionCompleted) and meter.relay.output_state is False
                    done = await conn.request(session.action(RECONNECT, axdr.Integer(0)))
                    assert isinstance(done, ActionCompleted) and meter.relay.output_state is True
    finally:
        serving.cancel()
        await asyncio.gather(serving, return_exceptions=True)
        await line.close()


def test_sync_client_and_simulator_over_a_pty(pty_pair: tuple[str, str]) -> None:
    meter_end, client_end = pty_pair
    meter = SimulatedMeter()
    server = meter_server(meter, "hdlc")
    loop = asyncio.new_event_loop()
    line = AsyncSerialTransport(meter_end, 9600)

    async def serve() -> None:
        await line.open()
        await server.serve_transport(line, forever=True)

    import threading

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    serving = asyncio.run_coroutine_threadsafe(serve(), loop)
    try:
        link, session = _parts("hls-gmac", "hdlc", max_receive_pdu_size=256)
        with Connection(SerialTransport(client_end, 9600), link, session, timeout=10) as conn:
            rows = conn.request(session.get(PROFILE, SelectiveAccessDescriptor.entry_descriptor(1, 2000)))
            assert isinstance(rows, GetCompleted) and len(rows.results[0].value) == 2000
            written = conn.request(session.set(CONTROL_MODE, axdr.Enum(2)))
            assert isinstance(written, SetCompleted)
            done = conn.request(session.action(DISCONNECT, axdr.Integer(0)))
            assert isinstance(done, ActionCompleted) and meter.relay.output_state is False
    finally:
        serving.cancel()
        asyncio.run_coroutine_threadsafe(line.close(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
