"""TCP transports against real servers on 127.0.0.1 (a socket server thread, an asyncio server)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest

from dlmskit.errors import LinkError, MeterTimeout
from dlmskit.transport import AsyncTcpTransport, AsyncTransport, TcpTransport, Transport, TransportClosed
from dlmskit.transport._inet import connect_error

REQUEST = (
    bytes.fromhex("0001 0010 0001 000d 6001 ffff") + b"\xc0\x01\xc1\x00\x08\x00\x00\x01\x00\x00\xff\x02\x00"
)


def recv_exactly(transport: Transport, size: int) -> bytes:
    received = b""
    while len(received) < size:
        received += transport.recv(timeout=5.0)
    return received


def test_round_trip_through_an_echo_server(echo_server: int) -> None:
    trace: list[tuple[str, bytes]] = []
    transport = TcpTransport(
        "127.0.0.1", echo_server, connect_timeout=2.0, on_bytes=lambda d, b: trace.append((d, b))
    )
    assert isinstance(transport, Transport)
    assert transport.description == f"tcp 127.0.0.1:{echo_server}"
    assert not transport.is_open
    with transport:
        assert transport.is_open
        transport.send(REQUEST)
        assert recv_exactly(transport, len(REQUEST)) == REQUEST
    assert not transport.is_open
    assert trace[0] == ("tx", REQUEST)
    assert b"".join(chunk for direction, chunk in trace if direction == "rx") == REQUEST


def test_recv_times_out_when_the_peer_is_silent(silent_server: int) -> None:
    with TcpTransport("127.0.0.1", silent_server) as transport:
        with pytest.raises(MeterTimeout, match=r"no data within 0\.05 s"):
            transport.recv(timeout=0.05)
        assert transport.is_open  # a timeout is no reason to drop the connection


def test_peer_close_is_transport_closed(closing_server: int) -> None:
    with TcpTransport("127.0.0.1", closing_server) as transport:
        with pytest.raises(TransportClosed, match="closed by the peer"):
            transport.recv(timeout=5.0)
        assert not transport.is_open
        with pytest.raises(TransportClosed, match="not open"):
            transport.send(b"\x00")


def test_connection_refused_says_what_to_check(unused_tcp_port: int) -> None:
    transport = TcpTransport("127.0.0.1", unused_tcp_port)
    with pytest.raises(LinkError) as caught:
        transport.open()
    assert str(caught.value) == (
        f"cannot connect to 127.0.0.1:{unused_tcp_port}: connection refused — "
        "is the meter or `dlmskit simulate` running?"
    )
    assert not transport.is_open


def test_unknown_host_in_words() -> None:
    # The resolver's own error object, as getaddrinfo raises it (no name lookup leaves this machine).
    error = connect_error(
        "meter.invalid", 4059, socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    )
    assert (
        str(error)
        == "cannot connect to meter.invalid:4059: unknown host 'meter.invalid' (Name or service not known)"
    )


def test_ipv6_description_has_brackets() -> None:
    assert TcpTransport("::1", 4059).description == "tcp [::1]:4059"


def test_send_on_a_closed_transport() -> None:
    with pytest.raises(TransportClosed, match=r"tcp 127\.0\.0\.1:4059: not open"):
        TcpTransport("127.0.0.1", 4059).send(b"\x00")


@pytest.fixture
async def async_echo_server() -> AsyncIterator[int]:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while chunk := await reader.read(4096):
            writer.write(chunk)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


async def test_async_round_trip(async_echo_server: int) -> None:
    trace: list[tuple[str, bytes]] = []
    transport = AsyncTcpTransport("127.0.0.1", async_echo_server, on_bytes=lambda d, b: trace.append((d, b)))
    assert isinstance(transport, AsyncTransport)
    async with transport:
        assert transport.is_open
        await transport.send(REQUEST)
        received = b""
        while len(received) < len(REQUEST):
            received += await transport.recv(timeout=5.0)
        assert received == REQUEST
        with pytest.raises(MeterTimeout):
            await transport.recv(timeout=0.05)
    assert not transport.is_open
    assert trace[0] == ("tx", REQUEST)


async def test_the_async_transport_turns_nagle_off(async_echo_server: int) -> None:
    """Small requests go out at once: the event loop's TCP transport sets TCP_NODELAY (asyncio since Python
    3.6, uvloop too), so AsyncTcpTransport does not set it again."""
    transport = AsyncTcpTransport("127.0.0.1", async_echo_server)
    async with transport:
        protocol = transport._protocol
        assert protocol is not None and protocol.transport is not None
        sock = protocol.transport.get_extra_info("socket")
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


async def test_async_peer_close(closing_server: int) -> None:
    async with AsyncTcpTransport("127.0.0.1", closing_server) as transport:
        with pytest.raises(TransportClosed, match="closed by the peer"):
            await transport.recv(timeout=5.0)
        assert not transport.is_open


async def test_async_connection_refused(unused_tcp_port: int) -> None:
    with pytest.raises(LinkError, match=r"connection refused — is the meter or `dlmskit simulate` running\?"):
        await AsyncTcpTransport("127.0.0.1", unused_tcp_port).open()


async def test_async_waits_share_one_timer_and_each_keeps_its_own_timeout(async_echo_server: int) -> None:
    """The response timer is one a connection: a wait after a long one still expires after its own,
    shorter timeout; a wait after short ones is not cut short by the timer the earlier waits set."""
    loop = asyncio.get_running_loop()
    async with AsyncTcpTransport("127.0.0.1", async_echo_server) as transport:
        await transport.send(REQUEST)
        assert await transport.recv(timeout=30.0)  # answered at once: the timer stays set for 30 s
        started = loop.time()
        with pytest.raises(MeterTimeout):
            await transport.recv(timeout=0.1)  # a shorter deadline: a timer of its own
        assert loop.time() - started < 5.0
        for _ in range(3):  # short waits answered at once, then a longer one that must wait it out
            await transport.send(REQUEST)
            assert await transport.recv(timeout=0.2)
        started = loop.time()
        with pytest.raises(MeterTimeout):
            await transport.recv(timeout=0.5)
        assert loop.time() - started >= 0.45  # not expired by the 0.2 s timer of the waits before
        await transport.send(REQUEST)
        assert await transport.recv(timeout=0.3) == REQUEST  # a timer left from a wait expires nothing
        await asyncio.sleep(0.4)
        await transport.send(REQUEST)
        assert await transport.recv(timeout=5.0) == REQUEST


@pytest.mark.parametrize("loop_name", ["asyncio", "uvloop"])
def test_async_timer_on_both_loops(loop_name: str, silent_server: int) -> None:
    from dlmskit.transport import eventloop

    async def wait() -> float:
        loop = asyncio.get_running_loop()
        async with AsyncTcpTransport("127.0.0.1", silent_server) as transport:
            started = loop.time()
            with pytest.raises(MeterTimeout):
                await transport.recv(timeout=0.2)
            return loop.time() - started

    assert 0.15 <= eventloop.run(wait(), loop=loop_name) < 5.0
