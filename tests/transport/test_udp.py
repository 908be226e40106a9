"""UDP transports: real datagrams on the loopback interface."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from dlmskit.errors import LinkError, MeterTimeout
from dlmskit.transport import AsyncTransport, AsyncUdpTransport, Transport, UdpTransport

# Two wrapper PDUs (version 1, source wPort 1, destination wPort 1): an AARQ-sized body and a short one.
FIRST = bytes.fromhex("0001 0001 0001 0005") + b"\x60\x03\xa1\x01\x00"
SECOND = bytes.fromhex("0001 0001 0001 0002") + b"\x62\x00"


@pytest.fixture
def meter_socket() -> Iterator[socket.socket]:
    """The meter's side: a UDP socket bound to a loopback port."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(5.0)
        yield sock


def test_one_datagram_per_send_and_recv(meter_socket: socket.socket) -> None:
    port = meter_socket.getsockname()[1]
    trace: list[tuple[str, bytes]] = []
    transport = UdpTransport("127.0.0.1", port, on_bytes=lambda d, b: trace.append((d, b)))
    assert isinstance(transport, Transport)
    assert transport.description == f"udp 127.0.0.1:{port}"
    with transport:
        transport.send(FIRST)
        transport.send(SECOND)
        assert meter_socket.recvfrom(4096)[0] == FIRST
        datagram, client = meter_socket.recvfrom(4096)
        assert datagram == SECOND
        meter_socket.sendto(SECOND, client)
        meter_socket.sendto(b"", client)  # an empty datagram is no answer: skipped
        meter_socket.sendto(FIRST, client)
        assert transport.recv(timeout=5.0) == SECOND
        assert transport.recv(timeout=5.0) == FIRST
        with pytest.raises(MeterTimeout, match=r"no data within 0\.05 s"):
            transport.recv(timeout=0.05)
    assert not transport.is_open
    assert trace == [("tx", FIRST), ("tx", SECOND), ("rx", SECOND), ("rx", FIRST)]


def test_nobody_listening_is_reported(unused_udp_port: int) -> None:
    with UdpTransport("127.0.0.1", unused_udp_port) as transport:
        transport.send(FIRST)  # the ICMP port unreachable comes back asynchronously
        with pytest.raises(LinkError, match="nothing listens at that port"):
            transport.recv(timeout=5.0)


async def test_async_datagrams(meter_socket: socket.socket) -> None:
    port = meter_socket.getsockname()[1]
    transport = AsyncUdpTransport("127.0.0.1", port)
    assert isinstance(transport, AsyncTransport)
    async with transport:
        await transport.send(FIRST)
        datagram, client = meter_socket.recvfrom(4096)
        assert datagram == FIRST
        meter_socket.sendto(SECOND, client)
        meter_socket.sendto(FIRST, client)
        assert await transport.recv(timeout=5.0) == SECOND
        assert await transport.recv(timeout=5.0) == FIRST
        with pytest.raises(MeterTimeout):
            await transport.recv(timeout=0.05)
    assert not transport.is_open


async def test_async_nobody_listening(unused_udp_port: int) -> None:
    async with AsyncUdpTransport("127.0.0.1", unused_udp_port) as transport:
        await transport.send(FIRST)
        with pytest.raises(LinkError, match="nothing listens at that port"):
            await transport.recv(timeout=5.0)
