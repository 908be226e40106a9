"""Tests of dlmskit.link.framer (HDLC stream de-framing)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlmskit.errors import DecodeError
from dlmskit.link.crc import crc16_le
from dlmskit.link.framer import HdlcEvent, HdlcFrameReader
from dlmskit.link.hdlc_address import HdlcAddress
from dlmskit.link.hdlc_frame import Control, FrameCheckError, FrameType, HdlcFrame

# The [DEBUG][TX] / [DEBUG][RX] frames of the trace shared/seeds/001_5ff6070f446e4372.txt (a Gurux forum
# thread), bytes written without leading zeros as in the trace; the second and the ninth carry a 0x7E
# inside their information field.
SEED_LINES = [
    "7E A0 37 2 47 9 76 EC E1 E6 E6 0 CB 28 30 0 0 0 B D4 3E F4 49 2E A3 35 A6 41 68 A9 5 74 6D F7 98 43 "
    "B8 AD A5 DE 30 F5 C4 29 94 88 23 E6 80 F1 76 F8 C3 2E 2A 31 7E",
    "7E A0 25 9 2 47 96 82 87 E6 E7 0 CF 16 30 0 0 9 60 3A B1 8D E8 6A 55 4 93 60 9F D3 E3 7E 8 6D 46 "
    "4C DE 38 7E",
    "7E A0 2D 2 47 9 54 14 1B E6 E6 0 C8 1E 30 0 0 0 2 E9 F1 77 DC 3B 13 F8 6A 86 9A C1 E3 94 5E 6F A2 "
    "B5 4D AF 8E 19 18 B3 E7 E0 A0 DD 7E",
    "7E A0 3A 9 2 47 74 22 9D E6 E7 0 CC 2B 30 0 0 1 F3 3 CE 30 51 49 9D 84 D3 D4 A8 48 F0 C0 C1 3A 5D "
    "7F 75 75 CE 5C 14 57 40 FD 82 29 BB 19 E 9A 96 6E CA EC E1 93 C4 C6 EF 7E",
    "7E A0 2D 2 47 9 54 14 1B E6 E6 0 C8 1E 30 0 0 0 E 67 82 51 C2 88 F8 C2 E3 7D E 38 88 F 58 47 24 34 "
    "74 5 58 BB B7 57 36 BD E2 A9 7E",
    "7E A0 3A 9 2 47 74 22 9D E6 E7 0 CC 2B 30 0 0 2 79 FD 61 D0 D0 CD 6E 1C FB 62 EB E4 D3 A7 C7 29 ED "
    "C5 C9 C7 82 3F 79 95 EE 20 B3 21 C2 23 B5 61 22 29 BD A4 EC E1 A1 C5 99 7E",
    "7E A0 41 2 47 9 54 97 CD E6 E6 0 CB 32 30 0 0 0 2 EA F1 77 DC 3B 13 F8 6A 86 9A C1 E0 95 92 6E D2 "
    "7D 80 47 58 6F 99 9E D9 47 C7 BD 6A 84 2F 37 3 7A DC 26 AE 6D 6D C0 60 B5 46 BC 93 89 CE 44 7E",
    "7E A0 25 9 2 47 74 9E 43 E6 E7 0 CF 16 30 0 0 0 75 CB AB 1C 3E 80 A BD 1C 97 20 D4 9E 32 3 C5 A5 "
    "63 AA 79 7E",
    "7E A0 43 2 47 9 54 1F DB E6 E6 0 CB 34 30 0 0 0 2 EA F1 77 DC 3B 13 F8 6A 86 9A C1 E0 95 9B 7F D5 "
    "79 8F 4E 55 63 99 93 DC 4F CE BB 61 82 2C 34 6 79 3E 9F 7E F D6 9C 27 EC 63 45 1 38 D9 D0 40 92 7E",
    "7E A0 2E 9 2 47 74 72 4 E6 E7 0 CF 1F 30 0 0 0 88 6E A7 A2 FD E9 B1 72 65 6F 57 CC D1 9F CC 57 E3 "
    "88 C9 E5 79 22 85 50 89 36 E9 11 67 7E",
]
SEED = [bytes(int(token, 16) for token in line.split()) for line in SEED_LINES]
SEED_DECODED = [HdlcFrame.decode(data) for data in SEED]
STREAM = b"".join(SEED)

CLIENT = HdlcAddress(4)
SERVER = HdlcAddress(1, 35)
RR = HdlcFrame(SERVER, CLIENT, Control(FrameType.RR, poll_final=True, nr=3)).encode()  # no HCS
RR_DECODED = HdlcFrame.decode(RR)


def feed_chunks(data: bytes, cuts: list[int]) -> list[HdlcEvent]:
    reader = HdlcFrameReader()
    events: list[HdlcEvent] = []
    previous = 0
    for cut in [*sorted(cuts), len(data)]:
        events += reader.feed(data[previous:cut])
        previous = cut
    return events


def frames_of(events: list[HdlcEvent]) -> list[HdlcFrame]:
    return [event for event in events if isinstance(event, HdlcFrame)]


def errors_of(events: list[HdlcEvent]) -> list[DecodeError]:
    return [event for event in events if isinstance(event, DecodeError)]


def summary(events: list[HdlcEvent]) -> list[object]:
    """Events in a comparable form (exceptions do not compare equal)."""
    return [event if isinstance(event, HdlcFrame) else (type(event), str(event)) for event in events]


def test_whole_stream_at_once() -> None:
    reader = HdlcFrameReader()
    assert reader.feed(STREAM) == SEED_DECODED
    assert reader.buffered == 1  # the last closing flag, which may open the next frame


def test_byte_by_byte() -> None:
    assert feed_chunks(STREAM, list(range(len(STREAM)))) == SEED_DECODED


@settings(max_examples=100)
@given(st.lists(st.integers(0, len(STREAM)), max_size=40))
def test_random_chunkings(cuts: list[int]) -> None:
    assert feed_chunks(STREAM, cuts) == SEED_DECODED


def test_shared_flags() -> None:
    # 7E frame 7E frame 7E: the closing flag of one frame opens the next.
    shared = SEED[0] + b"".join(data[1:] for data in SEED[1:])
    assert HdlcFrameReader().feed(shared) == SEED_DECODED
    assert feed_chunks(shared, list(range(len(shared)))) == SEED_DECODED


def test_runs_of_flags_between_frames() -> None:
    stream = b"\x7e\x7e\x7e" + SEED[0] + b"\x7e" * 5 + RR + b"\x7e\x7e" + SEED[1]
    assert HdlcFrameReader().feed(stream) == [SEED_DECODED[0], RR_DECODED, SEED_DECODED[1]]


def test_frame_without_information() -> None:
    assert feed_chunks(RR + RR[1:], [3, 9]) == [RR_DECODED, RR_DECODED]


def test_partial_frame_is_kept_then_reset() -> None:
    reader = HdlcFrameReader()
    assert reader.feed(SEED[0][:20]) == []
    assert reader.buffered == 20
    reader.reset()
    assert reader.buffered == 0
    assert reader.feed(SEED[0][20:] + SEED[1]) == [SEED_DECODED[1]]


def without_frame_start(data: bytes) -> bytes:
    """Garbage with no flag, and not starting with a format byte (it may follow a closing flag)."""
    data = data.replace(b"\x7e", b"\x7d")
    return b"\x00" + data if data[:1] and data[0] >> 4 == 0xA else data


no_flag_garbage = st.binary(max_size=30).map(without_frame_start)


@settings(max_examples=100)
@given(
    st.lists(no_flag_garbage, min_size=len(SEED) + 1, max_size=len(SEED) + 1), st.lists(st.integers(0, 900))
)
def test_garbage_between_frames(garbage: list[bytes], cuts: list[int]) -> None:
    stream = garbage[0] + b"".join(frame + junk for frame, junk in zip(SEED, garbage[1:], strict=True))
    assert feed_chunks(stream, cuts) == SEED_DECODED


@settings(max_examples=100)
@given(st.lists(st.binary(max_size=20), min_size=len(SEED), max_size=len(SEED)))
def test_garbage_with_flags_between_frames(garbage: list[bytes]) -> None:
    # Garbage may itself contain flags and look like the start of a frame: errors may be reported,
    # but every real frame still comes out, in order (a false frame would need a matching CRC).
    stream = b"".join(frame + junk + b"\x7e" for frame, junk in zip(SEED, garbage, strict=True))
    events = HdlcFrameReader().feed(stream)
    assert frames_of(events) == SEED_DECODED
    assert all(isinstance(error, FrameCheckError) for error in errors_of(events))


def corrupt(data: bytes, index: int, xor: int) -> bytes:
    return data[:index] + bytes((data[index] ^ xor,)) + data[index + 1 :]


@pytest.mark.parametrize("victim", range(len(SEED)))
def test_one_corrupted_byte(victim: int) -> None:
    """Damage every byte between the flags of one frame in turn (bit 0 or bit 7): the frame is
    dropped, every other frame still comes out. Unless the damage hits the format field or an address
    extension bit (which may make the frame look like noise), it is reported as exactly one
    FrameCheckError, in the frame's place."""
    others = SEED_DECODED[:victim] + SEED_DECODED[victim + 1 :]
    frame = SEED[victim]
    for index in range(1, len(frame) - 1):
        for xor in (0x01, 0x80):
            damaged = [*SEED[:victim], corrupt(frame, index, xor), *SEED[victim + 1 :]]
            events = HdlcFrameReader().feed(b"".join(damaged))
            assert frames_of(events) == others, (index, xor)
            structure = index in (1, 2) or (index in (3, 4, 5) and xor == 0x01)  # all seed addresses: 3..5
            if not structure:
                assert [type(error) for error in errors_of(events)] == [FrameCheckError], (index, xor)
                assert events.index(errors_of(events)[0]) == victim


def test_corrupted_frame_without_hcs() -> None:
    stream = RR + corrupt(RR, 5, 0x10) + RR
    events = HdlcFrameReader().feed(stream)
    # This RR's FCS contains a 0x7E byte (7E 2B): after the damaged frame, reading resumes right after
    # its opening flag and must not take that byte for the start of a frame.
    assert RR[-3] == 0x7E
    assert len(events) == 3
    assert events[0] == RR_DECODED and events[2] == RR_DECODED
    assert isinstance(events[1], FrameCheckError)


def test_corrupted_length_reported_before_the_rest_arrives() -> None:
    # The length byte says 0x137 instead of 0x37: the HCS catches it as soon as the header is in,
    # without waiting for 0x137 bytes.
    damaged = corrupt(SEED[0], 1, 0x01)
    reader = HdlcFrameReader()
    events = reader.feed(damaged[:11])
    assert [type(event) for event in events] == [FrameCheckError]
    assert reader.feed(damaged[11:] + SEED[1]) == [SEED_DECODED[1]]


def test_lost_bytes_reported() -> None:
    # Two bytes of the information field lost on the line: the header is fine but the closing flag
    # is not where the length says.
    truncated = SEED[0][:20] + SEED[0][22:]
    events = HdlcFrameReader().feed(truncated + SEED[1])
    assert [type(event) for event in events] == [FrameCheckError, HdlcFrame]
    assert "closing flag" in str(events[0])
    assert events[1] == SEED_DECODED[1]


def test_valid_crc_but_unknown_control_is_reported() -> None:
    contents = bytes.fromhex("A0 07 03 21 09")  # REJ: not used by DLMS/COSEM
    rej = b"\x7e" + contents + crc16_le(contents) + b"\x7e"
    events = HdlcFrameReader().feed(rej + RR)
    assert isinstance(events[0], DecodeError) and not isinstance(events[0], FrameCheckError)
    assert events[1:] == [RR_DECODED]


def test_large_transfer() -> None:
    # A 64 KiB APDU in 33 segments of 2030 bytes, fed in 1000-byte chunks.
    apdu = bytes(range(256)) * 256
    pieces = [apdu[start : start + 2030] for start in range(0, len(apdu), 2030)]
    frames = [
        HdlcFrame(CLIENT, SERVER, Control(FrameType.I, ns=n % 8), piece, segmented=n < len(pieces) - 1)
        for n, piece in enumerate(pieces)
    ]
    stream = b"".join(frame.encode() for frame in frames)
    events = feed_chunks(stream, list(range(1000, len(stream), 1000)))
    assert events == frames
    assert b"".join(frame.information for frame in frames_of(events)) == apdu


def test_buffer_stays_bounded() -> None:
    reader = HdlcFrameReader()
    # Flags followed by the largest length, never completed: at most one frame is held.
    noise = (b"\x7e\xa7\xff" + bytes(61)) * 200
    for start in range(0, len(noise), 512):
        reader.feed(noise[start : start + 512])
        assert reader.buffered <= 2049
    reader.feed(bytes(5000))
    assert reader.buffered == 0


@settings(max_examples=200)
@given(st.binary(max_size=300), st.lists(st.integers(0, 300), max_size=10))
def test_random_bytes_never_raise(data: bytes, cuts: list[int]) -> None:
    events = feed_chunks(data, cuts)
    assert all(isinstance(event, HdlcFrame | DecodeError) for event in events)


stream_parts = st.one_of(
    st.sampled_from(SEED),
    st.just(RR),
    st.binary(max_size=12),
    st.sampled_from(SEED).flatmap(
        lambda frame: st.tuples(st.integers(1, len(frame) - 2), st.integers(1, 255)).map(
            lambda damage: corrupt(frame, *damage)
        )
    ),
    st.sampled_from(SEED).flatmap(lambda frame: st.integers(1, len(frame) - 1).map(lambda cut: frame[:cut])),
)


@settings(max_examples=150)
@given(st.lists(stream_parts, max_size=8), st.lists(st.integers(0, 600), max_size=12))
def test_result_does_not_depend_on_chunking(parts: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(parts)
    assert summary(feed_chunks(stream, cuts)) == summary(HdlcFrameReader().feed(stream))


@settings(max_examples=150)
@given(st.lists(stream_parts, max_size=8))
def test_one_part_per_chunk_as_the_whole_stream(parts: list[bytes]) -> None:
    """A chunk that is one whole frame (the usual TCP read) takes a shortcut: it gives what the search
    through the whole stream gives, and leaves the same bytes pending."""
    reader = HdlcFrameReader()
    events: list[HdlcEvent] = []
    for part in parts:
        events += reader.feed(part)
    whole = HdlcFrameReader()
    assert summary(events) == summary(whole.feed(b"".join(parts)))
    assert reader.buffered == whole.buffered
    assert summary(reader.feed(SEED[0])) == summary(whole.feed(SEED[0]))


def test_frame_by_frame_keeps_the_closing_flag() -> None:
    reader = HdlcFrameReader()
    for data, frame in zip(SEED, SEED_DECODED, strict=True):
        assert reader.feed(data) == [frame]
        assert reader.buffered == 1  # the closing flag, which may open the next frame
    assert reader.feed(memoryview(SEED[0])) == [SEED_DECODED[0]]
    assert reader.feed(bytearray(RR)) == [RR_DECODED]
