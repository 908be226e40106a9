"""SET service APDUs (logical name referencing): set-request ``C1`` and set-response ``C5``.

Writing one attribute::

    C1 01 C1                 set-request-normal, invoke-id 1
    0046 00006003 0AFF 04    disconnect control (class 70) 0.0.96.3.10.255, attribute 4 control_mode
    00 16 01                 no selective access, Data enum(1)
    C5 01 C1 00              set-response-normal: success

A value too long for one APDU is sent in blocks: set-request-with-first-datablock carries the attribute
and block 1, each set-request-with-datablock the next block; the server acknowledges every block with
set-response-datablock and the last one with set-response-last-datablock, which carries the result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, TypeAlias

from dlmskit.apdu.common import (
    ApduTag,
    CosemAttributeDescriptor,
    CosemAttributeDescriptorWithSelection,
    DataBlockSA,
    InvokeIdAndPriority,
    SelectiveAccessDescriptor,
    XdlmsApdu,
    encode_data,
    pack_int,
    pack_sequence,
    read_data,
    read_result,
    read_sequence,
    read_u32,
)
from dlmskit.apdu.results import DataAccessResult
from dlmskit.codec import axdr

__all__ = [
    "SetRequest",
    "SetRequestNormal",
    "SetRequestWithDatablock",
    "SetRequestWithFirstDatablock",
    "SetRequestWithList",
    "SetRequestWithListAndFirstDatablock",
    "SetResponse",
    "SetResponseDatablock",
    "SetResponseLastDatablock",
    "SetResponseLastDatablockWithList",
    "SetResponseNormal",
    "SetResponseWithList",
]


def _encode_result(result: DataAccessResult | int) -> bytes:
    return pack_int(result, 1, "data-access-result")


def _read_result(data: bytes, offset: int) -> tuple[DataAccessResult | int, int]:
    return read_result(data, offset, DataAccessResult, "data-access-result")


@dataclass(frozen=True, slots=True)
class SetRequestNormal(XdlmsApdu):
    """Set-Request-Normal (``C1 01``): write ``value`` to one attribute, optionally with selective access.

    On the wire the access selection comes before the value.
    """

    TAG: ClassVar[int] = ApduTag.SET_REQUEST
    CHOICE: ClassVar[int] = 1

    invoke: InvokeIdAndPriority
    attribute: CosemAttributeDescriptor
    value: axdr.Data
    access: SelectiveAccessDescriptor | None = None

    def _encode_body(self) -> bytes:
        return (
            self.invoke.encode()
            + self.attribute.encode()
            + SelectiveAccessDescriptor.encode_optional(self.access)
            + encode_data(self.value)
        )

    @classmethod
    def _decode_body(cls, data: bytes, offset: int) -> tuple[SetRequestNormal, int]:
        invoke, offset = InvokeIdAndPriority.decode_from(data, offset)
        attribute, offset = CosemAttributeDescriptor.decode_from(data, offset)
        access, offset = SelectiveAccessDescriptor.decode_optional(data, offset)
        value, offset = read_data(data, offset)
        return cls(invoke, attribute, value, access), offset


@dataclass(frozen=True, slots=True)
class SetRequestWithFirstDatablock(XdlmsApdu):
    """Set-Request-With-First-Datablock (``C1 02``): the attribute and the first block of its value."""

    TAG: ClassVar[int] = ApduTag.SET_REQUEST
    CHOICE: ClassVar[int] = 2

    invoke: InvokeIdAndPriority
    attribute: CosemAttributeDescriptor
    block: DataBlockSA
    access: SelectiveAccessDescriptor | None = None

    def _encode_body(self) -> bytes:
        return (
            self.invoke.encode()
            + self.attribute.encode()
            + SelectiveAccessDescriptor.encode_optional(self.access)
            + self.block.encode()
        )

    @classmethod
    def _decode_body(cls, data: bytes, offset: int) -> tuple[SetRequestWithFirstDatablock, int]:
        invoke, offset = InvokeIdAndPriority.decode_from(data, offset)
        attribute, offset = CosemAttributeDescriptor.decode_from(data, offset)
        access, offset = SelectiveAccessDescriptor.decode_optional(data, offset)
        block, offset = DataBlockSA.decode_from(data, offset)
        return cls(invoke, attribute, block, access), offset


@dataclass(frozen=True, slots=True)
class SetRequestWithDatablock(XdlmsApdu):
    """Set-Request-With-Datablock (``C1 03``): a following block of the value being written."""

    TAG: ClassVar[int] = ApduTag.SET_REQUEST
    CHOICE: ClassVar[int] = 3

    invoke: InvokeIdAndPriority
    block: DataBlockSA

    def _encode_body(self) -> bytes:
        return self.invoke.encode() + self.block.encode()

    @classmethod
    def _decode_body(cls, data: bytes, offset: int) -> tuple[SetRequestWithDatablock, int]:
        invoke, offset = InvokeIdAndPriority.decode_from(data, offset)
        block, offset = DataBlockSA.decode_from(data, offset)
        return cls(invoke, block), offset


@dataclass(frozen=True, slots=True)
class SetRequestWithList(XdlmsApdu):
    """Set-Request-With-List (``C1 04``): write several attributes; ``values[i]`` goes to
    ``attributes[i]``. On the wire all descriptors come first, then all values."""

    TAG: ClassVar[int] = ApduTag.SET_REQUEST
    CHOICE: ClassVar[int] = 4

    invoke: InvokeIdAndPriority
    attributes: tuple[CosemAttributeDescriptorWithSelection, ...]
    values: tuple[axdr.Data, ...]

    def _encode_body(self) -> bytes:
        return (
            self.invoke.encode()
            + pack_sequence(self.attributes, CosemAttributeDescriptorWithSelection.encode)
            + pack_sequence(self.values, encode_data)
        )

    @classmethod
    def _decode_body(cls, data: bytes, offset: int) -> tuple[SetRequestWithList, int]:
        invoke, offset = InvokeIdAndPriority.decode_from(data, offset)
        attributes, offset = read_sequence(
            data, offset, "attribute descriptor list", CosemAttributeDescriptorWithSelection.decode_from
        )
        values, offset = read_sequence(data, offset, "value list", read_data)
        return cls(invoke, attributes, values), offset


@dataclass(frozen=True, slots=True)
class SetRequestWithListAndFirstDatablock(XdlmsApdu):
    """Set-Request-With-List-And-First-Datablock (``C1 05``): several attributes and the first block of
    the A-XDR encoded list of their values."""

    TAG: ClassVar[int] = ApduTag.SET_REQUEST
    CHOICE: ClassVar[int] = 5

    invoke: InvokeIdAndPriority
    attributes: tuple[CosemAttributeDescriptorWithSelection, ...]
    block: DataBlockSA

    def _encode_body(self) -> bytes:
        return (
            self.invoke.encode()
            + pack_sequence(self.attributes, CosemAttributeDescriptorWithSelection.encode)
            + self.block.encode()
        )

    @classmethod
    def _decode_body(cls, data: bytes, offset: int) -> tuple[SetRequestWithListAndFirstDatablock, int]:
        invoke, offset = InvokeIdAndPriority.decode_from(data, offset)
        attributes, offset = read_sequence(
            data, offset, "attribute descriptor list", CosemAttributeDescriptorWithSelection.decode_from
        )
        block, offset = DataBlockSA.decode_from(data, offset)
        return cls(invoke, attributes, block), offset


@dataclass(frozen=True, slots=True)
class SetResponseNormal(XdlmsApdu):
    """Set-Response-Normal (``C5 01``): the Data-Access-Result of one write."""

    TAG: ClassVar[int] = ApduTag.SET_RESPONSE
    CHOICE: ClassVar[int] = 1

    invoke: InvokeIdAndPriority
    result: DataAccessResult | int

    def _encode_body(self) -> bytes:
        return self.invoke.encode() + _encode_result(self.result)

    @classmethod
    def _decode_body(cls, data: bytes, offset: int) -> tuple[SetResponseNormal, int]:
        invoke, offset = InvokeIdAndPriority.decode_from(data, offset)
        result, offset = _read_result(data, offset)
        return cls(invoke, result), offset


@dataclass(frozen=True, slots=True)
class SetResponseDatablock(XdlmsApdu):
    """Set-Response-Datablock (``C5 02``): block ``block_number`` was received, send the next one."""

    TAG: ClassVar[int] = ApduTag.SET_RESPONSE
    CHOICE: ClassVar[int] = 2

    invoke: InvokeIdAndPriority
    block_number: int

    def _encode_body(self) -> bytes:
        return self.invoke.encode() + pack_int(self.block_number, 4, "block-number")

    @classmethod
    def _decode_body(cls, data: bytes, offset: int) -> tuple[SetResponseDatablock, int]:
        invoke, offset = InvokeIdAndPriority.decode_from(data, offset)
        block_number, offset = read_u32(data, offset, "block-number")
        return cls(invoke, block_number), offset


@dataclass(frozen=True, slots=True)
class SetResponseLastDatablock(XdlmsApdu):
    """Set-Response-Last-Datablock (``C5 03``): the last block arrived; the result of the write."""

    TAG: ClassVar[int] = ApduTag.SET_RESPONSE
    CHOICE: ClassVar[int] = 3

    invoke: InvokeIdAndPriority
    result: DataAccessResult | int
    block_number: int

    def _encode_body(self) -> bytes:
        return (
            self.invoke.encode()
            + _encode_result(self.result)
            + pack_int(self.block_number, 4, "block-number")
        )

    @classmethod
    def _decode_body(cls, data: bytes, offset: int) -> tuple[SetResponseLastDatablock, int]:
        invoke, offset = InvokeIdAndPriority.decode_from(data, offset)
        result, offset = _read_result(data, offset)
        block_number, offset = read_u32(data, offset, "block-number")
        return cls(invoke, result, block_number), offset


@dataclass(frozen=True, slots=True)
class SetResponseLastDatablockWithList(XdlmsApdu):
    """Set-Response-Last-Datablock-With-List (``C5 04``): the last block arrived; one result per
    attribute."""

    TAG: ClassVar[int] = ApduTag.SET_RESPONSE
    CHOICE: ClassVar[int] = 4

    invoke: InvokeIdAndPriority
    results: tuple[DataAccessResult | int, ...]
    block_number: int

    def _encode_body(self) -> bytes:
        return (
            self.invoke.encode()
            + pack_sequence(self.results, _encode_result)
            + pack_int(self.block_number, 4, "block-number")
        )

    @classmethod
    def _decode_body(cls, data: bytes, offset: int) -> tuple[SetResponseLastDatablockWithList, int]:
        invoke, offset = InvokeIdAndPriority.decode_from(data, offset)
        results, offset = read_sequence(data, offset, "result list", _read_result)
        block_number, offset = read_u32(data, offset, "block-number")
        return cls(invoke, results, block_number), offset


@dataclass(frozen=True, slots=True)
class SetResponseWithList(XdlmsApdu):
    """Set-Response-With-List (``C5 05``): one Data-Access-Result per attribute of the request."""

    TAG: ClassVar[int] = ApduTag.SET_RESPONSE
    CHOICE: ClassVar[int] = 5

    invoke: InvokeIdAndPriority
    results: tuple[DataAccessResult | int, ...]

    def _encode_body(self) -> bytes:
        return self.invoke.encode() + pack_sequence(self.results, _encode_result)

    @classmethod
    def _decode_body(cls, data: bytes, offset: int) -> tuple[SetResponseWithList, int]:
        invoke, offset = InvokeIdAndPriority.decode_from(data, offset)
        results, offset = read_sequence(data, offset, "result list", _read_result)
        return cls(invoke, results), offset


SetRequest: TypeAlias = (
    SetRequestNormal
    | SetRequestWithFirstDatablock
    | SetRequestWithDatablock
    | SetRequestWithList
    | SetRequestWithListAndFirstDatablock
)
"""Any set-request (``C1``)."""
SetResponse: TypeAlias = (
    SetResponseNormal
    | SetResponseDatablock
    | SetResponseLastDatablock
    | SetResponseLastDatablockWithList
    | SetResponseWithList
)
"""Any set-response (``C5``)."""
