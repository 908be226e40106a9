"""Tests of dlmskit.apdu.conformance, the xDLMS conformance block."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlmskit.apdu.conformance import Conformance
from dlmskit.errors import DecodeError, EncodeError

# Bit numbers (bit 0 = MSB of the first octet) and names: facts sheet section 5, with the standard's
# spelling of the ASN.1 names.
BITS = [
    (0, "reserved-zero"),
    (1, "general-protection"),
    (2, "general-block-transfer"),
    (3, "read"),
    (4, "write"),
    (5, "unconfirmed-write"),
    (6, "reserved-six"),
    (7, "reserved-seven"),
    (8, "attribute0-supported-with-set"),
    (9, "priority-mgmt-supported"),
    (10, "attribute0-supported-with-get"),
    (11, "block-transfer-with-get-or-read"),
    (12, "block-transfer-with-set-or-write"),
    (13, "block-transfer-with-action"),
    (14, "multiple-references"),
    (15, "information-report"),
    (16, "data-notification"),
    (17, "access"),
    (18, "parameterized-access"),
    (19, "get"),
    (20, "set"),
    (21, "selective-access"),
    (22, "event-notification"),
    (23, "action"),
]


@pytest.mark.parametrize(("bit", "name"), BITS)
def test_bit_numbering(bit: int, name: str) -> None:
    member = Conformance[name.upper().replace("-", "_")]
    assert member == 1 << (23 - bit)
    assert member.names() == [name]
    octets = bytearray(3)
    octets[bit // 8] = 0x80 >> (bit % 8)
    assert member.encode() == bytes(octets)


def test_every_bit_is_named_in_order() -> None:
    assert Conformance(0xFFFFFF).names() == [name for _, name in BITS]
    assert Conformance(0).names() == []


def test_default_ln_client_is_the_green_book_set() -> None:
    # Plain LN AARQ of the Green Book proposes 5F1F0400007E1F (facts sheet section 5).
    conformance = Conformance.default_ln_client()
    assert conformance.encode() == bytes.fromhex("007E1F")
    assert conformance.encode_ber() == bytes.fromhex("5F1F0400007E1F")
    assert conformance.names() == [
        "priority-mgmt-supported",
        "attribute0-supported-with-get",
        "block-transfer-with-get-or-read",
        "block-transfer-with-set-or-write",
        "block-transfer-with-action",
        "multiple-references",
        "get",
        "set",
        "selective-access",
        "event-notification",
        "action",
    ]


def test_decode_ber_of_a_negotiated_block() -> None:
    # Negotiated block of an AARE in the gosem tests
    # (gitlab.com/circutor-library/gosem, pkg/dlms/aare_test.go).
    data = bytes.fromhex("AA 5F1F040000101D 00")
    conformance, end = Conformance.decode_ber(data, 1)
    assert end == 8
    assert conformance == (
        Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ
        | Conformance.GET
        | Conformance.SET
        | Conformance.SELECTIVE_ACCESS
        | Conformance.ACTION
    )


@pytest.mark.parametrize(
    ("encoded", "reason"),
    [
        ("5B1F0400007E1F", "conformance block expected"),
        ("5F1F03007E1F", "wrong length"),
        ("5F1F050000007E1F", "wrong length"),
        ("5F1F0401007E1F", "unused bits"),
        ("5F1F0400007E", "runs past the end"),
        ("5F", "conformance block expected"),
    ],
)
def test_bad_ber_blocks(encoded: str, reason: str) -> None:
    with pytest.raises(DecodeError, match=reason):
        Conformance.decode_ber(bytes.fromhex(encoded))


@pytest.mark.parametrize("size", [0, 2, 4])
def test_decode_needs_three_octets(size: int) -> None:
    with pytest.raises(DecodeError):
        Conformance.decode(bytes(size))


def test_value_beyond_24_bits_is_refused() -> None:
    with pytest.raises(EncodeError):
        Conformance(1 << 24).encode()


@settings(max_examples=100)
@given(value=st.integers(0, 0xFFFFFF))
def test_round_trips(value: int) -> None:
    conformance = Conformance(value)
    assert Conformance.decode(conformance.encode()) == conformance
    assert Conformance.decode_ber(conformance.encode_ber()) == (conformance, 7)
    assert sum(Conformance[name.upper().replace("-", "_")] for name in conformance.names()) == value


@settings(max_examples=200)
@given(data=st.binary(max_size=12))
def test_random_bytes_raise_only_decode_error(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        Conformance.decode_ber(data)


def test_every_truncation_raises_decode_error() -> None:
    raw = bytes.fromhex("5F1F0400007E1F")
    for end in range(len(raw)):
        with pytest.raises(DecodeError):
            Conformance.decode_ber(raw[:end])


def test_default_sn_client_is_the_six_short_name_bits() -> None:
    # Proposed by the gurux-dlms client in SN mode: AARQ of https://pastebin.com/Vvs6PqXK, 5F1F 04 00 1C0320.
    block = Conformance.default_sn_client()
    assert block.encode_ber() == bytes.fromhex("5F1F0400 1C0320")
    assert block.names() == [
        "read",
        "write",
        "unconfirmed-write",
        "multiple-references",
        "information-report",
        "parameterized-access",
    ]
    assert not block & (Conformance.GET | Conformance.SET | Conformance.ACTION)
