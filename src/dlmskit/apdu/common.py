"""Pieces shared by the xDLMS service APDUs (IEC 62056-5-3, the Green Book's A-XDR encoded services).

Every GET, SET and ACTION APDU starts with its tag and the CHOICE byte of the service variant, then an
:class:`InvokeIdAndPriority` byte; attributes and methods are named by a :class:`CosemAttributeDescriptor`
or :class:`CosemMethodDescriptor` (class id, logical name, attribute or method id). For example the GET of
the clock time (class 8, 0.0.1.0.0.255, attribute 2)::

    C0 01                 get-request, normal
    C1                    invoke-id 1, confirmed, high priority
    0008 0000010000FF 02  class 8, logical name 0.0.1.0.0.255, attribute 2
    00                    no selective access

A-XDR writes an OPTIONAL component as ``00`` (absent) or ``01`` followed by the value, a SEQUENCE OF as a
length prefix and the items, a BOOLEAN as one byte (0 false, anything else true; dlmskit sends ``01``).
Long transfers travel in blocks: :class:`DataBlockG` (GET responses) and :class:`DataBlockSA` (SET requests
and ACTION requests and responses) carry a slice of the A-XDR encoding of the whole value; the receiver
joins the slices in block-number order and decodes the result once.

This module also holds the small bounds-checked readers and range-checked packers the APDU modules share;
they raise :class:`~dlmskit.errors.DecodeError` and :class:`~dlmskit.errors.EncodeError`.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar, Final, TypeAlias, TypeVar

from dlmskit.apdu.results import DataAccessResult, ResultCode
from dlmskit.codec import axdr
from dlmskit.codec.obis import Obis, decode_obis
from dlmskit.errors import DecodeError, EncodeError

__all__ = [
    "ABSENT",
    "Absent",
    "ApduTag",
    "CaptureObjectDefinition",
    "CosemAttributeDescriptor",
    "CosemAttributeDescriptorWithSelection",
    "CosemMethodDescriptor",
    "DataBlockG",
    "DataBlockSA",
    "EncodedData",
    "GetDataResult",
    "InvokeIdAndPriority",
    "LongInvokeIdAndPriority",
    "SelectiveAccessDescriptor",
    "XdlmsApdu",
]

_T = TypeVar("_T")
_R = TypeVar("_R", bound=ResultCode)
_A = TypeVar("_A", bound="XdlmsApdu")


class ApduTag(enum.IntEnum):
    """The first byte of an APDU (Green Book xDLMS-APDU and ACSE-APDU tags)."""

    INITIATE_REQUEST = 0x01
    READ_REQUEST = 0x05
    WRITE_REQUEST = 0x06
    INITIATE_RESPONSE = 0x08
    READ_RESPONSE = 0x0C
    WRITE_RESPONSE = 0x0D
    CONFIRMED_SERVICE_ERROR = 0x0E
    DATA_NOTIFICATION = 0x0F
    UNCONFIRMED_WRITE_REQUEST = 0x16
    INFORMATION_REPORT_REQUEST = 0x18
    GLO_INITIATE_REQUEST = 0x21
    GLO_READ_REQUEST = 0x25
    GLO_WRITE_REQUEST = 0x26
    GLO_INITIATE_RESPONSE = 0x28
    GLO_READ_RESPONSE = 0x2C
    GLO_WRITE_RESPONSE = 0x2D
    GLO_CONFIRMED_SERVICE_ERROR = 0x2E
    GLO_UNCONFIRMED_WRITE_REQUEST = 0x36
    GLO_INFORMATION_REPORT_REQUEST = 0x38
    DED_INITIATE_REQUEST = 0x41
    DED_READ_REQUEST = 0x45
    DED_WRITE_REQUEST = 0x46
    DED_INITIATE_RESPONSE = 0x48
    DED_READ_RESPONSE = 0x4C
    DED_WRITE_RESPONSE = 0x4D
    DED_CONFIRMED_SERVICE_ERROR = 0x4E
    DED_UNCONFIRMED_WRITE_REQUEST = 0x56
    DED_INFORMATION_REPORT_REQUEST = 0x58
    AARQ = 0x60
    AARE = 0x61
    RLRQ = 0x62
    RLRE = 0x63
    GET_REQUEST = 0xC0
    SET_REQUEST = 0xC1
    EVENT_NOTIFICATION_REQUEST = 0xC2
    ACTION_REQUEST = 0xC3
    GET_RESPONSE = 0xC4
    SET_RESPONSE = 0xC5
    ACTION_RESPONSE = 0xC7
    GLO_GET_REQUEST = 0xC8
    GLO_SET_REQUEST = 0xC9
    GLO_EVENT_NOTIFICATION_REQUEST = 0xCA
    GLO_ACTION_REQUEST = 0xCB
    GLO_GET_RESPONSE = 0xCC
    GLO_SET_RESPONSE = 0xCD
    GLO_ACTION_RESPONSE = 0xCF
    DED_GET_REQUEST = 0xD0
    DED_SET_REQUEST = 0xD1
    DED_EVENT_NOTIFICATION_REQUEST = 0xD2
    DED_ACTION_REQUEST = 0xD3
    DED_GET_RESPONSE = 0xD4
    DED_SET_RESPONSE = 0xD5
    DED_ACTION_RESPONSE = 0xD7
    EXCEPTION_RESPONSE = 0xD8
    ACCESS_REQUEST = 0xD9
    ACCESS_RESPONSE = 0xDA
    GENERAL_GLO_CIPHERING = 0xDB
    GENERAL_DED_CIPHERING = 0xDC
    GENERAL_CIPHERING = 0xDD
    GENERAL_SIGNING = 0xDF
    GENERAL_BLOCK_TRANSFER = 0xE0


class Absent(enum.Enum):
    """The type of :data:`ABSENT`."""

    ABSENT = "absent"


ABSENT: Final = Absent.ABSENT
"""An OPTIONAL Data component that is not sent (``00``). ``None`` is the value null-data (``01 00``)."""


# --------------------------------------------------------------------------------------------------------
# Readers and packers shared by the APDU modules
# --------------------------------------------------------------------------------------------------------

_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")


def need(data: bytes, offset: int, size: int, what: str) -> None:
    """Raise :class:`DecodeError` unless ``size`` bytes are left at ``offset``."""
    left = len(data) - offset
    if left < size:
        raise DecodeError(f"truncated {what}", offset=offset, expected=f"{size} bytes", found=f"{left} bytes")


def read_u8(data: bytes, offset: int, what: str) -> tuple[int, int]:
    """An Unsigned8 (or ENUMERATED) at ``offset``."""
    need(data, offset, 1, what)
    return data[offset], offset + 1


def read_u16(data: bytes, offset: int, what: str) -> tuple[int, int]:
    """An Unsigned16 at ``offset``."""
    need(data, offset, 2, what)
    return _U16.unpack_from(data, offset)[0], offset + 2


def read_u32(data: bytes, offset: int, what: str) -> tuple[int, int]:
    """An Unsigned32 at ``offset``."""
    need(data, offset, 4, what)
    return _U32.unpack_from(data, offset)[0], offset + 4


def read_boolean(data: bytes, offset: int, what: str) -> tuple[bool, int]:
    """An A-XDR BOOLEAN: 0 is false, any other byte true."""
    value, offset = read_u8(data, offset, what)
    return value != 0, offset


def read_presence(data: bytes, offset: int, what: str) -> tuple[bool, int]:
    """The ``00``/``01`` marker in front of an OPTIONAL component; True when the component follows."""
    return read_choice(data, offset, what, 1) == 1, offset + 1


def read_choice(data: bytes, offset: int, what: str, last: int) -> int:
    """A CHOICE tag (or OPTIONAL marker) from 0 to ``last`` at ``offset``."""
    need(data, offset, 1, what)
    choice = data[offset]
    if choice > last:
        raise DecodeError(
            f"invalid {what}", offset=offset, expected=f"0x00..0x{last:02X}", found=f"0x{choice:02X}"
        )
    return choice


def read_octet_string(data: bytes, offset: int, what: str) -> tuple[bytes, int]:
    """An OCTET STRING with its A-XDR length prefix."""
    size, offset = axdr.decode_length(data, offset)
    need(data, offset, size, what)
    return data[offset : offset + size], offset + size


def read_data(data: bytes, offset: int) -> tuple[axdr.Data, int]:
    """One A-XDR ``Data`` value (with its type tag)."""
    return axdr.decode_from(data, offset)


def read_result(data: bytes, offset: int, enum_type: type[_R], what: str) -> tuple[_R | int, int]:
    """An ENUMERATED result byte: the enum member, or the plain int for a value the enum does not know."""
    value, offset = read_u8(data, offset, what)
    return known(enum_type, value), offset


def known(enum_type: type[_R], value: int) -> _R | int:
    """The member of ``enum_type`` for ``value``, or ``value`` itself when the enum has no such member."""
    member = enum_type.lookup(value)
    return value if member is None else member


def read_sequence(
    data: bytes, offset: int, what: str, read_item: Callable[[bytes, int], tuple[_T, int]]
) -> tuple[tuple[_T, ...], int]:
    """A SEQUENCE OF: A-XDR count, then the items; the count is checked against the bytes left first."""
    count, start = axdr.decode_length(data, offset)
    if count > len(data) - start:
        raise DecodeError(
            f"{what} count larger than the data",
            offset=offset,
            expected=f"{count} items",
            found=f"{len(data) - start} bytes",
        )
    items = []
    for _ in range(count):
        item, start = read_item(data, start)
        items.append(item)
    return tuple(items), start


def expect_end(data: bytes, offset: int, what: str) -> None:
    """Raise :class:`DecodeError` when bytes follow the end of ``what``."""
    if offset != len(data):
        raise DecodeError(
            f"trailing bytes after the {what}",
            offset=offset,
            expected="end of data",
            found=f"{len(data) - offset} bytes",
        )


def pack_int(value: int, size: int, what: str, *, signed: bool = False) -> bytes:
    """``value`` as a big-endian integer of ``size`` bytes; :class:`EncodeError` when it does not fit."""
    try:
        return int.to_bytes(value, size, "big", signed=signed)
    except (OverflowError, TypeError):
        bits = size * 8
        low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
        raise EncodeError(f"{what} must be an integer {low}..{high}, got {value!r}") from None


def pack_octet_string(value: bytes) -> bytes:
    """An OCTET STRING with its A-XDR length prefix."""
    return axdr.encode_length(len(value)) + bytes(value)


def pack_sequence(items: Sequence[_T], encode_item: Callable[[_T], bytes]) -> bytes:
    """A SEQUENCE OF: A-XDR count, then the items."""
    return axdr.encode_length(len(items)) + b"".join(encode_item(item) for item in items)


def encode_data(value: axdr.Data) -> bytes:
    """A Data value in A-XDR; an :class:`EncodedData` is sent as it is."""
    if isinstance(value, EncodedData):
        return value.raw
    return axdr.encode(value)


def encode_optional_data(value: axdr.Data) -> bytes:
    """An OPTIONAL Data: ``00`` for :data:`ABSENT`, else ``01`` and the value."""
    return b"\x00" if value is ABSENT else b"\x01" + encode_data(value)


def read_optional_data(data: bytes, offset: int, what: str) -> tuple[axdr.Data, int]:
    """An OPTIONAL Data: :data:`ABSENT` or the decoded value."""
    present, offset = read_presence(data, offset, what)
    return read_data(data, offset) if present else (ABSENT, offset)


# --------------------------------------------------------------------------------------------------------
# Invoke ids
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InvokeIdAndPriority:
    """Invoke-Id-And-Priority: the byte in front of every GET, SET and ACTION request and response.

    Bits 0-3 are the invoke-id (0..15), which the server copies into its answer so the client can match
    them; bit 6 is the service class (1 confirmed: the server answers, 0 unconfirmed); bit 7 the priority
    (1 high, 0 normal; servers without priority management serve all requests in order). Bits 4 and 5 are
    reserved: sent as 0 and ignored when received. The default is the usual ``C1``.
    """

    invoke_id: int = 1
    confirmed: bool = True
    high_priority: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.invoke_id, bool) or not isinstance(self.invoke_id, int):
            raise EncodeError(f"invoke-id must be an integer 0..15, got {self.invoke_id!r}")
        if not 0 <= self.invoke_id <= 0x0F:
            raise EncodeError(f"invoke-id must be 0..15, got {self.invoke_id}")

    def to_byte(self) -> int:
        """The byte sent on the wire."""
        return (0x80 if self.high_priority else 0) | (0x40 if self.confirmed else 0) | self.invoke_id

    @classmethod
    def from_byte(cls, value: int) -> InvokeIdAndPriority:
        """Read the wire byte (reserved bits 4 and 5 are ignored)."""
        if cls is InvokeIdAndPriority and 0 <= value <= 0xFF:
            return _INVOKE_IDS[value & 0xCF]  # the 64 distinct values, made once (the class is frozen)
        return cls(value & 0x0F, bool(value & 0x40), bool(value & 0x80))

    def encode(self) -> bytes:
        return bytes((self.to_byte(),))

    @classmethod
    def decode_from(cls, data: bytes, offset: int) -> tuple[InvokeIdAndPriority, int]:
        value, offset = read_u8(data, offset, "invoke-id-and-priority")
        return cls.from_byte(value), offset


_INVOKE_IDS: dict[int, InvokeIdAndPriority] = {
    byte: InvokeIdAndPriority(byte & 0x0F, bool(byte & 0x40), bool(byte & 0x80))
    for byte in range(0x100)
    if not byte & 0x30
}


@dataclass(frozen=True, slots=True)
class LongInvokeIdAndPriority:
    """Long-Invoke-Id-And-Priority: the 32-bit form in front of a data-notification.

    Bits 0-23 long invoke-id, 24-27 reserved (sent as 0, ignored when received), bit 28 self-descriptive,
    bit 29 processing option (1 break on error, 0 continue), bit 30 service class (1 confirmed), bit 31
    priority (1 high).
    """

    invoke_id: int = 0
    self_descriptive: bool = False
    break_on_error: bool = False
    confirmed: bool = False
    high_priority: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.invoke_id, bool) or not isinstance(self.invoke_id, int):
            raise EncodeError(f"long invoke-id must be an integer 0..16777215, got {self.invoke_id!r}")
        if not 0 <= self.invoke_id <= 0xFFFFFF:
            raise EncodeError(f"long invoke-id must be 0..16777215, got {self.invoke_id}")

    def to_int(self) -> int:
        """The 32-bit value sent on the wire."""
        return (
            (self.high_priority << 31)
            | (self.confirmed << 30)
            | (self.break_on_error << 29)
            | (self.self_descriptive << 28)
            | self.invoke_id
        )

    @classmethod
    def from_int(cls, value: int) -> LongInvokeIdAndPriority:
        """Read the 32-bit wire value (reserved bits 24-27 are ignored)."""
        return cls(
            value & 0xFFFFFF,
            self_descriptive=bool(value >> 28 & 1),
            break_on_error=bool(value >> 29 & 1),
            confirmed=bool(value >> 30 & 1),
            high_priority=bool(value >> 31 & 1),
        )

    def encode(self) -> bytes:
        return _U32.pack(self.to_int())

    @classmethod
    def decode_from(cls, data: bytes, offset: int) -> tuple[LongInvokeIdAndPriority, int]:
        value, offset = read_u32(data, offset, "long-invoke-id-and-priority")
        return cls.from_int(value), offset


# --------------------------------------------------------------------------------------------------------
# Descriptors
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CosemAttributeDescriptor:
    """Cosem-Attribute-Descriptor: one attribute of one object (logical name referencing).

    ``class_id`` is the interface class (long-unsigned), ``instance_id`` the object's logical name and
    ``attribute_id`` the attribute (integer: 1 is the logical name, 2 and up the class's attributes, 0 all
    attributes at once where the meter supports it, negative ids manufacturer-specific attributes).
    """

    class_id: int
    instance_id: Obis
    attribute_id: int

    def encode(self) -> bytes:
        return (
            pack_int(self.class_id, 2, "class-id")
            + bytes(self.instance_id)
            + pack_int(self.attribute_id, 1, "attribute-id", signed=True)
        )

    @classmethod
    def decode_from(cls, data: bytes, offset: int) -> tuple[CosemAttributeDescriptor, int]:
        class_id, offset = read_u16(data, offset, "class-id")
        instance_id, offset = decode_obis(data, offset)
        need(data, offset, 1, "attribute-id")
        return cls(class_id, instance_id, _signed_byte(data[offset])), offset + 1


@dataclass(frozen=True, slots=True)
class CosemMethodDescriptor:
    """Cosem-Method-Descriptor: one method of one object (logical name referencing).

    ``method_id`` is an integer: 1 and up the class's methods, negative ids manufacturer-specific methods.
    """

    class_id: int
    instance_id: Obis
    method_id: int

    def encode(self) -> bytes:
        return (
            pack_int(self.class_id, 2, "class-id")
            + bytes(self.instance_id)
            + pack_int(self.method_id, 1, "method-id", signed=True)
        )

    @classmethod
    def decode_from(cls, data: bytes, offset: int) -> tuple[CosemMethodDescriptor, int]:
        class_id, offset = read_u16(data, offset, "class-id")
        instance_id, offset = decode_obis(data, offset)
        need(data, offset, 1, "method-id")
        return cls(class_id, instance_id, _signed_byte(data[offset])), offset + 1


def _signed_byte(value: int) -> int:
    return value - 0x100 if value & 0x80 else value


CaptureObjectDefinition: TypeAlias = tuple[int, Obis, int, int]
"""A profile column: (class id, logical name, attribute index, data index; 0 = the whole attribute)."""


def _capture_object(definition: CaptureObjectDefinition) -> axdr.Structure:
    class_id, logical_name, attribute_index, data_index = definition
    return axdr.Structure(
        [
            axdr.LongUnsigned(class_id),
            axdr.OctetString(bytes(logical_name)),
            axdr.Integer(attribute_index),
            axdr.LongUnsigned(data_index),
        ]
    )


@dataclass(frozen=True, slots=True)
class SelectiveAccessDescriptor:
    """Selective-Access-Descriptor: read or write only part of an attribute.

    ``selector`` (unsigned) picks one of the access methods the attribute defines and ``parameters`` is
    its Data. For the profile generic buffer selector 1 is by range (:meth:`range_descriptor`) and 2 by
    entry (:meth:`entry_descriptor`).
    """

    selector: int
    parameters: axdr.Data

    RANGE: ClassVar[int] = 1
    ENTRY: ClassVar[int] = 2

    @classmethod
    def range_descriptor(
        cls,
        restricting_object: CaptureObjectDefinition,
        from_value: axdr.Data,
        to_value: axdr.Data,
        selected_values: Sequence[CaptureObjectDefinition] = (),
    ) -> SelectiveAccessDescriptor:
        """Profile rows whose ``restricting_object`` column lies from ``from_value`` to ``to_value``.

        The restricting object is usually the clock column ``(8, Obis(0, 0, 1, 0, 0, 255), 2, 0)``; the
        clock time is an octet-string, so give ``from_value`` and ``to_value`` as
        ``axdr.OctetString(CosemDateTime(...).to_bytes())``. ``selected_values`` lists the columns to
        return (empty: all columns).
        """
        parameters = axdr.Structure(
            [
                _capture_object(restricting_object),
                from_value,
                to_value,
                axdr.Array(_capture_object(column) for column in selected_values),
            ]
        )
        return cls(cls.RANGE, parameters)

    @classmethod
    def entry_descriptor(
        cls, from_entry: int, to_entry: int = 0, from_selected_value: int = 1, to_selected_value: int = 0
    ) -> SelectiveAccessDescriptor:
        """Profile rows ``from_entry`` to ``to_entry`` (1 is the first row, 0 up to the last) and columns
        ``from_selected_value`` to ``to_selected_value`` (1 is the first column, 0 up to the last)."""
        parameters = axdr.Structure(
            [
                axdr.DoubleLongUnsigned(from_entry),
                axdr.DoubleLongUnsigned(to_entry),
                axdr.LongUnsigned(from_selected_value),
                axdr.LongUnsigned(to_selected_value),
            ]
        )
        return cls(cls.ENTRY, parameters)

    def encode(self) -> bytes:
        return pack_int(self.selector, 1, "access-selector") + encode_data(self.parameters)

    @classmethod
    def decode_from(cls, data: bytes, offset: int) -> tuple[SelectiveAccessDescriptor, int]:
        selector, offset = read_u8(data, offset, "access-selector")
        parameters, offset = read_data(data, offset)
        return cls(selector, parameters), offset

    @staticmethod
    def encode_optional(access: SelectiveAccessDescriptor | None) -> bytes:
        """The OPTIONAL access-selection: ``00`` when ``access`` is None, else ``01`` and the descriptor."""
        return b"\x00" if access is None else b"\x01" + access.encode()

    @classmethod
    def decode_optional(cls, data: bytes, offset: int) -> tuple[SelectiveAccessDescriptor | None, int]:
        present, offset = read_presence(data, offset, "access-selection marker")
        return cls.decode_from(data, offset) if present else (None, offset)


@dataclass(frozen=True, slots=True)
class CosemAttributeDescriptorWithSelection:
    """Cosem-Attribute-Descriptor-With-Selection: an attribute and its optional selective access."""

    attribute: CosemAttributeDescriptor
    access: SelectiveAccessDescriptor | None = None

    def encode(self) -> bytes:
        return self.attribute.encode() + SelectiveAccessDescriptor.encode_optional(self.access)

    @classmethod
    def decode_from(cls, data: bytes, offset: int) -> tuple[CosemAttributeDescriptorWithSelection, int]:
        attribute, offset = CosemAttributeDescriptor.decode_from(data, offset)
        access, offset = SelectiveAccessDescriptor.decode_optional(data, offset)
        return cls(attribute, access), offset


# --------------------------------------------------------------------------------------------------------
# Results and data blocks
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EncodedData:
    """A Data value kept in its A-XDR encoding, not decoded (yet).

    :meth:`GetResponseNormal.decode <dlmskit.apdu.get.GetResponseNormal.decode>` gives one with
    ``decode_value=False``, so a caller can decode a large value its own way, or pass it on untouched;
    encoders send ``raw`` as it is.
    """

    raw: bytes

    def decode(self) -> axdr.Data:
        """Decode the value; :class:`DecodeError` if ``raw`` is not exactly one A-XDR value."""
        return axdr.decode(self.raw)


@dataclass(frozen=True, slots=True)
class GetDataResult:
    """Get-Data-Result: the value of one attribute, or the Data-Access-Result saying why there is none.

    On the wire ``00`` and the Data, or ``01`` and the result code. ``error`` is None on success; an
    unknown result code is kept as a plain int.
    """

    value: axdr.Data = None
    error: DataAccessResult | int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.value, DataAccessResult):
            raise EncodeError("a Data-Access-Result goes in GetDataResult(error=...), not in value")
        if self.error is not None and self.value is not None:
            raise EncodeError("a Get-Data-Result holds either a value or an error, not both")

    @property
    def ok(self) -> bool:
        """True when the result carries data."""
        return self.error is None

    def encode(self) -> bytes:
        if self.error is not None:
            return b"\x01" + pack_int(self.error, 1, "data-access-result")
        return b"\x00" + encode_data(self.value)

    @classmethod
    def decode_from(cls, data: bytes, offset: int) -> tuple[GetDataResult, int]:
        if read_choice(data, offset, "Get-Data-Result choice", 1):
            error, offset = read_result(data, offset + 1, DataAccessResult, "data-access-result")
            return cls(error=error), offset
        value, offset = read_data(data, offset + 1)
        return cls(value), offset


@dataclass(frozen=True, slots=True)
class DataBlockG:
    """DataBlock-G: one block of a long GET response.

    ``raw_data`` is the next slice of the A-XDR encoding of the attribute value; ``error`` (instead of
    data) is the Data-Access-Result when the server cannot deliver the block.
    """

    last_block: bool
    block_number: int
    raw_data: bytes = b""
    error: DataAccessResult | int | None = None

    def __post_init__(self) -> None:
        if self.error is not None and self.raw_data:
            raise EncodeError("a DataBlock-G holds either raw-data or a data-access-result, not both")

    def encode(self) -> bytes:
        head = (b"\x01" if self.last_block else b"\x00") + pack_int(self.block_number, 4, "block-number")
        if self.error is not None:
            return head + b"\x01" + pack_int(self.error, 1, "data-access-result")
        return head + b"\x00" + pack_octet_string(self.raw_data)

    @classmethod
    def decode_from(cls, data: bytes, offset: int) -> tuple[DataBlockG, int]:
        last_block, offset = read_boolean(data, offset, "last-block")
        block_number, offset = read_u32(data, offset, "block-number")
        if read_choice(data, offset, "DataBlock-G result choice", 1):
            error, offset = read_result(data, offset + 1, DataAccessResult, "data-access-result")
            return cls(last_block, block_number, error=error), offset
        raw_data, offset = read_octet_string(data, offset + 1, "raw-data")
        return cls(last_block, block_number, raw_data), offset


@dataclass(frozen=True, slots=True)
class DataBlockSA:
    """DataBlock-SA: one block of a long SET request or ACTION request/response (a slice of the A-XDR
    encoding of the whole value)."""

    last_block: bool
    block_number: int
    raw_data: bytes

    def encode(self) -> bytes:
        return (
            (b"\x01" if self.last_block else b"\x00")
            + pack_int(self.block_number, 4, "block-number")
            + pack_octet_string(self.raw_data)
        )

    @classmethod
    def decode_from(cls, data: bytes, offset: int) -> tuple[DataBlockSA, int]:
        last_block, offset = read_boolean(data, offset, "last-block")
        block_number, offset = read_u32(data, offset, "block-number")
        raw_data, offset = read_octet_string(data, offset, "raw-data")
        return cls(last_block, block_number, raw_data), offset


# --------------------------------------------------------------------------------------------------------
# The APDU base class
# --------------------------------------------------------------------------------------------------------


class XdlmsApdu:
    """Base of the xDLMS APDU dataclasses: the ``TAG`` byte, for GET/SET/ACTION the ``CHOICE`` byte of the
    service variant, then the body.

    ``decode`` reads one whole APDU and raises :class:`DecodeError` on anything else, trailing bytes
    included.

    A plain class, not an ``abc.ABC``: ``isinstance`` against an ABC that does not match runs
    ``ABCMeta.__instancecheck__``, and a session tests each answer against several APDU classes (every
    APDU class defines both methods below: tests/apdu/test_apdu_classes.py).
    """

    __slots__ = ()

    TAG: ClassVar[int]
    CHOICE: ClassVar[int | None] = None

    def encode(self) -> bytes:
        """The APDU's bytes."""
        head = bytes((self.TAG,)) if self.CHOICE is None else bytes((self.TAG, self.CHOICE))
        return head + self._encode_body()

    @classmethod
    def decode(cls: type[_A], data: bytes | bytearray | memoryview) -> _A:
        """Decode one whole APDU of this type."""
        raw = bytes(data)
        apdu, offset = cls._decode_body(raw, cls._skip_header(raw))
        expect_end(raw, offset, cls.__name__)
        return apdu

    @classmethod
    def decode_prefix(cls: type[_A], data: bytes | bytearray | memoryview) -> tuple[_A, int]:
        """Decode one APDU of this type from the start of ``data``; return it and the offset where it ends.

        Bytes after that offset are left to the caller to judge (see :mod:`dlmskit.deviations`).
        """
        raw = bytes(data)
        return cls._decode_body(raw, cls._skip_header(raw))

    @classmethod
    def _skip_header(cls, data: bytes) -> int:
        """Check the tag (and choice) bytes; return the offset of the body."""
        header = (cls.TAG,) if cls.CHOICE is None else (cls.TAG, cls.CHOICE)
        for offset, expected in enumerate(header):
            need(data, offset, 1, f"{cls.__name__} header")
            if data[offset] != expected:
                raise DecodeError(
                    f"not a {cls.__name__}",
                    offset=offset,
                    expected=f"{'tag' if offset == 0 else 'choice'} 0x{expected:02X}",
                    found=f"0x{data[offset]:02X}",
                )
        return len(header)

    def _encode_body(self) -> bytes:
        """The bytes after the tag and choice."""
        raise NotImplementedError(f"{type(self).__name__} defines no _encode_body")

    @classmethod
    def _decode_body(cls: type[_A], data: bytes, offset: int) -> tuple[_A, int]:
        """Decode the body starting at ``offset`` (after the tag and choice); return it and the end."""
        raise NotImplementedError(f"{cls.__name__} defines no _decode_body")
