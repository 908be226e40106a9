"""The DLMS/COSEM wrapper (IEC 62056-47), the transport layer for TCP and UDP (port 4059).

Every APDU is preceded by an 8-byte header, all fields unsigned 16-bit big-endian::

    version (0x0001) | source wPort | destination wPort | length of the APDU

The wPorts play the role of the HDLC addresses: the client's wPort is its client SAP (16 public
client, 1 management client), the server's the logical device (1 management logical device).

On UDP one datagram carries exactly one wrapper frame: use :meth:`WrapperFrame.decode`. On TCP the
frames are a byte stream without any resynchronisation point: :class:`WrapperFrameReader` reassembles
them, and after a malformed header the rest of the stream cannot be trusted, so the connection has
to be closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, TypeAlias

from dlmskit.errors import DecodeError, EncodeError

__all__ = [
    "CLIENT_MANAGEMENT_WPORT",
    "CLIENT_PUBLIC_WPORT",
    "DLMS_PORT",
    "HEADER_LENGTH",
    "MANAGEMENT_LOGICAL_DEVICE_WPORT",
    "MAX_APDU_LENGTH",
    "WRAPPER_VERSION",
    "WrapperEvent",
    "WrapperFrame",
    "WrapperFrameReader",
]

WRAPPER_VERSION: Final = 0x0001
"""The only wrapper version defined."""
HEADER_LENGTH: Final = 8
"""Bytes of the wrapper header."""
MAX_APDU_LENGTH: Final = 0xFFFF
"""The largest APDU the 16-bit length field can announce."""
DLMS_PORT: Final = 4059
"""The IANA-registered TCP and UDP port of DLMS/COSEM."""
CLIENT_MANAGEMENT_WPORT: Final = 0x0001
"""wPort of the management client."""
CLIENT_PUBLIC_WPORT: Final = 0x0010
"""wPort of the public client."""
MANAGEMENT_LOGICAL_DEVICE_WPORT: Final = 0x0001
"""wPort of the management logical device of a server."""


@dataclass(frozen=True, slots=True)
class WrapperFrame:
    """One wrapper frame: an APDU with the source and destination wPorts (0..0xFFFF)."""

    source_wport: int
    dest_wport: int
    apdu: bytes

    def __post_init__(self) -> None:
        for name, value in (("source wPort", self.source_wport), ("destination wPort", self.dest_wport)):
            if not 0 <= value <= 0xFFFF:
                raise EncodeError(f"{name} must be 0..0xFFFF, not {value}")
        if len(self.apdu) > MAX_APDU_LENGTH:
            raise EncodeError(f"APDU of {len(self.apdu)} bytes does not fit a wrapper frame")

    def encode(self) -> bytes:
        """The header followed by the APDU."""
        header = (
            WRAPPER_VERSION.to_bytes(2, "big")
            + self.source_wport.to_bytes(2, "big")
            + self.dest_wport.to_bytes(2, "big")
            + len(self.apdu).to_bytes(2, "big")
        )
        return header + self.apdu

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> WrapperFrame:
        """Decode one whole frame (a UDP datagram): the length field must match the bytes after the
        header exactly."""
        source, dest, length = _decode_header(data)
        if HEADER_LENGTH + length != len(data):
            raise DecodeError(
                "wrapper length does not match the frame",
                offset=6,
                expected=f"{len(data) - HEADER_LENGTH}",
                found=f"{length}",
            )
        return cls(source, dest, bytes(data[HEADER_LENGTH:]))


WrapperEvent: TypeAlias = WrapperFrame | DecodeError
"""What :meth:`WrapperFrameReader.feed` reports: a frame, or the error that stopped the stream."""


class WrapperFrameReader:
    """Reassembles wrapper frames from a TCP byte stream.

    Errors are reported as events, never raised: a header with a wrong version, or announcing an APDU
    longer than ``max_apdu_length`` (for example the client's max-receive-pdu-size), ends the list
    returned by :meth:`feed` as a :class:`~dlmskit.errors.DecodeError`. The stream cannot be
    resynchronised after that: the reader sets :attr:`failed`, drops everything fed to it until
    :meth:`reset`, and the caller should close the connection.
    """

    def __init__(self, max_apdu_length: int = MAX_APDU_LENGTH) -> None:
        self._max_apdu_length = max_apdu_length
        self._buffer = bytearray()
        self._failed = False

    @property
    def failed(self) -> bool:
        """True after a malformed header, until :meth:`reset`."""
        return self._failed

    def feed(self, data: bytes | bytearray | memoryview) -> list[WrapperEvent]:
        """Add received bytes; return the frames completed by them, in stream order."""
        if self._failed:
            return []
        buffer = self._buffer
        buffer += data
        events: list[WrapperEvent] = []
        position = 0
        while len(buffer) - position >= HEADER_LENGTH:
            try:
                source, dest, length = _decode_header(buffer[position : position + HEADER_LENGTH])
                if length > self._max_apdu_length:
                    raise DecodeError(
                        "wrapper frame longer than allowed",
                        offset=6,
                        expected=f"at most {self._max_apdu_length} bytes",
                        found=f"{length} bytes",
                    )
            except DecodeError as error:
                events.append(error.with_traceback(None))
                self._failed = True
                buffer.clear()
                return events
            end = position + HEADER_LENGTH + length
            if end > len(buffer):
                break
            apdu = bytes(memoryview(buffer)[position + HEADER_LENGTH : end])
            events.append(WrapperFrame(source, dest, apdu))
            position = end
        del buffer[:position]
        return events

    def reset(self) -> None:
        """Forget any partly received frame and clear :attr:`failed` (for a new connection)."""
        self._buffer.clear()
        self._failed = False


def _decode_header(data: bytes | bytearray | memoryview) -> tuple[int, int, int]:
    """The source wPort, destination wPort and APDU length of the header at the start of ``data``."""
    if len(data) < HEADER_LENGTH:
        raise DecodeError(
            "truncated wrapper header", offset=len(data), expected=f"{HEADER_LENGTH} header bytes"
        )
    version = int.from_bytes(data[0:2], "big")
    if version != WRAPPER_VERSION:
        raise DecodeError(
            "unknown wrapper version", offset=0, expected=f"{WRAPPER_VERSION}", found=f"{version}"
        )
    return (
        int.from_bytes(data[2:4], "big"),
        int.from_bytes(data[4:6], "big"),
        int.from_bytes(data[6:8], "big"),
    )
