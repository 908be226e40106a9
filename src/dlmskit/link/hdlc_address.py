"""HDLC station addresses (IEC 62056-46, the address field of the frame format type 3).

An HDLC address is an extensible field: every byte carries 7 bits of the address shifted left by one,
and the least significant bit is 1 on the last byte only. On a DLMS/COSEM link:

- the **client** address (the client SAP, for example 0x10 public client, 0x01 management client) is
  always one byte;
- the **server** address has an *upper* part, the logical device (0x01 = management logical device),
  and an optional *lower* part, the physical device (often 0x10 + the last digits of the serial
  number, or a fixed value such as 0x11 or 0x23). It is 1 byte (upper only, 0..0x7F), 2 bytes (upper
  and lower, 7 bits each) or 4 bytes (upper and lower, 14 bits each, most significant 7 bits first).

The size is part of the address: a meter configured for 4-byte addressing ignores a frame that
addresses it with 2 bytes, so :class:`HdlcAddress` keeps it.

Example (trace ``shared/seeds/001``): logical device 1, physical device 35 in two bytes is ``02 47``;
client 4 is ``09``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from dlmskit.errors import DecodeError, EncodeError

__all__ = [
    "ALL_STATION",
    "ALL_STATION_14_BIT",
    "CLIENT_MANAGEMENT",
    "CLIENT_PUBLIC",
    "MANAGEMENT_LOGICAL_DEVICE",
    "NO_STATION",
    "HdlcAddress",
    "decode_address",
    "remembered_address",
    "split_combined_server_address",
]

NO_STATION: Final = 0x00
"""Reserved address value "no station" (client, upper and lower server address)."""
CLIENT_MANAGEMENT: Final = 0x01
"""Client SAP of the management client (usually high-level security)."""
CLIENT_PUBLIC: Final = 0x10
"""Client SAP of the public client (lowest security, always allowed to read the association)."""
MANAGEMENT_LOGICAL_DEVICE: Final = 0x01
"""Upper server address of the management logical device, present in every meter."""
ALL_STATION: Final = 0x7F
"""All-station (broadcast) value of a 7-bit address part (1-byte and 2-byte addressing)."""
ALL_STATION_14_BIT: Final = 0x3FFF
"""All-station (broadcast) value of a 14-bit address part (4-byte addressing)."""

_SIZES: Final = (1, 2, 4)


@dataclass(frozen=True, slots=True)
class HdlcAddress:
    """One HDLC address: a client SAP or a server (logical device [+ physical device]) address.

    ``logical`` is the client SAP or the upper server address, ``physical`` the lower server address
    (``None`` for 1-byte addresses) and ``size`` the number of bytes on the wire: 1, 2 or 4. Leave
    ``size`` at 0 to get the shortest size that holds the values. Values that do not fit raise
    :class:`~dlmskit.errors.EncodeError`.
    """

    logical: int
    physical: int | None = None
    size: int = 0

    def __post_init__(self) -> None:
        size = self.size or _shortest_size(self.logical, self.physical)
        if size not in _SIZES:
            raise EncodeError(f"HDLC address size must be 1, 2 or 4 bytes, not {size}")
        if (self.physical is None) != (size == 1):
            raise EncodeError(
                f"a {size}-byte HDLC address "
                + ("has no lower (physical) part" if size == 1 else "needs a lower (physical) part")
            )
        limit = 0x7F if size < 4 else 0x3FFF
        for name, value in (("upper (logical)", self.logical), ("lower (physical)", self.physical)):
            if value is not None and not 0 <= value <= limit:
                raise EncodeError(f"HDLC {name} address {value} does not fit a {size}-byte address")
        object.__setattr__(self, "size", size)

    @property
    def is_all_station(self) -> bool:
        """True when the address is the all-station (broadcast) address in its upper or lower part."""
        broadcast = ALL_STATION_14_BIT if self.size == 4 else ALL_STATION
        return broadcast in (self.logical, self.physical)

    def encode(self) -> bytes:
        """The address bytes as they appear in the frame."""
        # Each byte: 7 bits of the address shifted left by one; bit 0 set on the last byte only.
        logical, physical = self.logical, self.physical
        if physical is None:
            return bytes(((logical << 1) | 1,))
        if self.size == 2:
            return bytes((logical << 1, (physical << 1) | 1))
        return bytes(
            ((logical >> 7) << 1, (logical & 0x7F) << 1, (physical >> 7) << 1, ((physical & 0x7F) << 1) | 1)
        )

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> HdlcAddress:
        """Decode an address that fills ``data`` exactly."""
        address, end = decode_address(data, 0)
        if end != len(data):
            raise DecodeError("bytes after the HDLC address", offset=end, expected="end of address")
        return address


_CACHE_LIMIT: Final = 4096
"""At most this many addresses are remembered by :func:`decode_address` and :func:`encoded_address` (a
link meets two; a head-end a few thousand meters)."""
_DECODED: dict[bytes, HdlcAddress] = {}
_ENCODED: dict[HdlcAddress, bytes] = {}


def encoded_address(address: HdlcAddress) -> bytes:
    """``address.encode()``, remembered: every frame a link sends carries the same two addresses."""
    encoded = _ENCODED.get(address)
    if encoded is None:
        encoded = address.encode()
        if len(_ENCODED) < _CACHE_LIMIT:
            _ENCODED[address] = encoded
    return encoded


def remembered_address(data: bytes) -> HdlcAddress:
    """``HdlcAddress.decode(data)``, remembered: the bytes of one whole address, as a frame decoder that
    already found where the address ends has them."""
    address = _DECODED.get(data)
    if address is None:
        address = HdlcAddress.decode(data)
        if len(_DECODED) < _CACHE_LIMIT:
            _DECODED[bytes(data)] = address
    return address


def decode_address(data: bytes | bytearray | memoryview, offset: int) -> tuple[HdlcAddress, int]:
    """Decode the address starting at ``data[offset]``; return it and the offset after it."""
    # The usual addresses first: a 1-byte client address, a 2-byte server address, each seen before (an
    # HdlcAddress is immutable, so one object serves every frame).
    if offset < len(data) and data[offset] & 1:
        key = bytes(data[offset : offset + 1])
    else:
        key = bytes(data[offset : offset + 2])
    known = _DECODED.get(key)
    if known is not None and len(key) == known.size:
        return known, offset + known.size
    address, end = _decode_address(data, offset)
    if len(_DECODED) < _CACHE_LIMIT:
        _DECODED[bytes(data[offset:end])] = address
    return address, end


def _decode_address(data: bytes | bytearray | memoryview, offset: int) -> tuple[HdlcAddress, int]:
    for size in range(1, 5):
        position = offset + size - 1
        if position >= len(data):
            raise DecodeError("truncated HDLC address", offset=position, expected="address byte")
        if data[position] & 1:
            break
    else:
        raise DecodeError(
            "HDLC address longer than 4 bytes",
            offset=offset + 3,
            expected="last address byte (bit 0 set)",
            found=f"0x{data[offset + 3]:02X}",
        )
    if size == 3:
        raise DecodeError("3-byte HDLC address", offset=offset, expected="1, 2 or 4 bytes")
    parts = [byte >> 1 for byte in data[offset : offset + size]]
    if size == 1:
        return HdlcAddress(parts[0], None, 1), offset + 1
    if size == 2:
        return HdlcAddress(parts[0], parts[1], 2), offset + 2
    return HdlcAddress((parts[0] << 7) | parts[1], (parts[2] << 7) | parts[3], 4), offset + 4


def split_combined_server_address(value: int) -> HdlcAddress:
    """The server address that Gurux tools show as one number ("server address 145"), split into its
    upper (logical) and lower (physical) parts.

    The rule is the one Gurux uses to build that number and to put it on the wire
    (Gurux.DLMS.Net ``GXDLMSClient.GetServerAddress(logicalAddress, physicalAddress, addressSize)`` and
    ``GXDLMS.GetHdlcAddress``): below 0x80 the number is a 1-byte address (logical only); below 0x4000
    a 2-byte address, ``logical << 7 | physical`` (7 bits each: 145 = logical 1, physical 17); from
    0x4000 a 4-byte address, ``logical << 14 | physical`` (14 bits each: 16401 = logical 1,
    physical 17). Values of 0x10000000 and more raise :class:`~dlmskit.errors.EncodeError`.
    """
    if not 0 < value < 0x10000000:
        raise EncodeError(f"combined HDLC server address must be 1..{0x10000000 - 1}, not {value}")
    if value < 0x80:
        return HdlcAddress(value, None, 1)
    if value < 0x4000:
        return HdlcAddress(value >> 7, value & 0x7F, 2)
    return HdlcAddress(value >> 14, value & 0x3FFF, 4)


def _shortest_size(logical: int, physical: int | None) -> int:
    if physical is None:
        return 1
    return 2 if max(logical, physical) <= 0x7F else 4
