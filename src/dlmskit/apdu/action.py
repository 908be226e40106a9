"""ACTION service APDUs (logical name referencing): action-request ``C3`` and action-response ``C7``.

Remote disconnect (Green Book example, facts section 7)::

    C3 01 C1 0046 00006003 0AFF 01 01 0F00   action-request-normal: disconnect control (class 70)
                                              0.0.96.3.10.255 method 1, parameters present: integer(0)
    C7 01 C1 00 00                            action-response-normal: success, no return parameters

Parameters or return values too long for one APDU travel in blocks (DataBlock-SA, "pblocks"): the first
block with action-request-with-first-pblock, the following ones with action-request-with-pblock, each
acknowledged with action-response-next-pblock; long return values come back as
action-response-with-pblock, the client asking for more with action-request-next-pblock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, TypeAlias

from dlmskit.apdu.common import (
    ABSENT,
    ApduTag,
    CosemMethodDescriptor,
    DataBlockSA,
    GetDataResult,
    InvokeIdAndPriority,
    XdlmsApdu,
    encode_data,
    encode_optional_data,
    pack_int,
    pack_sequence,
    read_data,
    read_optional_data,
    read_presence,
    read_result,
    read_sequence,
    read_u32,
)
from dlmskit.apdu.results import ActionResult
from dlmskit.codec import axdr

__all__ = [
    "ActionRequest",
    "ActionRequestNextPblock",
    "ActionRequestNormal",
    "ActionRequestWithFirstPblock",
    "ActionRequestWithList",
    "ActionRequestWithListAndFirstPblock",
    "ActionRequestWithPblock",
    "ActionResponse",
    "ActionResponseNextPblock",
    "ActionResponseNormal",
    "ActionResponseWithList",
    "ActionResponseWithOptionalData",
    "ActionResponseWithPblock",
]


@dataclass(frozen=True, slots=True)
class ActionResponseWithOptionalData:
    """Action-Response-With-Optional-Data: the Action-Result of one method and, when the method returns
    something, its return parameters (a :class:`GetDataResult`: the Data, or a Data-Access-Result)."""

    result: ActionResult | int
    return_parameters: GetDataResult | None = None

    def encode(self) -> bytes:
        head = pack_int(self.result, 1, "action-result")
        if self.return_parameters is None:
            return head + b"\x00"
        return head + b"\x01" + self.return_parameters.encode()

    @classmethod
    def decode_from(cls, data: bytes, offset: int) -> tuple[ActionResponseWithOptionalData, int]:
        result, offset = read_result(data, offset, ActionResult, "action-result")
        present, offset = read_presence(data, offset, "return-parameters marker")
        if not present:
            return cls(result), offset
        return_parameters, offset = GetDataResult.decode_from(data, offset)
        return cls(result, return_parameters), offset


@dataclass(frozen=True, slots=True)
class ActionRequestNormal(XdlmsApdu):
    """Action-Request-Normal (``C3 01``): invoke one method.

    ``parameters`` is the method's Data, or :data:`~dlmskit.apdu.common.ABSENT` to send none (``00``);
    ``None`` sends null-data (``01 00``).
    """

    TAG: ClassVar[int] = ApduTag.ACTION_REQUEST
    CHOICE: ClassVar[int] = 1

    invoke: InvokeIdAndPriority
    method: CosemMethodDescriptor
    parameters: axdr.Data = ABSENT

    def _encode_body(self) -> bytes:
        return self.invoke.encode() + self.method.encode() + encode_optional_data(self.parameters)

    @classmethod
    def _decode_body(cls, data: bytes, offset: int) -> tuple[ActionRequestNormal, int]:
        invoke, offset = InvokeIdAndPriority.decode_from(data, offset)
        method, offset = CosemMethodDescriptor.decode_from(data, offset)
        parameters, offset = read_optional_data(data, offset, "method-invocation-parameters marker")
        return cls(invoke, method, parameters), offset


@dataclass(frozen=True, slots=True)
class ActionRequestNextPblock(XdlmsApdu):
    """Action-Request-Next-Pblock (``C3 02``): ask for the return-parameter block after
    ``block_number``."""

    TAG: ClassVar[int] = ApduTag.ACTION_REQUEST
    CHOICE: ClassVar[int] = 2

    invoke: InvokeIdAndPriority
    block_number: int

    def _encode_body(self) -> bytes:
        return self.invoke.encode() + pack_int(self.block_number, 4, "block-number")

    @classmethod
    def _decode_body(cls, data: bytes, offset: int) -> tuple[ActionRequestNextPblock, int]:
        invoke, offset = InvokeIdAndPriority.decode_from(data, offset)
        block_number, offset = read_u32(data, offset, "block-number")
        return cls(invoke, block_number), offset


@dataclass(frozen=True, slots=True)
class ActionRequestWithList(XdlmsApdu):
    """Action-Request-With-List (``C3 03``): invoke several methods; ``parameters[i]`` goes to
    ``methods[i]`` (every method gets a Data here, null-data when it takes none)."""

    TAG: ClassVar[int] = ApduTag.ACTION_REQUEST
    CHOICE: ClassVar[int] = 3

    invoke: InvokeIdAndPriority
    methods: tuple[CosemMethodDescriptor, ...]
    parameters: tuple[axdr.Data, ...]

    def _encode_body(self) -> bytes:
        return (
            self.invoke.encode()
            + pack_sequence(self.methods, CosemMethodDescriptor.encode)
            + pack_sequence(self.parameters, encode_data)
        )

    @classmethod
    def _decode_body(cls, data: bytes, offset: int) -> tuple[ActionRequestWithList, int]:
        invoke, offset = InvokeIdAndPriority.decode_from(data, offset)
        methods, offset = read_sequence(
            data, offset, "method descriptor list", CosemMethodDescriptor.decode_from
        )
        parameters, offset = read_sequence(data, offset, "method-invocation-parameters list", read_data)
        return cls(invoke, methods, parameters), offset


@dataclass(frozen=True, slots=True)
class ActionRequestWithFirstPblock(XdlmsApdu):
    """Action-Request-With-First-Pblock (``C3 04``): one method and the first block of its parameters."""

    TAG: ClassVar[int] = ApduTag.ACTION_REQUEST
    CHOICE: ClassVar[int] = 4

    invoke: InvokeIdAndPriority
    method: CosemMethodDescriptor
    block: DataBlockSA

    def _encode_body(self) -> bytes:
        return self.invoke.encode() + self.method.encode() + self.block.encode()

    @classmethod
    def _decode_body(cls, data: bytes, offset: int) -> tuple[ActionRequestWithFirstPblock, int]:
        invoke, offset = InvokeIdAndPriority.decode_from(data, offset)
        method, offset = CosemMethodDescriptor.decode_from(data, offset)
        block, offset = DataBlockSA.decode_from(data, offset)
        return cls(invoke, method, block), offset


@dataclass(frozen=True, slots=True)
class ActionRequestWithListAndFirstPblock(XdlmsApdu):
    """Action-Request-With-List-And-First-Pblock (``C3 05``): several methods and the first block of the
    A-XDR encoded list of their parameters."""

    TAG: ClassVar[int] = ApduTag.ACTION_REQUEST
    CHOICE: ClassVar[int] = 5

    invoke: InvokeIdAndPriority
    methods: tuple[CosemMethodDescriptor, ...]
    block: DataBlockSA

    def _encode_body(self) -> bytes:
        return (
            self.invoke.encode()
            + pack_sequence(self.methods, CosemMethodDescriptor.encode)
            + self.block.encode()
        )

    @classmethod
    def _decode_body(cls, data: bytes, offset: int) -> tuple[ActionRequestWithListAndFirstPblock, int]:
        invoke, offset = InvokeIdAndPriority.decode_from(data, offset)
        methods, offset = read_sequence(
            data, offset, "method descriptor list", CosemMethodDescriptor.decode_from
        )
        block, offset = DataBlockSA.decode_from(data, offset)
        return cls(invoke, methods, block), offset


@dataclass(frozen=True, slots=True)
class ActionRequestWithPblock(XdlmsApdu):
    """Action-Request-With-Pblock (``C3 06``): a following block of the parameters."""

    TAG: ClassVar[int] = ApduTag.ACTION_REQUEST
    CHOICE: ClassVar[int] = 6

    invoke: InvokeIdAndPriority
    block: DataBlockSA

    def _encode_body(self) -> bytes:
        return self.invoke.encode() + self.block.encode()

    @classmethod
    def _decode_body(cls, data: bytes, offset: int) -> tuple[ActionRequestWithPblock, int]:
        invoke, offset = InvokeIdAndPriority.decode_from(data, offset)
        block, offset = DataBlockSA.decode_from(data, offset)
        return cls(invoke, block), offset


@dataclass(frozen=True, slots=True)
class ActionResponseNormal(XdlmsApdu):
    """Action-Response-Normal (``C7 01``): the Action-Result and optional return parameters of one
    method (the standard's single-response, flattened into ``result`` and ``return_parameters``)."""

    TAG: ClassVar[int] = ApduTag.ACTION_RESPONSE
    CHOICE: ClassVar[int] = 1

    invoke: InvokeIdAndPriority
    result: ActionResult | int
    return_parameters: GetDataResult | None = None

    def _encode_body(self) -> bytes:
        return (
            self.invoke.encode()
            + ActionResponseWithOptionalData(self.result, self.return_parameters).encode()
        )

    @classmethod
    def _decode_body(cls, data: bytes, offset: int) -> tuple[ActionResponseNormal, int]:
        invoke, offset = InvokeIdAndPriority.decode_from(data, offset)
        response, offset = ActionResponseWithOptionalData.decode_from(data, offset)
        return cls(invoke, response.result, response.return_parameters), offset


@dataclass(frozen=True, slots=True)
class ActionResponseWithPblock(XdlmsApdu):
    """Action-Response-With-Pblock (``C7 02``): one block of long return parameters."""

    TAG: ClassVar[int] = ApduTag.ACTION_RESPONSE
    CHOICE: ClassVar[int] = 2

    invoke: InvokeIdAndPriority
    block: DataBlockSA

    def _encode_body(self) -> bytes:
        return self.invoke.encode() + self.block.encode()

    @classmethod
    def _decode_body(cls, data: bytes, offset: int) -> tuple[ActionResponseWithPblock, int]:
        invoke, offset = InvokeIdAndPriority.decode_from(data, offset)
        block, offset = DataBlockSA.decode_from(data, offset)
        return cls(invoke, block), offset


@dataclass(frozen=True, slots=True)
class ActionResponseWithList(XdlmsApdu):
    """Action-Response-With-List (``C7 03``): one response per method of the request."""

    TAG: ClassVar[int] = ApduTag.ACTION_RESPONSE
    CHOICE: ClassVar[int] = 3

    invoke: InvokeIdAndPriority
    responses: tuple[ActionResponseWithOptionalData, ...]

    def _encode_body(self) -> bytes:
        return self.invoke.encode() + pack_sequence(self.responses, ActionResponseWithOptionalData.encode)

    @classmethod
    def _decode_body(cls, data: bytes, offset: int) -> tuple[ActionResponseWithList, int]:
        invoke, offset = InvokeIdAndPriority.decode_from(data, offset)
        responses, offset = read_sequence(
            data, offset, "action response list", ActionResponseWithOptionalData.decode_from
        )
        return cls(invoke, responses), offset


@dataclass(frozen=True, slots=True)
class ActionResponseNextPblock(XdlmsApdu):
    """Action-Response-Next-Pblock (``C7 04``): parameter block ``block_number`` was received, send the
    next one."""

    TAG: ClassVar[int] = ApduTag.ACTION_RESPONSE
    CHOICE: ClassVar[int] = 4

    invoke: InvokeIdAndPriority
    block_number: int

    def _encode_body(self) -> bytes:
        return self.invoke.encode() + pack_int(self.block_number, 4, "block-number")

    @classmethod
    def _decode_body(cls, data: bytes, offset: int) -> tuple[ActionResponseNextPblock, int]:
        invoke, offset = InvokeIdAndPriority.decode_from(data, offset)
        block_number, offset = read_u32(data, offset, "block-number")
        return cls(invoke, block_number), offset


ActionRequest: TypeAlias = (
    ActionRequestNormal
    | ActionRequestNextPblock
    | ActionRequestWithList
    | ActionRequestWithFirstPblock
    | ActionRequestWithListAndFirstPblock
    | ActionRequestWithPblock
)
"""Any action-request (``C3``)."""
ActionResponse: TypeAlias = (
    ActionResponseNormal | ActionResponseWithPblock | ActionResponseWithList | ActionResponseNextPblock
)
"""Any action-response (``C7``)."""
