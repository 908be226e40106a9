"""Object list entries, capture objects, token status and STS tokens."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlmskit.codec import axdr
from dlmskit.codec.obis import Obis
from dlmskit.cosem import get_class
from dlmskit.cosem.model import encode_attribute_value
from dlmskit.cosem.values import (
    STS_TOKEN_MAX,
    AccessRights,
    AttributeAccess,
    AttributeAccessMode,
    CaptureObject,
    MethodAccess,
    MethodAccessMode,
    ObjectListEntry,
    TokenStatus,
    TokenStatusCode,
    decode_capture_objects,
    decode_object_list,
    token_from_octets,
    token_to_octets,
)
from dlmskit.errors import DecodeError, EncodeError

obis_codes = st.builds(Obis, *([st.integers(0, 255)] * 6))
selectors = st.none() | st.lists(st.integers(-128, 127), max_size=3).map(tuple)


@st.composite
def object_list_entries(draw: st.DrawFn, association_version: int) -> ObjectListEntry:
    attribute_modes: st.SearchStrategy[Any]
    method_modes: st.SearchStrategy[Any]
    if association_version >= 3:
        attribute_modes = method_modes = st.integers(0, 255).map(AccessRights)
    else:
        attribute_modes = st.sampled_from(AttributeAccessMode) | st.integers(7, 255)
        method_modes = (
            st.sampled_from([MethodAccessMode.NO_ACCESS, MethodAccessMode.ACCESS])
            if association_version == 0
            else st.sampled_from(MethodAccessMode) | st.integers(3, 255)
        )
    attribute_ids = draw(st.lists(st.integers(-128, 127), unique=True, max_size=5))
    method_ids = draw(st.lists(st.integers(-128, 127), unique=True, max_size=4))
    return ObjectListEntry(
        draw(st.integers(0, 0xFFFF)),
        draw(st.integers(0, 255)),
        draw(obis_codes),
        {i: AttributeAccess(i, draw(attribute_modes), draw(selectors)) for i in attribute_ids},
        {i: MethodAccess(i, draw(method_modes)) for i in method_ids},
    )


@pytest.mark.parametrize("association_version", [0, 1, 2, 3])
@settings(max_examples=60)
@given(data=st.data())
def test_object_list_entry_round_trip(association_version: int, data: st.DataObject) -> None:
    entry = data.draw(object_list_entries(association_version))
    raw = axdr.encode(entry.encode(association_version=association_version))
    decoded = ObjectListEntry.decode(axdr.decode(raw), association_version=association_version)
    assert decoded == entry
    association = get_class(15, association_version)
    assert association is not None
    # The encoded element has the type the model gives object_list elements of that version.
    assert (
        axdr.encode(encode_attribute_value(association, "object_list", [axdr.decode(raw)]))
        == b"\x01\x01" + raw
    )


# A clock entry as an Association LN v1 sends it: class 8 v0, 0.0.1.0.0.255, attribute 1 read-only,
# attribute 2 read-write with selectors 1 and 2... and method 1 with access (hand-built from the Blue Book
# object_list element layout quoted in dlms-facts.md section 7).
CLOCK_ENTRY = bytes.fromhex(
    "0204" "120008" "1100" "09060000010000FF"
    "0202"
    "0102"
    "0203" "0F01" "1601" "00"
    "0203" "0F02" "1603" "0102" "0F01" "0F02"
    "0101"
    "0202" "0F01" "1601"
)  # fmt: skip


def test_clock_entry() -> None:
    entry = ObjectListEntry.decode(axdr.decode(CLOCK_ENTRY))
    assert entry.class_id == 8 and entry.version == 0 and entry.logical_name == Obis(0, 0, 1, 0, 0, 255)
    assert entry.attribute_access[1] == AttributeAccess(1, AttributeAccessMode.READ_ONLY)
    assert entry.attribute_access[2].access_selectors == (1, 2)
    assert entry.attribute_access[2].can_read and entry.attribute_access[2].can_write
    assert entry.attribute_access[1].can_read and not entry.attribute_access[1].can_write
    assert entry.method_access[1].can_execute
    assert axdr.encode(entry.encode()) == CLOCK_ENTRY
    assert decode_object_list(axdr.decode(b"\x01\x01" + CLOCK_ENTRY)) == [entry]


def test_access_helpers() -> None:
    assert not AttributeAccess(2, AttributeAccessMode.NO_ACCESS).can_read
    assert AttributeAccess(2, AttributeAccessMode.AUTHENTICATED_READ_ONLY).can_read
    assert AttributeAccess(2, AttributeAccessMode.AUTHENTICATED_WRITE_ONLY).can_write
    assert not AttributeAccess(2, 9).can_read and not AttributeAccess(2, 9).can_write
    rights = AccessRights.READ | AccessRights.ENCRYPTED_REQUEST
    assert AttributeAccess(2, rights).can_read and not AttributeAccess(2, rights).can_write
    assert MethodAccess(1, AccessRights.READ).can_execute and not MethodAccess(1, AccessRights(4)).can_execute
    assert MethodAccess(1, MethodAccessMode.AUTHENTICATED_ACCESS).can_execute
    assert not MethodAccess(1, MethodAccessMode.NO_ACCESS).can_execute and not MethodAccess(1, 7).can_execute


def test_version_0_method_access_is_boolean() -> None:
    entry = ObjectListEntry(70, 0, Obis(0, 0, 96, 3, 10), {}, {1: MethodAccess(1, MethodAccessMode.ACCESS)})
    raw = axdr.encode(entry.encode(association_version=0))
    assert raw.endswith(bytes.fromhex("010102020F0103FF"))
    assert ObjectListEntry.decode(axdr.decode(raw)) == entry  # booleans are recognised in any version


@settings(max_examples=100)
@given(st.integers(0, 0xFFFF), obis_codes, st.integers(-128, 127), st.integers(0, 0xFFFF))
def test_capture_object_round_trip(class_id: int, name: Obis, attribute: int, data_index: int) -> None:
    column = CaptureObject(class_id, name, attribute, data_index)
    raw = axdr.encode(axdr.Array([column.encode()]))
    assert decode_capture_objects(axdr.decode(raw)) == [column]
    profile = get_class(7)
    assert profile is not None
    assert axdr.encode(encode_attribute_value(profile, "capture_objects", axdr.decode(raw))) == raw


def test_capture_object_vector() -> None:
    # Clock time as the first column of a load profile: 00 08 / 0.0.1.0.0.255 / attribute 2 / data index 0.
    raw = bytes.fromhex("0204" "120008" "09060000010000FF" "0F02" "120000")  # fmt: skip
    column = CaptureObject.decode(axdr.decode(raw))
    assert column == CaptureObject(8, Obis(0, 0, 1, 0, 0, 255), 2)
    assert str(column) == "8/0.0.1.0.0.255/2"
    assert str(CaptureObject(3, Obis(1, 0, 1, 8, 0), 2, 1)) == "3/1.0.1.8.0.255/2/1"
    assert axdr.encode(column.encode()) == raw


def test_token_status() -> None:
    raw = bytes.fromhex("0202" "1603" "0403E0")  # fmt: skip
    status = TokenStatus.decode(axdr.decode(raw))
    assert status.status_code is TokenStatusCode.TOKEN_EXECUTION_OK and status.succeeded and not status.failed
    assert status.data_value == "111"
    assert axdr.encode(status.encode()) == raw
    failed = TokenStatus(TokenStatusCode.AUTHENTICATION_FAILURE)
    assert failed.failed and not failed.succeeded
    assert TokenStatus.decode(failed.encode()) == failed
    unknown = TokenStatus.decode(axdr.Structure([axdr.Enum(99), axdr.BitString("1")]))
    assert unknown.status_code == 99 and not isinstance(unknown.status_code, TokenStatusCode)
    with pytest.raises(DecodeError):
        TokenStatus.decode(axdr.Structure([axdr.Enum(1), axdr.OctetString(b"")]))


SEED_TOKEN = "0571 8854 5901 9721 1241"  # from the seed forum thread (shared/seeds/001)


def test_seed_token() -> None:
    assert token_to_octets(SEED_TOKEN).hex() == "3035373138383534353930313937323131323431"
    assert token_to_octets(SEED_TOKEN, format="bcd").hex() == "05718854590197211241"
    assert token_to_octets("0571-8854-5901-9721-1241") == token_to_octets(SEED_TOKEN)
    assert token_from_octets(token_to_octets(SEED_TOKEN)) == "05718854590197211241"
    assert token_from_octets(token_to_octets(SEED_TOKEN, "bcd")) == "05718854590197211241"


@pytest.mark.parametrize(
    ("token", "words"),
    [
        ("0571 8854 5901 9721 124", "this one has 19"),
        ("0571 8854 5901 9721 12411", "this one has 21"),
        ("0571 8854 5901 9721 124X", "20 decimal digits"),
        ("", "this one has 0"),
        ("73786976294838206464", "at most 73786976294838206463"),
        ("99999999999999999999", "larger"),
        ("٠٥٧١٨٨٥٤٥٩٠١٩٧٢١١٢٤١", "20 decimal digits"),  # Arabic-Indic digits are not accepted
    ],
)
def test_bad_tokens(token: str, words: str) -> None:
    with pytest.raises(EncodeError, match=words):
        token_to_octets(token)


def test_token_limits_and_formats() -> None:
    assert token_to_octets(str(STS_TOKEN_MAX)) == str(STS_TOKEN_MAX).encode()
    with pytest.raises(EncodeError, match="'ascii' or 'bcd'"):
        token_to_octets(SEED_TOKEN, format="hex")  # type: ignore[arg-type]
    for bad in (b"", b"\x0a" * 10, b"1" * 19, b"1" * 19 + b"x"):
        with pytest.raises(DecodeError):
            token_from_octets(bad)


@given(st.integers(0, STS_TOKEN_MAX))
def test_token_round_trip(number: int) -> None:
    digits = f"{number:020d}"
    assert token_from_octets(token_to_octets(digits)) == digits
    assert token_from_octets(token_to_octets(digits, "bcd")) == digits


# -- robustness: the decoders raise only DecodeError on any decoded value ----------------------------------

leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-128, 127).map(axdr.Integer),
    st.integers(0, 0xFFFF).map(axdr.LongUnsigned),
    st.integers(0, 255).map(axdr.Enum),
    st.binary(max_size=8).map(axdr.OctetString),
    st.text("01", max_size=9).map(axdr.BitString),
)
values = st.recursive(
    leaves,
    lambda children: (
        st.lists(children, max_size=5).map(axdr.Array) | st.lists(children, max_size=5).map(axdr.Structure)
    ),
    max_leaves=20,
)


@settings(max_examples=150)
@given(values, st.sampled_from([0, 1, 3]))
def test_decoders_raise_only_decode_error(value: Any, version: int) -> None:
    for decoder in (
        lambda v: ObjectListEntry.decode(v, association_version=version),
        lambda v: decode_object_list(v, association_version=version),
        CaptureObject.decode,
        decode_capture_objects,
        TokenStatus.decode,
    ):
        with contextlib.suppress(DecodeError):
            decoder(value)


def test_truncated_object_lists_raise_only_decode_error() -> None:
    raw = b"\x01\x02" + CLOCK_ENTRY + CLOCK_ENTRY
    for end in range(len(raw)):
        with pytest.raises(DecodeError):
            decode_object_list(axdr.decode(raw[:end]))


def test_decode_errors_say_where() -> None:
    with pytest.raises(DecodeError, match="object_list element 1: malformed object_list element"):
        decode_object_list(axdr.Array([axdr.decode(CLOCK_ENTRY), axdr.Structure([])]))
    with pytest.raises(DecodeError, match="malformed object_list"):
        decode_object_list(axdr.Structure([]))
    short_name = CLOCK_ENTRY.replace(bytes.fromhex("09060000010000FF"), bytes.fromhex("0905000001000F"))
    with pytest.raises(DecodeError, match="logical_name"):
        ObjectListEntry.decode(axdr.decode(short_name))
    with pytest.raises(DecodeError, match="capture object 0: malformed class_id"):
        decode_capture_objects(axdr.Array([axdr.Structure([None, None, None, None])]))
