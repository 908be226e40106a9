"""Tests of dlmskit.link.hdlc_frame."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlmskit.errors import DecodeError, EncodeError
from dlmskit.link.crc import crc16_le
from dlmskit.link.hdlc_address import HdlcAddress
from dlmskit.link.hdlc_frame import (
    LLC_REQUEST,
    LLC_RESPONSE,
    Control,
    FrameCheckError,
    FrameType,
    HdlcFrame,
    decode_intact,
    encode_frame,
    remove_llc,
    segment,
)

# Every [DEBUG][TX] / [DEBUG][RX] frame of the trace shared/seeds/001_5ff6070f446e4372.txt (a Gurux
# forum thread), as printed there: hex bytes without leading zeros. Their HCS and FCS check
# (shared/reference/dlms-facts.md section 6).
SEED_FRAMES = [
    "7E A0 37 2 47 9 76 EC E1 E6 E6 0 CB 28 30 0 0 0 B D4 3E F4 49 2E A3 35 A6 41 "
    "68 A9 5 74 6D F7 98 43 B8 AD A5 DE 30 F5 C4 29 94 88 23 E6 80 F1 76 F8 C3 2E 2A 31 "
    "7E",
    "7E A0 25 9 2 47 96 82 87 E6 E7 0 CF 16 30 0 0 9 60 3A B1 8D E8 6A 55 4 93 60 "
    "9F D3 E3 7E 8 6D 46 4C DE 38 7E",
    "7E A0 2D 2 47 9 54 14 1B E6 E6 0 C8 1E 30 0 0 0 2 E9 F1 77 DC 3B 13 F8 6A 86 "
    "9A C1 E3 94 5E 6F A2 B5 4D AF 8E 19 18 B3 E7 E0 A0 DD 7E",
    "7E A0 3A 9 2 47 74 22 9D E6 E7 0 CC 2B 30 0 0 1 F3 3 CE 30 51 49 9D 84 D3 D4 "
    "A8 48 F0 C0 C1 3A 5D 7F 75 75 CE 5C 14 57 40 FD 82 29 BB 19 E 9A 96 6E CA EC E1 93 "
    "C4 C6 EF 7E",
    "7E A0 2D 2 47 9 54 14 1B E6 E6 0 C8 1E 30 0 0 0 E 67 82 51 C2 88 F8 C2 E3 7D "
    "E 38 88 F 58 47 24 34 74 5 58 BB B7 57 36 BD E2 A9 7E",
    "7E A0 3A 9 2 47 74 22 9D E6 E7 0 CC 2B 30 0 0 2 79 FD 61 D0 D0 CD 6E 1C FB 62 "
    "EB E4 D3 A7 C7 29 ED C5 C9 C7 82 3F 79 95 EE 20 B3 21 C2 23 B5 61 22 29 BD A4 EC E1 "
    "A1 C5 99 7E",
    "7E A0 41 2 47 9 54 97 CD E6 E6 0 CB 32 30 0 0 0 2 EA F1 77 DC 3B 13 F8 6A 86 "
    "9A C1 E0 95 92 6E D2 7D 80 47 58 6F 99 9E D9 47 C7 BD 6A 84 2F 37 3 7A DC 26 AE 6D "
    "6D C0 60 B5 46 BC 93 89 CE 44 7E",
    "7E A0 25 9 2 47 74 9E 43 E6 E7 0 CF 16 30 0 0 0 75 CB AB 1C 3E 80 A BD 1C 97 "
    "20 D4 9E 32 3 C5 A5 63 AA 79 7E",
    "7E A0 43 2 47 9 54 1F DB E6 E6 0 CB 34 30 0 0 0 2 EA F1 77 DC 3B 13 F8 6A 86 "
    "9A C1 E0 95 9B 7F D5 79 8F 4E 55 63 99 93 DC 4F CE BB 61 82 2C 34 6 79 3E 9F 7E F "
    "D6 9C 27 EC 63 45 1 38 D9 D0 40 92 7E",
    "7E A0 2E 9 2 47 74 72 4 E6 E7 0 CF 1F 30 0 0 0 88 6E A7 A2 FD E9 B1 72 65 6F "
    "57 CC D1 9F CC 57 E3 88 C9 E5 79 22 85 50 89 36 E9 11 67 7E",
]
# (N(S), N(R)) of each seed frame, read from its control byte (76, 96, 54, 74, ...), poll/final always set.
SEED_SEQUENCE = [(3, 3), (3, 4), (2, 2), (2, 3), (2, 2), (2, 3), (2, 2), (2, 3), (2, 2), (2, 3)]

CLIENT = HdlcAddress(4)
SERVER = HdlcAddress(1, 35)


def trace_bytes(line: str) -> bytes:
    return bytes(int(token, 16) for token in line.split())


@pytest.mark.parametrize(("index", "line"), list(enumerate(SEED_FRAMES)))
def test_seed_frames(index: int, line: str) -> None:
    data = trace_bytes(line)
    frame = HdlcFrame.decode(data)
    request = index % 2 == 0  # TX lines (client -> server) alternate with RX lines
    assert (frame.dest, frame.src) == ((SERVER, CLIENT) if request else (CLIENT, SERVER))
    ns, nr = SEED_SEQUENCE[index]
    assert frame.control == Control(FrameType.I, poll_final=True, ns=ns, nr=nr)
    assert not frame.segmented
    apdu = remove_llc(frame.information, LLC_REQUEST if request else LLC_RESPONSE)
    # glo-get-request C8 / glo-action-request CB, answered by glo-get-response CC / glo-action-response CF,
    # each ciphered with security control 0x30.
    assert apdu[0] in ((0xC8, 0xCB) if request else (0xCC, 0xCF))
    assert apdu[1] == len(apdu) - 2
    assert apdu[2] == 0x30
    assert frame.encode() == data


def test_seed_frame_with_flag_byte_in_information() -> None:
    # The second seed frame carries a 0x7E byte inside its information: there is no byte stuffing.
    frame = HdlcFrame.decode(trace_bytes(SEED_FRAMES[1]))
    assert 0x7E in frame.information


@pytest.mark.parametrize(
    ("frame", "encoded"),
    [
        # Classic SNRM (Gurux gxdlms-go tests, Test_Hex): public client 0x10 -> server 1 (1 byte).
        (
            HdlcFrame(HdlcAddress(1), HdlcAddress(0x10), Control(FrameType.SNRM, poll_final=True)),
            "7E A0 07 03 21 93 0F 01 7E",
        ),
        # Hand-computed: format A0 0A, server 1/17 in 4 bytes 00 02 00 23, client 0x78 F1, SNRM+P 93,
        # FCS 232E.
        (
            HdlcFrame(HdlcAddress(1, 17, 4), HdlcAddress(0x78), Control(FrameType.SNRM, poll_final=True)),
            "7E A0 0A 00 02 00 23 F1 93 23 2E 7E",
        ),
        # Hand-computed, seed addresses: DISC+P 53, no information, so no HCS.
        (
            HdlcFrame(SERVER, CLIENT, Control(FrameType.DISC, poll_final=True)),
            "7E A0 08 02 47 09 53 6E 29 7E",
        ),
        # Hand-computed: RR with N(R) 5 and P: 5<<5 | 0x10 | 0x01 = B1.
        (
            HdlcFrame(SERVER, CLIENT, Control(FrameType.RR, poll_final=True, nr=5)),
            "7E A0 08 02 47 09 B1 72 ED 7E",
        ),
        # Hand-computed: DM+F 1F from the server.
        (HdlcFrame(CLIENT, SERVER, Control(FrameType.DM, True)), "7E A0 08 09 02 47 1F AE 82 7E"),
        # Hand-computed: UA+F 73 with default parameters (81 80 0C 05 01 80 06 01 80 07 01 01 08 01 01):
        # length 0x19, HCS C094 over A0 19 09 02 47 73, FCS 1305.
        (
            HdlcFrame(
                CLIENT,
                SERVER,
                Control(FrameType.UA, poll_final=True),
                bytes.fromhex("81800C0501800601800701010801 01"),
            ),
            "7E A0 19 09 02 47 73 C0 94 81 80 0C 05 01 80 06 01 80 07 01 01 08 01 01 05 13 7E",
        ),
        # UA of Gurux/GuruxDLMS.c issue #1 (client 2, server 1/16, 4-byte window values).
        (
            HdlcFrame(
                HdlcAddress(2),
                HdlcAddress(1, 16),
                Control(FrameType.UA, poll_final=True),
                bytes.fromhex("81 80 14 05 02 01 00 06 02 01 00 07 04 00 00 00 01 08 04 00 00 00 01"),
            ),
            "7E A0 21 05 02 21 73 80 BC 81 80 14 05 02 01 00 06 02 01 00 07 04 00 00 00 01 08 04 00 00 00 01 "
            "69 6D 7E",
        ),
    ],
)
def test_frame_vectors(frame: HdlcFrame, encoded: str) -> None:
    data = bytes.fromhex(encoded)
    assert frame.encode() == data
    assert HdlcFrame.decode(data) == frame
    assert HdlcFrame.decode(memoryview(data)) == frame
    assert HdlcFrame.decode(bytearray(data)) == frame


def test_segmentation_bit() -> None:
    frame = HdlcFrame(SERVER, CLIENT, Control(FrameType.I, ns=1, nr=2), b"\x01\x02", segmented=True)
    encoded = frame.encode()
    assert encoded[1] == 0xA8  # format type 3 with S set; length below 256
    assert encoded[2] == len(encoded) - 2
    assert HdlcFrame.decode(encoded) == frame


def test_long_frame_uses_11_bit_length() -> None:
    frame = HdlcFrame(SERVER, CLIENT, Control(FrameType.I), bytes(2030))
    encoded = frame.encode()
    assert len(encoded) - 2 == 2030 + 2 + 3 + 1 + 2 + 2
    assert encoded[1:3] == (0xA000 | (len(encoded) - 2)).to_bytes(2, "big")
    assert HdlcFrame.decode(encoded) == frame


def test_information_too_long() -> None:
    with pytest.raises(EncodeError):
        HdlcFrame(SERVER, CLIENT, Control(FrameType.I), bytes(2038)).encode()


@pytest.mark.parametrize(
    ("control", "byte"),
    [
        (Control(FrameType.I, poll_final=True, ns=3, nr=3), 0x76),  # first seed frame
        (Control(FrameType.I, ns=7, nr=7), 0xEE),
        (Control(FrameType.I), 0x00),
        (Control(FrameType.RR, poll_final=True), 0x11),
        (Control(FrameType.RR, poll_final=True, nr=3), 0x71),
        (Control(FrameType.RNR, poll_final=True, nr=2), 0x55),
        (Control(FrameType.SNRM, poll_final=True), 0x93),
        (Control(FrameType.SNRM), 0x83),
        (Control(FrameType.UA, poll_final=True), 0x73),
        (Control(FrameType.DISC, poll_final=True), 0x53),
        (Control(FrameType.DM, poll_final=True), 0x1F),
        (Control(FrameType.FRMR, poll_final=True), 0x97),
        (Control(FrameType.UI, poll_final=True), 0x13),
        (Control(FrameType.UI), 0x03),
    ],
)
def test_control_vectors(control: Control, byte: int) -> None:
    # Control field values of dlms-facts.md section 6.
    assert control.encode() == byte
    assert Control.decode(byte) == control


def test_every_control_byte_decodes_or_raises_decode_error() -> None:
    decoded = 0
    for byte in range(256):
        try:
            control = Control.decode(byte)
        except DecodeError:
            continue
        decoded += 1
        assert control.encode() == byte
    # 128 I-frames, 2 x 16 RR/RNR, 6 unnumbered frames with P/F 0 or 1.
    assert decoded == 128 + 32 + 12


@pytest.mark.parametrize("byte", [0x09, 0x0D, 0x2F, 0x3F, 0xE3])  # REJ, SREJ, SABM, SABM+P, XID
def test_control_fields_not_used_by_dlms(byte: int) -> None:
    with pytest.raises(DecodeError):
        Control.decode(byte)


@pytest.mark.parametrize(
    "arguments",
    [
        (FrameType.I, False, 8, 0),
        (FrameType.I, False, 0, -1),
        (FrameType.RR, False, 1, 0),
        (FrameType.SNRM, False, 0, 1),
        (FrameType.UI, True, 2, 0),
    ],
)
def test_invalid_controls(arguments: tuple[FrameType, bool, int, int]) -> None:
    with pytest.raises(EncodeError):
        Control(*arguments)


def corrupted(data: bytes, index: int, xor: int = 0x01) -> bytes:
    return data[:index] + bytes((data[index] ^ xor,)) + data[index + 1 :]


def test_bad_fcs_and_hcs_raise_frame_check_error() -> None:
    data = trace_bytes(SEED_FRAMES[0])
    with pytest.raises(FrameCheckError, match="FCS"):
        HdlcFrame.decode(corrupted(data, 20))  # information byte
    with pytest.raises(FrameCheckError, match="FCS"):
        HdlcFrame.decode(corrupted(data, len(data) - 2))  # FCS byte
    # A header byte and a compensating FCS: only the HCS catches it.
    header_damaged = corrupted(data, 5)
    body = header_damaged[1:-3]
    with pytest.raises(FrameCheckError, match="HCS"):
        HdlcFrame.decode(header_damaged[:1] + body + crc16_le(body) + b"\x7e")


def test_frame_check_error_is_a_decode_error() -> None:
    assert issubclass(FrameCheckError, DecodeError)


def seal(between_flags_without_fcs: bytes) -> bytes:
    """A frame with a correct FCS around arbitrary contents."""
    return b"\x7e" + between_flags_without_fcs + crc16_le(between_flags_without_fcs) + b"\x7e"


@pytest.mark.parametrize(
    ("contents", "message"),
    [
        ("B0 07 03 21 93", "format type 3"),  # format type 0xB
        ("A0 09 02 04 07 21 93", "3-byte"),  # 3-byte destination address
        ("A0 07 03 21 09", "control field"),  # REJ
        ("A0 08 03 21 10 FF", "truncated HDLC header check"),  # one byte between control and FCS
        ("A0 07 02 04 06", "truncated HDLC address"),  # destination address runs into the FCS
        ("A0 07 02 03 21", "control field missing"),  # 2-byte destination, source, then the FCS
        ("A0 06 03 21", "too short"),
    ],
)
def test_malformed_frames_with_good_fcs(contents: str, message: str) -> None:
    with pytest.raises(DecodeError, match=message) as caught:
        HdlcFrame.decode(seal(bytes.fromhex(contents)))
    assert not isinstance(caught.value, FrameCheckError)


def test_flags_and_length_checked() -> None:
    data = bytes.fromhex("7E A0 07 03 21 93 0F 01 7E")
    with pytest.raises(DecodeError, match="flag"):
        HdlcFrame.decode(b"\x7f" + data[1:])
    with pytest.raises(DecodeError, match="flag"):
        HdlcFrame.decode(data[:-1] + b"\x00")
    with pytest.raises(DecodeError, match="length"):
        HdlcFrame.decode(data[:-1] + b"\x00\x7e")


def test_hcs_with_empty_information_is_accepted() -> None:
    header = bytes.fromhex("A0 09 03 21 13")
    frame = HdlcFrame.decode(seal(header + crc16_le(header)))
    assert frame == HdlcFrame(HdlcAddress(1), HdlcAddress(0x10), Control(FrameType.UI, poll_final=True))


def test_segment() -> None:
    assert segment(b"abcdefg", 3) == [b"abc", b"def", b"g"]
    assert segment(b"abcdef", 3) == [b"abc", b"def"]
    assert segment(b"ab", 128) == [b"ab"]
    assert segment(b"", 128) == [b""]
    with pytest.raises(EncodeError):
        segment(b"ab", 0)


def test_remove_llc() -> None:
    assert remove_llc(LLC_RESPONSE + b"\xc4\x01", LLC_RESPONSE) == b"\xc4\x01"
    with pytest.raises(DecodeError, match="LLC"):
        remove_llc(LLC_REQUEST + b"\xc0", LLC_RESPONSE)
    with pytest.raises(DecodeError, match="LLC"):
        remove_llc(b"\xe6", LLC_RESPONSE)


_7_BITS = st.integers(0, 0x7F)
_14_BITS = st.integers(0, 0x3FFF)
addresses = st.one_of(
    st.builds(HdlcAddress, _7_BITS, st.none(), st.just(1)),
    st.builds(HdlcAddress, _7_BITS, _7_BITS, st.just(2)),
    st.builds(HdlcAddress, _14_BITS, _14_BITS, st.just(4)),
)
_SEQUENCE = st.integers(0, 7)
UNNUMBERED = [FrameType.SNRM, FrameType.UA, FrameType.DISC, FrameType.DM, FrameType.FRMR, FrameType.UI]
controls = st.one_of(
    st.builds(Control, st.just(FrameType.I), st.booleans(), _SEQUENCE, _SEQUENCE),
    st.builds(Control, st.sampled_from([FrameType.RR, FrameType.RNR]), st.booleans(), st.just(0), _SEQUENCE),
    st.builds(
        Control,
        st.sampled_from(
            [FrameType.SNRM, FrameType.UA, FrameType.DISC, FrameType.DM, FrameType.FRMR, FrameType.UI]
        ),
        st.booleans(),
    ),
)
frames = st.builds(HdlcFrame, addresses, addresses, controls, st.binary(max_size=2030), st.booleans())


@settings(max_examples=200)
@given(controls)
def test_control_round_trip(control: Control) -> None:
    assert Control.decode(control.encode()) == control


@settings(max_examples=150)
@given(frames)
def test_frame_round_trip(frame: HdlcFrame) -> None:
    encoded = frame.encode()
    assert encoded[0] == encoded[-1] == 0x7E
    assert int.from_bytes(encoded[1:3], "big") & 0x7FF == len(encoded) - 2
    assert HdlcFrame.decode(encoded) == frame


@settings(max_examples=200)
@given(st.binary(max_size=40), st.integers(0, 0xFF))
def test_random_bytes_raise_only_decode_error(data: bytes, format_byte: int) -> None:
    # Raw bytes, bytes with a correct FCS, and bytes with a correct length field and FCS (so that the
    # address, control and HCS decoding is reached).
    length = (len(data) + 4) & 0x7FF
    framed = seal(bytes((format_byte & 0xF8 | length >> 8, length & 0xFF)) + data)
    for candidate in (data, seal(data), framed):
        with contextlib.suppress(DecodeError):
            HdlcFrame.decode(candidate)


def test_truncations_raise_decode_error() -> None:
    for line in SEED_FRAMES[:2]:
        data = trace_bytes(line)
        for cut in range(len(data)):
            with pytest.raises(DecodeError):
                HdlcFrame.decode(data[:cut])


def test_control_table_is_the_decoder() -> None:
    """Control.decode looks the byte up in a table built by the decoder: the same object or the same error."""
    for value in range(256):
        try:
            expected: object = Control._decode(value)
        except DecodeError as error:
            expected = str(error)
        try:
            got: object = Control.decode(value)
        except DecodeError as error:
            got = str(error)
        assert got == expected, value


def reference_encode(frame: HdlcFrame) -> bytes:
    """The frame built field by field with two CRC runs over the whole header and body (no residue)."""
    header_length = 2 + len(frame.dest.encode()) + len(frame.src.encode()) + 1
    length = header_length + 2 + (len(frame.information) + 2 if frame.information else 0)
    header = (
        (0xA000 | (0x800 if frame.segmented else 0) | length).to_bytes(2, "big")
        + frame.dest.encode()
        + frame.src.encode()
        + bytes((frame.control.encode(),))
    )
    body = header + crc16_le(header) + frame.information if frame.information else header
    return b"\x7e" + body + crc16_le(body) + b"\x7e"


@settings(max_examples=150)
@given(frames)
def test_encode_frame_is_the_reference_encoding(frame: HdlcFrame) -> None:
    addresses = frame.dest.encode() + frame.src.encode()
    expected = reference_encode(frame)
    assert frame.encode() == expected
    assert encode_frame(addresses, frame.control.encode(), frame.information, frame.segmented) == expected
    information = bytearray(frame.information)
    assert encode_frame(addresses, frame.control.encode(), information, frame.segmented) == expected


def decode_outcome(data: bytes) -> object:
    try:
        return HdlcFrame.decode(data)
    except DecodeError as error:
        return (type(error), str(error))


def step_by_step_outcome(data: bytes) -> object:
    try:
        return HdlcFrame._decode_or_raise(data)
    except DecodeError as error:
        return (type(error), str(error))


damaged_frames = st.tuples(frames, st.integers(0, 2040), st.integers(0, 255), st.integers(0, 3)).map(
    lambda drawn: damage(drawn[0].encode(), *drawn[1:])
)


def damage(encoded: bytes, where: int, value: int, how: int) -> bytes:
    """The frame with one byte replaced (0), then its FCS made right again (1), or cut short with its
    length field and FCS made right (2), or intact (3)."""
    if how == 3:
        return encoded
    data = bytearray(encoded)
    data[1 + where % (len(data) - 2)] = value
    if how == 2:
        data = data[: max(4, 1 + where % (len(data) - 1))] + b"\x7e"
        length = len(data) - 2
        data[1] = data[1] & 0xF8 | (length >> 8) & 0x07
        data[2] = length & 0xFF
    if how >= 1 and len(data) >= 5:
        data[-3:-1] = crc16_le(bytes(data[1:-3]))
    return bytes(data)


@settings(max_examples=400)
@given(damaged_frames)
def test_fast_decoder_agrees_with_the_step_by_step_decoder(data: bytes) -> None:
    """decode_intact gives the frame of the step-by-step decoder or nothing; HdlcFrame.decode (which tries it
    first) gives exactly what the step-by-step decoder gives, frames and errors."""
    expected = step_by_step_outcome(data)
    assert decode_outcome(data) == expected
    fast = decode_intact(data[1:-1], hcs_checked=False)
    assert fast is None or fast == expected
    if isinstance(expected, HdlcFrame):
        assert fast is not None  # every intact frame takes the fast path
        assert decode_intact(data[1:-1], hcs_checked=True) == fast


def test_fast_decoder_trusts_a_checked_hcs() -> None:
    # With hcs_checked the caller vouches for the HCS (the framer checked it as the header arrived).
    frame = HdlcFrame(SERVER, CLIENT, Control(FrameType.I, True), b"\xe6\xe6\x00\x01")
    content = bytearray(frame.encode()[1:-1])
    content[7] ^= 0xFF  # the HCS, then the FCS made right again
    content[-2:] = crc16_le(bytes(content[:-2]))
    assert decode_intact(bytes(content), hcs_checked=False) is None
    assert decode_intact(bytes(content), hcs_checked=True) == frame
    with pytest.raises(FrameCheckError, match="HCS"):
        HdlcFrame.decode(b"\x7e" + bytes(content) + b"\x7e")
