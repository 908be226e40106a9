"""A-XDR codec: vectors, lengths, round trips, bulk path, robustness."""

from __future__ import annotations

import contextlib
import datetime as dt
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlmskit.codec import axdr
from dlmskit.codec.axdr import DataType
from dlmskit.errors import DecodeError, EncodeError

# -- strategies ---------------------------------------------------------------------------------------------

_INT_TYPES = [
    axdr.Integer,
    axdr.Long,
    axdr.DoubleLong,
    axdr.Long64,
    axdr.Unsigned,
    axdr.LongUnsigned,
    axdr.DoubleLongUnsigned,
    axdr.Long64Unsigned,
    axdr.Enum,
    axdr.Bcd,
]


def typed_ints() -> st.SearchStrategy[object]:
    return st.one_of(*[st.integers(cls.MIN, cls.MAX).map(cls) for cls in _INT_TYPES])


def scalars() -> st.SearchStrategy[object]:
    return st.one_of(
        typed_ints(),
        st.none(),
        st.booleans(),
        st.binary(max_size=300).map(axdr.OctetString),
        st.text(st.characters(min_codepoint=0, max_codepoint=255), max_size=40).map(axdr.VisibleString),
        st.text(max_size=40).map(axdr.Utf8String),
        st.text("01", max_size=40).map(axdr.BitString),
        st.floats(allow_nan=False, width=32).map(axdr.Float32),
        st.floats(allow_nan=False).map(axdr.Float64),
        st.binary(min_size=12, max_size=12).map(axdr.CosemDateTime.from_bytes),
        st.binary(min_size=5, max_size=5).map(axdr.CosemDate.from_bytes),
        st.binary(min_size=4, max_size=4).map(axdr.CosemTime.from_bytes),
        st.just(axdr.DONT_CARE),
    )


def data_values() -> st.SearchStrategy[object]:
    return st.recursive(
        scalars(),
        lambda children: st.one_of(
            st.lists(children, max_size=6).map(axdr.Array),
            st.lists(children, max_size=6).map(axdr.Structure),
        ),
        max_leaves=30,
    )


def same(a: object, b: object) -> bool:
    """Equal values of the same types, recursively."""
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple))
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        assert isinstance(b, float)
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b


# -- vectors ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "hex_bytes"),
    [
        (None, "00"),
        (True, "03FF"),
        (False, "0300"),
        (axdr.DoubleLong(-2), "05FFFFFFFE"),
        (axdr.DoubleLongUnsigned(0x01020304), "0601020304"),
        (axdr.OctetString(bytes.fromhex("0000600100FF")), "09060000600100FF"),
        (axdr.VisibleString("ABC"), "0A03414243"),
        (axdr.Utf8String("µ"), "0C02C2B5"),
        (axdr.Bcd(0x12), "0D12"),
        (axdr.Integer(-1), "0FFF"),
        (axdr.Long(-3), "10FFFD"),
        (axdr.Unsigned(200), "11C8"),
        (axdr.LongUnsigned(230), "1200E6"),
        (axdr.Long64(-1), "14FFFFFFFFFFFFFFFF"),
        (axdr.Long64Unsigned(2**64 - 1), "15FFFFFFFFFFFFFFFF"),
        (axdr.Enum(30), "161E"),
        (axdr.Float32(1.5), "173FC00000"),
        (axdr.Float64(-2.0), "18C000000000000000"),
        (axdr.BitString("101"), "0403A0"),
        (axdr.BitString("1000000010"), "040A8080"),
        (axdr.DONT_CARE, "FF"),
        # Register scaler_unit {integer -3, enum 30 (Wh)}: facts sheet section 7.
        (axdr.Structure([axdr.Integer(-3), axdr.Enum(30)]), "02020FFD161E"),
        (axdr.Array([axdr.Unsigned(1), axdr.Unsigned(2)]), "0102110111 02".replace(" ", "")),
        # Facts sheet section 1 date-time example as a date-time (tag 25).
        (
            axdr.CosemDateTime.from_bytes(bytes.fromhex("07E30C1001073B28FF8000FF")),
            "1907E30C1001073B28FF8000FF",
        ),
        (axdr.CosemDate(2024, 1, 2, 2), "1A07E8010202"),
        (axdr.CosemTime(1, 2, 3, 4), "1B01020304"),
    ],
)
def test_vectors(value: object, hex_bytes: str) -> None:
    raw = bytes.fromhex(hex_bytes)
    assert axdr.encode(value) == raw
    decoded = axdr.decode(raw)
    assert same(decoded, value)


def test_selective_access_entry_vector() -> None:
    # Facts sheet section 7: entry descriptor {from 0, to 5, columns 0..0}.
    raw = bytes.fromhex("020406000000000600000005120000120000")
    value = axdr.decode(raw)
    assert value == (0, 5, 0, 0)
    assert type(value[0]) is axdr.DoubleLongUnsigned and type(value[2]) is axdr.LongUnsigned
    assert axdr.encode(value) == raw


@pytest.mark.parametrize(
    ("length", "prefix"),
    [
        (0, "00"),
        (127, "7F"),
        (128, "8180"),
        (255, "81FF"),
        (256, "820100"),
        (65535, "82FFFF"),
        (65536, "83010000"),
    ],
)
def test_length_prefix(length: int, prefix: str) -> None:
    assert axdr.encode_length(length) == bytes.fromhex(prefix)
    assert axdr.decode_length(bytes.fromhex(prefix)) == (length, len(prefix) // 2)
    raw = axdr.encode(axdr.OctetString(bytes(length)))
    assert raw[1 : 1 + len(prefix) // 2] == bytes.fromhex(prefix)
    assert axdr.decode(raw) == bytes(length)


def test_four_byte_length() -> None:
    assert axdr.encode_length(0x01000000) == bytes.fromhex("8401000000")
    assert axdr.decode_length(bytes.fromhex("8401000000")) == (0x01000000, 5)


def test_plain_python_values() -> None:
    assert axdr.encode(b"\x01") == bytes.fromhex("090101")
    assert axdr.encode("hi") == bytes.fromhex("0A026869")
    assert axdr.encode("hé€") == bytes.fromhex("0C06") + "hé€".encode()
    assert axdr.encode([True]) == bytes.fromhex("010103FF")
    assert axdr.encode((None,)) == bytes.fromhex("020100")
    assert axdr.encode(1.0) == bytes.fromhex("183FF0000000000000")
    stamp = dt.datetime(2019, 12, 16, 7, 59, 40)
    assert axdr.encode(stamp)[:10] == bytes.fromhex("1907E30C1001073B2800")


def test_plain_int_is_refused_with_a_hint() -> None:
    with pytest.raises(EncodeError, match=r"axdr.Unsigned\(5\)"):
        axdr.encode(5)


def test_range_checks() -> None:
    with pytest.raises(EncodeError, match="out of range"):
        axdr.Unsigned(256)
    with pytest.raises(EncodeError):
        axdr.Integer(-129)
    with pytest.raises(EncodeError):
        axdr.BitString("102")
    with pytest.raises(EncodeError):
        axdr.Unsigned(True)  # type: ignore[arg-type]


def test_types_survive_arithmetic_as_plain_ints() -> None:
    value = axdr.decode(bytes.fromhex("1200E6"))
    assert value == 230 and isinstance(value, int)
    assert type(value + 1) is int
    assert repr(value) == "LongUnsigned(230)"
    assert axdr.type_of(value) is DataType.LONG_UNSIGNED


def test_compact_array_round_trip() -> None:
    desc = axdr.StructureDescription((DataType.LONG_UNSIGNED, DataType.OCTET_STRING))
    value = axdr.CompactArray(
        [
            axdr.Structure([axdr.LongUnsigned(1), axdr.OctetString(b"ab")]),
            axdr.Structure([axdr.LongUnsigned(2), axdr.OctetString(b"")]),
        ],
        desc,
    )
    raw = axdr.encode(value)
    # tag, structure description of 2: long-unsigned, octet-string; contents length 8.
    assert raw.hex().upper() == "1302021209" + "08" + "0001026162" + "000200"
    decoded = axdr.decode(raw)
    assert isinstance(decoded, axdr.CompactArray)
    assert decoded == value and decoded.description == desc


def test_compact_array_of_array_description() -> None:
    desc = axdr.ArrayDescription(3, DataType.UNSIGNED)
    value = axdr.CompactArray(
        [axdr.Array([axdr.Unsigned(i), axdr.Unsigned(i), axdr.Unsigned(i)]) for i in range(2)], desc
    )
    raw = axdr.encode(value)
    assert raw.hex().upper() == "1301000311" + "06" + "000000010101"
    assert axdr.decode(raw) == value


def test_convert() -> None:
    assert repr(axdr.convert(5, DataType.UNSIGNED)) == "Unsigned(5)"
    assert repr(axdr.convert("0x10", DataType.LONG)) == "Long(16)"
    assert axdr.convert("00 11:22", DataType.OCTET_STRING) == b"\x00\x11\x22"
    assert axdr.convert("true", DataType.BOOLEAN) is True
    assert axdr.convert(dt.datetime(2020, 1, 1), DataType.OCTET_STRING)[:4] == bytes.fromhex("07E40101")
    scaler_unit = axdr.StructureDescription((DataType.INTEGER, DataType.ENUM))
    assert axdr.encode(axdr.convert((-3, 30), scaler_unit)) == bytes.fromhex("02020FFD161E")
    with pytest.raises(EncodeError, match="expected long-unsigned"):
        axdr.convert("abc", DataType.LONG_UNSIGNED)
    with pytest.raises(EncodeError, match="octet-string"):
        axdr.convert(5, DataType.OCTET_STRING)


def test_to_python() -> None:
    value = axdr.Structure(
        [
            axdr.OctetString(b"\x01\x02"),
            axdr.Unsigned(3),
            axdr.CosemDateTime.from_datetime(dt.datetime(2020, 1, 1)),
        ]
    )
    assert axdr.to_python(value) == ["0102", 3, "2020-01-01T00:00:00"]


# -- bulk path ------------------------------------------------------------------------------------------------


def _profile(rows: int) -> axdr.Array:
    start = dt.datetime(2024, 1, 1)
    return axdr.Array(
        axdr.Structure(
            [
                axdr.OctetString(
                    axdr.CosemDateTime.from_datetime(start + dt.timedelta(minutes=15 * i)).to_bytes()
                ),
                axdr.DoubleLongUnsigned(i * 7),
                axdr.DoubleLongUnsigned(i * 3),
                axdr.Long(-(i % 1000)),
            ]
        )
        for i in range(rows)
    )


def test_bulk_path_equals_generic_path(monkeypatch: pytest.MonkeyPatch) -> None:
    profile = _profile(500)
    raw = axdr.encode(profile)
    bulk = axdr.decode(raw)
    monkeypatch.setattr(axdr, "_BULK_MIN", 10**9)
    generic = axdr.decode(raw)
    assert same(bulk, generic) and same(bulk, profile)


def test_bulk_path_falls_back_when_a_row_differs() -> None:
    profile = _profile(50)
    profile[20] = axdr.Structure(
        [axdr.OctetString(b"short"), axdr.DoubleLongUnsigned(1), axdr.DoubleLongUnsigned(2), axdr.Long(3)]
    )
    profile[30] = axdr.Structure([None, axdr.DoubleLongUnsigned(1), axdr.DoubleLongUnsigned(2), axdr.Long(3)])
    assert same(axdr.decode(axdr.encode(profile)), profile)


def test_bulk_path_scalar_arrays_and_nested_structures() -> None:
    values = axdr.Array(axdr.DoubleLong(i - 50) for i in range(100))
    assert same(axdr.decode(axdr.encode(values)), values)
    nested = axdr.Array(
        axdr.Structure([axdr.LongUnsigned(i), axdr.Structure([axdr.Enum(i % 256), True]), axdr.Float32(0.5)])
        for i in range(40)
    )
    assert same(axdr.decode(axdr.encode(nested)), nested)


def test_bulk_path_truncated_reports_offset() -> None:
    raw = axdr.encode(_profile(10))
    with pytest.raises(DecodeError) as info:
        axdr.decode(raw[:-3])
    assert info.value.offset > 200


# -- properties -------------------------------------------------------------------------------------------------


@settings(max_examples=200)
@given(data_values())
def test_round_trip(value: object) -> None:
    raw = axdr.encode(value)
    decoded = axdr.decode(raw)
    assert same(decoded, value)
    assert axdr.encode(decoded) == raw


@settings(max_examples=200)
@given(st.binary(max_size=64))
def test_random_bytes_raise_only_decode_error(raw: bytes) -> None:
    with contextlib.suppress(DecodeError):
        axdr.decode(raw)


@settings(max_examples=50)
@given(data_values())
def test_every_truncation_raises_decode_error(value: object) -> None:
    raw = axdr.encode(value)
    for cut in range(len(raw)):
        with pytest.raises(DecodeError):
            axdr.decode(raw[:cut])


@pytest.mark.timeout(30)  # a hang guard (pytest-timeout), not a timing assertion
def test_hostile_counts_and_depth_are_bounded() -> None:
    with pytest.raises(DecodeError, match="count larger"):
        axdr.decode(bytes.fromhex("0184FFFFFFFF00"))
    with pytest.raises(DecodeError, match="too deeply"):
        axdr.decode(b"\x02\x01" * 1000 + b"\x00")
    with pytest.raises(DecodeError, match="invalid length prefix"):
        axdr.decode(bytes.fromhex("0985"))
    with pytest.raises(DecodeError, match="unknown data type"):
        axdr.decode(bytes.fromhex("07"))
    with pytest.raises(DecodeError, match="trailing"):
        axdr.decode(bytes.fromhex("0000"))
    with pytest.raises(DecodeError, match="compact-array"):
        axdr.decode(bytes.fromhex("1300" + "05" + "0000000000"))


def test_decode_error_names_offset_expected_found() -> None:
    with pytest.raises(DecodeError) as info:
        axdr.decode(bytes.fromhex("020206000000"))
    err = info.value
    assert err.offset == 3 and "4 bytes" in err.expected and "3 bytes" in err.found
    assert "double-long-unsigned" in str(err)


def _plain_equal(value: object) -> object:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, bytes):
        return bytes(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, tuple):
        return tuple(_plain_equal(v) for v in value)
    if isinstance(value, list):
        return [_plain_equal(v) for v in value]
    return value


def test_decode_plain_bulk_profile() -> None:
    profile = _profile(300)
    plain = axdr.decode_plain(axdr.encode(profile))
    assert type(plain) is list and type(plain[0]) is tuple and type(plain[0][1]) is int
    assert plain == _plain_equal(profile)


@settings(max_examples=100)
@given(data_values())
def test_decode_plain_equals_stripped_typed_decode(value: object) -> None:
    raw = axdr.encode(value)
    plain = axdr.decode_plain(raw)
    expected = _plain_equal(axdr.decode(raw))
    assert plain == expected
