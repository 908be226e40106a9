"""Tests of dlmskit.link.wrapper (IEC 62056-47)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlmskit.errors import DecodeError, EncodeError
from dlmskit.link.wrapper import (
    CLIENT_MANAGEMENT_WPORT,
    CLIENT_PUBLIC_WPORT,
    DLMS_PORT,
    HEADER_LENGTH,
    MANAGEMENT_LOGICAL_DEVICE_WPORT,
    WrapperEvent,
    WrapperFrame,
    WrapperFrameReader,
)

# Plain LN AARQ of shared/reference/dlms-facts.md section 5 (31 bytes), from the public client (wPort 16)
# to the management logical device (wPort 1); header hand-computed: 0001 0010 0001 001F.
AARQ = bytes.fromhex("601DA109060760857405080101BE10040E01000000065F1F0400007E1F04B0")
AARQ_FRAME = WrapperFrame(CLIENT_PUBLIC_WPORT, MANAGEMENT_LOGICAL_DEVICE_WPORT, AARQ)
AARQ_WIRE = bytes.fromhex("0001 0010 0001 001F") + AARQ
# RLRQ (dlms-facts.md section 5) from the management client, and an empty APDU, hand-computed.
RLRQ_FRAME = WrapperFrame(
    CLIENT_MANAGEMENT_WPORT, MANAGEMENT_LOGICAL_DEVICE_WPORT, bytes.fromhex("6203800100")
)
RLRQ_WIRE = bytes.fromhex("0001 0001 0001 0005 6203800100")
EMPTY_FRAME = WrapperFrame(1, 16, b"")
EMPTY_WIRE = bytes.fromhex("0001 0001 0010 0000")
STREAM = AARQ_WIRE + RLRQ_WIRE + EMPTY_WIRE
FRAMES = [AARQ_FRAME, RLRQ_FRAME, EMPTY_FRAME]


def test_constants() -> None:
    assert (DLMS_PORT, HEADER_LENGTH, CLIENT_PUBLIC_WPORT, CLIENT_MANAGEMENT_WPORT) == (4059, 8, 16, 1)


@pytest.mark.parametrize(
    ("frame", "wire"), [(AARQ_FRAME, AARQ_WIRE), (RLRQ_FRAME, RLRQ_WIRE), (EMPTY_FRAME, EMPTY_WIRE)]
)
def test_vectors(frame: WrapperFrame, wire: bytes) -> None:
    assert frame.encode() == wire
    assert WrapperFrame.decode(wire) == frame
    assert WrapperFrame.decode(memoryview(wire)) == frame


@pytest.mark.parametrize(
    ("wire", "message"),
    [
        ("0002 0010 0001 0000", "version"),
        ("0001 0010 0001", "truncated"),
        ("0001 0010 0001 0002 C0", "length does not match"),
        ("0001 0010 0001 0001 C0 01", "length does not match"),
    ],
)
def test_malformed_datagrams(wire: str, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        WrapperFrame.decode(bytes.fromhex(wire))


@pytest.mark.parametrize(("source", "dest", "apdu_length"), [(-1, 1, 0), (1, 0x10000, 0), (1, 1, 0x10000)])
def test_unencodable(source: int, dest: int, apdu_length: int) -> None:
    with pytest.raises(EncodeError):
        WrapperFrame(source, dest, bytes(apdu_length))


def feed_chunks(reader: WrapperFrameReader, data: bytes, cuts: list[int]) -> list[WrapperEvent]:
    events: list[WrapperEvent] = []
    previous = 0
    for cut in [*sorted(cuts), len(data)]:
        events += reader.feed(data[previous:cut])
        previous = cut
    return events


def test_reader_whole_stream() -> None:
    assert WrapperFrameReader().feed(STREAM) == FRAMES


def test_reader_byte_by_byte() -> None:
    assert feed_chunks(WrapperFrameReader(), STREAM, list(range(len(STREAM)))) == FRAMES


@settings(max_examples=100)
@given(st.lists(st.integers(0, len(STREAM)), max_size=20))
def test_reader_random_chunkings(cuts: list[int]) -> None:
    assert feed_chunks(WrapperFrameReader(), STREAM, cuts) == FRAMES


def test_reader_large_apdu() -> None:
    frame = WrapperFrame(1, 16, bytes(range(256)) * 255)
    wire = frame.encode()
    reader = WrapperFrameReader()
    assert feed_chunks(reader, wire * 2, list(range(1460, 2 * len(wire), 1460))) == [frame, frame]


def test_reader_bad_version_stops_the_stream() -> None:
    reader = WrapperFrameReader()
    events = reader.feed(AARQ_WIRE + b"\x00\x02" + RLRQ_WIRE[2:])
    assert events[0] == AARQ_FRAME
    assert isinstance(events[1], DecodeError) and "version" in str(events[1])
    assert len(events) == 2
    assert reader.failed
    assert reader.feed(RLRQ_WIRE) == []
    reader.reset()
    assert not reader.failed
    assert reader.feed(RLRQ_WIRE) == [RLRQ_FRAME]


def test_reader_length_cap_reported_from_the_header() -> None:
    reader = WrapperFrameReader(max_apdu_length=30)
    events = reader.feed(AARQ_WIRE[:HEADER_LENGTH])  # announces 31 bytes
    assert len(events) == 1 and isinstance(events[0], DecodeError)
    assert "longer than allowed" in str(events[0])
    assert reader.failed


def test_reader_partial_header_waits() -> None:
    reader = WrapperFrameReader()
    assert reader.feed(AARQ_WIRE[:5]) == []
    assert reader.feed(AARQ_WIRE[5:]) == [AARQ_FRAME]


wports = st.integers(0, 0xFFFF)
frames = st.builds(WrapperFrame, wports, wports, st.binary(max_size=3000))


@settings(max_examples=150)
@given(frames)
def test_round_trip(frame: WrapperFrame) -> None:
    wire = frame.encode()
    assert len(wire) == HEADER_LENGTH + len(frame.apdu)
    assert WrapperFrame.decode(wire) == frame


@settings(max_examples=100)
@given(st.lists(frames, max_size=5), st.lists(st.integers(0, 15000), max_size=10))
def test_reader_round_trip(sent: list[WrapperFrame], cuts: list[int]) -> None:
    stream = b"".join(frame.encode() for frame in sent)
    assert feed_chunks(WrapperFrameReader(), stream, cuts) == sent


@settings(max_examples=200)
@given(st.binary(max_size=40), st.lists(st.integers(0, 40), max_size=5))
def test_random_bytes(data: bytes, cuts: list[int]) -> None:
    with contextlib.suppress(DecodeError):
        WrapperFrame.decode(data)
    events = feed_chunks(WrapperFrameReader(), data, cuts)
    assert all(isinstance(event, WrapperFrame | DecodeError) for event in events)
    assert all(isinstance(event, WrapperFrame) for event in events[:-1])


def test_truncations_raise_decode_error() -> None:
    for cut in range(len(AARQ_WIRE)):
        with pytest.raises(DecodeError):
            WrapperFrame.decode(AARQ_WIRE[:cut])
