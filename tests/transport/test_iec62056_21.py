"""The IEC 62056-21 mode E messages: building, parsing, round trips and robustness."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlmskit.errors import DecodeError, EncodeError
from dlmskit.transport import (
    AckOptionSelect,
    SignOnResult,
    build_ack_option_select,
    build_identification,
    build_request_message,
    parse_ack_option_select,
    parse_identification,
    parse_request_message,
)
from dlmskit.transport.iec62056_21 import BAUD_RATES

# Message layouts as IEC 62056-21 defines them (request "/?<address>!CR LF", identification
# "/XXXZ\W<ident>CR LF", acknowledgement/option select "ACK V Z Y CR LF"); the enhanced
# identification character 2 = HDLC is from the DLMS UA list of standard items.
IDENTIFICATION = b"/ABC5\\2EXAMPLE-METER-01\r\n"


def test_request_message() -> None:
    assert build_request_message() == b"/?!\r\n"
    assert build_request_message("12345678") == b"/?12345678!\r\n"
    assert parse_request_message(b"/?!\r\n") == ""
    assert parse_request_message(b"/?12345678!\r\n") == "12345678"


@pytest.mark.parametrize("address", ["1" * 33, "12/3", "a!", "?", "é", "1\r\n"])
def test_request_message_refuses_bad_addresses(address: str) -> None:
    with pytest.raises(EncodeError):
        build_request_message(address)


def test_identification_of_a_mode_e_meter() -> None:
    result = parse_identification(IDENTIFICATION)
    assert result == SignOnResult("ABC", "5", "EXAMPLE-METER-01", ("2",))
    assert result.baudrate == 9600
    assert result.hdlc_available
    assert result.min_reaction_time == 0.2
    assert build_identification(result) == IDENTIFICATION


def test_identification_details() -> None:
    # Lower-case third letter: 20 ms minimum reaction time.
    assert parse_identification(b"/ABc6\\2X\r\n").min_reaction_time == 0.02
    assert parse_identification(b"/ABc6\\2X\r\n").baudrate == 19200
    # A mode C meter announces no HDLC.
    mode_c = parse_identification(b"/ABC4METER\r\n")
    assert mode_c.enhanced_identification == ()
    assert not mode_c.hdlc_available
    assert mode_c.baudrate == 4800
    # Several escape sequences, an empty identification, a backslash later in the text.
    assert parse_identification(b"/ABC0\\2\\@\r\n") == SignOnResult("ABC", "0", "", ("2", "@"))
    assert parse_identification(b"/ABC0\\2A\\B\r\n").identification == "A\\B"
    assert [BAUD_RATES[c] for c in "0123456"] == [300, 600, 1200, 2400, 4800, 9600, 19200]


@pytest.mark.parametrize(
    ("message", "offset", "found"),
    [
        (b"ABC5\\2X\r\n", 0, "b'A'"),
        (b"/AB", 3, "end of data"),
        (b"/ABC5\\2X\n", 7, "b'X\\n'"),
        (b"/A1C5\\2X\r\n", 2, "0x31"),
        (b"/ABCE\\2X\r\n", 4, "'E' (a protocol mode B meter)"),
        (b"/ABC8X\r\n", 4, "'8' (reserved)"),
        (b"/ABC:X\r\n", 4, "0x3A (a protocol mode A meter)"),
        (b"/ABC5\\\r\n", 6, "end of message"),
        (b"/ABC5\\2X/Y\r\n", 8, "0x2F"),
        (b"/ABC5\\2X\rY\r\n", 8, "0x0D"),
    ],
)
def test_identification_errors_say_where(message: bytes, offset: int, found: str) -> None:
    with pytest.raises(DecodeError) as caught:
        parse_identification(message)
    assert caught.value.offset == offset
    assert caught.value.found == found


def test_ack_option_select() -> None:
    assert build_ack_option_select("5") == b"\x06252\r\n"  # HDLC protocol procedure, 9600 baud, binary mode
    assert build_ack_option_select("0", protocol_control="0", mode_control="0") == b"\x06000\r\n"  # readout
    assert parse_ack_option_select(b"\x06262\r\n") == AckOptionSelect("2", "6", "2")


@pytest.mark.parametrize(
    ("baud_char", "protocol_control", "mode_control"),
    [("7", "2", "2"), ("A", "2", "2"), ("5", "x", "2"), ("5", "2", "22")],
)
def test_ack_option_select_refuses(baud_char: str, protocol_control: str, mode_control: str) -> None:
    with pytest.raises(EncodeError):
        build_ack_option_select(baud_char, protocol_control=protocol_control, mode_control=mode_control)


def test_sign_on_result_refuses_a_bad_baud_char() -> None:
    with pytest.raises(EncodeError):
        SignOnResult("ABC", "9", "X")


@pytest.mark.parametrize(
    "result",
    [
        SignOnResult("AB", "5", "X"),
        SignOnResult("AB1", "5", "X"),
        SignOnResult("ABC", "5", "X/Y"),
        SignOnResult("ABC", "5", "\\X"),
        SignOnResult("ABC", "5", "X", ("22",)),
        SignOnResult("ABC", "5", "Ü"),
    ],
)
def test_build_identification_refuses(result: SignOnResult) -> None:
    with pytest.raises(EncodeError):
        build_identification(result)


_PRINTABLE = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
_letters = st.text(
    st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"), min_size=3, max_size=3
)
_identifications = st.builds(
    SignOnResult,
    manufacturer=_letters,
    baud_char=st.sampled_from(sorted(BAUD_RATES)),
    identification=st.text(_PRINTABLE.filter(lambda c: c not in "/!"), max_size=24).filter(
        lambda text: not text.startswith("\\")
    ),
    enhanced_identification=st.lists(_PRINTABLE, max_size=3).map(tuple),
)


@settings(max_examples=150)
@given(_identifications)
def test_identification_round_trip(result: SignOnResult) -> None:
    assert parse_identification(build_identification(result)) == result


@settings(max_examples=100)
@given(st.text(_PRINTABLE.filter(lambda c: c not in "/?!"), max_size=32))
def test_request_round_trip(address: str) -> None:
    assert parse_request_message(build_request_message(address)) == address


@settings(max_examples=100)
@given(st.sampled_from(sorted(BAUD_RATES)), st.sampled_from("0123456789"), st.sampled_from("0123456789"))
def test_ack_round_trip(baud_char: str, protocol_control: str, mode_control: str) -> None:
    message = build_ack_option_select(baud_char, protocol_control=protocol_control, mode_control=mode_control)
    assert parse_ack_option_select(message) == AckOptionSelect(protocol_control, baud_char, mode_control)


_PARSERS = (parse_identification, parse_request_message, parse_ack_option_select)
_VALID = (IDENTIFICATION, b"/?12345678!\r\n", b"\x06252\r\n")


def test_every_truncation_raises_decode_error() -> None:
    for parse, message in zip(_PARSERS, _VALID, strict=True):
        for end in range(len(message)):
            with pytest.raises(DecodeError):
                parse(message[:end])


@settings(max_examples=200)
@given(st.binary(max_size=40), st.sampled_from(range(len(_PARSERS))))
def test_random_bytes_raise_only_decode_error(data: bytes, which: int) -> None:
    with contextlib.suppress(DecodeError):
        _PARSERS[which](data)


@settings(max_examples=150)
@given(_identifications, st.data())
def test_corrupted_identification_raises_only_decode_error(result: SignOnResult, data: st.DataObject) -> None:
    message = bytearray(build_identification(result))
    index = data.draw(st.integers(0, len(message) - 1))
    message[index] = data.draw(st.integers(0, 255))
    with contextlib.suppress(DecodeError):
        parse_identification(bytes(message))
