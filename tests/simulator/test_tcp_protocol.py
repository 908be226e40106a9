"""The TCP server's connections as asyncio protocols, on asyncio's loop and on uvloop: HLS-GMAC sessions with a
response delay, requests that arrive while an answer waits (kept and answered in order), the peer's end of
the stream before a delayed answer, and a peer that reads nothing (closed after the inactivity timeout,
not waited for). Real sockets; no timing assertion beyond "the server answered" or "the server closed it"."""

from __future__ import annotations

import asyncio
import importlib.util
import secrets
import socket
from typing import cast

import pytest
from tests.simulator.simclient import client_settings

from dlmskit.apdu.common import CosemAttributeDescriptor
from dlmskit.client.connection import AsyncConnection
from dlmskit.codec.obis import Obis
from dlmskit.link.hdlc_address import HdlcAddress
from dlmskit.link.hdlc_link import HdlcClientLink
from dlmskit.session.client import ClientSession
from dlmskit.session.events import GetCompleted
from dlmskit.simulator import SimulatedMeter, default_model
from dlmskit.simulator.model import parse_model
from dlmskit.simulator.runner import meter_server
from dlmskit.simulator.server import MeterServer
from dlmskit.transport import AsyncTcpTransport, eventloop

LOOPS = [
    "asyncio",
    pytest.param(
        "uvloop",
        marks=pytest.mark.skipif(
            importlib.util.find_spec("uvloop") is None, reason="uvloop is not installed"
        ),
    ),
]
SERIAL = CosemAttributeDescriptor(1, Obis(0, 0, 96, 1, 0, 255), 2)


async def _start(server: MeterServer) -> int:
    listener = await server.start_tcp("127.0.0.1", 0)
    return int(cast(asyncio.Server, listener).sockets[0].getsockname()[1])


def _snrm() -> tuple[HdlcClientLink, bytes]:
    link = HdlcClientLink(16, HdlcAddress(1, 17))
    link.open()
    return link, link.data_to_send()


async def _sessions_with_a_delay() -> None:
    server = meter_server(SimulatedMeter(), "hdlc", response_delay=lambda: 0.02)
    port = await _start(server)

    async def one() -> object:
        session = ClientSession(client_settings(1), challenge=secrets.token_bytes(16))
        link = HdlcClientLink(1, HdlcAddress(1, 17))
        async with AsyncConnection(
            AsyncTcpTransport("127.0.0.1", port), link, session, timeout=30
        ) as connection:
            answer = await connection.request(session.get(SERIAL))
        assert isinstance(answer, GetCompleted) and answer.results[0].ok, answer
        return answer.results[0].value

    try:
        values = await asyncio.gather(*(one() for _ in range(5)))
        assert len(set(map(bytes, values))) == 1  # type: ignore[call-overload]
        for _ in range(100):  # the server sees the clients' ends on its next round
            if server.stats.active == 0:
                break
            await asyncio.sleep(0.05)
        assert server.stats.connections == 5 and server.stats.active == 0
        assert server.stats.connection_errors == 0 and server.stats.sessions_by_client == {1: 5}
    finally:
        await server.close()


@pytest.mark.parametrize("loop", LOOPS)
def test_hls_gmac_sessions_with_a_response_delay(loop: str) -> None:
    eventloop.run(_sessions_with_a_delay(), loop=loop)


async def _kept_while_an_answer_waits() -> None:
    server = meter_server(SimulatedMeter(), "hdlc", response_delay=lambda: 0.3)
    port = await _start(server)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        link, snrm = _snrm()
        writer.write(snrm)
        await writer.drain()
        await asyncio.sleep(0.05)  # the UA waits for the delay: the next SNRM is kept meanwhile
        writer.write(snrm)
        await writer.drain()
        received = b""
        while received.count(b"\x7e") < 4:  # two UA frames
            chunk = await asyncio.wait_for(reader.read(4096), 30)
            assert chunk, "the server closed the connection"
            received += chunk
        link.receive_data(received)
        assert link.parameters is not None  # connected
        # The peer's end of the stream before the delayed answer: the answer goes out, then the close.
        link.close()
        writer.write(link.data_to_send())  # DISC
        writer.write_eof()
        answer = b""
        while chunk := await asyncio.wait_for(reader.read(4096), 30):
            answer += chunk
        assert answer.count(b"\x7e") == 2  # UA
        writer.close()
    finally:
        await server.close()


@pytest.mark.parametrize("loop", LOOPS)
def test_requests_that_arrive_while_an_answer_waits_are_answered_in_order(loop: str) -> None:
    eventloop.run(_kept_while_an_answer_waits(), loop=loop)


async def _peer_reading_nothing() -> None:
    model = default_model().text.replace("inactivity_time_out = 120", "inactivity_time_out = 1")
    server = meter_server(SimulatedMeter(parse_model(model)), "hdlc")
    listener = await server.start_tcp("127.0.0.1", 0)
    listening = cast(asyncio.Server, listener).sockets[0]
    for option in (socket.SO_SNDBUF, socket.SO_RCVBUF):  # small buffers (the connections inherit them)
        listening.setsockopt(socket.SOL_SOCKET, option, 4096)
    loop = asyncio.get_running_loop()
    peer = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        for option in (socket.SO_SNDBUF, socket.SO_RCVBUF):
            peer.setsockopt(socket.SOL_SOCKET, option, 4096)
        peer.setblocking(False)
        await loop.sock_connect(peer, listening.getsockname())
        _link, snrm = _snrm()
        # Far more SNRMs than the buffers hold, and never a read: the UAs pile up, the server stops writing,
        # then reading; the inactivity timeout (from the last answer) closes the connection all the same.
        with pytest.raises(ConnectionError):
            await asyncio.wait_for(loop.sock_sendall(peer, snrm * (4 * 1024 * 1024 // len(snrm))), 60)
        assert server.stats.closed_for_inactivity == 1
    finally:
        peer.close()
        await server.close()


@pytest.mark.parametrize("loop", LOOPS)
def test_a_peer_that_reads_nothing_is_closed_after_the_inactivity_timeout(loop: str) -> None:
    eventloop.run(_peer_reading_nothing(), loop=loop)
