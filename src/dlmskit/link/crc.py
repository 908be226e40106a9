"""CRC-16/X.25, the frame check sequence of HDLC (IEC 62056-46, ISO/IEC 13239).

Parameters: reflected polynomial 0x8408 (0x1021 bit-reversed), initial value 0xFFFF, output XOR
0xFFFF; ``crc16(b"123456789") == 0x906E``. HDLC sends the result low byte first (:func:`crc16_le`).

The same CRC is the header check sequence (HCS) and the frame check sequence (FCS) of every frame, so
it runs over every byte of a large transfer. Instead of a Python loop over a 256-entry CRC table, it
uses the C implementation of the non-reflected CRC-CCITT in :func:`binascii.crc_hqx`: a reflected CRC
equals the bit-reversed non-reflected CRC of the bit-reversed input bytes, and ``bytes.translate``
with a 256-entry bit-reversal table reverses the input at C speed (over ten times faster than a
table-lookup loop in Python).

A receiver need not compute the CRC and compare: the CRC register run over the data *and* its two CRC
bytes ends at a fixed residue when they match (0xF0B8 for CRC-16/X.25, 0x1D0F in the bit-reversed
domain of ``crc_hqx``), which :func:`crc16_matches` checks. The register after a correct HCS is that
residue too, so the FCS of a frame can go on from there over the information field alone
(:mod:`dlmskit.link.hdlc_frame` does both).
"""

from __future__ import annotations

from binascii import crc_hqx
from typing import Final

__all__ = ["crc16", "crc16_le", "crc16_matches"]

_BIT_REVERSED: Final = bytes(int(f"{value:08b}"[::-1], 2) for value in range(256))
"""Byte value -> the same byte with its eight bits in reverse order."""
_REVERSED_INVERTED: Final = bytes(value ^ 0xFF for value in _BIT_REVERSED)
"""Byte value -> the same byte bit-reversed and inverted: turns the ``crc_hqx`` register, big-endian, into
the two CRC-16/X.25 bytes HDLC sends (low byte first, output XOR applied)."""
_INITIAL: Final = 0xFFFF
_RESIDUE: Final = 0x1D0F
"""The ``crc_hqx`` register after data followed by its correct CRC-16/X.25 bytes (0xF0B8 bit-reversed)."""


def crc16(data: bytes | bytearray | memoryview) -> int:
    """The CRC-16/X.25 of ``data`` as an integer (0..0xFFFF)."""
    return int.from_bytes(crc16_le(data), "little")


def crc16_le(data: bytes | bytearray | memoryview) -> bytes:
    """The CRC-16/X.25 of ``data`` as the two bytes HDLC puts on the line (low byte first)."""
    register = crc_hqx(bytes(data).translate(_BIT_REVERSED), _INITIAL)
    return register.to_bytes(2, "big").translate(_REVERSED_INVERTED)


def crc16_matches(data: bytes | bytearray | memoryview) -> bool:
    """True when the last two bytes of ``data`` are the CRC-16/X.25 (low byte first) of the bytes
    before them; ``data`` shorter than two bytes never matches."""
    return len(data) >= 2 and crc_hqx(bytes(data).translate(_BIT_REVERSED), _INITIAL) == _RESIDUE
