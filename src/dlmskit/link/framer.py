"""Finding HDLC frames in a byte stream (serial line, optical probe, or HDLC carried over TCP).

:class:`HdlcFrameReader` takes bytes as they arrive, in any chunking, and returns what it found: each
complete frame decoded as an :class:`~dlmskit.link.hdlc_frame.HdlcFrame`, or, for a frame that arrived
damaged, the :class:`~dlmskit.errors.DecodeError` describing it (a
:class:`~dlmskit.link.hdlc_frame.FrameCheckError` when a CRC does not match). Errors are reported as
events, never raised, so the link layer can count or ignore them and carry on with the next frame;
:meth:`HdlcFrameReader.feed` raises nothing for any input.

How frames are found (DLMS/COSEM HDLC has no byte stuffing, so a 0x7E may occur inside a frame):

- A candidate frame is a 0x7E flag followed by a format field of type 3 (``Ax``) with a length of at
  least 7 and a well-formed header (addresses of 1, 2 or 4 bytes, a control byte, and either no
  information field or an HCS); the byte right after the frame must be the closing 0x7E flag. That
  closing flag may also be the opening flag of the next frame (``7E frame 7E frame 7E``), and a run
  of flags between frames is skipped. Anything else (garbage, line noise, the rest of a frame with a
  damaged header) is dropped silently up to the next 0x7E.
- As soon as the header of a candidate has arrived, its HCS (when the frame carries information) is
  checked: a damaged header, a damaged length field included, is reported as a ``FrameCheckError``
  at once instead of waiting for a length that may never come.
- A candidate whose closing flag is in place but whose FCS does not match is reported as a
  ``FrameCheckError``. Reading continues after it when its HCS vouched for the length, otherwise
  (no information field, so no HCS) right after its opening flag, as the length may be noise too.
- A candidate with a correct HCS whose closing flag is not where its length says is reported as a
  ``FrameCheckError`` (bytes were lost); without an HCS it is dropped silently.

Damage that breaks the frame structure itself (the format type, an address extension bit, a length
below 7) makes the frame indistinguishable from noise: it is dropped without an error event. Every
other corruption of a single byte is reported.

The outcome does not depend on how the stream is cut into chunks. The reader keeps at most one
incomplete frame (:data:`~dlmskit.link.hdlc_frame.MAX_FRAME_LENGTH` + 2 bytes) between calls.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import TypeAlias

from dlmskit.errors import DecodeError
from dlmskit.link.crc import crc16
from dlmskit.link.hdlc_address import HdlcAddress, encoded_address
from dlmskit.link.hdlc_frame import FLAG, FrameCheckError, HdlcFrame, decode_intact

__all__ = ["HdlcEvent", "HdlcFrameReader"]

HdlcEvent: TypeAlias = HdlcFrame | DecodeError
"""What :meth:`HdlcFrameReader.feed` reports: a decoded frame, or the error of a damaged one."""

_FLAG_BYTE = bytes((FLAG,))
_FORMAT_TYPE_3 = 0xA0
"""High nibble of the first format byte."""
_MIN_FRAME_LENGTH = 7
"""format (2) + destination (1) + source (1) + control (1) + FCS (2)."""


class _Header(enum.Enum):
    """What is known about the header of the candidate frame at the start of the buffer."""

    INCOMPLETE = enum.auto()
    """Not all of the header has arrived yet."""
    MALFORMED = enum.auto()
    """The header cannot be that of a frame: not a frame start."""
    NO_HCS = enum.auto()
    """The frame has no information field, hence no HCS."""
    HCS_OK = enum.auto()
    """The header check sequence matches."""


class HdlcFrameReader:
    """Stream de-framer for HDLC frames of format type 3::

    reader = HdlcFrameReader()
    for event in reader.feed(received_bytes):
        if isinstance(event, HdlcFrame):
            ...  # a frame
        else:
            ...  # a DecodeError: a damaged frame, already dropped
    """

    def __init__(self, *, known_addresses: Iterable[HdlcAddress] = ()) -> None:
        """``known_addresses`` (a link's own two) are given as these very objects in the frames that
        carry them, found by their bytes (faster than decoding, and ``is`` compares them)."""
        self._known = {encoded_address(address): address for address in known_addresses}
        self._buffer = bytearray()
        self._header: _Header | FrameCheckError | None = None
        """The header state of the candidate at buffer offset 0, once it is known not to be INCOMPLETE."""

    def feed(self, data: bytes | bytearray | memoryview) -> list[HdlcEvent]:
        """Add received bytes; return the frames (and errors) completed by them, in stream order."""
        buffer = self._buffer
        # The usual case first: ``data`` is one whole intact frame and nothing but a flag is pending. The
        # search below would find it and keep its closing flag (the opening flag of the next frame).
        size = len(data)
        if (
            size > 2
            and data[0] == FLAG
            and data[-1] == FLAG
            and len(buffer) < 2
            and (not buffer or buffer[0] == FLAG)
        ):
            frame = decode_intact(bytes(data[1:-1]), hcs_checked=False, known=self._known)
            if frame is not None:
                buffer[:] = _FLAG_BYTE
                self._header = None
                return [frame]
        buffer += data
        events: list[HdlcEvent] = []
        position = 0
        header = self._header
        while True:
            if position < len(buffer) and buffer[position] != FLAG:
                position = buffer.find(FLAG, position)
                header = None
                if position < 0:
                    position = len(buffer)
            if position + 3 > len(buffer):
                break
            if buffer[position + 1] == FLAG:
                position += 1
                header = None
                continue
            length = ((buffer[position + 1] & 0x07) << 8) | buffer[position + 2]
            end = position + 1 + length
            if buffer[position + 1] & 0xF0 != _FORMAT_TYPE_3 or length < _MIN_FRAME_LENGTH:
                position, header = position + 1, None
                continue
            if header is None:
                header = _check_header(buffer, position, end)
                if header is _Header.INCOMPLETE:
                    header = None
                    break
            if header is _Header.MALFORMED:
                position, header = position + 1, None
                continue
            if isinstance(header, FrameCheckError):
                events.append(header)
                position, header = position + 1, None
                continue
            if end >= len(buffer):
                break
            if buffer[end] == FLAG:
                event = _decode(buffer, position, end, header is _Header.HCS_OK, self._known)
                events.append(event)
                # Only a correct FCS or HCS confirms the length; otherwise the length may be noise too.
                trusted = header is _Header.HCS_OK or not isinstance(event, FrameCheckError)
                position, header = (end if trusted else position + 1), None
                continue
            if header is _Header.HCS_OK:
                events.append(
                    FrameCheckError(
                        "HDLC closing flag missing (bytes lost or length damaged)",
                        offset=length + 1,
                        expected="0x7E",
                        found=f"0x{buffer[end]:02X}",
                    )
                )
            position, header = position + 1, None
        del buffer[:position]
        self._header = header
        return events

    @property
    def buffered(self) -> int:
        """Bytes held back as the start of a frame that has not completely arrived yet."""
        return len(self._buffer)

    def reset(self) -> None:
        """Forget any partly received frame (after a timeout, or when the line is reopened)."""
        self._buffer.clear()
        self._header = None


def _check_header(buffer: bytearray, start: int, end: int) -> _Header | FrameCheckError:
    """Check the HCS of the candidate frame whose opening flag is at ``start`` and whose closing
    flag should be at ``end``; a mismatch gives the error to report."""
    fcs = end - 2
    offset = start + 3
    for _address in range(2):
        for size in range(1, 5):
            index = offset + size - 1
            if index >= fcs:
                return _Header.MALFORMED
            if index >= len(buffer):
                return _Header.INCOMPLETE
            if buffer[index] & 1:
                break
        else:
            return _Header.MALFORMED
        if size == 3:
            return _Header.MALFORMED
        offset += size
    hcs = offset + 1
    if hcs > fcs or fcs - hcs == 1:
        return _Header.MALFORMED
    if hcs == fcs:
        return _Header.NO_HCS
    if hcs + 2 > len(buffer):
        return _Header.INCOMPLETE
    received = buffer[hcs] | (buffer[hcs + 1] << 8)
    computed = crc16(buffer[start + 1 : hcs])
    if computed == received:
        return _Header.HCS_OK
    return FrameCheckError(
        "HDLC HCS mismatch", offset=hcs - start, expected=f"0x{computed:04X}", found=f"0x{received:04X}"
    )


def _decode(
    buffer: bytearray, start: int, end: int, hcs_checked: bool, known: dict[bytes, HdlcAddress]
) -> HdlcEvent:
    """The frame (or its error) between the flags at ``start`` and ``end``."""
    frame = decode_intact(bytes(buffer[start + 1 : end]), hcs_checked=hcs_checked, known=known)
    if frame is not None:
        return frame
    try:
        return HdlcFrame.decode(buffer[start : end + 1])
    except DecodeError as error:
        return error.with_traceback(None)
