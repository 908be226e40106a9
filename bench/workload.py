"""The inputs every library gets, built here with ``struct`` and ``cryptography`` only.

Nothing in this module uses dlmskit, gurux-dlms or dlms-cosem, so the expected results (the "reference") do
not depend on any library under test: every case checks its library's output against them before timing.

- The profile buffer: a GET response (``C4 01 C1 00`` + array) of rows ``structure {date-time
  octet-string(12), double-long-unsigned, double-long-unsigned, long}``, like a load profile with a clock
  column and three register columns. Timestamps are 15 minutes apart with deviation -60 (UTC+01:00).
- Ciphering: the Green Book suite 0 example keys and system titles (shared/reference/dlms-facts.md
  section 3); the 13-byte GET request is the Green Book plaintext ``C0010000080000010000FF0200``.
- HDLC: a 64 KiB APDU sent by the meter (server 1/17, client 1), split into I-frames of 128 or 2030
  bytes of information, each frame with the final bit (window 1): N(S) counts up, N(R) = 1 (the meter
  has received the client's request).
"""

from __future__ import annotations

import datetime as dt
import struct
from binascii import crc_hqx
from dataclasses import dataclass
from functools import cached_property

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = [
    "AK",
    "CLIENT_TITLE",
    "EK",
    "GET_REQUEST",
    "INVOCATION_COUNTER",
    "SECURITY_CONTROL",
    "SERVER_TITLE",
    "Workload",
    "crc16_x25",
    "hdlc_deframe",
    "hdlc_information_frames",
]

# Green Book demo keys and titles (shared/reference/dlms-facts.md section 3).
EK = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
AK = bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF")
CLIENT_TITLE = bytes.fromhex("4D4D4D0000000001")
SERVER_TITLE = bytes.fromhex("4D4D4D0000BC614E")
INVOCATION_COUNTER = 0x01234567
SECURITY_CONTROL = 0x30
"""Suite 0, authenticated and encrypted."""
GET_REQUEST = bytes.fromhex("C0010000080000010000FF0200")
"""get-request-normal for the clock's time (class 8, 0.0.1.0.0.255, attribute 2): the Green Book example."""

LLC_RESPONSE = b"\xe6\xe7\x00"
CLIENT_SAP = 1
SERVER_LOGICAL, SERVER_PHYSICAL = 1, 17
UTC_PLUS_1 = dt.timezone(dt.timedelta(hours=1))

_DATE_TIME = struct.Struct(">HBBBBBBBhB")
_ROW = struct.Struct(">4s12sBIBIBh")
_ROW_HEAD = bytes.fromhex("0204090C")  # structure of 4, octet-string of 12
_BIT_REVERSED = bytes(int(f"{value:08b}"[::-1], 2) for value in range(256))

Row = tuple[bytes, int, int, int]
DatetimeRow = tuple[dt.datetime, int, int, int]


def _timestamp(index: int) -> dt.datetime:
    return dt.datetime(2024, 1, 1, tzinfo=UTC_PLUS_1) + dt.timedelta(minutes=15 * index)


def _date_time_octets(value: dt.datetime) -> bytes:
    """The 12-byte COSEM date-time of an aware datetime (deviation = minutes from local time to UTC)."""
    offset = value.utcoffset()
    assert offset is not None
    deviation = -int(offset.total_seconds()) // 60
    return _DATE_TIME.pack(
        value.year,
        value.month,
        value.day,
        value.isoweekday(),
        value.hour,
        value.minute,
        value.second,
        value.microsecond // 10000,
        deviation,
        0x00,
    )


def crc16_x25(data: bytes) -> int:
    """CRC-16/X.25 (the HDLC HCS and FCS), computed independently of any library under test."""
    crc = crc_hqx(data.translate(_BIT_REVERSED), 0xFFFF)
    return ((_BIT_REVERSED[crc & 0xFF] << 8) | _BIT_REVERSED[crc >> 8]) ^ 0xFFFF


def hdlc_information_frames(information: bytes, max_info: int) -> list[bytes]:
    """Server-to-client I-frames (client 1, server 1/17) carrying ``information`` in ``max_info`` pieces."""
    dest = bytes(((CLIENT_SAP << 1) | 1,))
    src = bytes((SERVER_LOGICAL << 1, (SERVER_PHYSICAL << 1) | 1))
    pieces = [information[start : start + max_info] for start in range(0, len(information), max_info)]
    frames = []
    for index, piece in enumerate(pieces):
        segmented = index < len(pieces) - 1
        control = (1 << 5) | 0x10 | ((index % 8) << 1)  # N(R)=1, final, N(S)
        length = 2 + len(dest) + len(src) + 1 + 2 + len(piece) + 2
        header = struct.pack(">H", 0xA000 | (0x0800 if segmented else 0) | length) + dest + src
        header += bytes((control,))
        body = header + crc16_x25(header).to_bytes(2, "little") + piece
        frames.append(b"\x7e" + body + crc16_x25(body).to_bytes(2, "little") + b"\x7e")
    return frames


def hdlc_deframe(frames: list[bytes]) -> bytes:
    """The APDU carried by ``frames`` (each one whole frame), every HCS and FCS checked, LLC removed.

    The independent reference for the framing cases: a frame that does not check raises ``ValueError``.
    """
    information = bytearray()
    for frame in frames:
        length = int.from_bytes(frame[1:3], "big") & 0x07FF
        if frame[0] != 0x7E or frame[-1] != 0x7E or length != len(frame) - 2:
            raise ValueError(f"not a whole frame: {frame[:8].hex()}...")
        if crc16_x25(frame[1:-3]) != int.from_bytes(frame[-3:-1], "little"):
            raise ValueError("FCS does not check")
        header_end = 3
        for _address in range(2):
            while not frame[header_end] & 1:
                header_end += 1
            header_end += 1
        header_end += 1  # control
        if crc16_x25(frame[1:header_end]) != int.from_bytes(frame[header_end : header_end + 2], "little"):
            raise ValueError("HCS does not check")
        information += frame[header_end + 2 : -3]
    if not information.startswith(LLC_RESPONSE):
        raise ValueError("LLC header missing")
    return bytes(information[len(LLC_RESPONSE) :])


@dataclass(frozen=True)
class Workload:
    """The inputs of one run, sized by ``rows`` (profile buffer) and ``hdlc_apdu_size``."""

    rows: int = 10_000
    hdlc_apdu_size: int = 64 * 1024
    response_size: int = 1024

    # -- profile buffer -------------------------------------------------------------------------------

    @cached_property
    def datetime_rows(self) -> list[DatetimeRow]:
        """The rows as a user wants them: (aware datetime, uint32, uint32, int16)."""
        return [
            (_timestamp(i), (i * 2654435761) % 2**32, 1_000_000 + 7 * i, (i * 37) % 65536 - 32768)
            for i in range(self.rows)
        ]

    @cached_property
    def raw_rows(self) -> list[Row]:
        """The rows as on the wire: (12 date-time octets, uint32, uint32, int16)."""
        return [(_date_time_octets(t), a, b, c) for t, a, b, c in self.datetime_rows]

    @cached_property
    def buffer_data(self) -> bytes:
        """The A-XDR encoding of the buffer attribute: ``array`` of the row structures."""
        count = self.rows
        if count < 0x80:
            head = bytes((0x01, count))
        elif count <= 0xFF:
            head = bytes((0x01, 0x81, count))
        else:
            head = b"\x01\x82" + count.to_bytes(2, "big")
        return head + b"".join(
            _ROW.pack(_ROW_HEAD, octets, 0x06, a, 0x06, b, 0x10, c) for octets, a, b, c in self.raw_rows
        )

    @cached_property
    def get_response(self) -> bytes:
        """get-response-normal, invoke id 1 (high priority, confirmed), carrying the buffer."""
        return b"\xc4\x01\xc1\x00" + self.buffer_data

    # -- ciphering --------------------------------------------------------------------------------------

    @cached_property
    def response_plain(self) -> bytes:
        """A get-response-normal of ``response_size`` bytes carrying an octet-string."""
        content = self.response_size - 8
        return (
            b"\xc4\x01\xc1\x00\x09\x82" + content.to_bytes(2, "big") + bytes(i % 251 for i in range(content))
        )

    def glo_apdu(self, plain: bytes, system_title: bytes) -> bytes:
        """The glo- ciphered APDU (tag + length + SC + IC + C + T) of a plain get-request/-response."""
        tag = {0xC0: 0xC8, 0xC4: 0xCC}[plain[0]]
        return bytes((tag,)) + _length(5 + len(plain) + 12) + self._protect(plain, system_title)

    def general_glo_apdu(self, plain: bytes, system_title: bytes) -> bytes:
        """The general-glo-ciphering APDU (DB, with the sender's system title) of a plain APDU."""
        body = self._protect(plain, system_title)
        return b"\xdb" + _length(len(system_title)) + system_title + _length(len(body)) + body

    def _protect(self, plain: bytes, system_title: bytes) -> bytes:
        header = bytes((SECURITY_CONTROL,)) + INVOCATION_COUNTER.to_bytes(4, "big")
        nonce = system_title + header[1:]
        sealed = AESGCM(EK).encrypt(nonce, plain, header[:1] + AK)
        return header + sealed[:-4]

    # -- HDLC -------------------------------------------------------------------------------------------

    @cached_property
    def hdlc_apdu(self) -> bytes:
        """The APDU carried over HDLC: a get-response-normal of ``hdlc_apdu_size`` bytes carrying an
        octet-string (whose contents include 0x7E flag bytes)."""
        content = self.hdlc_apdu_size - 9
        pattern = bytes((i * 31 + 7) % 256 for i in range(content))
        return b"\xc4\x01\xc1\x00\x09\x83" + content.to_bytes(3, "big") + pattern

    def hdlc_frames(self, max_info: int) -> list[bytes]:
        """The reference I-frames of :attr:`hdlc_apdu` (LLC header first) in ``max_info`` pieces."""
        return hdlc_information_frames(LLC_RESPONSE + self.hdlc_apdu, max_info)


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    size = (n.bit_length() + 7) // 8
    return bytes((0x80 | size,)) + n.to_bytes(size, "big")
