"""SET APDUs: set-request C1 and set-response C5 (dlmskit.apdu.set)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.strategies import (
    access_descriptors,
    attribute_descriptors,
    attributes_with_selection,
    axdr_data,
    block_numbers,
    check_apdu,
    check_garbage,
    data_access_results,
    data_blocks_sa,
    invoke_ids,
)

from dlmskit.apdu import (
    CosemAttributeDescriptor,
    CosemAttributeDescriptorWithSelection,
    DataBlockSA,
    EncodedData,
    InvokeIdAndPriority,
    SelectiveAccessDescriptor,
    SetRequestNormal,
    SetRequestWithDatablock,
    SetRequestWithFirstDatablock,
    SetRequestWithList,
    SetRequestWithListAndFirstDatablock,
    SetResponseDatablock,
    SetResponseLastDatablock,
    SetResponseLastDatablockWithList,
    SetResponseNormal,
    SetResponseWithList,
    decode_apdu,
)
from dlmskit.apdu.results import DataAccessResult
from dlmskit.codec import axdr
from dlmskit.codec.obis import Obis
from dlmskit.errors import DecodeError, EncodeError

C1 = InvokeIdAndPriority()
CONTROL_MODE = CosemAttributeDescriptor(70, Obis(0, 0, 96, 3, 10, 255), 4)
CLOCK_TIME = CosemAttributeDescriptor(8, Obis(0, 0, 1, 0, 0, 255), 2)

# -- worked examples --------------------------------------------------------------------------------------


def test_set_control_mode() -> None:
    # Disconnect control attribute 4 control_mode enum (shared/reference/dlms-facts.md section 7).
    check_apdu(
        SetRequestNormal(C1, CONTROL_MODE, axdr.Enum(1)),
        bytes.fromhex("C101C1 0046 000060030AFF 04 00 1601"),
    )
    check_apdu(SetResponseNormal(C1, DataAccessResult.SUCCESS), bytes.fromhex("C501C100"))


def test_set_response_results() -> None:
    denied = SetResponseNormal.decode(bytes.fromhex("C501C103"))
    assert denied.result is DataAccessResult.READ_WRITE_DENIED
    unknown = SetResponseNormal.decode(bytes.fromhex("C501C1F0"))
    assert unknown.result == 0xF0
    assert type(unknown.result) is int


def test_set_with_selective_access_puts_access_before_the_value() -> None:
    access = SelectiveAccessDescriptor(1, axdr.Unsigned(3))
    check_apdu(
        SetRequestNormal(C1, CLOCK_TIME, axdr.OctetString(bytes(12)), access),
        bytes.fromhex("C101C1 0008 0000010000FF 02 01 01 1103 090C") + bytes(12),
    )


def test_set_pre_encoded_value() -> None:
    apdu = SetRequestNormal(C1, CONTROL_MODE, EncodedData(bytes.fromhex("1601")))
    assert apdu.encode() == SetRequestNormal(C1, CONTROL_MODE, axdr.Enum(1)).encode()


def test_long_set_in_blocks() -> None:
    value = axdr.Array([axdr.OctetString(bytes([n]) * 30) for n in range(20)])
    encoded = axdr.encode(value)
    first = SetRequestWithFirstDatablock(C1, CLOCK_TIME, DataBlockSA(False, 1, encoded[:300]))
    check_apdu(first, bytes.fromhex("C102C1 0008 0000010000FF 02 00 00 00000001 82012C") + encoded[:300])
    following = SetRequestWithDatablock(C1, DataBlockSA(True, 2, encoded[300:]))
    check_apdu(following)
    check_apdu(SetResponseDatablock(C1, 1), bytes.fromhex("C502C100000001"))
    check_apdu(SetResponseLastDatablock(C1, DataAccessResult.SUCCESS, 2), bytes.fromhex("C503C100 00000002"))
    joined = first.block.raw_data + following.block.raw_data
    assert axdr.decode(joined) == value


def test_set_with_list() -> None:
    attributes = (
        CosemAttributeDescriptorWithSelection(CONTROL_MODE),
        CosemAttributeDescriptorWithSelection(CLOCK_TIME),
    )
    request = SetRequestWithList(C1, attributes, (axdr.Enum(1), axdr.OctetString(bytes(12))))
    check_apdu(
        request,
        bytes.fromhex("C104C1 02 0046000060030AFF0400 00080000010000FF0200 02 1601 090C") + bytes(12),
    )
    check_apdu(
        SetResponseWithList(C1, (DataAccessResult.SUCCESS, DataAccessResult.TYPE_UNMATCHED)),
        bytes.fromhex("C505C1 02 00 0C"),
    )
    check_apdu(
        SetRequestWithListAndFirstDatablock(C1, attributes, DataBlockSA(False, 1, b"\x02\x02\x16\x01")),
        bytes.fromhex(
            "C105C1 02 00460000600 30AFF0400 00080000010000FF0200 00 00000001 04 02021601".replace(" ", "")
        ),
    )
    check_apdu(
        SetResponseLastDatablockWithList(C1, (DataAccessResult.SUCCESS, 250), 2),
        bytes.fromhex("C504C1 02 00 FA 00000002"),
    )


# -- errors -----------------------------------------------------------------------------------------------


def test_decode_errors() -> None:
    with pytest.raises(DecodeError, match="choice"):
        decode_apdu(bytes.fromhex("C106C1"))
    with pytest.raises(DecodeError, match="choice"):
        decode_apdu(bytes.fromhex("C500C100"))
    with pytest.raises(DecodeError, match="trailing"):
        SetResponseNormal.decode(bytes.fromhex("C501C10000"))
    with pytest.raises(DecodeError, match="truncated raw-data"):
        decode_apdu(bytes.fromhex("C103C10100000001050102"))
    with pytest.raises(DecodeError, match="count larger"):
        decode_apdu(bytes.fromhex("C505C10500"))


def test_encode_errors() -> None:
    with pytest.raises(EncodeError, match="data-access-result"):
        SetResponseNormal(C1, 256).encode()
    with pytest.raises(EncodeError, match="block-number"):
        SetResponseDatablock(C1, 1 << 32).encode()
    with pytest.raises(EncodeError):
        SetRequestNormal(C1, CLOCK_TIME, 5).encode()  # a plain int has no A-XDR type


# -- properties -------------------------------------------------------------------------------------------

_BOUNDED = settings(max_examples=60, deadline=None)
_ATTRIBUTE_LISTS = st.lists(attributes_with_selection(), max_size=3).map(tuple)
_RESULT_LISTS = st.lists(data_access_results(), max_size=5).map(tuple)


@_BOUNDED
@given(invoke_ids(), attribute_descriptors(), axdr_data(), st.none() | access_descriptors())
def test_set_request_normal_round_trip(
    invoke: InvokeIdAndPriority,
    attribute: CosemAttributeDescriptor,
    value: axdr.Data,
    access: SelectiveAccessDescriptor | None,
) -> None:
    check_apdu(SetRequestNormal(invoke, attribute, value, access))


@_BOUNDED
@given(invoke_ids(), attribute_descriptors(), data_blocks_sa(), st.none() | access_descriptors())
def test_set_request_with_first_datablock_round_trip(
    invoke: InvokeIdAndPriority,
    attribute: CosemAttributeDescriptor,
    block: DataBlockSA,
    access: SelectiveAccessDescriptor | None,
) -> None:
    check_apdu(SetRequestWithFirstDatablock(invoke, attribute, block, access))


@_BOUNDED
@given(invoke_ids(), data_blocks_sa())
def test_set_request_with_datablock_round_trip(invoke: InvokeIdAndPriority, block: DataBlockSA) -> None:
    check_apdu(SetRequestWithDatablock(invoke, block))


@_BOUNDED
@given(invoke_ids(), _ATTRIBUTE_LISTS, st.lists(axdr_data(max_leaves=6), max_size=3).map(tuple))
def test_set_request_with_list_round_trip(
    invoke: InvokeIdAndPriority,
    attributes: tuple[CosemAttributeDescriptorWithSelection, ...],
    values: tuple[axdr.Data, ...],
) -> None:
    check_apdu(SetRequestWithList(invoke, attributes, values))


@_BOUNDED
@given(invoke_ids(), _ATTRIBUTE_LISTS, data_blocks_sa())
def test_set_request_with_list_and_first_datablock_round_trip(
    invoke: InvokeIdAndPriority,
    attributes: tuple[CosemAttributeDescriptorWithSelection, ...],
    block: DataBlockSA,
) -> None:
    check_apdu(SetRequestWithListAndFirstDatablock(invoke, attributes, block))


@_BOUNDED
@given(invoke_ids(), data_access_results(), block_numbers(), _RESULT_LISTS)
def test_set_responses_round_trip(
    invoke: InvokeIdAndPriority,
    result: DataAccessResult | int,
    block_number: int,
    results: tuple[DataAccessResult | int, ...],
) -> None:
    check_apdu(SetResponseNormal(invoke, result))
    check_apdu(SetResponseDatablock(invoke, block_number))
    check_apdu(SetResponseLastDatablock(invoke, result, block_number))
    check_apdu(SetResponseLastDatablockWithList(invoke, results, block_number))
    check_apdu(SetResponseWithList(invoke, results))


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["C101", "C102", "C103", "C104", "C105", "C501", "C502", "C503", "C504", "C505"]),
    st.binary(max_size=40),
)
def test_garbage_raises_only_decode_error(header: str, tail: bytes) -> None:
    check_garbage(bytes.fromhex(header) + tail)
