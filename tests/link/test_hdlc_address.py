"""Tests of dlmskit.link.hdlc_address."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlmskit.errors import DecodeError, EncodeError
from dlmskit.link.hdlc_address import (
    ALL_STATION,
    ALL_STATION_14_BIT,
    CLIENT_MANAGEMENT,
    CLIENT_PUBLIC,
    MANAGEMENT_LOGICAL_DEVICE,
    HdlcAddress,
    decode_address,
)


@pytest.mark.parametrize(
    ("address", "encoded"),
    [
        # Trace shared/seeds/001 (dlms-facts.md section 6): client 4, server logical 1 / physical 35.
        (HdlcAddress(4), "09"),
        (HdlcAddress(1, 35), "02 47"),
        # Classic SNRM 7E A0 07 03 21 93 0F 01 7E (Gurux gxdlms-go tests): server 1 (1 byte), public client.
        (HdlcAddress(MANAGEMENT_LOGICAL_DEVICE), "03"),
        (HdlcAddress(CLIENT_PUBLIC), "21"),
        (HdlcAddress(CLIENT_MANAGEMENT), "03"),
        # Hand-computed: 4-byte addressing, upper 1 -> 00 02, lower 17 -> 00 23.
        (HdlcAddress(1, 17, 4), "00 02 00 23"),
        # Hand-computed: 14-bit parts split 7 + 7 bits, most significant first.
        (HdlcAddress(0x3FFF, 0x1234, 4), "FE FE 48 69"),
        (HdlcAddress(1, 0x123), "00 02 04 47"),
        (HdlcAddress(ALL_STATION), "FF"),
    ],
)
def test_vectors(address: HdlcAddress, encoded: str) -> None:
    data = bytes.fromhex(encoded)
    assert address.encode() == data
    assert HdlcAddress.decode(data) == address


def test_seed_reverse_direction() -> None:
    # Server -> client frames in shared/seeds/001 carry 09 02 47: destination client 4, source 1/35.
    data = bytes.fromhex("09 02 47")
    dest, offset = decode_address(data, 0)
    src, offset = decode_address(data, offset)
    assert (dest, src, offset) == (HdlcAddress(4), HdlcAddress(1, 35, 2), 3)


def test_shortest_size_by_default() -> None:
    assert HdlcAddress(16).size == 1
    assert HdlcAddress(1, 0x7F).size == 2
    assert HdlcAddress(1, 0x80).size == 4
    assert HdlcAddress(0x80, 1).size == 4
    assert HdlcAddress(1, 35) == HdlcAddress(1, 35, 2)
    assert HdlcAddress(1, 35) != HdlcAddress(1, 35, 4)


def test_all_station() -> None:
    assert HdlcAddress(ALL_STATION).is_all_station
    assert HdlcAddress(1, ALL_STATION).is_all_station
    assert HdlcAddress(ALL_STATION_14_BIT, 0x20, 4).is_all_station
    assert not HdlcAddress(1, ALL_STATION, 4).is_all_station
    assert not HdlcAddress(1, 35).is_all_station


@pytest.mark.parametrize(
    ("logical", "physical", "size"),
    [
        (1, 17, 3),
        (1, 17, 1),
        (1, None, 2),
        (1, None, 4),
        (0x80, None, 0),
        (0x80, 1, 2),
        (0x4000, 1, 0),
        (1, 0x4000, 4),
        (-1, None, 0),
    ],
)
def test_unencodable_addresses(logical: int, physical: int | None, size: int) -> None:
    with pytest.raises(EncodeError):
        HdlcAddress(logical, physical, size)


@pytest.mark.parametrize(
    "encoded",
    [
        "",  # nothing
        "02",  # not terminated, truncated
        "02 04 07",  # 3 bytes
        "02 04 06 08 0B",  # longer than 4 bytes
        "03 00",  # trailing byte
    ],
)
def test_malformed(encoded: str) -> None:
    with pytest.raises(DecodeError):
        HdlcAddress.decode(bytes.fromhex(encoded))


_7_BITS = st.integers(0, 0x7F)
_14_BITS = st.integers(0, 0x3FFF)
addresses = st.one_of(
    st.builds(HdlcAddress, _7_BITS, st.none(), st.just(1)),
    st.builds(HdlcAddress, _7_BITS, _7_BITS, st.just(2)),
    st.builds(HdlcAddress, _14_BITS, _14_BITS, st.just(4)),
)


@settings(max_examples=200)
@given(addresses)
def test_round_trip(address: HdlcAddress) -> None:
    encoded = address.encode()
    assert len(encoded) == address.size
    assert all(byte & 1 == 0 for byte in encoded[:-1]) and encoded[-1] & 1
    assert HdlcAddress.decode(encoded) == address
    assert decode_address(b"\x00" + encoded + b"\xff", 1) == (address, 1 + address.size)


@settings(max_examples=200)
@given(st.binary(max_size=8))
def test_random_bytes_raise_only_decode_error(data: bytes) -> None:
    try:
        address = HdlcAddress.decode(data)
    except DecodeError:
        return
    assert address.encode() == data


@settings(max_examples=50)
@given(addresses)
def test_truncations_raise_decode_error(address: HdlcAddress) -> None:
    encoded = address.encode()
    for cut in range(len(encoded)):
        with pytest.raises(DecodeError):
            HdlcAddress.decode(encoded[:cut])


def test_gurux_combined_server_address_is_split_as_gurux_builds_it() -> None:
    # Gurux.DLMS.Net GXDLMSClient.GetServerAddress / GXDLMS.GetHdlcAddress: below 0x80 a 1-byte address,
    # below 0x4000 logical << 7 | physical (2 bytes), else logical << 14 | physical (4 bytes).
    from dlmskit.link.hdlc_address import split_combined_server_address

    assert split_combined_server_address(145) == HdlcAddress(1, 17, 2)
    assert split_combined_server_address(145).encode() == bytes.fromhex("0223")
    assert split_combined_server_address(1) == HdlcAddress(1, None, 1)
    assert split_combined_server_address((1 << 14) | 17) == HdlcAddress(1, 17, 4)
    assert split_combined_server_address((0x3FFF << 14) | 0x3FFF) == HdlcAddress(0x3FFF, 0x3FFF, 4)
    for bad in (0, -1, 0x10000000):
        with pytest.raises(EncodeError):
            split_combined_server_address(bad)


@settings(max_examples=300)
@given(data=st.binary(max_size=7), offset=st.integers(0, 3))
def test_remembered_addresses_decode_as_the_first_time(data: bytes, offset: int) -> None:
    """decode_address remembers the addresses it met: the second decode of the same bytes (and of the same
    address bytes followed by anything) gives what the table-free decoder gives, errors included."""
    from dlmskit.link.hdlc_address import _decode_address, decode_address

    def outcome(decoder: object) -> object:
        try:
            return decoder(data, offset)  # type: ignore[operator]
        except DecodeError as error:
            return str(error)

    expected = outcome(_decode_address)
    assert outcome(decode_address) == expected
    assert outcome(decode_address) == expected


def test_encoded_address_is_encode() -> None:
    from dlmskit.link.hdlc_address import encoded_address

    for address in (HdlcAddress(1), HdlcAddress(1, 17), HdlcAddress(1, 0x3FFF, 4), HdlcAddress(0x10)):
        assert encoded_address(address) == address.encode() == encoded_address(address)
