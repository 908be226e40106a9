"""GET service APDUs (logical name referencing): get-request ``C0`` and get-response ``C4``.

Reading the clock time (Green Book example, facts section 3)::

    C0 01 C1 0008 0000010000FF 02 00     get-request-normal: invoke C1, class 8, 0.0.1.0.0.255, attr 2
    C4 01 C1 00 09 0C 07E30C1001073B28FF8000FF
                                         get-response-normal: Data octet-string(12)

A value too long for one APDU comes in blocks: the server answers with get-response-with-datablock
(block 1), the client asks for the next one with get-request-next carrying the last block number received,
until a block says last-block. The raw-data of all blocks joined is the A-XDR encoding of the value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, TypeAlias

from dlmskit.apdu.common import (
    ApduTag,
    CosemAttributeDescriptor,
    CosemAttributeDescriptorWithSelection,
    DataBlockG,
    EncodedData,
    GetDataResult,
    InvokeIdAndPriority,
    SelectiveAccessDescriptor,
    XdlmsApdu,
    expect_end,
    need,
    pack_int,
    pack_sequence,
    read_choice,
    read_sequence,
    read_u32,
)

__all__ = [
    "GetRequest",
    "GetRequestNext",
    "GetRequestNormal",
    "GetRequestWithList",
    "GetResponse",
    "GetResponseNormal",
    "GetResponseWithDatablock",
    "GetResponseWithList",
]


@dataclass(frozen=True, slots=True)
class GetRequestNormal(XdlmsApdu):
    """Get-Request-Normal (``C0 01``): read one attribute, optionally with selective access."""

    TAG: ClassVar[int] = ApduTag.GET_REQUEST
    CHOICE: ClassVar[int] = 1

    invoke: InvokeIdAndPriority
    attribute: CosemAttributeDescriptor
    access: SelectiveAccessDescriptor | None = None

    def _encode_body(self) -> bytes:
        return (
            self.invoke.encode()
            + self.attribute.encode()
            + SelectiveAccessDescriptor.encode_optional(self.access)
        )

    @classmethod
    def _decode_body(cls, data: bytes, offset: int) -> tuple[GetRequestNormal, int]:
        invoke, offset = InvokeIdAndPriority.decode_from(data, offset)
        attribute, offset = CosemAttributeDescriptor.decode_from(data, offset)
        access, offset = SelectiveAccessDescriptor.decode_optional(data, offset)
        return cls(invoke, attribute, access), offset


@dataclass(frozen=True, slots=True)
class GetRequestNext(XdlmsApdu):
    """Get-Request-Next (``C0 02``): ask for the block after ``block_number`` (the last one received)."""

    TAG: ClassVar[int] = ApduTag.GET_REQUEST
    CHOICE: ClassVar[int] = 2

    invoke: InvokeIdAndPriority
    block_number: int

    def _encode_body(self) -> bytes:
        return self.invoke.encode() + pack_int(self.block_number, 4, "block-number")

    @classmethod
    def _decode_body(cls, data: bytes, offset: int) -> tuple[GetRequestNext, int]:
        invoke, offset = InvokeIdAndPriority.decode_from(data, offset)
        block_number, offset = read_u32(data, offset, "block-number")
        return cls(invoke, block_number), offset


@dataclass(frozen=True, slots=True)
class GetRequestWithList(XdlmsApdu):
    """Get-Request-With-List (``C0 03``): read several attributes at once (conformance
    multiple-references); the answer is a :class:`GetResponseWithList` in the same order."""

    TAG: ClassVar[int] = ApduTag.GET_REQUEST
    CHOICE: ClassVar[int] = 3

    invoke: InvokeIdAndPriority
    attributes: tuple[CosemAttributeDescriptorWithSelection, ...]

    def _encode_body(self) -> bytes:
        return self.invoke.encode() + pack_sequence(
            self.attributes, CosemAttributeDescriptorWithSelection.encode
        )

    @classmethod
    def _decode_body(cls, data: bytes, offset: int) -> tuple[GetRequestWithList, int]:
        invoke, offset = InvokeIdAndPriority.decode_from(data, offset)
        attributes, offset = read_sequence(
            data, offset, "attribute descriptor list", CosemAttributeDescriptorWithSelection.decode_from
        )
        return cls(invoke, attributes), offset


@dataclass(frozen=True, slots=True)
class GetResponseNormal(XdlmsApdu):
    """Get-Response-Normal (``C4 01``): the value of one attribute, or the Data-Access-Result.

    ``result.value`` is the decoded Data, or an :class:`EncodedData` when decoded with
    ``decode_value=False``; ``result.error`` the reason when there is no value.
    """

    TAG: ClassVar[int] = ApduTag.GET_RESPONSE
    CHOICE: ClassVar[int] = 1

    invoke: InvokeIdAndPriority
    result: GetDataResult

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview, decode_value: bool = True) -> GetResponseNormal:
        """Decode a whole Get-Response-Normal.

        With ``decode_value=False`` a returned value is not decoded: ``result.value`` is an
        :class:`EncodedData` holding the A-XDR bytes (the rest of the APDU, not checked here; its
        ``decode()`` checks it).
        """
        raw = bytes(data)
        if decode_value:
            return super(GetResponseNormal, cls).decode(raw)
        invoke, offset = InvokeIdAndPriority.decode_from(raw, cls._skip_header(raw))
        if read_choice(raw, offset, "Get-Data-Result choice", 1) == 0:
            need(raw, offset + 1, 1, "Data")
            return cls(invoke, GetDataResult(EncodedData(raw[offset + 1 :])))
        result, offset = GetDataResult.decode_from(raw, offset)
        expect_end(raw, offset, cls.__name__)
        return cls(invoke, result)

    def _encode_body(self) -> bytes:
        return self.invoke.encode() + self.result.encode()

    @classmethod
    def _decode_body(cls, data: bytes, offset: int) -> tuple[GetResponseNormal, int]:
        invoke, offset = InvokeIdAndPriority.decode_from(data, offset)
        result, offset = GetDataResult.decode_from(data, offset)
        return cls(invoke, result), offset


@dataclass(frozen=True, slots=True)
class GetResponseWithDatablock(XdlmsApdu):
    """Get-Response-With-Datablock (``C4 02``): one block of a long value (see :class:`DataBlockG`)."""

    TAG: ClassVar[int] = ApduTag.GET_RESPONSE
    CHOICE: ClassVar[int] = 2

    invoke: InvokeIdAndPriority
    block: DataBlockG

    def _encode_body(self) -> bytes:
        return self.invoke.encode() + self.block.encode()

    @classmethod
    def _decode_body(cls, data: bytes, offset: int) -> tuple[GetResponseWithDatablock, int]:
        invoke, offset = InvokeIdAndPriority.decode_from(data, offset)
        block, offset = DataBlockG.decode_from(data, offset)
        return cls(invoke, block), offset


@dataclass(frozen=True, slots=True)
class GetResponseWithList(XdlmsApdu):
    """Get-Response-With-List (``C4 03``): one Get-Data-Result per attribute of the request."""

    TAG: ClassVar[int] = ApduTag.GET_RESPONSE
    CHOICE: ClassVar[int] = 3

    invoke: InvokeIdAndPriority
    results: tuple[GetDataResult, ...]

    def _encode_body(self) -> bytes:
        return self.invoke.encode() + pack_sequence(self.results, GetDataResult.encode)

    @classmethod
    def _decode_body(cls, data: bytes, offset: int) -> tuple[GetResponseWithList, int]:
        invoke, offset = InvokeIdAndPriority.decode_from(data, offset)
        results, offset = read_sequence(data, offset, "Get-Data-Result list", GetDataResult.decode_from)
        return cls(invoke, results), offset


GetRequest: TypeAlias = GetRequestNormal | GetRequestNext | GetRequestWithList
"""Any get-request (``C0``)."""
GetResponse: TypeAlias = GetResponseNormal | GetResponseWithDatablock | GetResponseWithList
"""Any get-response (``C4``)."""
