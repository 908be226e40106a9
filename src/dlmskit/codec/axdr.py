"""A-XDR encoding of COSEM data (IEC 61334-6, as used by DLMS/COSEM for the ``Data`` CHOICE).

Decoded values are *typed*: every integer type has its own ``int`` subclass (``Unsigned``, ``LongUnsigned``,
``DoubleLong``...), strings are ``OctetString`` (a ``bytes``), ``VisibleString`` / ``Utf8String`` (a ``str``),
``Structure`` is a ``tuple`` and ``Array`` a ``list``. They behave as the Python type they extend and
remember their A-XDR type, so ``encode(decode(data)) == data`` always holds. ``bool`` is boolean and ``None``
is null-data.

Usage::

    >>> from dlmskit.codec import axdr
    >>> axdr.encode(axdr.Structure([axdr.Integer(-3), axdr.Enum(30)]))
    b'\\x02\\x02\\x0f\\xfd\\x16\\x1e'
    >>> axdr.decode(bytes.fromhex("1200e6"))
    LongUnsigned(230)

Plain Python values encode too, where their type is unambiguous: ``bytes`` as octet-string, ``str`` as
visible-string (utf8-string when not ASCII), ``float`` as float64, ``list`` as array, ``tuple`` as structure,
``datetime`` as date-time. A plain ``int`` is refused: A-XDR has ten integer types, so say which one
(``axdr.Unsigned(5)``) or use :func:`convert`.

The decoder is bounds-checked and raises :class:`~dlmskit.errors.DecodeError` (with the offset, what was
expected and what was found) on malformed or truncated input; nesting depth is limited. Arrays whose
elements all share one fixed layout (the rows of a profile buffer) are decoded in bulk with ``struct``.
"""

from __future__ import annotations

import datetime as _dt
import math
import struct
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from functools import partial
from typing import Any, ClassVar, TypeAlias

from dlmskit.codec.cosem_datetime import CosemDate, CosemDateTime, CosemTime
from dlmskit.errors import DecodeError, EncodeError

__all__ = [
    "DONT_CARE",
    "Array",
    "ArrayDescription",
    "Bcd",
    "BitString",
    "CompactArray",
    "CosemDate",
    "CosemDateTime",
    "CosemTime",
    "Data",
    "DataType",
    "DontCare",
    "DoubleLong",
    "DoubleLongUnsigned",
    "Enum",
    "Float32",
    "Float64",
    "Integer",
    "Long",
    "Long64",
    "Long64Unsigned",
    "LongUnsigned",
    "OctetString",
    "Structure",
    "StructureDescription",
    "TypeDescription",
    "Unsigned",
    "Utf8String",
    "VisibleString",
    "convert",
    "decode",
    "decode_from",
    "decode_length",
    "decode_plain",
    "encode",
    "encode_length",
    "to_python",
    "type_of",
]

MAX_DEPTH = 64
"""Deepest nesting of arrays/structures the decoder accepts (real meters stay far below)."""


class DataType(IntEnum):
    """The A-XDR tags of the COSEM ``Data`` CHOICE."""

    NULL_DATA = 0
    ARRAY = 1
    STRUCTURE = 2
    BOOLEAN = 3
    BIT_STRING = 4
    DOUBLE_LONG = 5
    DOUBLE_LONG_UNSIGNED = 6
    OCTET_STRING = 9
    VISIBLE_STRING = 10
    UTF8_STRING = 12
    BCD = 13
    INTEGER = 15
    LONG = 16
    UNSIGNED = 17
    LONG_UNSIGNED = 18
    COMPACT_ARRAY = 19
    LONG64 = 20
    LONG64_UNSIGNED = 21
    ENUM = 22
    FLOAT32 = 23
    FLOAT64 = 24
    DATE_TIME = 25
    DATE = 26
    TIME = 27
    DONT_CARE = 255

    @property
    def standard_name(self) -> str:
        """The name used by the standard, e.g. ``double-long-unsigned``."""
        return self.name.lower().replace("_", "-")


_TAG_NAMES = {t.value: t.standard_name for t in DataType}


def _tag_name(tag: int) -> str:
    return _TAG_NAMES.get(tag, f"unknown tag 0x{tag:02X}")


# --------------------------------------------------------------------------------------------------------
# Typed values
# --------------------------------------------------------------------------------------------------------


class _TypedInt(int):
    """An ``int`` that remembers its A-XDR integer type."""

    __slots__ = ()
    TAG: ClassVar[DataType]
    MIN: ClassVar[int]
    MAX: ClassVar[int]
    FORMAT: ClassVar[str]

    def __new__(cls, value: int = 0) -> _TypedInt:
        if isinstance(value, bool) or not isinstance(value, int):
            raise EncodeError(
                f"{cls.TAG.standard_name} needs an integer, got {type(value).__name__} {value!r}"
            )
        if not cls.MIN <= value <= cls.MAX:
            raise EncodeError(f"{value} is out of range for {cls.TAG.standard_name} ({cls.MIN}..{cls.MAX})")
        return int.__new__(cls, value)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({int(self)})"

    __str__ = (
        int.__repr__
    )  # str(), format() and csv show the number: 4661840, not DoubleLongUnsigned(4661840)


class Integer(_TypedInt):
    """integer: int8."""

    __slots__ = ()
    TAG = DataType.INTEGER
    MIN, MAX, FORMAT = -0x80, 0x7F, "b"


class Long(_TypedInt):
    """long: int16."""

    __slots__ = ()
    TAG = DataType.LONG
    MIN, MAX, FORMAT = -0x8000, 0x7FFF, "h"


class DoubleLong(_TypedInt):
    """double-long: int32."""

    __slots__ = ()
    TAG = DataType.DOUBLE_LONG
    MIN, MAX, FORMAT = -0x80000000, 0x7FFFFFFF, "i"


class Long64(_TypedInt):
    """long64: int64."""

    __slots__ = ()
    TAG = DataType.LONG64
    MIN, MAX, FORMAT = -0x8000000000000000, 0x7FFFFFFFFFFFFFFF, "q"


class Unsigned(_TypedInt):
    """unsigned: uint8."""

    __slots__ = ()
    TAG = DataType.UNSIGNED
    MIN, MAX, FORMAT = 0, 0xFF, "B"


class LongUnsigned(_TypedInt):
    """long-unsigned: uint16."""

    __slots__ = ()
    TAG = DataType.LONG_UNSIGNED
    MIN, MAX, FORMAT = 0, 0xFFFF, "H"


class DoubleLongUnsigned(_TypedInt):
    """double-long-unsigned: uint32."""

    __slots__ = ()
    TAG = DataType.DOUBLE_LONG_UNSIGNED
    MIN, MAX, FORMAT = 0, 0xFFFFFFFF, "I"


class Long64Unsigned(_TypedInt):
    """long64-unsigned: uint64."""

    __slots__ = ()
    TAG = DataType.LONG64_UNSIGNED
    MIN, MAX, FORMAT = 0, 0xFFFFFFFFFFFFFFFF, "Q"


class Enum(_TypedInt):
    """enum: an enumerated value, uint8 on the wire."""

    __slots__ = ()
    TAG = DataType.ENUM
    MIN, MAX, FORMAT = 0, 0xFF, "B"


class Bcd(_TypedInt):
    """bcd: one byte holding two BCD digits, kept as the raw byte (0x12 is "12")."""

    __slots__ = ()
    TAG = DataType.BCD
    MIN, MAX, FORMAT = 0, 0xFF, "B"

    def __repr__(self) -> str:
        return f"Bcd(0x{int(self):02X})"

    def __str__(self) -> str:
        return f"{int(self):02X}"


class _TypedFloat(float):
    __slots__ = ()
    TAG: ClassVar[DataType]
    FORMAT: ClassVar[str]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({float(self)!r})"

    __str__ = float.__repr__


class Float32(_TypedFloat):
    """float32: IEEE 754 single precision."""

    __slots__ = ()
    TAG = DataType.FLOAT32
    FORMAT = "f"


class Float64(_TypedFloat):
    """float64: IEEE 754 double precision."""

    __slots__ = ()
    TAG = DataType.FLOAT64
    FORMAT = "d"


class OctetString(bytes):
    """octet-string: raw bytes (logical names, date-times, tokens, keys...)."""

    __slots__ = ()
    TAG = DataType.OCTET_STRING

    def __repr__(self) -> str:
        return f"OctetString('{self.hex().upper()}')"

    __str__ = bytes.__repr__


class VisibleString(str):
    """visible-string: bytes shown as text; decoded as Latin-1 so that every byte survives a round trip."""

    __slots__ = ()
    TAG = DataType.VISIBLE_STRING

    def __repr__(self) -> str:
        return f"VisibleString({str(self)!r})"


class Utf8String(str):
    """utf8-string."""

    __slots__ = ()
    TAG = DataType.UTF8_STRING

    def __repr__(self) -> str:
        return f"Utf8String({str(self)!r})"


class BitString(str):
    """bit-string, as a text of ``0`` and ``1`` characters, first bit first (``BitString('10100')``)."""

    __slots__ = ()
    TAG = DataType.BIT_STRING

    def __new__(cls, bits: str = "") -> BitString:
        if bits.strip("01"):
            raise EncodeError(f"a bit-string is written with 0 and 1 only, got {bits!r}")
        return str.__new__(cls, bits)

    @classmethod
    def from_bytes(cls, data: bytes, bit_count: int) -> BitString:
        """The first ``bit_count`` bits of ``data``, most significant bit first."""
        if bit_count > len(data) * 8:
            raise EncodeError(f"{bit_count} bits do not fit in {len(data)} bytes")
        text = bin(int.from_bytes(data, "big"))[2:].zfill(len(data) * 8) if data else ""
        return str.__new__(cls, text[:bit_count])

    def to_bytes(self) -> bytes:
        """The bits packed into bytes, padded with zero bits at the end."""
        if not self:
            return b""
        padded = self.ljust((len(self) + 7) // 8 * 8, "0")
        return int(padded, 2).to_bytes(len(padded) // 8, "big")

    def __repr__(self) -> str:
        return f"BitString('{self!s}')"


class Array(list):  # type: ignore[type-arg]
    """array: a sequence of elements of one type."""

    __slots__ = ()
    TAG = DataType.ARRAY

    def __repr__(self) -> str:
        return f"Array({list.__repr__(self)})"


class Structure(tuple):  # type: ignore[type-arg]
    """structure: an ordered group of elements of any types."""

    __slots__ = ()
    TAG = DataType.STRUCTURE

    def __repr__(self) -> str:
        return f"Structure({list(self)!r})"


class DontCare:
    """dont-care: the "any value" marker (used in selective-access filters)."""

    __slots__ = ()
    TAG = DataType.DONT_CARE
    _instance: ClassVar[DontCare | None] = None

    def __new__(cls) -> DontCare:
        if cls._instance is None:
            cls._instance = object.__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "DONT_CARE"


DONT_CARE = DontCare()


@dataclass(frozen=True, slots=True)
class ArrayDescription:
    """Type description of an array inside a compact-array: ``count`` elements of ``element``."""

    count: int
    element: TypeDescription


@dataclass(frozen=True, slots=True)
class StructureDescription:
    """Type description of a structure inside a compact-array."""

    members: tuple[TypeDescription, ...]


TypeDescription: TypeAlias = DataType | ArrayDescription | StructureDescription


class CompactArray(list):  # type: ignore[type-arg]
    """compact-array: elements of one described type, sent without per-element tags."""

    __slots__ = ("description",)
    TAG = DataType.COMPACT_ARRAY

    def __init__(self, values: Iterable[Data] = (), description: TypeDescription | None = None) -> None:
        super().__init__(values)
        if description is None:
            if not self:
                raise EncodeError("an empty compact-array needs an explicit type description")
            description = _describe(self[0])
        self.description: TypeDescription = description

    def __repr__(self) -> str:
        return f"CompactArray({list.__repr__(self)}, description={self.description!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, CompactArray):
            return self.description == other.description and list.__eq__(self, other)
        return list.__eq__(self, other)

    __hash__ = None


Data: TypeAlias = Any
"""Any A-XDR value: the typed classes above, ``bool``, ``None``, COSEM date/time values."""


# --------------------------------------------------------------------------------------------------------
# Lengths
# --------------------------------------------------------------------------------------------------------


def encode_length(n: int) -> bytes:
    """The A-XDR length/count prefix: one byte below 0x80, else 0x81..0x84 and big-endian bytes."""
    if n < 0x80:
        if n < 0:
            raise EncodeError(f"negative length {n}")
        return bytes((n,))
    if n <= 0xFF:
        return bytes((0x81, n))
    if n <= 0xFFFF:
        return b"\x82" + n.to_bytes(2, "big")
    if n <= 0xFFFFFF:
        return b"\x83" + n.to_bytes(3, "big")
    if n <= 0xFFFFFFFF:
        return b"\x84" + n.to_bytes(4, "big")
    raise EncodeError(f"length {n} does not fit in an A-XDR length (at most 4 bytes)")


def decode_length(data: bytes | memoryview, offset: int = 0, end: int | None = None) -> tuple[int, int]:
    """Read a length/count prefix at ``offset``; return ``(length, offset_after)``."""
    if end is None:
        end = len(data)
    if offset >= end:
        raise DecodeError("truncated length", offset=offset, expected="a length byte", found="end of data")
    first = data[offset]
    if first < 0x80:
        return first, offset + 1
    size = first & 0x7F
    if size == 0 or size > 4:
        raise DecodeError(
            "invalid length prefix", offset=offset, expected="0x00-0x7F or 0x81-0x84", found=f"0x{first:02X}"
        )
    if offset + 1 + size > end:
        raise DecodeError(
            "truncated length", offset=offset, expected=f"{size} length bytes", found=f"{end - offset - 1}"
        )
    return int.from_bytes(data[offset + 1 : offset + 1 + size], "big"), offset + 1 + size


# --------------------------------------------------------------------------------------------------------
# Encoding
# --------------------------------------------------------------------------------------------------------

_INT_CLASSES: tuple[type[_TypedInt], ...] = (
    Integer,
    Long,
    DoubleLong,
    Long64,
    Unsigned,
    LongUnsigned,
    DoubleLongUnsigned,
    Long64Unsigned,
    Enum,
    Bcd,
)
_FIXED_INT_STRUCTS = {cls: struct.Struct(">B" + cls.FORMAT) for cls in _INT_CLASSES}
_FLOAT_STRUCTS = {cls: struct.Struct(">B" + cls.FORMAT) for cls in (Float32, Float64)}


def encode(value: Data) -> bytes:
    """Encode one value (with its tag) to A-XDR bytes."""
    out = bytearray()
    _encode_into(out, value, 0)
    return bytes(out)


def _encode_into(out: bytearray, value: Data, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise EncodeError(f"value nested deeper than {MAX_DEPTH} levels")
    cls = type(value)
    packer = _FIXED_INT_STRUCTS.get(cls)
    if packer is not None:
        out += packer.pack(cls.TAG, value)
        return
    if value is None:
        out.append(0)
    elif cls is bool:
        out += b"\x03\xff" if value else b"\x03\x00"
    elif isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        out.append(DataType.OCTET_STRING)
        out += encode_length(len(raw))
        out += raw
    elif isinstance(value, BitString):
        out.append(DataType.BIT_STRING)
        out += encode_length(len(value))
        out += value.to_bytes()
    elif isinstance(value, Utf8String):
        raw = value.encode("utf-8")
        out.append(DataType.UTF8_STRING)
        out += encode_length(len(raw))
        out += raw
    elif isinstance(value, str):
        if isinstance(value, VisibleString) or value.isascii():
            try:
                raw = value.encode("latin-1")
            except UnicodeEncodeError:
                raise EncodeError(f"visible-string {value!r} has characters outside one byte") from None
            out.append(DataType.VISIBLE_STRING)
        else:
            raw = value.encode("utf-8")
            out.append(DataType.UTF8_STRING)
        out += encode_length(len(raw))
        out += raw
    elif isinstance(value, CompactArray):
        _encode_compact_array(out, value)
    elif isinstance(value, (list, tuple)):
        out.append(DataType.STRUCTURE if isinstance(value, tuple) else DataType.ARRAY)
        out += encode_length(len(value))
        for item in value:
            _encode_into(out, item, depth + 1)
    elif isinstance(value, _TypedInt):
        out += _FIXED_INT_STRUCTS[_base_int_class(value)].pack(value.TAG, value)
    elif isinstance(value, _TypedFloat):
        out += _FLOAT_STRUCTS[Float32 if isinstance(value, Float32) else Float64].pack(value.TAG, value)
    elif isinstance(value, float):
        out += _FLOAT_STRUCTS[Float64].pack(DataType.FLOAT64, value)
    elif isinstance(value, CosemDateTime):
        out.append(DataType.DATE_TIME)
        out += value.to_bytes()
    elif isinstance(value, CosemDate):
        out.append(DataType.DATE)
        out += value.to_bytes()
    elif isinstance(value, CosemTime):
        out.append(DataType.TIME)
        out += value.to_bytes()
    elif isinstance(value, _dt.datetime):
        out.append(DataType.DATE_TIME)
        out += CosemDateTime.from_datetime(value).to_bytes()
    elif isinstance(value, DontCare):
        out.append(DataType.DONT_CARE)
    elif isinstance(value, int):
        raise EncodeError(
            f"a plain int ({value}) is ambiguous in A-XDR; wrap it in its type, e.g. axdr.Unsigned({value}), "
            f"axdr.LongUnsigned({value}) or axdr.DoubleLong({value})"
        )
    else:
        raise EncodeError(f"cannot encode a {type(value).__name__} as A-XDR: {value!r}")


def _base_int_class(value: _TypedInt) -> type[_TypedInt]:
    for cls in _INT_CLASSES:
        if isinstance(value, cls):
            return cls
    raise EncodeError(f"unknown integer type {type(value).__name__}")  # pragma: no cover


def type_of(value: Data) -> DataType:
    """The A-XDR type a value encodes as."""
    if value is None:
        return DataType.NULL_DATA
    if isinstance(value, bool):
        return DataType.BOOLEAN
    tag = getattr(value, "TAG", None)
    if isinstance(tag, DataType):
        return tag
    if isinstance(value, (bytes, bytearray, memoryview)):
        return DataType.OCTET_STRING
    if isinstance(value, str):
        return DataType.VISIBLE_STRING if value.isascii() else DataType.UTF8_STRING
    if isinstance(value, float):
        return DataType.FLOAT64
    if isinstance(value, tuple):
        return DataType.STRUCTURE
    if isinstance(value, list):
        return DataType.ARRAY
    if isinstance(value, CosemDateTime | _dt.datetime):
        return DataType.DATE_TIME
    if isinstance(value, CosemDate):
        return DataType.DATE
    if isinstance(value, CosemTime):
        return DataType.TIME
    raise EncodeError(f"{type(value).__name__} has no A-XDR type: {value!r}")


# -- compact-array ----------------------------------------------------------------------------------------


def _describe(value: Data) -> TypeDescription:
    tag = type_of(value)
    if tag == DataType.STRUCTURE:
        return StructureDescription(tuple(_describe(v) for v in value))
    if tag == DataType.ARRAY:
        if not value:
            raise EncodeError("cannot describe an empty array inside a compact-array")
        return ArrayDescription(len(value), _describe(value[0]))
    return tag


def _encode_description(out: bytearray, desc: TypeDescription) -> None:
    if isinstance(desc, ArrayDescription):
        out.append(DataType.ARRAY)
        out += desc.count.to_bytes(2, "big")
        _encode_description(out, desc.element)
    elif isinstance(desc, StructureDescription):
        out.append(DataType.STRUCTURE)
        out += encode_length(len(desc.members))
        for member in desc.members:
            _encode_description(out, member)
    else:
        out.append(desc)


def _encode_untagged(out: bytearray, value: Data, desc: TypeDescription) -> None:
    if isinstance(desc, StructureDescription):
        if not isinstance(value, tuple) or len(value) != len(desc.members):
            raise EncodeError(f"compact-array element {value!r} does not match its structure description")
        for item, member in zip(value, desc.members, strict=True):
            _encode_untagged(out, item, member)
        return
    if isinstance(desc, ArrayDescription):
        if not isinstance(value, list) or len(value) != desc.count:
            raise EncodeError(f"compact-array element {value!r} does not match its array description")
        for item in value:
            _encode_untagged(out, item, desc.element)
        return
    encoded = encode(convert(value, desc))
    out += encoded[1:]  # the tag is in the description


def _encode_compact_array(out: bytearray, value: CompactArray) -> None:
    out.append(DataType.COMPACT_ARRAY)
    _encode_description(out, value.description)
    contents = bytearray()
    for item in value:
        _encode_untagged(contents, item, value.description)
    out += encode_length(len(contents))
    out += contents


# --------------------------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------------------------

Buffer: TypeAlias = bytes | bytearray | memoryview


def decode(data: Buffer) -> Data:
    """Decode exactly one A-XDR value that fills ``data``."""
    raw = bytes(data)
    value, pos = _decode(raw, 0, len(raw), 0)
    if pos != len(raw):
        raise DecodeError(
            "trailing bytes after the value",
            offset=pos,
            expected="end of data",
            found=f"{len(raw) - pos} bytes",
        )
    return value


def decode_from(data: Buffer, offset: int = 0) -> tuple[Data, int]:
    """Decode one A-XDR value starting at ``offset``; return ``(value, offset_after)``."""
    raw = data if isinstance(data, bytes) else bytes(data)
    if not 0 <= offset <= len(raw):
        raise DecodeError("offset outside the data", offset=offset)
    return _decode(raw, offset, len(raw), 0)


def _need(data: bytes, pos: int, end: int, size: int, what: str) -> None:
    if pos + size > end:
        raise DecodeError(
            f"truncated {what}", offset=pos, expected=f"{size} bytes", found=f"{end - pos} bytes"
        )


_Decoder: TypeAlias = Callable[[bytes, int, int, int], tuple[Any, int]]


def _decode(data: bytes, pos: int, end: int, depth: int) -> tuple[Data, int]:
    if pos >= end:
        raise DecodeError("truncated data", offset=pos, expected="a data type tag", found="end of data")
    decoder = _DECODERS[data[pos]]
    if decoder is None:
        raise DecodeError(
            "unknown data type", offset=pos, expected="an A-XDR data tag", found=f"0x{data[pos]:02X}"
        )
    return decoder(data, pos + 1, end, depth)


def _fixed_decoder(cls: type[_TypedInt] | type[_TypedFloat]) -> _Decoder:
    unpacker = struct.Struct(">" + cls.FORMAT)
    size = unpacker.size
    name = cls.TAG.standard_name
    make: Callable[[Any], Any] = (
        partial(int.__new__, cls) if issubclass(cls, int) else partial(float.__new__, cls)
    )

    def dec(data: bytes, pos: int, end: int, depth: int) -> tuple[Any, int]:
        if pos + size > end:
            raise DecodeError(
                f"truncated {name}", offset=pos, expected=f"{size} bytes", found=f"{end - pos} bytes"
            )
        return make(unpacker.unpack_from(data, pos)[0]), pos + size

    return dec


def _dec_null(data: bytes, pos: int, end: int, depth: int) -> tuple[Any, int]:
    return None, pos


def _dec_dont_care(data: bytes, pos: int, end: int, depth: int) -> tuple[Any, int]:
    return DONT_CARE, pos


def _dec_boolean(data: bytes, pos: int, end: int, depth: int) -> tuple[Any, int]:
    _need(data, pos, end, 1, "boolean")
    return data[pos] != 0, pos + 1


def _dec_bit_string(data: bytes, pos: int, end: int, depth: int) -> tuple[Any, int]:
    bits, pos = decode_length(data, pos, end)
    size = (bits + 7) // 8
    _need(data, pos, end, size, f"bit-string of {bits} bits")
    return BitString.from_bytes(data[pos : pos + size], bits), pos + size


def _dec_octet_string(data: bytes, pos: int, end: int, depth: int) -> tuple[Any, int]:
    size, pos = decode_length(data, pos, end)
    _need(data, pos, end, size, "octet-string")
    return bytes.__new__(OctetString, data[pos : pos + size]), pos + size


def _dec_visible_string(data: bytes, pos: int, end: int, depth: int) -> tuple[Any, int]:
    size, pos = decode_length(data, pos, end)
    _need(data, pos, end, size, "visible-string")
    return str.__new__(VisibleString, data[pos : pos + size].decode("latin-1")), pos + size


def _dec_utf8_string(data: bytes, pos: int, end: int, depth: int) -> tuple[Any, int]:
    size, start = decode_length(data, pos, end)
    _need(data, start, end, size, "utf8-string")
    try:
        text = data[start : start + size].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DecodeError(
            "invalid utf8-string",
            offset=start + exc.start,
            expected="UTF-8 text",
            found=f"byte 0x{data[start + exc.start]:02X}",
        ) from None
    return str.__new__(Utf8String, text), start + size


def _dec_date_time(data: bytes, pos: int, end: int, depth: int) -> tuple[Any, int]:
    _need(data, pos, end, 12, "date-time")
    return CosemDateTime.from_bytes(data, pos), pos + 12


def _dec_date(data: bytes, pos: int, end: int, depth: int) -> tuple[Any, int]:
    _need(data, pos, end, 5, "date")
    return CosemDate.from_bytes(data, pos), pos + 5


def _dec_time(data: bytes, pos: int, end: int, depth: int) -> tuple[Any, int]:
    _need(data, pos, end, 4, "time")
    return CosemTime.from_bytes(data, pos), pos + 4


def _dec_structure(data: bytes, pos: int, end: int, depth: int) -> tuple[Any, int]:
    if depth >= MAX_DEPTH:
        raise DecodeError("data nested too deeply", offset=pos, expected=f"at most {MAX_DEPTH} levels")
    count, pos = decode_length(data, pos, end)
    if count > end - pos:
        raise DecodeError(
            "structure count larger than the data",
            offset=pos,
            expected=f"{count} elements",
            found=f"{end - pos} bytes",
        )
    items = []
    for _ in range(count):
        item, pos = _decode(data, pos, end, depth + 1)
        items.append(item)
    return tuple.__new__(Structure, items), pos


def _dec_array(data: bytes, pos: int, end: int, depth: int) -> tuple[Any, int]:
    if depth >= MAX_DEPTH:
        raise DecodeError("data nested too deeply", offset=pos, expected=f"at most {MAX_DEPTH} levels")
    count_at = pos
    count, pos = decode_length(data, pos, end)
    if count > end - pos:
        raise DecodeError(
            "array count larger than the data",
            offset=count_at,
            expected=f"{count} elements",
            found=f"{end - pos} bytes",
        )
    if count >= _BULK_MIN:
        bulk = _decode_bulk(data, pos, end, count)
        if bulk is not None:
            return bulk
    items = Array()
    for _ in range(count):
        item, pos = _decode(data, pos, end, depth + 1)
        items.append(item)
    return items, pos


# -- compact-array ----------------------------------------------------------------------------------------


def _decode_description(data: bytes, pos: int, end: int, depth: int) -> tuple[TypeDescription, int]:
    if depth >= MAX_DEPTH:
        raise DecodeError("type description nested too deeply", offset=pos)
    _need(data, pos, end, 1, "type description")
    tag = data[pos]
    pos += 1
    if tag == DataType.ARRAY:
        _need(data, pos, end, 2, "array type description")
        count = int.from_bytes(data[pos : pos + 2], "big")
        element, pos = _decode_description(data, pos + 2, end, depth + 1)
        return ArrayDescription(count, element), pos
    if tag == DataType.STRUCTURE:
        count, pos = decode_length(data, pos, end)
        if count > end - pos:
            raise DecodeError("structure description count larger than the data", offset=pos)
        members = []
        for _ in range(count):
            member, pos = _decode_description(data, pos, end, depth + 1)
            members.append(member)
        return StructureDescription(tuple(members)), pos
    if tag == DataType.COMPACT_ARRAY or _DECODERS[tag] is None:
        raise DecodeError(
            "invalid type in compact-array description",
            offset=pos - 1,
            expected="a data type",
            found=f"0x{tag:02X}",
        )
    return DataType(tag), pos


def _decode_untagged(data: bytes, pos: int, end: int, desc: TypeDescription, depth: int) -> tuple[Data, int]:
    if isinstance(desc, StructureDescription):
        items = []
        for member in desc.members:
            item, pos = _decode_untagged(data, pos, end, member, depth + 1)
            items.append(item)
        return tuple.__new__(Structure, items), pos
    if isinstance(desc, ArrayDescription):
        if desc.count > end - pos and desc.element not in (DataType.NULL_DATA, DataType.DONT_CARE):
            raise DecodeError("array description count larger than the data", offset=pos)
        elements = Array()
        for _ in range(desc.count):
            item, pos = _decode_untagged(data, pos, end, desc.element, depth + 1)
            elements.append(item)
        return elements, pos
    decoder = _DECODERS[desc]
    assert decoder is not None
    return decoder(data, pos, end, depth + 1)


def _dec_compact_array(data: bytes, pos: int, end: int, depth: int) -> tuple[Any, int]:
    desc, pos = _decode_description(data, pos, end, depth)
    size, pos = decode_length(data, pos, end)
    _need(data, pos, end, size, "compact-array contents")
    stop = pos + size
    values = CompactArray((), desc)
    while pos < stop:
        before = pos
        item, pos = _decode_untagged(data, pos, stop, desc, depth)
        if pos == before:
            raise DecodeError(
                "compact-array element of zero size", offset=pos, expected="elements that take bytes"
            )
        values.append(item)
    return values, stop


_DECODERS: list[_Decoder | None] = [None] * 256
for _cls in _INT_CLASSES:
    _DECODERS[_cls.TAG] = _fixed_decoder(_cls)
for _fcls in (Float32, Float64):
    _DECODERS[_fcls.TAG] = _fixed_decoder(_fcls)
_DECODERS[DataType.NULL_DATA] = _dec_null
_DECODERS[DataType.ARRAY] = _dec_array
_DECODERS[DataType.STRUCTURE] = _dec_structure
_DECODERS[DataType.BOOLEAN] = _dec_boolean
_DECODERS[DataType.BIT_STRING] = _dec_bit_string
_DECODERS[DataType.OCTET_STRING] = _dec_octet_string
_DECODERS[DataType.VISIBLE_STRING] = _dec_visible_string
_DECODERS[DataType.UTF8_STRING] = _dec_utf8_string
_DECODERS[DataType.COMPACT_ARRAY] = _dec_compact_array
_DECODERS[DataType.DATE_TIME] = _dec_date_time
_DECODERS[DataType.DATE] = _dec_date
_DECODERS[DataType.TIME] = _dec_time
_DECODERS[DataType.DONT_CARE] = _dec_dont_care


# -- bulk decoding of arrays with one fixed element layout (profile buffers) ---------------------------------

_BULK_MIN = 4
"""Arrays with at least this many elements try the bulk path."""


@dataclass(frozen=True, slots=True)
class _Layout:
    """The fixed byte layout of one array element: constant bytes (tags, lengths) and value slots."""

    size: int
    constants: tuple[tuple[int, int], ...]  # (offset in element, byte value)
    fmt: struct.Struct
    build: Callable[[tuple[Any, ...]], Any]
    plain: bool
    """``struct`` gives the plain values as they are: integers, floats and octet-strings in one flat row."""
    scalar: bool
    """The element is one value, not a structure."""


def _int_maker(cls: type[Any]) -> Callable[[Any], Any]:
    return partial(int.__new__, cls)


_SCALAR_SLOTS: dict[int, tuple[str, Callable[[Any], Any]]] = {
    cls.TAG: (cls.FORMAT, _int_maker(cls)) for cls in _INT_CLASSES
}
_SCALAR_SLOTS[DataType.FLOAT32] = ("f", partial(float.__new__, Float32))
_SCALAR_SLOTS[DataType.FLOAT64] = ("d", partial(float.__new__, Float64))
_SCALAR_SLOTS[DataType.BOOLEAN] = ("B", bool)
_SCALAR_SLOTS[DataType.DATE_TIME] = ("12s", CosemDateTime.from_bytes)
_SCALAR_SLOTS[DataType.DATE] = ("5s", CosemDate.from_bytes)
_SCALAR_SLOTS[DataType.TIME] = ("4s", CosemTime.from_bytes)
_NOT_PLAIN_SLOTS = frozenset({DataType.BOOLEAN, DataType.DATE_TIME, DataType.DATE, DataType.TIME})
"""Slots whose ``struct`` value is not yet the plain value (an int for a boolean, bytes for a date)."""


def _layout_of(data: bytes, pos: int, end: int) -> _Layout | None:
    """Describe the element at ``pos`` if it is made only of fixed-size parts, else None."""
    constants: list[tuple[int, int]] = []
    fmt: list[str] = []
    makers: list[Callable[[Any], Any]] = []
    groups: list[int] = []  # for a structure element: member count per nested level, flattened
    plain_slots: list[bool] = []
    start = pos

    def walk(pos: int, depth: int) -> int | None:
        if pos >= end or depth > 4:
            return None
        tag = data[pos]
        constants.append((pos - start, tag))
        pos += 1
        slot = _SCALAR_SLOTS.get(tag)
        if slot is not None:
            fmt.append("x")
            fmt.append(slot[0])
            makers.append(slot[1])
            groups.append(-1)
            plain_slots.append(tag not in _NOT_PLAIN_SLOTS)
            return pos + struct.calcsize(">" + slot[0])
        if tag in (DataType.OCTET_STRING, DataType.VISIBLE_STRING):
            if pos >= end or data[pos] >= 0x80:
                return None
            size = data[pos]
            constants.append((pos - start, size))
            fmt.append("xx")
            fmt.append(f"{size}s")
            makers.append(
                partial(bytes.__new__, OctetString) if tag == DataType.OCTET_STRING else _make_visible_string
            )
            groups.append(-1)
            plain_slots.append(tag == DataType.OCTET_STRING)
            return pos + 1 + size
        if tag == DataType.STRUCTURE:
            if pos >= end or data[pos] >= 0x80:
                return None
            count = data[pos]
            constants.append((pos - start, count))
            fmt.append("xx")
            groups.append(count)
            pos += 1
            for _ in range(count):
                next_pos = walk(pos, depth + 1)
                if next_pos is None:
                    return None
                pos = next_pos
            return pos
        return None

    stop = walk(pos, 0)
    if stop is None or stop > end:
        return None
    try:
        packer = struct.Struct(">" + "".join(fmt))
    except struct.error:
        return None
    if packer.size != stop - start:
        return None
    scalar = groups == [-1]
    flat = scalar or (bool(groups) and groups[0] == len(groups) - 1 and all(g == -1 for g in groups[1:]))
    plain = flat and all(plain_slots)
    return _Layout(stop - start, tuple(constants), packer, _builder(groups, makers), plain, scalar)


def _make_visible_string(raw: bytes) -> VisibleString:
    return str.__new__(VisibleString, raw.decode("latin-1"))


def _builder(groups: list[int], makers: list[Callable[[Any], Any]]) -> Callable[[tuple[Any, ...]], Any]:
    if groups == [-1]:
        maker = makers[0]
        return lambda row: maker(row[0])
    if groups and groups[0] == len(groups) - 1 and all(g == -1 for g in groups[1:]):
        # A flat structure of scalars: the common profile row.
        def flat(row: tuple[Any, ...]) -> Structure:
            return tuple.__new__(Structure, [m(v) for m, v in zip(makers, row, strict=False)])

        return flat

    def nested(row: tuple[Any, ...]) -> Any:
        values = iter(row)
        maker_iter = iter(makers)
        group_iter = iter(groups)

        def take() -> Any:
            count = next(group_iter)
            if count == -1:
                return next(maker_iter)(next(values))
            return tuple.__new__(Structure, [take() for _ in range(count)])

        return take()

    return nested


def _bulk_layout(data: bytes, pos: int, end: int, count: int) -> _Layout | None:
    """The layout shared by all ``count`` elements at ``pos``, or None when they do not share one."""
    layout = _layout_of(data, pos, end)
    if layout is None:
        return None
    stop = pos + layout.size * count
    if stop > end:
        return None  # let the generic path report where the data ends
    for offset, byte in layout.constants:
        if data[pos + offset : stop : layout.size].count(byte) != count:
            return None
    return layout


def _decode_bulk(data: bytes, pos: int, end: int, count: int) -> tuple[Array, int] | None:
    layout = _bulk_layout(data, pos, end, count)
    if layout is None:
        return None
    stop = pos + layout.size * count
    rows = Array(map(layout.build, layout.fmt.iter_unpack(memoryview(data)[pos:stop])))
    return rows, stop


def decode_plain(data: Buffer) -> Any:
    """Decode one value to plain Python values, without their A-XDR types.

    Integers become ``int``, strings ``bytes``/``str``, structures ``tuple`` and arrays ``list``; date/time
    values stay :class:`CosemDateTime` etc. This is the fast way to read a large profile buffer when the
    types are known from elsewhere: an array whose rows share one layout of integers, floats and
    octet-strings is unpacked with ``struct`` directly into tuples. Use :func:`decode` to keep the types
    (to write values back, or to translate).
    """
    raw = bytes(data)
    if len(raw) > 1 and raw[0] == DataType.ARRAY:
        count, pos = decode_length(raw, 1)
        if count >= _BULK_MIN and count <= len(raw) - pos:
            layout = _bulk_layout(raw, pos, len(raw), count)
            if layout is not None and layout.plain and pos + layout.size * count == len(raw):
                rows = layout.fmt.iter_unpack(memoryview(raw)[pos:])
                return [row[0] for row in rows] if layout.scalar else list(rows)
    return _strip(decode(raw))


def _strip(value: Data) -> Any:
    if value is None or isinstance(value, (bool, CosemDateTime, CosemDate, CosemTime, DontCare)):
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
        return tuple(_strip(v) for v in value)
    return [_strip(v) for v in value]


# --------------------------------------------------------------------------------------------------------
# Conversion helpers
# --------------------------------------------------------------------------------------------------------

_CLASS_FOR_TAG: dict[DataType, type[Any]] = {cls.TAG: cls for cls in _INT_CLASSES}


def convert(value: Any, data_type: DataType | TypeDescription) -> Data:
    """Turn a plain Python value into the typed value of ``data_type`` (what a model or CLI needs).

    ``convert(5, DataType.UNSIGNED)`` is ``Unsigned(5)``; ``convert("0102", DataType.OCTET_STRING)`` takes
    hex text; ``convert(datetime, DataType.OCTET_STRING)`` gives the 12-byte date-time. Raises
    :class:`EncodeError` with the expected type named when the value does not fit.
    """
    if isinstance(data_type, StructureDescription):
        if not isinstance(value, Sequence) or len(value) != len(data_type.members):
            raise EncodeError(f"expected a structure of {len(data_type.members)} elements, got {value!r}")
        return tuple.__new__(
            Structure, [convert(v, d) for v, d in zip(value, data_type.members, strict=True)]
        )
    if isinstance(data_type, ArrayDescription):
        if not isinstance(value, Sequence) or isinstance(value, (str, bytes)):
            raise EncodeError(f"expected an array, got {value!r}")
        return Array(convert(v, data_type.element) for v in value)
    tag = DataType(data_type)
    name = tag.standard_name
    int_cls = _CLASS_FOR_TAG.get(tag)
    if int_cls is not None:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise EncodeError(f"expected {name} (an integer), got {type(value).__name__} {value!r}")
        if isinstance(value, str):
            try:
                value = int(value, 0)
            except ValueError:
                raise EncodeError(f"expected {name} (an integer), got {value!r}") from None
        return int_cls(value)
    if tag == DataType.NULL_DATA:
        if value is not None:
            raise EncodeError(f"expected null-data, got {value!r}")
        return None
    if tag == DataType.BOOLEAN:
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "on", "off"):
            return value.lower() in ("true", "1", "on")
        if not isinstance(value, (bool, int)):
            raise EncodeError(f"expected boolean, got {value!r}")
        return bool(value)
    if tag == DataType.OCTET_STRING:
        if isinstance(value, CosemDateTime | CosemDate | CosemTime):
            return bytes.__new__(OctetString, value.to_bytes())
        if isinstance(value, _dt.datetime):
            return bytes.__new__(OctetString, CosemDateTime.from_datetime(value).to_bytes())
        if isinstance(value, str):
            try:
                return bytes.__new__(OctetString, bytes.fromhex(value.replace(":", " ")))
            except ValueError:
                raise EncodeError(f"expected octet-string as hex digits, got {value!r}") from None
        if isinstance(value, (bytes, bytearray, memoryview)):
            return bytes.__new__(OctetString, bytes(value))
        raise EncodeError(f"expected octet-string (bytes or hex text), got {type(value).__name__} {value!r}")
    if tag in (DataType.VISIBLE_STRING, DataType.UTF8_STRING):
        if isinstance(value, (bytes, bytearray)):
            value = bytes(value).decode("latin-1" if tag == DataType.VISIBLE_STRING else "utf-8")
        if not isinstance(value, str):
            raise EncodeError(f"expected {name} (text), got {type(value).__name__} {value!r}")
        return (VisibleString if tag == DataType.VISIBLE_STRING else Utf8String)(value)
    if tag == DataType.BIT_STRING:
        if not isinstance(value, str):
            raise EncodeError(f"expected bit-string as text of 0 and 1, got {value!r}")
        return BitString(value)
    if tag in (DataType.FLOAT32, DataType.FLOAT64):
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise EncodeError(f"expected {name} (a number), got {value!r}")
        try:
            number = float(value)
        except ValueError:
            raise EncodeError(f"expected {name} (a number), got {value!r}") from None
        return (Float32 if tag == DataType.FLOAT32 else Float64)(number)
    if tag == DataType.DATE_TIME:
        if isinstance(value, CosemDateTime):
            return value
        if isinstance(value, _dt.datetime):
            return CosemDateTime.from_datetime(value)
        if isinstance(value, str):
            try:
                return CosemDateTime.from_datetime(_dt.datetime.fromisoformat(value))
            except ValueError:
                raise EncodeError(f"expected date-time (ISO 8601), got {value!r}") from None
        raise EncodeError(f"expected date-time, got {value!r}")
    if tag == DataType.DATE:
        if isinstance(value, CosemDate):
            return value
        if isinstance(value, _dt.date):
            return CosemDate.from_date(value)
        raise EncodeError(f"expected date, got {value!r}")
    if tag == DataType.TIME:
        if isinstance(value, CosemTime):
            return value
        if isinstance(value, _dt.time):
            return CosemTime.from_time(value)
        raise EncodeError(f"expected time, got {value!r}")
    if tag == DataType.DONT_CARE:
        return DONT_CARE
    if tag in (DataType.ARRAY, DataType.STRUCTURE):
        if not isinstance(value, (list, tuple)):
            raise EncodeError(f"expected {name}, got {value!r}")
        return Array(value) if tag == DataType.ARRAY else tuple.__new__(Structure, value)
    if tag == DataType.COMPACT_ARRAY:
        if not isinstance(value, CompactArray):
            raise EncodeError(f"expected compact-array, got {value!r}")
        return value
    raise EncodeError(f"cannot convert to {name}")  # pragma: no cover


def to_python(value: Data) -> Any:
    """A JSON-friendly plain form: ints, floats, hex text for octet-strings, ISO text for date-times."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else float(value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).hex().upper()
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [to_python(v) for v in value]
    if isinstance(value, CosemDateTime):
        return value.to_datetime().isoformat() if value.is_calendar_time else str(value)
    if isinstance(value, (CosemDate, CosemTime)):
        return str(value)
    if isinstance(value, DontCare):
        return "*"
    return repr(value)
