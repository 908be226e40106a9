"""The interface-class model: lookups, versions, generic classes and the conversion of Python values."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dlmskit.codec import axdr
from dlmskit.codec.axdr import DataType as T
from dlmskit.codec.cosem_datetime import CosemDate, CosemDateTime, CosemTime
from dlmskit.codec.obis import Obis
from dlmskit.cosem import get_class
from dlmskit.cosem.model import (
    ANY,
    DATE_STRING,
    DATE_TIME_STRING,
    LOGICAL_NAME_ATTRIBUTE,
    LOGICAL_NAME_STRING,
    TIME_STRING,
    AttributeDef,
    InterfaceClass,
    MethodDef,
    array_of,
    choice,
    encode_attribute_value,
    encode_method_parameter,
    generic_class,
    structure,
    type_name,
)
from dlmskit.errors import ConfigurationError, EncodeError

_POINT = structure(x=T.UNSIGNED, name=T.VISIBLE_STRING)
TOY = InterfaceClass(
    9000,
    2,
    "Toy",
    (
        LOGICAL_NAME_ATTRIBUTE,
        AttributeDef(2, "level", T.LONG_UNSIGNED, static=False),
        AttributeDef(
            3, "mode", T.ENUM, static=True, enum_names={0: "off", 1: "on", 2: "ready_for_reconnection"}
        ),
        AttributeDef(4, "points", array_of(_POINT), static=True),
        AttributeDef(5, "value", ANY, static=False),
        AttributeDef(6, "stamp", DATE_TIME_STRING, static=True),
        AttributeDef(7, "target", LOGICAL_NAME_STRING, static=True, min_version=1),
        AttributeDef(8, "either", choice(T.NULL_DATA, array_of(T.INTEGER)), static=True, min_version=2),
        AttributeDef(9, "flag", T.BOOLEAN, static=True),
        AttributeDef(10, "ratio", T.FLOAT32, static=True),
        AttributeDef(11, "day", DATE_STRING, static=True),
        AttributeDef(12, "at", TIME_STRING, static=True),
        AttributeDef(13, "bits", T.BIT_STRING, static=True),
        AttributeDef(14, "blob", T.OCTET_STRING, static=True),
        AttributeDef(15, "label", T.VISIBLE_STRING, static=True),
        AttributeDef(16, "legacy", axdr.StructureDescription((T.UNSIGNED, T.INTEGER)), static=True),
    ),
    (
        MethodDef(1, "poke", T.INTEGER, axdr.Integer(0)),
        MethodDef(2, "set_level", T.LONG_UNSIGNED),
        MethodDef(3, "trigger", None),
    ),
)


def _encode(attribute: str, value: object) -> bytes:
    return axdr.encode(encode_attribute_value(TOY, attribute, value))


def test_lookups_by_index_and_name_ignore_case() -> None:
    assert TOY.attribute(2) is TOY.attribute("level") is TOY.attribute("LEVEL")
    assert TOY.attribute(1) == LOGICAL_NAME_ATTRIBUTE
    assert TOY.method("Set-Level") is TOY.method(2)
    assert TOY.attribute(99) is None and TOY.attribute("nothing") is None and TOY.method(9) is None
    assert str(TOY) == "Toy (class 9000, version 2)"


def test_for_version_leaves_out_later_attributes() -> None:
    v0 = TOY.for_version(0)
    assert v0.version == 0 and v0.attribute("target") is None and v0.attribute("either") is None
    assert TOY.for_version(1).attribute("target") is not None
    with pytest.raises(ConfigurationError):
        TOY.for_version(3)


@pytest.mark.parametrize(
    ("attributes", "methods"),
    [
        ((AttributeDef(1, "name", LOGICAL_NAME_STRING, static=True),), ()),
        (
            (
                LOGICAL_NAME_ATTRIBUTE,
                AttributeDef(2, "a", T.ENUM, static=True),
                AttributeDef(2, "b", T.ENUM, static=True),
            ),
            (),
        ),
        (
            (
                LOGICAL_NAME_ATTRIBUTE,
                AttributeDef(2, "a", T.ENUM, static=True),
                AttributeDef(3, "A", T.ENUM, static=True),
            ),
            (),
        ),
        ((LOGICAL_NAME_ATTRIBUTE, AttributeDef(2, "a", T.ENUM, static=True, min_version=4)), ()),
        ((LOGICAL_NAME_ATTRIBUTE,), (MethodDef(0, "zero", None),)),
    ],
)
def test_inconsistent_classes_are_refused(
    attributes: tuple[AttributeDef, ...], methods: tuple[MethodDef, ...]
) -> None:
    with pytest.raises(ConfigurationError):
        InterfaceClass(9001, 0, "Bad", attributes, methods)


def test_plain_values_are_converted() -> None:
    assert encode_attribute_value(TOY, "level", 230) == axdr.LongUnsigned(230)
    assert type(encode_attribute_value(TOY, "level", 230)) is axdr.LongUnsigned
    assert _encode("level", "0x10") == bytes.fromhex("120010")
    assert _encode("mode", 1) == bytes.fromhex("1601")
    assert _encode("mode", "Ready for reconnection") == bytes.fromhex("1602")
    assert _encode("points", [(1, "a"), {"x": 2, "name": "b"}]) == bytes.fromhex(
        "01020202 1101 0A01610202 1102 0A0162".replace(" ", "")
    )
    assert _encode("target", Obis(0, 0, 1, 0, 0, 255)) == bytes.fromhex("0906 0000010000FF".replace(" ", ""))
    assert _encode("target", "0-0:96.3.10") == bytes.fromhex("0906000060030AFF")
    assert _encode("target", b"\x00\x00\x01\x00\x00\xff") == bytes.fromhex("09060000010000FF")
    assert _encode("either", None) == b"\x00"
    assert _encode("either", [1, -1]) == bytes.fromhex("0102 0F01 0FFF".replace(" ", ""))
    assert _encode("flag", True) == bytes.fromhex("03FF")
    assert _encode("flag", "off") == bytes.fromhex("0300")
    assert _encode("ratio", 1.5) == bytes.fromhex("173FC00000")
    assert _encode("bits", "1010") == bytes.fromhex("04 04 A0".replace(" ", ""))
    assert _encode("blob", "01:02") == bytes.fromhex("09020102")
    assert _encode("blob", Obis(1, 0, 1, 8, 0)) == bytes.fromhex("09060100010800FF")
    assert _encode("label", b"abc") == bytes.fromhex("0A03616263")
    assert _encode("legacy", (1, -1)) == bytes.fromhex("0202 1101 0FFF".replace(" ", ""))
    assert _encode("value", axdr.DoubleLong(5)) == bytes.fromhex("0500000005")


def test_dates_and_times_become_octet_strings() -> None:
    moment = dt.datetime(2019, 12, 16, 7, 59, 40)
    expected = b"\x09\x0c" + CosemDateTime.from_datetime(moment).to_bytes()
    assert expected[2:10] == bytes.fromhex("07E30C1001073B28")  # 2019-12-16 Monday 07:59:40
    assert _encode("stamp", moment) == expected
    assert _encode("stamp", CosemDateTime.from_datetime(moment)) == expected
    assert _encode("stamp", "2019-12-16T07:59:40") == expected
    assert (
        _encode("day", dt.date(2024, 2, 29))
        == b"\x09\x05" + CosemDate.from_date(dt.date(2024, 2, 29)).to_bytes()
    )
    assert _encode("at", dt.time(6, 30)) == b"\x09\x04" + CosemTime.from_time(dt.time(6, 30)).to_bytes()
    assert _encode("day", CosemDate()) == bytes.fromhex("0905FFFFFFFFFF")


def test_typed_values_of_the_right_type_pass_through() -> None:
    value = axdr.LongUnsigned(7)
    assert encode_attribute_value(TOY, "level", value) is value
    row = axdr.Array([axdr.Structure([axdr.Unsigned(1), axdr.VisibleString("a")])])
    assert encode_attribute_value(TOY, "points", row) == row
    stamp = axdr.OctetString(bytes(12))
    assert encode_attribute_value(TOY, "stamp", stamp) is stamp


@pytest.mark.parametrize(
    ("attribute", "value", "words"),
    [
        ("level", axdr.Unsigned(7), ["Toy.level expects long-unsigned", "got an unsigned"]),
        ("level", 70000, ["long-unsigned", "outside 0..65535"]),
        ("level", -1, ["outside 0..65535"]),
        ("level", True, ["got a boolean"]),
        ("level", "many", ["text that is not a number"]),
        ("level", 1.5, ["got a float"]),
        ("mode", "sideways", ["or a value name"]),
        (
            "points",
            [(1, "a", 3)],
            ["Toy.points[0] expects structure {x: unsigned", "3 elements instead of 2"],
        ),
        ("points", [(300, "a")], ["Toy.points[0].x expects unsigned", "outside 0..255"]),
        ("points", [{"x": 1}], ["a mapping with keys x"]),
        ("points", axdr.Structure([]), ["got a structure of 0 elements"]),
        ("points", "abc", ["got text of 3 characters"]),
        ("value", 5, ["expects any data", "wrap plain ints"]),
        ("stamp", axdr.OctetString(bytes(5)), ["date-time, 12 bytes", "5 bytes"]),
        ("stamp", b"\x01", ["1 bytes"]),
        ("stamp", "yesterday", ["not an ISO 8601 date-time"]),
        ("stamp", axdr.VisibleString("2019"), ["got a visible-string of 4 characters"]),
        ("target", "1.2.3", ["not an OBIS code"]),
        ("target", 5, ["logical name, 6 bytes", "a plain int"]),
        ("either", 5, ["one of (null-data | array of integer)"]),
        ("flag", 2, ["expects boolean"]),
        ("day", dt.datetime(2024, 1, 1), ["date, 5 bytes"]),
        ("blob", "xyz", ["text that is not hex digits"]),
        ("blob", 3, ["expects octet-string"]),
        ("label", "ĉ", ["expects visible-string"]),
        ("legacy", [1, 200], ["Toy.legacy[1] expects integer", "outside -128..127"]),
        ("bits", "12", ["expects bit-string"]),
        ("ratio", True, ["expects float32"]),
    ],
)
def test_refusals_name_class_attribute_and_type(attribute: str, value: object, words: list[str]) -> None:
    with pytest.raises(EncodeError) as error:
        encode_attribute_value(TOY, attribute, value)
    for word in words:
        assert word in str(error.value)


def test_refusals_never_show_the_value() -> None:
    secret = "SECRET-PASSWORD-1234"
    with pytest.raises(EncodeError) as error:
        encode_attribute_value(TOY, "blob", secret)
    assert secret not in str(error.value)
    assert error.value.__cause__ is None and error.value.__suppress_context__


def test_unknown_attribute_or_method() -> None:
    with pytest.raises(EncodeError, match="has no attribute 'colour'"):
        encode_attribute_value(TOY, "colour", 1)
    with pytest.raises(EncodeError, match="has no method 7"):
        encode_method_parameter(TOY, 7)


def test_method_parameters() -> None:
    assert encode_method_parameter(TOY, "poke") == axdr.Integer(0)
    assert encode_method_parameter(TOY, 2, 5) == axdr.LongUnsigned(5)
    assert encode_method_parameter(TOY, "trigger") is None
    with pytest.raises(EncodeError, match=r"Toy\.set_level needs a parameter: long-unsigned"):
        encode_method_parameter(TOY, "set_level")
    with pytest.raises(EncodeError, match=r"Toy\.trigger takes no parameter"):
        encode_method_parameter(TOY, "trigger", 1)
    with pytest.raises(EncodeError, match=r"Toy\.poke expects integer"):
        encode_method_parameter(TOY, "poke", axdr.Unsigned(0))
    definition = TOY.method("poke")
    assert definition is not None
    assert encode_method_parameter(TOY, definition, -3) == axdr.Integer(-3)


def test_generic_class_answers_every_index_with_any() -> None:
    cls = generic_class(9999, 3)
    assert cls.generic and cls.name == "Class 9999" and cls.version == 3
    attribute = cls.attribute(7)
    assert attribute is not None and attribute.name == "attribute_7" and attribute.type is ANY
    assert cls.attribute("attribute_7") == attribute
    assert cls.attribute(1) == LOGICAL_NAME_ATTRIBUTE
    assert cls.attribute("colour") is None and cls.attribute(0) is None
    method = cls.method("method_2")
    assert method is not None and method.index == 2 and method.parameter is ANY
    assert encode_method_parameter(cls, 2, axdr.Unsigned(1)) == axdr.Unsigned(1)
    with pytest.raises(EncodeError, match="needs a parameter"):
        encode_method_parameter(cls, 2)
    assert encode_attribute_value(cls, 5, [axdr.Unsigned(1)]) == [axdr.Unsigned(1)]


def test_type_names() -> None:
    assert type_name(T.DOUBLE_LONG_UNSIGNED) == "double-long-unsigned"
    assert type_name(_POINT) == "structure {x: unsigned, name: visible-string}"
    assert type_name(array_of(LOGICAL_NAME_STRING)) == "array of octet-string (logical name, 6 bytes)"
    assert type_name(axdr.ArrayDescription(3, T.ENUM)) == "array of enum"
    assert type_name(ANY) == "any data"
    assert repr(ANY) == "ANY"


@given(st.integers(0, 0xFFFF))
def test_long_unsigned_round_trip(number: int) -> None:
    raw = _encode("level", number)
    assert encode_attribute_value(TOY, "level", axdr.decode(raw)) == number


def test_real_class_scaler_unit_from_a_mapping() -> None:
    register = get_class(3)
    assert register is not None
    value = encode_attribute_value(register, "scaler_unit", {"scaler": -2, "unit": 30})
    # Register attribute 3 as in dlms-facts.md section 7: 02 02 0F ss 16 uu.
    assert axdr.encode(value) == bytes.fromhex("02020FFE161E")
