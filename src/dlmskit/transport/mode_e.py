"""IEC 62056-21 protocol mode E sign-on over a serial port: how an optical probe reaches HDLC.

The sign-on (messages in :mod:`dlmskit.transport.iec62056_21`):

1. the port is set to 300 baud 7E1 (opened if it was closed) and the request message ``/?<address>!``
   is sent;
2. the meter's identification message ``/XXXZ\\2<identification>`` is read (a line the probe echoes
   back, and noise before the ``/``, are skipped); a meter that does not announce ``\\2`` does not speak
   mode E and the sign-on stops with :class:`dlmskit.errors.LinkError`;
3. after the meter's minimum reaction time, ``ACK 2 Z 2`` selects the HDLC protocol procedure at the
   meter's baud rate ``Z``;
4. once the acknowledgement has left the port, the port switches to that baud rate and 8N1 and waits
   :data:`SWITCH_DELAY` for the meter to do the same; HDLC frames can follow.
"""

from __future__ import annotations

import asyncio
import time
from typing import Final

from dlmskit.errors import DecodeError, LinkError, MeterTimeout
from dlmskit.transport.iec62056_21 import (
    SignOnResult,
    build_ack_option_select,
    build_request_message,
    parse_identification,
)
from dlmskit.transport.serial_port import AsyncSerialTransport, SerialTransport

__all__ = [
    "DEFAULT_SIGN_ON_TIMEOUT",
    "SWITCH_DELAY",
    "async_iec62056_21_mode_e_sign_on",
    "iec62056_21_mode_e_sign_on",
]

DEFAULT_SIGN_ON_TIMEOUT: Final = 3.0
"""Seconds to wait for the identification message: the meter answers within 1.5 s and a 20-character
message takes 0.7 s at 300 baud."""
SWITCH_DELAY: Final = 0.3
"""Seconds to wait after the acknowledgement before the first HDLC frame, while the meter switches."""
_MAX_NOISE: Final = 256
"""Bytes accepted without a complete identification message before the sign-on gives up."""


class _IdentificationReader:
    """Collects received bytes until a complete identification message is there."""

    def __init__(self, request: bytes, description: str) -> None:
        self._echo = request[: -len(b"\r\n")]
        self._description = description
        self._buffer = bytearray()

    def feed(self, chunk: bytes) -> bytes | None:
        """The identification message (from ``/`` to CR LF) once it is complete, else ``None``."""
        self._buffer += chunk
        while (end := self._buffer.find(b"\r\n")) >= 0:
            line = bytes(self._buffer[:end])
            del self._buffer[: end + 2]
            start = line.rfind(b"/")
            if start >= 0 and line[start:] != self._echo:
                return line[start:] + b"\r\n"
        if len(self._buffer) > _MAX_NOISE:
            raise LinkError(
                f"{self._description}: {len(self._buffer)} bytes without an identification message — "
                "is the line at 300 baud 7E1 and the probe on an IEC 62056-21 optical port?"
            )
        return None


def _no_answer(description: str, timeout: float) -> MeterTimeout:
    return MeterTimeout(
        f"{description}: no identification message within {timeout:g} s — "
        "is the optical probe on the meter's optical port, the right way round?"
    )


def _accept(message: bytes, description: str) -> SignOnResult:
    try:
        result = parse_identification(message)
    except DecodeError as exc:
        raise LinkError(
            f"{description}: the meter's answer {message!r} is no mode E identification: {exc}"
        ) from exc
    if not result.hdlc_available:
        raise LinkError(
            f"{description}: the meter's identification {message!r} does not announce the binary mode "
            "(HDLC) with '\\2': it does not speak protocol mode E"
        )
    return result


def iec62056_21_mode_e_sign_on(
    transport: SerialTransport,
    *,
    device_address: str = "",
    timeout: float = DEFAULT_SIGN_ON_TIMEOUT,
) -> SignOnResult:
    """Run the mode E sign-on on ``transport`` and leave it at the meter's baud rate, 8N1, for HDLC.

    ``device_address`` selects one meter where several share a line (empty: whichever is there);
    ``timeout`` bounds the wait for the identification message. Raises
    :class:`dlmskit.errors.MeterTimeout` when no identification comes and
    :class:`dlmskit.errors.LinkError` when the answer is not a mode E identification.
    """
    request = build_request_message(device_address)
    transport.configure(baudrate=300, bytesize=7, parity="E", stopbits=1)
    transport.open()
    transport.send(request)
    reader = _IdentificationReader(request, transport.description)
    deadline = time.monotonic() + timeout
    message: bytes | None = None
    while message is None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _no_answer(transport.description, timeout)
        try:
            message = reader.feed(transport.recv(remaining))
        except MeterTimeout:
            raise _no_answer(transport.description, timeout) from None
    result = _accept(message, transport.description)
    time.sleep(result.min_reaction_time)
    transport.send(build_ack_option_select(result.baud_char))
    transport.configure(baudrate=result.baudrate, bytesize=8, parity="N", stopbits=1)
    time.sleep(SWITCH_DELAY)
    return result


async def async_iec62056_21_mode_e_sign_on(
    transport: AsyncSerialTransport,
    *,
    device_address: str = "",
    timeout: float = DEFAULT_SIGN_ON_TIMEOUT,
) -> SignOnResult:
    """The asyncio form of :func:`iec62056_21_mode_e_sign_on`."""
    request = build_request_message(device_address)
    await transport.configure(baudrate=300, bytesize=7, parity="E", stopbits=1)
    await transport.open()
    await transport.send(request)
    reader = _IdentificationReader(request, transport.description)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    message: bytes | None = None
    while message is None:
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise _no_answer(transport.description, timeout)
        try:
            message = reader.feed(await transport.recv(remaining))
        except MeterTimeout:
            raise _no_answer(transport.description, timeout) from None
    result = _accept(message, transport.description)
    await asyncio.sleep(result.min_reaction_time)
    await transport.send(build_ack_option_select(result.baud_char))
    await transport.configure(baudrate=result.baudrate, bytesize=8, parity="N", stopbits=1)
    await asyncio.sleep(SWITCH_DELAY)
    return result
