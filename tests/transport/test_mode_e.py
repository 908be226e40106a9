"""IEC 62056-21 mode E sign-on against a meter-side responder on the far end of a real pseudo-terminal."""

from __future__ import annotations

import threading

import pytest
import serial

from dlmskit.errors import LinkError, MeterTimeout
from dlmskit.transport import (
    AsyncSerialTransport,
    SerialTransport,
    SignOnResult,
    async_iec62056_21_mode_e_sign_on,
    iec62056_21_mode_e_sign_on,
)
from dlmskit.transport.mode_e import _IdentificationReader

FRAME = bytes.fromhex("7ea0070321930f017e")  # bytes shaped like an HDLC frame: what follows the sign-on
REPLY = bytes.fromhex("7ea00a030021730000007e")


class Meter:
    """The meter's side of the optical port, in a thread: answers the request, reads the ACK, switches.

    The port is opened here, before the client sends anything (pyserial empties the input on open).
    """

    def __init__(
        self, path: str, identification: bytes, *, answer: bool = True, echo: bool = False, noise: bytes = b""
    ) -> None:
        self.port = serial.Serial(path, 300, 7, "E", 1, timeout=2.0)
        self.identification = identification
        self.answer = answer
        self.echo = echo
        self.noise = noise
        self.request: bytes | None = None
        self.ack: bytes | None = None
        self.frame: bytes | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self.request = self.port.read_until(b"\r\n")
            if self.echo:  # a half-duplex optical probe hears itself
                self.port.write(self.request)
            if not self.answer:
                return
            self.port.write(self.noise + self.identification)
            self.ack = self.port.read_until(b"\r\n")
            baudrate = {b"\x06252\r\n": 9600, b"\x06262\r\n": 19200}.get(self.ack)
            if baudrate is None:
                return
            # A pseudo-terminal has no character format of its own (always 8 bits, no parity) and
            # ignores the rate: the meter's switch to 8N1 at the new baud rate is the rate alone here.
            self.port.baudrate = baudrate
            self.frame = self.port.read(len(FRAME))
            self.port.write(REPLY)
        except BaseException as exc:  # reported by finish()
            self.error = exc

    def finish(self) -> None:
        """Stop waiting, join the thread, close the port, and re-raise what went wrong in the thread."""
        self.port.cancel_read()
        self._thread.join(timeout=5)
        self.port.close()
        assert not self._thread.is_alive()
        if self.error is not None:
            raise self.error


def recv_exactly(transport: SerialTransport, size: int) -> bytes:
    received = b""
    while len(received) < size:
        received += transport.recv(timeout=5.0)
    return received


def test_sign_on_switches_to_hdlc(pty_pair) -> None:
    meter = Meter(pty_pair.b, b"/DLk5\\2DLMSKIT-E\r\n")
    try:
        with SerialTransport(pty_pair.a) as transport:
            result = iec62056_21_mode_e_sign_on(transport)
            assert result == SignOnResult("DLk", "5", "DLMSKIT-E", ("2",))
            assert result.baudrate == 9600
            assert transport.description == f"serial {pty_pair.a} 9600 8N1"
            transport.send(FRAME)
            assert recv_exactly(transport, len(REPLY)) == REPLY
    finally:
        meter.finish()
    assert meter.request == b"/?!\r\n"
    assert meter.ack == b"\x06252\r\n"
    assert meter.frame == FRAME


def test_sign_on_with_address_through_an_echoing_probe(pty_pair) -> None:
    meter = Meter(pty_pair.b, b"/ABC6\\2METER 7\r\n", echo=True, noise=b"\x00\x7f")
    transport = SerialTransport(pty_pair.a)  # closed: the sign-on opens it
    try:
        result = iec62056_21_mode_e_sign_on(transport, device_address="12345678")
        assert transport.is_open
        assert (result.manufacturer, result.identification, result.baudrate) == ("ABC", "METER 7", 19200)
        assert transport.description == f"serial {pty_pair.a} 19200 8N1"
        transport.send(FRAME)
        assert recv_exactly(transport, len(REPLY)) == REPLY
    finally:
        transport.close()
        meter.finish()
    assert meter.request == b"/?12345678!\r\n"
    assert meter.ack == b"\x06262\r\n"


def test_meter_without_mode_e_is_refused(pty_pair) -> None:
    meter = Meter(pty_pair.b, b"/ABC5METER\r\n")
    try:
        with (
            SerialTransport(pty_pair.a) as transport,
            pytest.raises(LinkError, match="does not speak protocol mode E"),
        ):
            iec62056_21_mode_e_sign_on(transport)
    finally:
        meter.finish()
    assert meter.ack == b""  # no ACK was sent


def test_silent_meter_times_out(pty_pair) -> None:
    meter = Meter(pty_pair.b, b"", answer=False)
    try:
        with SerialTransport(pty_pair.a) as transport:
            with pytest.raises(MeterTimeout, match=r"no identification message within 0\.3 s"):
                iec62056_21_mode_e_sign_on(transport, timeout=0.3)
            assert transport.description == f"serial {pty_pair.a} 300 7E1"
    finally:
        meter.finish()


async def test_async_sign_on(pty_pair) -> None:
    meter = Meter(pty_pair.b, b"/DLk5\\2DLMSKIT-E\r\n")
    try:
        async with AsyncSerialTransport(pty_pair.a) as transport:
            result = await async_iec62056_21_mode_e_sign_on(transport)
            assert result.baudrate == 9600
            assert transport.description == f"serial {pty_pair.a} 9600 8N1"
            await transport.send(FRAME)
            received = b""
            while len(received) < len(REPLY):
                received += await transport.recv(timeout=5.0)
            assert received == REPLY
    finally:
        meter.finish()
    assert meter.request == b"/?!\r\n"
    assert meter.ack == b"\x06252\r\n"
    assert meter.frame == FRAME


async def test_async_silent_meter(pty_pair) -> None:
    meter = Meter(pty_pair.b, b"", answer=False)
    try:
        async with AsyncSerialTransport(pty_pair.a) as transport:
            with pytest.raises(MeterTimeout, match="no identification message"):
                await async_iec62056_21_mode_e_sign_on(transport, timeout=0.3)
    finally:
        meter.finish()


def test_identification_reader_skips_noise_and_echo() -> None:
    reader = _IdentificationReader(b"/?1!\r\n", "serial test 300 7E1")
    assert reader.feed(b"/?1") is None
    assert reader.feed(b"!\r\n\x00\x00/AB") is None  # the echo of the request, noise, the start
    assert reader.feed(b"C5\\2X\r") is None
    assert reader.feed(b"\n") == b"/ABC5\\2X\r\n"
    garbage = _IdentificationReader(b"/?!\r\n", "serial test 300 7E1")
    assert garbage.feed(b"\xff\r\n") is None  # a line without '/' is noise
    with pytest.raises(LinkError, match="without an identification message"):
        garbage.feed(bytes(300))
