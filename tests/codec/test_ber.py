"""Tests of dlmskit.codec.ber, the minimal BER TLV codec used by the ACSE APDUs."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlmskit.codec import ber
from dlmskit.errors import DecodeError, EncodeError

# --- lengths ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "encoded"),
    [
        (0, "00"),
        (0x7F, "7F"),
        (0x80, "8180"),
        (0xFF, "81FF"),
        (0x100, "820100"),
        (0xFFFF, "82FFFF"),
        (0x10000, "83010000"),
        (0xFFFFFFFF, "84FFFFFFFF"),
    ],
)
def test_length_forms(length: int, encoded: str) -> None:
    raw = bytes.fromhex(encoded)
    assert ber.encode_length(length) == raw
    assert ber.read_length(raw) == (length, len(raw))


@pytest.mark.parametrize("length", [-1, 1 << 32])
def test_length_out_of_range_is_refused(length: int) -> None:
    with pytest.raises(EncodeError):
        ber.encode_length(length)


def test_non_minimal_length_is_accepted() -> None:
    assert ber.read_length(bytes.fromhex("8105")) == (5, 2)
    assert ber.read_length(bytes.fromhex("820005")) == (5, 3)


@pytest.mark.parametrize(
    ("encoded", "reason"),
    [
        ("", "ends before a length"),
        ("80", "indefinite length"),
        ("85 0000000001", "too long"),
        ("82 01", "inside a length"),
    ],
)
def test_bad_lengths(encoded: str, reason: str) -> None:
    with pytest.raises(DecodeError, match=reason):
        ber.read_length(bytes.fromhex(encoded))


def test_length_read_respects_end() -> None:
    with pytest.raises(DecodeError):
        ber.read_length(bytes.fromhex("8201 00"), 0, end=2)


# --- tags and TLVs ---------------------------------------------------------------------------------


def test_tlv_with_single_byte_tag() -> None:
    # application-context-name of the plain LN AARQ (facts sheet section 5).
    raw = bytes.fromhex("A109060760857405080101")
    assert ber.encode_tlv(0xA1, bytes.fromhex("060760857405080101")) == raw
    assert ber.read_tlv(raw) == (0xA1, bytes.fromhex("060760857405080101"), len(raw))
    assert ber.read_header(raw) == (0xA1, 2, len(raw))


def test_tlv_with_high_tag_number() -> None:
    # The xDLMS conformance block [APPLICATION 31] (facts sheet section 5).
    raw = bytes.fromhex("5F1F0400007E1F")
    assert ber.encode_tlv(0x5F1F, bytes.fromhex("00007E1F")) == raw
    assert ber.read_tlv(raw) == (0x5F1F, bytes.fromhex("00007E1F"), 7)


def test_tlv_long_form_length() -> None:
    value = bytes(range(200))
    raw = ber.encode_tlv(0x04, value)
    assert raw[:3] == bytes.fromhex("0481C8")
    assert ber.read_tlv(raw) == (0x04, value, 203)


def test_read_tlv_at_offset_and_memoryview() -> None:
    raw = memoryview(bytes.fromhex("FFFF 020100 0400"))
    assert ber.read_tlv(raw, 2) == (0x02, b"\x00", 5)
    assert ber.read_tlv(raw, 5) == (0x04, b"", 7)


@pytest.mark.parametrize("tag", [-1, 0x1F, 0x5F, 0x5F80, 0x6001, 0x5F8F, 0x5F808001, 0x1F81828301])
def test_invalid_tags_are_refused(tag: int) -> None:
    with pytest.raises(EncodeError):
        ber.encode_tlv(tag, b"")


@pytest.mark.parametrize(
    ("encoded", "reason"),
    [
        ("", "ends before a BER tag"),
        ("5F", "inside a high-tag-number"),
        ("5F8001", "leading zero"),
        ("5F81828300", "too long"),
        ("0405 0102", "runs past the end"),
        ("04", "ends before a length"),
    ],
)
def test_bad_tlvs(encoded: str, reason: str) -> None:
    with pytest.raises(DecodeError, match=reason):
        ber.read_tlv(bytes.fromhex(encoded))


def test_iter_tlvs_yields_value_offsets() -> None:
    raw = bytes.fromhex("60 08 0201 05 0403 AABBCC")
    assert list(ber.iter_tlvs(raw, 2)) == [(0x02, b"\x05", 4), (0x04, bytes.fromhex("AABBCC"), 7)]
    assert list(ber.iter_tlvs(raw, 2, 5)) == [(0x02, b"\x05", 4)]
    assert list(ber.iter_tlvs(b"")) == []


def test_iter_tlvs_refuses_an_element_crossing_the_end() -> None:
    with pytest.raises(DecodeError, match="runs past the end"):
        list(ber.iter_tlvs(bytes.fromhex("0201 05 0403 AABBCC"), 0, 6))


# --- universal types -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arcs", "encoded"),
    [
        # DLMS UA application context name LN, no ciphering and mechanism name HLS-GMAC
        # (facts sheet sections 4 and 5).
        ((2, 16, 756, 5, 8, 1, 1), "60857405080101"),
        ((2, 16, 756, 5, 8, 2, 5), "60857405080205"),
        # The RSA Data Security OID, the worked example of X.690.
        ((1, 2, 840, 113549), "2A864886F70D"),
        ((0, 0), "00"),
        ((2, 999, 3), "883703"),
    ],
)
def test_object_identifiers(arcs: tuple[int, ...], encoded: str) -> None:
    assert ber.encode_oid(arcs) == bytes.fromhex(encoded)
    assert ber.decode_oid(bytes.fromhex(encoded)) == arcs


@pytest.mark.parametrize("arcs", [(), (1,), (3, 1), (1, 40), (0, -1), (2, 16, -5)])
def test_invalid_object_identifiers_are_refused(arcs: tuple[int, ...]) -> None:
    with pytest.raises(EncodeError):
        ber.encode_oid(arcs)


@pytest.mark.parametrize(
    ("encoded", "reason"), [("", "no content"), ("6080 01", "leading zero"), ("6085", "ends inside an arc")]
)
def test_bad_object_identifiers(encoded: str, reason: str) -> None:
    with pytest.raises(DecodeError, match=reason):
        ber.decode_oid(bytes.fromhex(encoded))


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (0, "00"),
        (1, "01"),
        (127, "7F"),
        (128, "0080"),
        (256, "0100"),
        (-1, "FF"),
        (-128, "80"),
        (-129, "FF7F"),
    ],
)
def test_integers(value: int, encoded: str) -> None:
    assert ber.encode_integer(value) == bytes.fromhex(encoded)
    assert ber.decode_integer(bytes.fromhex(encoded)) == value


def test_integer_without_content() -> None:
    with pytest.raises(DecodeError, match="no content"):
        ber.decode_integer(b"")


def test_bit_string_acse_requirements() -> None:
    # acse-requirements with the authentication bit: 8A 02 07 80 (facts sheet section 4).
    assert ber.encode_bit_string(b"\x80", 7) == bytes.fromhex("0780")
    assert ber.decode_bit_string(bytes.fromhex("0780")) == (b"\x80", 7)
    assert ber.decode_bit_string(b"\x00") == (b"", 0)


@pytest.mark.parametrize(("bits", "unused"), [(b"\x80", 8), (b"\x80", -1), (b"", 1)])
def test_invalid_bit_strings_are_refused(bits: bytes, unused: int) -> None:
    with pytest.raises(EncodeError):
        ber.encode_bit_string(bits, unused)


@pytest.mark.parametrize("encoded", ["", "08FF", "01"])
def test_bad_bit_strings(encoded: str) -> None:
    with pytest.raises(DecodeError):
        ber.decode_bit_string(bytes.fromhex(encoded))


# --- properties ------------------------------------------------------------------------------------

single_byte_tags = st.integers(0, 0xFF).filter(lambda tag: tag & 0x1F != 0x1F)
high_tags = st.builds(
    lambda first, middle, last: int.from_bytes(bytes([first | 0x1F, *middle, last]), "big"),
    st.sampled_from([0x1F, 0x3F, 0x5F, 0x7F, 0x9F, 0xBF, 0xDF, 0xFF]),
    st.lists(st.integers(0x81, 0xFF), max_size=2),
    st.integers(0, 0x7F),
)
tags = st.one_of(single_byte_tags, high_tags)


@settings(max_examples=200)
@given(tag=tags, value=st.binary(max_size=300))
def test_tlv_round_trip(tag: int, value: bytes) -> None:
    raw = ber.encode_tlv(tag, value)
    assert ber.read_tlv(raw) == (tag, value, len(raw))


@settings(max_examples=100)
@given(elements=st.lists(st.tuples(tags, st.binary(max_size=40)), max_size=6))
def test_iteration_round_trip(elements: list[tuple[int, bytes]]) -> None:
    raw = b"".join(ber.encode_tlv(tag, value) for tag, value in elements)
    assert [(tag, value) for tag, value, _ in ber.iter_tlvs(raw)] == elements


@settings(max_examples=100)
@given(length=st.integers(0, 0xFFFFFFFF))
def test_length_round_trip(length: int) -> None:
    raw = ber.encode_length(length)
    assert ber.read_length(raw) == (length, len(raw))


@settings(max_examples=100)
@given(
    head=st.one_of(
        st.tuples(st.integers(0, 1), st.integers(0, 39)), st.tuples(st.just(2), st.integers(0, 1 << 40))
    ),
    tail=st.lists(st.integers(0, 1 << 64), max_size=8),
)
def test_oid_round_trip(head: tuple[int, int], tail: list[int]) -> None:
    arcs = (*head, *tail)
    assert ber.decode_oid(ber.encode_oid(arcs)) == arcs


@settings(max_examples=100)
@given(value=st.integers(-(1 << 70), 1 << 70))
def test_integer_round_trip(value: int) -> None:
    assert ber.decode_integer(ber.encode_integer(value)) == value


@settings(max_examples=100)
@given(bits=st.binary(min_size=1, max_size=20), unused=st.integers(0, 7))
def test_bit_string_round_trip(bits: bytes, unused: int) -> None:
    assert ber.decode_bit_string(ber.encode_bit_string(bits, unused)) == (bits, unused)


# --- robustness ------------------------------------------------------------------------------------

DECODERS: list[Callable[[bytes], object]] = [
    ber.read_tlv,
    ber.read_length,
    lambda data: list(ber.iter_tlvs(data)),
    ber.decode_oid,
    ber.decode_integer,
    ber.decode_bit_string,
]


@settings(max_examples=200)
@given(data=st.binary(max_size=64))
def test_random_bytes_raise_only_decode_error(data: bytes) -> None:
    for decode in DECODERS:
        with contextlib.suppress(DecodeError):
            decode(data)


def test_every_truncation_raises_decode_error() -> None:
    raw = bytes.fromhex("5F1F0400007E1F") + ber.encode_tlv(0x04, bytes(300))
    for end in range(len(raw)):
        if end in (0, 7):
            continue
        with pytest.raises(DecodeError):
            list(ber.iter_tlvs(raw[:end]))
