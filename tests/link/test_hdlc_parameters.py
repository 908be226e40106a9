"""Tests of dlmskit.link.hdlc_parameters."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlmskit.errors import DecodeError, EncodeError
from dlmskit.link.hdlc_parameters import (
    DEFAULT_MAX_INFO_LENGTH,
    DEFAULT_WINDOW_SIZE,
    MAX_INFO_LENGTH,
    MAX_WINDOW_SIZE,
    HdlcParameters,
    negotiate,
)


@pytest.mark.parametrize(
    ("encoded", "parameters"),
    [
        # Largest values of IEC 62056-46, as widely sent by clients (2030 = 0x07EE, windows in 4 bytes).
        (
            "81 80 14 05 02 07 EE 06 02 07 EE 07 04 00 00 00 07 08 04 00 00 00 07",
            HdlcParameters(2030, 2030, 7, 7),
        ),
        # Defaults with 4-byte windows: the SNRM information field widely seen in traces.
        ("81 80 12 05 01 80 06 01 80 07 04 00 00 00 01 08 04 00 00 00 01", HdlcParameters()),
        # UA of Gurux/GuruxDLMS.c issue #1: 256-byte information fields, window 1.
        (
            "81 80 14 05 02 01 00 06 02 01 00 07 04 00 00 00 01 08 04 00 00 00 01",
            HdlcParameters(256, 256, 1, 1),
        ),
        # Hand-built: only some parameters present, the others keep their defaults.
        ("81 80 03 06 01 40", HdlcParameters(max_info_rx=64)),
        ("81 80 06 07 01 03 05 01 20", HdlcParameters(max_info_tx=32, window_tx=3)),
        # Hand-built: an empty negotiation group, an empty field (no negotiation at all).
        ("81 80 00", HdlcParameters()),
        ("", HdlcParameters()),
        # Hand-built: values larger than the standard allows are decoded as they are.
        ("81 80 09 05 04 00 01 00 00 08 01 09", HdlcParameters(max_info_tx=0x10000, window_rx=9)),
        # Hand-built: an unknown parameter and a user data group (F0) are skipped.
        ("81 80 03 09 01 01 F0 02 AA BB 80 03 05 01 20", HdlcParameters(max_info_tx=32)),
    ],
)
def test_decode_vectors(encoded: str, parameters: HdlcParameters) -> None:
    assert HdlcParameters.decode(bytes.fromhex(encoded)) == parameters


@pytest.mark.parametrize(
    ("parameters", "encoded"),
    [
        # Hand-computed: every value in its shortest form, the group length 0x0C counting the 4 TLVs.
        (HdlcParameters(), "81 80 0C 05 01 80 06 01 80 07 01 01 08 01 01"),
        (HdlcParameters(2030, 512, 7, 1), "81 80 0E 05 02 07 EE 06 02 02 00 07 01 07 08 01 01"),
        (HdlcParameters(0x10000, 0xFF, 1, 0x100), "81 80 10 05 04 00 01 00 00 06 01 FF 07 01 01 08 02 01 00"),
    ],
)
def test_encode_vectors(parameters: HdlcParameters, encoded: str) -> None:
    assert parameters.encode() == bytes.fromhex(encoded)
    assert HdlcParameters.decode(parameters.encode()) == parameters


def test_defaults_and_limits() -> None:
    assert (DEFAULT_MAX_INFO_LENGTH, DEFAULT_WINDOW_SIZE, MAX_INFO_LENGTH, MAX_WINDOW_SIZE) == (
        128,
        1,
        2030,
        7,
    )


def test_negotiate_takes_the_smaller_value_per_direction() -> None:
    client = HdlcParameters(max_info_tx=512, max_info_rx=1024, window_tx=1, window_rx=7)
    server = HdlcParameters(max_info_tx=256, max_info_rx=2030, window_tx=3, window_rx=1)
    agreed = negotiate(client, server)
    # Server's point of view: it transmits what the client can receive, and the other way round.
    assert agreed == HdlcParameters(max_info_tx=256, max_info_rx=512, window_tx=3, window_rx=1)
    assert agreed.swapped() == HdlcParameters(max_info_tx=512, max_info_rx=256, window_tx=1, window_rx=3)


def test_negotiate_clamps_to_the_standard() -> None:
    big = HdlcParameters(4096, 4096, 127, 127)
    assert negotiate(big, big) == HdlcParameters(
        MAX_INFO_LENGTH, MAX_INFO_LENGTH, MAX_WINDOW_SIZE, MAX_WINDOW_SIZE
    )


def test_negotiate_defaults() -> None:
    # An empty SNRM information field against a capable server gives the defaults.
    server = HdlcParameters(2030, 2030, 7, 7)
    assert negotiate(HdlcParameters.decode(b""), server) == HdlcParameters()


@pytest.mark.parametrize("field", ["max_info_tx", "max_info_rx", "window_tx", "window_rx"])
@pytest.mark.parametrize("value", [0, -1, 0x1_0000_0000])
def test_out_of_range_values(field: str, value: int) -> None:
    with pytest.raises(EncodeError):
        HdlcParameters(**{field: value})


@pytest.mark.parametrize(
    ("encoded", "message"),
    [
        ("82 80 00", "format identifier"),
        ("81 80", "truncated HDLC group header"),
        ("81 80 04 05 01 80", "HDLC group longer"),
        ("81 80 02 05 01", "HDLC parameter longer"),
        ("81 80 01 05", "truncated HDLC parameter header"),
        ("81 80 07 05 05 00 00 00 00 80", "value length"),
        ("81 80 02 05 00", "value length"),
        ("81 80 03 07 01 00", "is 0"),
    ],
)
def test_malformed(encoded: str, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        HdlcParameters.decode(bytes.fromhex(encoded))


values = st.integers(1, 0xFFFF_FFFF)
parameters = st.builds(HdlcParameters, values, values, values, values)


@settings(max_examples=200)
@given(parameters)
def test_round_trip(parameters: HdlcParameters) -> None:
    assert HdlcParameters.decode(parameters.encode()) == parameters


@settings(max_examples=100)
@given(parameters, parameters)
def test_negotiate_properties(client: HdlcParameters, server: HdlcParameters) -> None:
    agreed = negotiate(client, server)
    assert agreed.max_info_tx <= min(client.max_info_rx, server.max_info_tx, MAX_INFO_LENGTH)
    assert agreed.max_info_rx <= min(client.max_info_tx, server.max_info_rx, MAX_INFO_LENGTH)
    assert agreed.window_tx <= min(client.window_rx, server.window_tx, MAX_WINDOW_SIZE)
    assert agreed.window_rx <= min(client.window_tx, server.window_rx, MAX_WINDOW_SIZE)
    assert negotiate(agreed.swapped(), agreed) == agreed


@settings(max_examples=200)
@given(st.binary(max_size=30))
def test_random_bytes_raise_only_decode_error(data: bytes) -> None:
    for candidate in (data, b"\x81\x80" + bytes((len(data),)) + data):
        with contextlib.suppress(DecodeError):
            HdlcParameters.decode(candidate)


def test_truncations_raise_decode_error() -> None:
    encoded = HdlcParameters(2030, 2030, 7, 7).encode()
    for cut in range(2, len(encoded)):
        with pytest.raises(DecodeError):
            HdlcParameters.decode(encoded[:cut])


@settings(max_examples=100)
@given(parameters, parameters)
def test_remembered_results_are_the_computed_ones(first: HdlcParameters, second: HdlcParameters) -> None:
    """encode, decode and negotiate remember their results (immutable values): the same as computed anew,
    the first time and the next."""
    from dlmskit.link import hdlc_parameters as module

    for _ in range(2):
        encoded = first.encode()
        assert encoded == first._encode()
        assert HdlcParameters.decode(encoded) == HdlcParameters._decode(encoded) == first
        assert (
            HdlcParameters.decode(bytearray(encoded)) == HdlcParameters.decode(memoryview(encoded)) == first
        )
        assert negotiate(first, second) == module._negotiate(first, second)
        assert negotiate(second, first) == module._negotiate(second, first)


def test_errors_are_not_remembered() -> None:
    for _ in range(2):
        with pytest.raises(DecodeError, match="is 0"):
            HdlcParameters.decode(bytes.fromhex("81 80 03 05 01 00"))


def test_without_room_to_remember(monkeypatch: pytest.MonkeyPatch) -> None:
    from dlmskit.link import hdlc_parameters as module

    monkeypatch.setattr(module, "_REMEMBERED", 0)
    for name in ("_ENCODED", "_DECODED", "_NEGOTIATED"):
        monkeypatch.setattr(module, name, {})
    proposal = HdlcParameters(2030, 2030, 7, 7)
    assert HdlcParameters.decode(proposal.encode()) == proposal
    assert negotiate(proposal, HdlcParameters()) == HdlcParameters()
    assert not module._ENCODED and not module._DECODED and not module._NEGOTIATED
