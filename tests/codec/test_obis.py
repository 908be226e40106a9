"""OBIS codes: every written form, round trips, bad input, wire bytes, names."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlmskit.codec.obis import Obis, ObisError, decode_obis, describe, obis
from dlmskit.errors import DecodeError, DlmsError

groups = st.tuples(*[st.integers(0, 255)] * 6)

ENERGY_IMPORT = Obis(1, 0, 1, 8, 0, 255)


# -- parsing and formatting ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "1.0.1.8.0.255",
        "1-0:1.8.0*255",
        "1-0:1.8.0",
        "1-0:1.8.0.255",
        "1-0:1.8.0&255",
        "0100010800FF",
        "0100010800ff",
        "0x0100010800FF",
        "01 00 01 08 00 FF",
        "  1.0.1.8.0.255\n",
        "001.000.001.008.000.255",
    ],
)
def test_parse_every_form(text: str) -> None:
    assert Obis.parse(text) == ENERGY_IMPORT
    assert obis(text) == ENERGY_IMPORT


def test_parse_abstract_object() -> None:
    assert Obis.parse("0.0.96.3.10.255") == Obis(0, 0, 96, 3, 10, 255)
    assert Obis.parse("0-0:96.3.10*255") == Obis(0, 0, 96, 3, 10, 255)


def test_iec_form_keeps_an_explicit_f() -> None:
    assert Obis.parse("1-0:1.8.0*1") == Obis(1, 0, 1, 8, 0, 1)
    assert Obis.parse("1-1:1.8.2.101") == Obis(1, 1, 1, 8, 2, 101)


def test_formatting() -> None:
    code = Obis(1, 0, 1, 8, 0, 255)
    assert str(code) == "1.0.1.8.0.255"
    assert code.to_iec() == "1-0:1.8.0*255"
    assert bytes(code) == code.to_bytes() == bytes.fromhex("0100010800FF")
    assert repr(code) == "Obis('1.0.1.8.0.255')"
    assert code.groups == (1, 0, 1, 8, 0, 255)


def test_f_defaults_to_255() -> None:
    assert Obis(1, 0, 1, 8, 0) == ENERGY_IMPORT


@settings(max_examples=200)
@given(groups)
def test_round_trip_every_form(values: tuple[int, int, int, int, int, int]) -> None:
    code = Obis(*values)
    assert Obis.parse(str(code)) == code
    assert Obis.parse(code.to_iec()) == code
    assert Obis.from_bytes(bytes(code)) == code
    assert Obis.parse(bytes(code).hex()) == code
    assert Obis.parse(bytes(code).hex().upper()) == code
    assert Obis.parse(bytes(code).hex(" ")) == code
    assert obis(values) == code
    assert decode_obis(b"\xaa" + bytes(code) + b"\xbb", 1) == (code, 7)
    if code.f == 255:
        assert Obis.parse(f"{code.a}-{code.b}:{code.c}.{code.d}.{code.e}") == code


@settings(max_examples=100)
@given(groups, groups)
def test_order_and_hash_follow_the_tuple(x: tuple[int, ...], y: tuple[int, ...]) -> None:
    assert (Obis(*x) < Obis(*y)) == (x < y)
    assert (Obis(*x) == Obis(*y)) == (x == y)
    assert len({Obis(*x), Obis(*x)}) == 1


def test_immutable() -> None:
    with pytest.raises(AttributeError):
        ENERGY_IMPORT.a = 2  # type: ignore[misc]


def test_obis_accepts_every_representation() -> None:
    assert obis(ENERGY_IMPORT) is ENERGY_IMPORT
    assert obis(bytes.fromhex("0100010800FF")) == ENERGY_IMPORT
    assert obis(bytearray.fromhex("0100010800FF")) == ENERGY_IMPORT
    assert obis(memoryview(bytes.fromhex("0100010800FF"))) == ENERGY_IMPORT
    assert obis((1, 0, 1, 8, 0, 255)) == ENERGY_IMPORT
    assert obis((1, 0, 1, 8, 0)) == ENERGY_IMPORT


# -- bad input -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("1.0.1.8.256.255", "value 256 out of range 0..255 in group E"),
        ("256.0.1.8.0.255", "value 256 out of range 0..255 in group A"),
        ("1-0:1.8.0*999", "value 999 out of range 0..255 in group F"),
        ("1.0.1.8.0", "found 5 groups"),
        ("1.0.1.8.0.255.0", "found 7 groups"),
        ("0100010800F", "found 11 hex digits"),
        ("", "empty"),
        ("1-0:1.8", "expected 6 groups like 1.0.1.8.0.255, the IEC form 1-0:1.8.0*255"),
        ("1.0.-1.8.0.255", "1-0:1.8.0*255"),
        ("1.0.1.8.0.25a", "12 hex digits"),
        ("1,0,1,8,0,255", "expected 6 groups"),
        ("١.٠.١.٨.٠.٢٥٥", "expected 6 groups"),  # Arabic-Indic digits are not OBIS digits
    ],
)
def test_bad_text_says_what_is_wrong(text: str, says: str) -> None:
    with pytest.raises(ObisError) as raised:
        Obis.parse(text)
    assert says in str(raised.value)


def test_obis_error_is_a_value_error_and_a_dlms_error() -> None:
    assert issubclass(ObisError, ValueError)
    assert issubclass(ObisError, DlmsError)


def test_long_bad_text_is_shortened_in_the_message() -> None:
    with pytest.raises(ObisError) as raised:
        Obis.parse("x" * 10_000)
    assert len(str(raised.value)) < 300


@pytest.mark.parametrize(
    ("values", "says"),
    [
        ((1, 0, 1, 8, 0, 256), "value 256 out of range 0..255 in group F"),
        ((-1, 0, 1, 8, 0, 255), "value -1 out of range 0..255 in group A"),
        ((1, 0, "1", 8, 0, 255), "group C must be an int"),
        ((1, 0, 1, 8.0, 0, 255), "group D must be an int"),
        ((1, 0, 1, 8, True, 255), "group E must be an int"),
    ],
)
def test_bad_groups(values: tuple[object, ...], says: str) -> None:
    with pytest.raises(ObisError, match=says):
        Obis(*values)  # type: ignore[arg-type]


def test_obis_rejects_bad_tuples_and_types() -> None:
    with pytest.raises(ObisError, match="got 4 items"):
        obis((1, 0, 1, 8))
    with pytest.raises(ObisError, match="cannot make an OBIS code from float"):
        obis(1.8)  # type: ignore[arg-type]
    with pytest.raises(ObisError, match="expected a str"):
        Obis.parse(b"1.0.1.8.0.255")  # type: ignore[arg-type]


@settings(max_examples=200)
@given(st.text(alphabet="0123456789.-:*& xXabcdefABCDEF", max_size=30) | st.text(max_size=30))
def test_parse_raises_only_obis_error(text: str) -> None:
    try:
        code = Obis.parse(text)
    except ObisError:
        return
    assert Obis.parse(str(code)) == code


# -- wire bytes ----------------------------------------------------------------------------------------------


@settings(max_examples=100)
@given(st.binary(max_size=20).filter(lambda data: len(data) != 6))
def test_from_bytes_needs_exactly_six_bytes(data: bytes) -> None:
    with pytest.raises(DecodeError) as raised:
        Obis.from_bytes(data)
    assert raised.value.found == f"{len(data)} bytes"
    with pytest.raises(DecodeError):
        obis(data)


def test_every_truncation_raises_decode_error() -> None:
    # GET-request-normal for the clock's time attribute: DLMS UA Green Book example, as reproduced in
    # shared/reference/dlms-facts.md section 3: C0 01 invoke-id, class id 0008, then the logical name at 5.
    apdu = bytes.fromhex("C0010000080000010000FF0200")
    assert decode_obis(apdu, 5) == (Obis(0, 0, 1, 0, 0, 255), 11)
    for end in range(5, 11):
        with pytest.raises(DecodeError) as raised:
            decode_obis(apdu[:end], 5)
        assert raised.value.offset == 5
        assert raised.value.found == f"{end - 5} bytes"
    with pytest.raises(DecodeError):
        decode_obis(apdu, -1)
    with pytest.raises(DecodeError):
        decode_obis(apdu, len(apdu) + 3)


def test_disconnect_control_logical_name_from_action_request() -> None:
    # ACTION-request remote_disconnect, shared/reference/dlms-facts.md section 7.
    apdu = bytes.fromhex("C301C10046000060030AFF01010F00")
    code, end = decode_obis(apdu, 5)
    assert (code, end) == (Obis.parse("0.0.96.3.10.255"), 11)
    assert code.name == "Disconnect control"


# -- names ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("0.0.42.0.0.255", "COSEM logical device name"),
        ("0.0.1.0.0.255", "Clock"),
        ("0.0.40.0.0.255", "Current association (Association LN of this connection)"),
        ("0.0.40.0.3.255", "Association LN, instance 3 (one per client association)"),
        ("0.0.41.0.0.255", "SAP assignment"),
        ("0.0.43.0.2.255", "Security setup, instance 2"),
        ("0.0.43.1.1.255", "Invocation counter (frame counter), instance 1"),
        ("0.0.96.3.10.255", "Disconnect control"),
        ("0.0.19.40.0.255", "Token gateway"),
        ("0.0.99.98.0.255", "Standard event log"),
        ("0.0.99.98.4.255", "Event log, instance 4"),
        ("1.0.99.1.0.255", "Load profile 1 (recording period 1)"),
        ("1.0.99.2.0.255", "Load profile 2 (recording period 2)"),
        ("1.0.1.8.0.255", "Active energy import (+A), total"),
        ("1.0.2.8.0.255", "Active energy export (-A), total"),
        ("1.0.1.8.1.255", "Active energy import (+A), tariff 1"),
        ("1.0.1.8.4.255", "Active energy import (+A), tariff 4"),
        ("1.0.3.8.0.255", "Reactive energy import (+R), total"),
        ("1.0.4.8.0.255", "Reactive energy export (-R), total"),
        ("1.0.32.7.0.255", "Voltage L1, instantaneous value"),
        ("1.0.52.7.0.255", "Voltage L2, instantaneous value"),
        ("1.0.72.7.0.255", "Voltage L3, instantaneous value"),
        ("1.0.31.7.0.255", "Current L1, instantaneous value"),
        ("1.0.51.7.0.255", "Current L2, instantaneous value"),
        ("1.0.71.7.0.255", "Current L3, instantaneous value"),
        ("1.0.1.7.0.255", "Active power+, instantaneous value"),
        ("1.0.2.7.0.255", "Active power-, instantaneous value"),
        ("1.0.14.7.0.255", "Supply frequency, instantaneous value"),
        ("1.0.13.7.0.255", "Power factor, instantaneous value"),
        ("0.0.96.1.0.255", "Meter serial number (device ID 1)"),
        ("0.0.96.1.1.255", "Device ID 2"),
        ("1.0.0.2.0.255", "Active firmware version (identifier)"),
        ("0.0.44.0.0.255", "Image transfer (firmware update)"),
        ("0.0.13.0.0.255", "Activity calendar"),
        ("0.0.11.0.0.255", "Special days table"),
        ("0.0.22.0.0.255", "IEC HDLC setup"),
        ("0.0.20.0.0.255", "IEC local port setup (optical port)"),
        ("0.0.25.0.0.255", "TCP-UDP setup"),
        ("0.0.25.1.0.255", "IPv4 setup"),
        ("0.0.25.4.0.255", "GPRS modem setup"),
        ("0.0.25.9.0.255", "Push setup"),
        ("0.0.17.0.0.255", "Limiter"),
        ("0.0.19.0.0.255", "Account"),
        ("0.0.19.10.0.255", "Credit"),
        ("0.0.19.20.0.255", "Charge"),
        ("0.1.24.1.0.255", "M-Bus client, channel 1"),
        ("0.0.10.0.0.255", "Global meter reset script table"),
        ("0.0.10.0.106.255", "Disconnect control script table"),
        ("0.0.10.0.100.255", "Tariffication script table"),
        ("0.0.15.0.0.255", "Single action schedule, instance 0"),
        ("0.0.16.0.1.255", "Register monitor, instance 1"),
        ("0.0.97.97.0.255", "Error register"),
        ("0.0.97.98.0.255", "Alarm register"),
    ],
)
def test_names(text: str, name: str) -> None:
    code = Obis.parse(text)
    assert describe(code) == name
    assert code.name == name


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("1.0.21.7.0.255", "Active power+ L1, instantaneous value"),
        ("1.0.41.7.0.255", "Active power+ L2, instantaneous value"),
        ("1.0.62.7.0.255", "Active power- L3, instantaneous value"),
        ("1.0.91.7.0.255", "Neutral current, instantaneous value"),
        ("1.0.11.7.0.255", "Current (any phase), instantaneous value"),
        ("1.0.1.6.0.255", "Active power+, maximum 1 (maximum demand), total"),
        ("1.0.1.6.2.255", "Active power+, maximum 1 (maximum demand), tariff 2"),
        ("1.0.1.4.0.255", "Active power+, current average 1 (demand of the running period), total"),
        ("1.0.2.5.0.255", "Active power-, last average 1 (demand of the last complete period), total"),
        (
            "1.0.1.29.0.255",
            "Active energy import (+A), time integral 5 (over the last recording period), total",
        ),
        ("1.0.21.8.0.255", "Active energy import (+A) L1, total"),
        ("1.0.9.8.0.255", "Apparent energy import (+VA), total"),
        ("1.0.32.8.0.255", "Voltage L1, time integral 1, total"),
        ("1.0.1.8.0.3", "Active energy import (+A), total, billing period 3"),
        ("1.0.1.8.0.101", "Active energy import (+A), total, F=101"),
        ("1.2.1.8.0.255", "Active energy import (+A), total, channel 2"),
        ("1.0.32.7.124.255", "Voltage L1, instantaneous value, E=124"),
        ("1.0.1.8.64.255", "Active energy import (+A), E=64"),
    ],
)
def test_electricity_rules(text: str, name: str) -> None:
    assert describe(Obis.parse(text)) == name


@pytest.mark.parametrize(
    "text",
    ["1.0.200.7.0.255", "1.0.1.99.0.255", "7.0.1.0.0.255", "0.0.200.0.0.255", "0.0.40.0.0.0"],
)
def test_unknown_codes_have_no_name(text: str) -> None:
    assert describe(Obis.parse(text)) is None


@settings(max_examples=200)
@given(groups)
def test_describe_never_raises(values: tuple[int, int, int, int, int, int]) -> None:
    name = describe(Obis(*values))
    assert name is None or name
