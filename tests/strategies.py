"""Hypothesis strategies (and APDU checks) shared by the test suite: ``from tests.strategies import ...``."""

from __future__ import annotations

import string
from typing import Any

import pytest
from hypothesis import strategies as st

from dlmskit.apdu import decode_apdu
from dlmskit.apdu.common import (
    CosemAttributeDescriptor,
    CosemAttributeDescriptorWithSelection,
    CosemMethodDescriptor,
    DataBlockSA,
    GetDataResult,
    InvokeIdAndPriority,
    SelectiveAccessDescriptor,
)
from dlmskit.apdu.results import DataAccessResult
from dlmskit.apdu.sn import (
    BlockNumberAccess,
    DataBlockResult,
    ParameterizedAccess,
    ReadDataBlockAccess,
    ReadResult,
    VariableAccessSpecification,
    VariableName,
    WriteDataBlockAccess,
    WriteResult,
)
from dlmskit.codec import axdr
from dlmskit.codec.obis import Obis
from dlmskit.errors import DecodeError

_INT_TYPES = (
    axdr.Integer,
    axdr.Long,
    axdr.DoubleLong,
    axdr.Long64,
    axdr.Unsigned,
    axdr.LongUnsigned,
    axdr.DoubleLongUnsigned,
    axdr.Long64Unsigned,
    axdr.Enum,
)


def _typed_ints() -> st.SearchStrategy[axdr.Data]:
    return st.one_of([st.integers(cls.MIN, cls.MAX).map(cls) for cls in _INT_TYPES])


def axdr_data(max_leaves: int = 12) -> st.SearchStrategy[axdr.Data]:
    """A-XDR Data values: nested arrays and structures of typed integers, octet-strings, visible-strings,
    booleans and null-data."""
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        _typed_ints(),
        st.binary(max_size=40).map(axdr.OctetString),
        st.text(string.ascii_letters + string.digits + " ", max_size=16).map(axdr.VisibleString),
    )
    return st.recursive(
        scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=5).map(axdr.Array),
            st.lists(children, max_size=5).map(axdr.Structure),
        ),
        max_leaves=max_leaves,
    )


def obis_codes() -> st.SearchStrategy[Obis]:
    return st.binary(min_size=6, max_size=6).map(Obis.from_bytes)


def invoke_ids() -> st.SearchStrategy[InvokeIdAndPriority]:
    return st.builds(InvokeIdAndPriority, st.integers(0, 15), st.booleans(), st.booleans())


def attribute_descriptors() -> st.SearchStrategy[CosemAttributeDescriptor]:
    return st.builds(CosemAttributeDescriptor, st.integers(0, 0xFFFF), obis_codes(), st.integers(-128, 127))


def method_descriptors() -> st.SearchStrategy[CosemMethodDescriptor]:
    return st.builds(CosemMethodDescriptor, st.integers(0, 0xFFFF), obis_codes(), st.integers(-128, 127))


def access_descriptors() -> st.SearchStrategy[SelectiveAccessDescriptor]:
    return st.builds(SelectiveAccessDescriptor, st.integers(0, 255), axdr_data(max_leaves=6))


def attributes_with_selection() -> st.SearchStrategy[CosemAttributeDescriptorWithSelection]:
    return st.builds(
        CosemAttributeDescriptorWithSelection, attribute_descriptors(), st.none() | access_descriptors()
    )


def data_access_results() -> st.SearchStrategy[DataAccessResult | int]:
    """Known Data-Access-Result members and unknown codes (kept as plain ints when decoded)."""
    return st.sampled_from(list(DataAccessResult)) | st.integers(0, 255).filter(
        lambda value: DataAccessResult.lookup(value) is None
    )


def get_data_results() -> st.SearchStrategy[GetDataResult]:
    return st.builds(GetDataResult, axdr_data(max_leaves=6)) | st.builds(
        GetDataResult, error=data_access_results()
    )


def block_numbers() -> st.SearchStrategy[int]:
    return st.integers(0, 0xFFFFFFFF)


def data_blocks_sa() -> st.SearchStrategy[DataBlockSA]:
    return st.builds(DataBlockSA, st.booleans(), block_numbers(), st.binary(max_size=300))


def variable_names() -> st.SearchStrategy[int]:
    return st.integers(0, 0xFFFF)


def short_block_numbers() -> st.SearchStrategy[int]:
    """Block numbers of the short-name services (Unsigned16)."""
    return st.integers(0, 0xFFFF)


def variable_access_specifications() -> st.SearchStrategy[VariableAccessSpecification]:
    """Every choice of the SN Variable-Access-Specification."""
    return st.one_of(
        st.builds(VariableName, variable_names()),
        st.builds(ParameterizedAccess, variable_names(), st.integers(0, 255), axdr_data(max_leaves=6)),
        st.builds(BlockNumberAccess, short_block_numbers()),
        st.builds(ReadDataBlockAccess, st.booleans(), short_block_numbers(), st.binary(max_size=60)),
        st.builds(WriteDataBlockAccess, st.booleans(), short_block_numbers()),
    )


def read_results() -> st.SearchStrategy[ReadResult]:
    """Every choice of a ReadResponse result."""
    return st.one_of(
        st.builds(ReadResult, axdr_data(max_leaves=6)),
        st.builds(ReadResult, error=data_access_results()),
        st.builds(
            ReadResult,
            block=st.builds(DataBlockResult, st.booleans(), short_block_numbers(), st.binary(max_size=60)),
        ),
        st.builds(ReadResult, block_number=short_block_numbers()),
    )


def write_results() -> st.SearchStrategy[WriteResult]:
    """Every choice of a WriteResponse result."""
    return st.one_of(
        st.just(WriteResult()),
        st.builds(WriteResult, error=data_access_results()),
        st.builds(WriteResult, block_number=short_block_numbers()),
    )


# -- checks shared by the APDU tests -------------------------------------------------------------------------


def check_apdu(apdu: Any, data: bytes | None = None) -> bytes:
    """Encode ``apdu`` (and compare with ``data`` when given); check that its class and :func:`decode_apdu`
    decode it back to an equal APDU with the same encoding, and that every truncation raises
    :class:`DecodeError`. Returns the encoding."""
    encoded = apdu.encode()
    if data is not None:
        assert encoded.hex().upper() == data.hex().upper()
    assert type(apdu).decode(encoded) == apdu
    decoded = decode_apdu(encoded)
    assert decoded == apdu
    assert decoded.encode() == encoded
    for end in range(len(encoded)):
        with pytest.raises(DecodeError):
            decode_apdu(encoded[:end])
        with pytest.raises(DecodeError):
            type(apdu).decode(encoded[:end])
    return encoded


def check_garbage(data: bytes) -> None:
    """:func:`decode_apdu` either decodes ``data`` or raises :class:`DecodeError`, nothing else; what it
    decodes encodes to bytes that decode to the same APDU."""
    try:
        apdu = decode_apdu(data)
    except DecodeError:
        return
    assert decode_apdu(apdu.encode()) == apdu
