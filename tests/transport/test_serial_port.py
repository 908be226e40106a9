"""Serial transports over a real pseudo-terminal pair (socat), pyserial's loop:// and socket:// URLs."""

from __future__ import annotations

import asyncio
import errno
from pathlib import Path

import pytest
import serial

from dlmskit.errors import ConfigurationError, LinkError, MeterTimeout
from dlmskit.transport import (
    AsyncSerialTransport,
    AsyncTransport,
    SerialSettings,
    SerialTransport,
    Transport,
    TransportClosed,
)
from dlmskit.transport.serial_port import _open_error

# Bytes shaped like an HDLC frame (flags, format A0xx); a transport never looks inside.
FRAME = bytes.fromhex("7ea0070321930f017e")


def recv_exactly(transport: Transport, size: int) -> bytes:
    received = b""
    while len(received) < size:
        received += transport.recv(timeout=5.0)
    return received


async def async_recv_exactly(transport: AsyncTransport, size: int) -> bytes:
    received = b""
    while len(received) < size:
        received += await transport.recv(timeout=5.0)
    return received


def test_settings_in_words_and_checked() -> None:
    assert str(SerialSettings()) == "9600 8N1"
    assert str(SerialSettings(300, 7, "E", 1)) == "300 7E1"
    assert str(SerialSettings(19200, 8, "N", 1.5)) == "19200 8N1.5"
    for bad in ({"baudrate": 0}, {"bytesize": 9}, {"parity": "X"}, {"stopbits": 3}):
        with pytest.raises(ConfigurationError):
            SerialSettings(**bad)  # type: ignore[arg-type]


def test_pty_round_trip_both_ways(pty_pair) -> None:
    trace: list[tuple[str, bytes]] = []
    client = SerialTransport(pty_pair.a, on_bytes=lambda d, b: trace.append((d, b)))
    meter = SerialTransport(pty_pair.b, 9600, 8, "N", 1)
    assert isinstance(client, Transport)
    assert client.description == f"serial {pty_pair.a} 9600 8N1"
    with client, meter:
        client.send(FRAME)
        assert recv_exactly(meter, len(FRAME)) == FRAME
        meter.send(FRAME[::-1])
        assert recv_exactly(client, len(FRAME)) == FRAME[::-1]
        with pytest.raises(MeterTimeout, match=r"no data within 0\.05 s"):
            client.recv(timeout=0.05)
    assert not client.is_open
    assert trace[0] == ("tx", FRAME)
    assert b"".join(chunk for direction, chunk in trace if direction == "rx") == FRAME[::-1]


def test_configure_an_open_port(pty_pair) -> None:
    with SerialTransport(pty_pair.a, 300, 7, "E", 1) as client, SerialTransport(pty_pair.b) as meter:
        assert client.description == f"serial {pty_pair.a} 300 7E1"
        client.configure(baudrate=9600, bytesize=8, parity="N")
        assert client.settings == SerialSettings(9600, 8, "N", 1)
        assert client.description == f"serial {pty_pair.a} 9600 8N1"
        client.send(FRAME)
        assert recv_exactly(meter, len(FRAME)) == FRAME
        with pytest.raises(ConfigurationError):
            client.configure(parity="Q")
        assert client.settings == SerialSettings(9600, 8, "N", 1)


def test_device_gone_is_transport_closed(pty_pair) -> None:
    with SerialTransport(pty_pair.a) as client:
        pty_pair.stop()
        with pytest.raises(TransportClosed, match="device disconnected"):
            client.recv(timeout=5.0)


def test_device_not_found(tmp_path: Path) -> None:
    missing = str(tmp_path / "ttyUSB9")
    with pytest.raises(LinkError, match=r"cannot open serial port .*ttyUSB9: device not found"):
        SerialTransport(missing).open()


def test_permission_denied_in_words() -> None:
    # pyserial's own exception for an open() failing with EACCES (root, who runs CI, is never refused).
    exc = serial.SerialException(
        errno.EACCES, "could not open port /dev/ttyUSB0: [Errno 13] Permission denied"
    )
    message = str(_open_error("/dev/ttyUSB0", exc))
    assert message.startswith("cannot open serial port /dev/ttyUSB0: permission denied")
    assert "dialout" in message


def test_unknown_url_scheme() -> None:
    with pytest.raises(ConfigurationError, match="nosuch://"):
        SerialTransport("nosuch://x").open()


def test_loop_url() -> None:
    with SerialTransport("loop://", 2400) as transport:
        assert transport.description == "serial loop:// 2400 8N1"
        transport.send(FRAME)
        assert recv_exactly(transport, len(FRAME)) == FRAME
        with pytest.raises(MeterTimeout):
            transport.recv(timeout=0.02)


def test_socket_url(echo_server: int) -> None:
    with SerialTransport(f"socket://127.0.0.1:{echo_server}") as transport:
        transport.send(FRAME)
        assert recv_exactly(transport, len(FRAME)) == FRAME


def test_closed_port_refuses_io() -> None:
    transport = SerialTransport("loop://")
    with pytest.raises(TransportClosed, match="not open"):
        transport.recv(timeout=0.01)


async def test_async_pty_uses_the_event_loop(pty_pair) -> None:
    trace: list[tuple[str, bytes]] = []
    client = AsyncSerialTransport(pty_pair.a, on_bytes=lambda d, b: trace.append((d, b)))
    meter = AsyncSerialTransport(pty_pair.b)
    assert isinstance(client, AsyncTransport)
    async with client, meter:
        assert client.uses_event_loop
        await client.send(FRAME)
        assert await async_recv_exactly(meter, len(FRAME)) == FRAME
        await meter.send(FRAME[::-1])
        assert await async_recv_exactly(client, len(FRAME)) == FRAME[::-1]
        with pytest.raises(MeterTimeout):
            await client.recv(timeout=0.05)
        await client.configure(baudrate=300, bytesize=7, parity="E")
        assert client.description == f"serial {pty_pair.a} 300 7E1"
    assert not client.is_open
    assert trace[0] == ("tx", FRAME)


async def test_async_large_write_waits_for_the_device(pty_pair) -> None:
    # More than a pseudo-terminal buffers: the writer must wait for the reader (add_writer path).
    payload = bytes(range(256)) * 400
    async with AsyncSerialTransport(pty_pair.a) as client, AsyncSerialTransport(pty_pair.b) as meter:
        reading = asyncio.ensure_future(async_recv_exactly(meter, len(payload)))
        await client.send(payload)
        assert await asyncio.wait_for(reading, 10.0) == payload


async def test_async_device_gone(pty_pair) -> None:
    async with AsyncSerialTransport(pty_pair.a) as client:
        pty_pair.stop()
        with pytest.raises(TransportClosed, match="device disconnected"):
            await client.recv(timeout=5.0)
        with pytest.raises(TransportClosed):  # and it stays so
            await client.recv(timeout=0.01)


async def test_async_thread_fallback_on_loop_url() -> None:
    async with AsyncSerialTransport("loop://") as transport:
        assert not transport.uses_event_loop
        await transport.send(FRAME)
        assert await async_recv_exactly(transport, len(FRAME)) == FRAME
        with pytest.raises(MeterTimeout):
            await transport.recv(timeout=0.02)


async def test_async_device_not_found(tmp_path: Path) -> None:
    with pytest.raises(LinkError, match="device not found"):
        await AsyncSerialTransport(str(tmp_path / "ttyACM7")).open()


async def test_async_close_wakes_a_waiting_recv(pty_pair) -> None:
    transport = AsyncSerialTransport(pty_pair.a)
    await transport.open()
    waiting = asyncio.ensure_future(transport.recv(timeout=5.0))
    await asyncio.sleep(0.01)
    await transport.close()
    with pytest.raises(TransportClosed, match="not open"):
        await asyncio.wait_for(waiting, 1.0)
