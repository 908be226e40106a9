"""GET APDUs: get-request C0 and get-response C4 (dlmskit.apdu.get)."""

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
    get_data_results,
    invoke_ids,
)

from dlmskit.apdu import (
    CosemAttributeDescriptor,
    CosemAttributeDescriptorWithSelection,
    DataBlockG,
    EncodedData,
    GetDataResult,
    GetRequestNext,
    GetRequestNormal,
    GetRequestWithList,
    GetResponseNormal,
    GetResponseWithDatablock,
    GetResponseWithList,
    InvokeIdAndPriority,
    SelectiveAccessDescriptor,
    decode_apdu,
)
from dlmskit.apdu.results import DataAccessResult
from dlmskit.codec import axdr
from dlmskit.codec.cosem_datetime import CosemDateTime
from dlmskit.codec.obis import Obis
from dlmskit.errors import DecodeError, EncodeError

CLOCK_TIME = CosemAttributeDescriptor(8, Obis(0, 0, 1, 0, 0, 255), 2)
LOAD_PROFILE_BUFFER = CosemAttributeDescriptor(7, Obis(1, 0, 99, 1, 0, 255), 2)
C1 = InvokeIdAndPriority()


# -- published vectors and worked examples -------------------------------------------------------------------


def test_get_clock_time_green_book() -> None:
    # DLMS UA Green Book example: the plaintext GET of the ciphering example, as reproduced in
    # shared/reference/dlms-facts.md section 3 (invoke-id-and-priority 00).
    invoke = InvokeIdAndPriority(0, confirmed=False, high_priority=False)
    check_apdu(GetRequestNormal(invoke, CLOCK_TIME), bytes.fromhex("C0010000080000010000FF0200"))


def test_get_response_with_clock_value() -> None:
    # The date-time of shared/reference/dlms-facts.md section 1 as an octet-string(12) answer.
    stamp = bytes.fromhex("07E30C1001073B28FF8000FF")
    data = bytes.fromhex("C401C100090C") + stamp
    apdu = GetResponseNormal(C1, GetDataResult(axdr.OctetString(stamp)))
    check_apdu(apdu, data)
    assert apdu.result.ok
    assert CosemDateTime.from_bytes(apdu.result.value).hour == 7


def test_invoke_id_and_priority_bits() -> None:
    assert C1.to_byte() == 0xC1
    assert InvokeIdAndPriority.from_byte(0x81) == InvokeIdAndPriority(1, confirmed=False, high_priority=True)
    assert InvokeIdAndPriority.from_byte(0x4F) == InvokeIdAndPriority(15, confirmed=True, high_priority=False)
    assert InvokeIdAndPriority.from_byte(0xF1) == C1  # reserved bits 4-5 are ignored


@pytest.mark.parametrize("invoke_id", [-1, 16, True, "1"])
def test_invoke_id_out_of_range(invoke_id: object) -> None:
    with pytest.raises(EncodeError):
        InvokeIdAndPriority(invoke_id)  # type: ignore[arg-type]


def test_entry_descriptor_published_example() -> None:
    # Entry selective access of shared/reference/dlms-facts.md section 7: selector 2, entries 0 to 5,
    # all columns.
    access = SelectiveAccessDescriptor.entry_descriptor(0, 5, 0, 0)
    assert access.encode() == bytes.fromhex("02020406000000000600000005120000120000")


def test_entry_descriptor_defaults_read_from_first_column_to_last() -> None:
    access = SelectiveAccessDescriptor.entry_descriptor(1)
    assert access.selector == SelectiveAccessDescriptor.ENTRY
    assert access.parameters == (1, 0, 1, 0)


def test_get_profile_by_range() -> None:
    start = CosemDateTime(2024, 1, 1, 0xFF, 0, 0, 0, 0, 0, 0)
    end = CosemDateTime(2024, 1, 2, 0xFF, 0, 0, 0, 0, 0, 0)
    clock_column = (8, Obis(0, 0, 1, 0, 0, 255), 2, 0)
    energy_column = (3, Obis(1, 0, 1, 8, 0, 255), 2, 0)
    access = SelectiveAccessDescriptor.range_descriptor(
        clock_column,
        axdr.OctetString(start.to_bytes()),
        axdr.OctetString(end.to_bytes()),
        [clock_column, energy_column],
    )
    restricting = "0204 120008 0906 0000010000FF 0F02 120000"
    expected = (
        "C001C1 0007 0100630100FF 02"  # profile generic buffer
        "01 01"  # access selection present, selector 1 (range)
        f"0204 {restricting}"
        f"090C {start.to_bytes().hex()} 090C {end.to_bytes().hex()}"
        f"0102 {restricting} 0204 120003 0906 0100010800FF 0F02 120000"
    )
    check_apdu(GetRequestNormal(C1, LOAD_PROFILE_BUFFER, access), bytes.fromhex(expected))


def test_get_response_data_access_result() -> None:
    apdu = check_apdu(GetResponseNormal(C1, GetDataResult(error=DataAccessResult.OBJECT_UNDEFINED)))
    assert apdu == bytes.fromhex("C401C10104")
    decoded = GetResponseNormal.decode(apdu)
    assert decoded.result.error is DataAccessResult.OBJECT_UNDEFINED
    assert not decoded.result.ok


def test_unknown_data_access_result_kept_as_int() -> None:
    decoded = GetResponseNormal.decode(bytes.fromhex("C401C101C8"))
    assert decoded.result.error == 200
    assert type(decoded.result.error) is int
    assert decoded.encode() == bytes.fromhex("C401C101C8")


def test_get_response_without_decoding_the_value() -> None:
    value = axdr.Array([axdr.Structure([axdr.DoubleLongUnsigned(n), axdr.Long(-n)]) for n in range(50)])
    data = GetResponseNormal(C1, GetDataResult(value)).encode()
    lazy = GetResponseNormal.decode(data, decode_value=False)
    assert lazy.result.value == EncodedData(axdr.encode(value))
    assert lazy.result.value.decode() == value
    assert lazy.encode() == data
    assert decode_apdu(data, decode_value=False) == lazy
    # A Data-Access-Result is decoded (and checked) as usual.
    assert GetResponseNormal.decode(bytes.fromhex("C401C10103"), decode_value=False).result.error == 3
    with pytest.raises(DecodeError):
        GetResponseNormal.decode(bytes.fromhex("C401C10103FF"), decode_value=False)
    with pytest.raises(DecodeError):
        GetResponseNormal.decode(bytes.fromhex("C401C100"), decode_value=False)
    # The value itself is only checked when decoded.
    with pytest.raises(DecodeError):
        GetResponseNormal.decode(bytes.fromhex("C401C1000904"), decode_value=False).result.value.decode()


def test_long_get_blocks_join_into_the_value() -> None:
    value = axdr.Array([axdr.OctetString(bytes([n]) * 20) for n in range(40)])
    encoded = axdr.encode(value)
    slices = [encoded[i : i + 200] for i in range(0, len(encoded), 200)]
    responses = [
        GetResponseWithDatablock(C1, DataBlockG(n == len(slices), n, piece))
        for n, piece in enumerate(slices, start=1)
    ]
    received = [decode_apdu(response.encode()) for response in responses]
    assert all(isinstance(r, GetResponseWithDatablock) for r in received)
    assert received[-1].block.last_block  # type: ignore[attr-defined]
    assert axdr.decode(b"".join(r.block.raw_data for r in received)) == value  # type: ignore[attr-defined]


def test_datablock_g_vectors() -> None:
    check_apdu(
        GetResponseWithDatablock(C1, DataBlockG(False, 1, bytes.fromhex("01020304"))),
        bytes.fromhex("C402C100 00000001 00 04 01020304"),
    )
    check_apdu(
        GetResponseWithDatablock(C1, DataBlockG(True, 2, error=DataAccessResult.LONG_GET_ABORTED)),
        bytes.fromhex("C402C101 00000002 01 0F"),
    )
    # Any non-zero last-block byte is true (A-XDR BOOLEAN).
    assert GetResponseWithDatablock.decode(bytes.fromhex("C402C1FF000000010000")).block.last_block


def test_get_next_and_with_list() -> None:
    check_apdu(GetRequestNext(C1, 1), bytes.fromhex("C002C100000001"))
    entry = SelectiveAccessDescriptor.entry_descriptor(1, 10)
    request = GetRequestWithList(
        C1,
        (
            CosemAttributeDescriptorWithSelection(CLOCK_TIME),
            CosemAttributeDescriptorWithSelection(LOAD_PROFILE_BUFFER, entry),
        ),
    )
    check_apdu(
        request,
        bytes.fromhex("C003C102 00080000010000FF0200 00070100630100FF0201") + entry.encode(),
    )
    response = GetResponseWithList(
        C1, (GetDataResult(axdr.LongUnsigned(230)), GetDataResult(error=DataAccessResult.READ_WRITE_DENIED))
    )
    check_apdu(response, bytes.fromhex("C403C102 001200E6 0103"))


# -- errors --------------------------------------------------------------------------------------------------


def test_decode_errors() -> None:
    with pytest.raises(DecodeError, match="choice"):
        decode_apdu(bytes.fromhex("C004C1"))
    with pytest.raises(DecodeError, match="not a GetRequestNext"):
        GetRequestNext.decode(bytes.fromhex("C0010000080000010000FF0200"))
    with pytest.raises(DecodeError, match="trailing"):
        GetRequestNormal.decode(bytes.fromhex("C0010000080000010000FF020000"))
    with pytest.raises(DecodeError, match="access-selection"):
        GetRequestNormal.decode(bytes.fromhex("C0010000080000010000FF0202"))
    with pytest.raises(DecodeError, match="count larger"):
        decode_apdu(bytes.fromhex("C003C17F00080000010000FF0200"))
    with pytest.raises(DecodeError, match="Get-Data-Result"):
        decode_apdu(bytes.fromhex("C401C10200"))


def test_encode_errors() -> None:
    with pytest.raises(EncodeError, match="attribute-id"):
        CosemAttributeDescriptor(8, Obis(0, 0, 1, 0, 0), 200).encode()
    with pytest.raises(EncodeError, match="class-id"):
        CosemAttributeDescriptor(0x10000, Obis(0, 0, 1, 0, 0), 2).encode()
    with pytest.raises(EncodeError, match="block-number"):
        GetRequestNext(C1, -1).encode()
    with pytest.raises(EncodeError, match="error="):
        GetDataResult(DataAccessResult.OTHER_REASON)
    with pytest.raises(EncodeError, match="not both"):
        GetDataResult(axdr.Unsigned(1), DataAccessResult.OTHER_REASON)
    with pytest.raises(EncodeError, match="not both"):
        DataBlockG(True, 1, b"\x00", DataAccessResult.OTHER_REASON)


# -- properties ----------------------------------------------------------------------------------------------

_BOUNDED = settings(max_examples=60, deadline=None)


@_BOUNDED
@given(invoke_ids(), attribute_descriptors(), st.none() | access_descriptors())
def test_get_request_normal_round_trip(
    invoke: InvokeIdAndPriority, attribute: CosemAttributeDescriptor, access: SelectiveAccessDescriptor | None
) -> None:
    check_apdu(GetRequestNormal(invoke, attribute, access))


@_BOUNDED
@given(invoke_ids(), block_numbers())
def test_get_request_next_round_trip(invoke: InvokeIdAndPriority, block_number: int) -> None:
    check_apdu(GetRequestNext(invoke, block_number))


@_BOUNDED
@given(invoke_ids(), st.lists(attributes_with_selection(), max_size=4).map(tuple))
def test_get_request_with_list_round_trip(
    invoke: InvokeIdAndPriority, attributes: tuple[CosemAttributeDescriptorWithSelection, ...]
) -> None:
    check_apdu(GetRequestWithList(invoke, attributes))


@_BOUNDED
@given(invoke_ids(), get_data_results())
def test_get_response_normal_round_trip(invoke: InvokeIdAndPriority, result: GetDataResult) -> None:
    check_apdu(GetResponseNormal(invoke, result))


@_BOUNDED
@given(invoke_ids(), axdr_data())
def test_get_response_normal_lazy_round_trip(invoke: InvokeIdAndPriority, value: axdr.Data) -> None:
    data = GetResponseNormal(invoke, GetDataResult(value)).encode()
    lazy = GetResponseNormal.decode(data, decode_value=False)
    assert lazy.encode() == data
    assert axdr.encode(lazy.result.value.decode()) == axdr.encode(value)


@_BOUNDED
@given(
    invoke_ids(),
    st.builds(DataBlockG, st.booleans(), block_numbers(), st.binary(max_size=60))
    | st.builds(DataBlockG, st.booleans(), block_numbers(), error=data_access_results()),
)
def test_get_response_with_datablock_round_trip(invoke: InvokeIdAndPriority, block: DataBlockG) -> None:
    check_apdu(GetResponseWithDatablock(invoke, block))


@_BOUNDED
@given(invoke_ids(), st.lists(get_data_results(), max_size=4).map(tuple))
def test_get_response_with_list_round_trip(
    invoke: InvokeIdAndPriority, results: tuple[GetDataResult, ...]
) -> None:
    check_apdu(GetResponseWithList(invoke, results))


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["C001", "C002", "C003", "C401", "C402", "C403"]), st.binary(max_size=40))
def test_garbage_raises_only_decode_error(header: str, tail: bytes) -> None:
    check_garbage(bytes.fromhex(header) + tail)
