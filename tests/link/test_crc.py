"""Tests of dlmskit.link.crc (CRC-16/X.25)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dlmskit.link.crc import crc16, crc16_le, crc16_matches


def bitwise_crc16_x25(data: bytes) -> int:
    """Independent bit-at-a-time reference: reflected polynomial 0x8408, init and xorout 0xFFFF."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc ^ 0xFFFF


def test_check_value() -> None:
    # The catalogue check value of CRC-16/X.25 (also in shared/reference/dlms-facts.md section 6).
    assert crc16(b"123456789") == 0x906E
    assert crc16_le(b"123456789") == b"\x6e\x90"


def test_empty_input() -> None:
    assert crc16(b"") == 0x0000


def test_classic_snrm_fcs() -> None:
    # The FCS (low byte first) of the classic SNRM 7E A0 07 03 21 93 0F 01 7E (Gurux gxdlms-go tests,
    # Test_Hex).
    assert crc16_le(bytes.fromhex("A007032193")) == b"\x0f\x01"


def test_all_byte_values() -> None:
    data = bytes(range(256))
    assert crc16(data) == bitwise_crc16_x25(data)


@settings(max_examples=200)
@given(st.binary(max_size=300))
def test_matches_bitwise_reference(data: bytes) -> None:
    assert crc16(data) == bitwise_crc16_x25(data)
    assert crc16(bytearray(data)) == crc16(memoryview(data)) == crc16(data)
    assert crc16_le(data) == crc16(data).to_bytes(2, "little")


@settings(max_examples=100)
@given(st.binary(max_size=100))
def test_residue_after_appending_the_fcs(data: bytes) -> None:
    # A block followed by its own FCS (low byte first) always leaves the X.25 "good FCS" residue
    # 0xF0B8, i.e. 0x0F47 after the final XOR.
    assert crc16(data + crc16_le(data)) == 0x0F47


@settings(max_examples=100)
@given(st.binary(max_size=100), st.integers(0, 101), st.integers(1, 255))
def test_crc16_matches(data: bytes, victim: int, damage: int) -> None:
    # The residue check of a receiver: data followed by its CRC matches; one damaged byte never does.
    sealed = data + crc16_le(data)
    assert crc16_matches(sealed)
    assert crc16_matches(bytearray(sealed)) and crc16_matches(memoryview(sealed))
    damaged = bytearray(sealed)
    damaged[victim % len(sealed)] ^= damage
    assert not crc16_matches(damaged)


def test_crc16_matches_needs_two_bytes() -> None:
    assert not crc16_matches(b"")
    assert not crc16_matches(b"\x00")
    assert crc16_matches(crc16_le(b""))
