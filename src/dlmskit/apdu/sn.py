"""Short-name (SN) service APDUs: read ``05``/``0C``, write ``06``/``0D``, unconfirmed-write ``16`` and
information-report ``18`` (IEC 62056-5-3, the DLMS services kept for short-name referencing).

A short-name server maps every attribute and method of every object to a DLMS named variable, a 16-bit
*variable name* (the object's base name plus an offset, see :mod:`dlmskit.cosem.short_names`). The SN
APDUs carry no invoke-id; a request names its variables with Variable-Access-Specification, the answer
lists one result per variable in the same order. Reading the object list of the Association SN (base name
``FA00``, attribute 2 at ``FA00 + 8``), then reading two variables at once (public traces, named in the
tests)::

    05 01 02 FA08            ReadRequest, 1 variable, variable-name FA08
    0C 01 00 01 82 0125 ...  ReadResponse, 1 result, data: array of 0x125 object list entries
    05 02 02 FD08 02 FF08    ReadRequest, 2 variables, variable-names FD08 and FF08

Variable-Access-Specification is a CHOICE: ``02`` variable-name, ``04`` parameterized-access (variable
name, selector, parameter: the SN form of selective access), ``05`` block-number-access (ask for the next
block of a long answer), ``06`` read-data-block-access and ``07`` write-data-block-access (blocks of a
long request). ReadResponse results are a CHOICE: ``00`` data, ``01`` data-access-error, ``02``
data-block-result (one block of a long answer: last-block, block-number, raw-data), ``03`` block-number
(acknowledges a block of a long request). WriteResponse results: ``00`` success, ``01``
data-access-error, ``02`` block-number. Block numbers are Unsigned16 here (Unsigned32 in the LN services).

Variable names are ObjectName ``Integer16`` in the ASN.1 but every implementation treats them as the
16 bits they are (``FA00`` is not written -1536): they are ints 0..65535 here. A failed read or write of
the whole request comes back as a :class:`~dlmskit.apdu.exception.ConfirmedServiceError` with service
read (5) or write (6).

InformationReportRequest (``18``) is the SN push: the server reports variables unasked.
``current_time`` is GeneralizedTime OPTIONAL, which A-XDR writes ``00`` (absent) or ``01`` and an
octet string; meters put a 12-byte COSEM date-time there (:meth:`InformationReportRequest.date_time`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, TypeAlias

from dlmskit.apdu.common import (
    ApduTag,
    XdlmsApdu,
    encode_data,
    pack_int,
    pack_octet_string,
    pack_sequence,
    read_boolean,
    read_data,
    read_octet_string,
    read_presence,
    read_result,
    read_sequence,
    read_u8,
    read_u16,
)
from dlmskit.apdu.results import DataAccessResult
from dlmskit.codec import axdr
from dlmskit.codec.cosem_datetime import CosemDateTime
from dlmskit.errors import DecodeError, EncodeError

__all__ = [
    "BlockNumberAccess",
    "DataBlockResult",
    "InformationReportRequest",
    "ParameterizedAccess",
    "ReadDataBlockAccess",
    "ReadRequest",
    "ReadResponse",
    "ReadResult",
    "ShortNameApdu",
    "UnconfirmedWriteRequest",
    "VariableAccessSpecification",
    "VariableName",
    "WriteDataBlockAccess",
    "WriteRequest",
    "WriteResponse",
    "WriteResult",
]


def _pack_name(name: int) -> bytes:
    return pack_int(name, 2, "variable-name")


def _pack_block_number(number: int) -> bytes:
    return pack_int(number, 2, "block-number")


def _pack_boolean(value: bool) -> bytes:
    return b"\x01" if value else b"\x00"


# --------------------------------------------------------------------------------------------------------
# Variable-Access-Specification
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VariableName:
    """variable-name ``[2]``: one named variable (an attribute or method of an object), 0..65535."""

    CHOICE: ClassVar[int] = 2

    name: int

    def encode(self) -> bytes:
        return bytes((self.CHOICE,)) + _pack_name(self.name)

    @classmethod
    def _decode_body(cls, data: bytes, offset: int) -> tuple[VariableName, int]:
        name, offset = read_u16(data, offset, "variable-name")
        return cls(name), offset


@dataclass(frozen=True, slots=True)
class ParameterizedAccess:
    """parameterized-access ``[4]``: a variable with a selector and its parameter (the SN form of selective
    access, e.g. selector 1 by range or 2 by entry on a profile buffer; conformance
    parameterized-access)."""

    CHOICE: ClassVar[int] = 4

    name: int
    selector: int
    parameter: axdr.Data

    def encode(self) -> bytes:
        return (
            bytes((self.CHOICE,))
            + _pack_name(self.name)
            + pack_int(self.selector, 1, "selector")
            + encode_data(self.parameter)
        )

    @classmethod
    def _decode_body(cls, data: bytes, offset: int) -> tuple[ParameterizedAccess, int]:
        name, offset = read_u16(data, offset, "variable-name")
        selector, offset = read_u8(data, offset, "selector")
        parameter, offset = read_data(data, offset)
        return cls(name, selector, parameter), offset


@dataclass(frozen=True, slots=True)
class BlockNumberAccess:
    """block-number-access ``[5]``: ask for the block after ``block_number`` of a long ReadResponse."""

    CHOICE: ClassVar[int] = 5

    block_number: int

    def encode(self) -> bytes:
        return bytes((self.CHOICE,)) + _pack_block_number(self.block_number)

    @classmethod
    def _decode_body(cls, data: bytes, offset: int) -> tuple[BlockNumberAccess, int]:
        number, offset = read_u16(data, offset, "block-number")
        return cls(number), offset


@dataclass(frozen=True, slots=True)
class ReadDataBlockAccess:
    """read-data-block-access ``[6]``: one block of a ReadRequest too long for one APDU; ``raw_data`` is
    the next slice of the encoded list of Variable-Access-Specifications."""

    CHOICE: ClassVar[int] = 6

    last_block: bool
    block_number: int
    raw_data: bytes

    def encode(self) -> bytes:
        return (
            bytes((self.CHOICE,))
            + _pack_boolean(self.last_block)
            + _pack_block_number(self.block_number)
            + pack_octet_string(self.raw_data)
        )

    @classmethod
    def _decode_body(cls, data: bytes, offset: int) -> tuple[ReadDataBlockAccess, int]:
        last_block, offset = read_boolean(data, offset, "last-block")
        number, offset = read_u16(data, offset, "block-number")
        raw_data, offset = read_octet_string(data, offset, "raw-data")
        return cls(last_block, number, raw_data), offset


@dataclass(frozen=True, slots=True)
class WriteDataBlockAccess:
    """write-data-block-access ``[7]``: announces block ``block_number`` of a long WriteRequest (the
    block itself travels in the request's list of data)."""

    CHOICE: ClassVar[int] = 7

    last_block: bool
    block_number: int

    def encode(self) -> bytes:
        return bytes((self.CHOICE,)) + _pack_boolean(self.last_block) + _pack_block_number(self.block_number)

    @classmethod
    def _decode_body(cls, data: bytes, offset: int) -> tuple[WriteDataBlockAccess, int]:
        last_block, offset = read_boolean(data, offset, "last-block")
        number, offset = read_u16(data, offset, "block-number")
        return cls(last_block, number), offset


VariableAccessSpecification: TypeAlias = (
    VariableName | ParameterizedAccess | BlockNumberAccess | ReadDataBlockAccess | WriteDataBlockAccess
)
"""One entry of a ReadRequest, WriteRequest, UnconfirmedWriteRequest or InformationReportRequest."""

_ACCESS_CHOICES: dict[int, type[VariableAccessSpecification]] = {
    cls.CHOICE: cls
    for cls in (
        VariableName,
        ParameterizedAccess,
        BlockNumberAccess,
        ReadDataBlockAccess,
        WriteDataBlockAccess,
    )
}


def _encode_access(access: VariableAccessSpecification) -> bytes:
    return access.encode()


def _read_access(data: bytes, offset: int) -> tuple[VariableAccessSpecification, int]:
    choice, offset = read_u8(data, offset, "Variable-Access-Specification choice")
    kind = _ACCESS_CHOICES.get(choice)
    if kind is None:
        raise DecodeError(
            "invalid Variable-Access-Specification choice",
            offset=offset - 1,
            expected="2 variable-name, 4 parameterized-access, 5 block-number-access, "
            "6 read-data-block-access or 7 write-data-block-access",
            found=f"0x{choice:02X}",
        )
    return kind._decode_body(data, offset)


# --------------------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DataBlockResult:
    """Data-Block-Result: one block of a long ReadResponse; ``raw_data`` is the next slice of the A-XDR
    encoding of the value (or of the list of results), joined in block-number order."""

    last_block: bool
    block_number: int
    raw_data: bytes

    def encode(self) -> bytes:
        return (
            _pack_boolean(self.last_block)
            + _pack_block_number(self.block_number)
            + pack_octet_string(self.raw_data)
        )

    @classmethod
    def decode_from(cls, data: bytes, offset: int) -> tuple[DataBlockResult, int]:
        last_block, offset = read_boolean(data, offset, "last-block")
        number, offset = read_u16(data, offset, "block-number")
        raw_data, offset = read_octet_string(data, offset, "raw-data")
        return cls(last_block, number, raw_data), offset


@dataclass(frozen=True, slots=True)
class ReadResult:
    """One result of a ReadResponse: the variable's ``value`` (``00`` Data), or its ``error`` (``01``
    data-access-error), or a ``block`` of a long answer (``02`` data-block-result), or the
    ``block_number`` of a request block received (``03``).

    At most one of ``error``, ``block`` and ``block_number`` is set; when one is, ``value`` stays None
    (a ``value`` of None with nothing else set is the value null-data). Unknown error codes are kept as
    plain ints.
    """

    value: axdr.Data = None
    error: DataAccessResult | int | None = None
    block: DataBlockResult | None = None
    block_number: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.value, DataAccessResult):
            raise EncodeError("a Data-Access-Result goes in ReadResult(error=...), not in value")
        others = sum(part is not None for part in (self.error, self.block, self.block_number))
        if others > 1 or (others and self.value is not None):
            raise EncodeError("a ReadResponse result holds one of value, error, block or block_number")

    @property
    def ok(self) -> bool:
        """True when the result carries data (a value or a block)."""
        return self.error is None and self.block_number is None

    def encode(self) -> bytes:
        if self.error is not None:
            return b"\x01" + pack_int(self.error, 1, "data-access-result")
        if self.block is not None:
            return b"\x02" + self.block.encode()
        if self.block_number is not None:
            return b"\x03" + _pack_block_number(self.block_number)
        return b"\x00" + encode_data(self.value)

    @classmethod
    def decode_from(cls, data: bytes, offset: int) -> tuple[ReadResult, int]:
        choice, offset = read_u8(data, offset, "ReadResponse result choice")
        if choice == 0:
            value, offset = read_data(data, offset)
            return cls(value), offset
        if choice == 1:
            error, offset = read_result(data, offset, DataAccessResult, "data-access-result")
            return cls(error=error), offset
        if choice == 2:
            block, offset = DataBlockResult.decode_from(data, offset)
            return cls(block=block), offset
        if choice == 3:
            number, offset = read_u16(data, offset, "block-number")
            return cls(block_number=number), offset
        raise DecodeError(
            "invalid ReadResponse result choice",
            offset=offset - 1,
            expected="0 data, 1 data-access-error, 2 data-block-result or 3 block-number",
            found=f"0x{choice:02X}",
        )


@dataclass(frozen=True, slots=True)
class WriteResult:
    """One result of a WriteResponse: success (``00``, nothing set), ``error`` (``01``
    data-access-error) or the ``block_number`` of a request block received (``02``)."""

    error: DataAccessResult | int | None = None
    block_number: int | None = None

    def __post_init__(self) -> None:
        if self.error is not None and self.block_number is not None:
            raise EncodeError("a WriteResponse result holds an error or a block number, not both")

    @property
    def ok(self) -> bool:
        """True for success (and for a block acknowledgement)."""
        return self.error is None

    def encode(self) -> bytes:
        if self.error is not None:
            return b"\x01" + pack_int(self.error, 1, "data-access-result")
        if self.block_number is not None:
            return b"\x02" + _pack_block_number(self.block_number)
        return b"\x00"

    @classmethod
    def decode_from(cls, data: bytes, offset: int) -> tuple[WriteResult, int]:
        choice, offset = read_u8(data, offset, "WriteResponse result choice")
        if choice == 0:
            return cls(), offset
        if choice == 1:
            error, offset = read_result(data, offset, DataAccessResult, "data-access-result")
            return cls(error=error), offset
        if choice == 2:
            number, offset = read_u16(data, offset, "block-number")
            return cls(block_number=number), offset
        raise DecodeError(
            "invalid WriteResponse result choice",
            offset=offset - 1,
            expected="0 success, 1 data-access-error or 2 block-number",
            found=f"0x{choice:02X}",
        )


# --------------------------------------------------------------------------------------------------------
# The APDUs
# --------------------------------------------------------------------------------------------------------


def _read_accesses(data: bytes, offset: int) -> tuple[tuple[VariableAccessSpecification, ...], int]:
    return read_sequence(data, offset, "variable-access-specification list", _read_access)


@dataclass(frozen=True, slots=True)
class ReadRequest(XdlmsApdu):
    """ReadRequest (``05``): read the listed variables (conformance read; more than one needs
    multiple-references)."""

    TAG: ClassVar[int] = ApduTag.READ_REQUEST

    variables: tuple[VariableAccessSpecification, ...]

    def _encode_body(self) -> bytes:
        return pack_sequence(self.variables, _encode_access)

    @classmethod
    def _decode_body(cls, data: bytes, offset: int) -> tuple[ReadRequest, int]:
        variables, offset = _read_accesses(data, offset)
        return cls(variables), offset


@dataclass(frozen=True, slots=True)
class ReadResponse(XdlmsApdu):
    """ReadResponse (``0C``): one :class:`ReadResult` per variable of the request, in its order."""

    TAG: ClassVar[int] = ApduTag.READ_RESPONSE

    results: tuple[ReadResult, ...]

    def _encode_body(self) -> bytes:
        return pack_sequence(self.results, ReadResult.encode)

    @classmethod
    def _decode_body(cls, data: bytes, offset: int) -> tuple[ReadResponse, int]:
        results, offset = read_sequence(data, offset, "read result list", ReadResult.decode_from)
        return cls(results), offset


@dataclass(frozen=True, slots=True)
class WriteRequest(XdlmsApdu):
    """WriteRequest (``06``): write ``values[i]`` to ``variables[i]``. On the wire all variables come
    first, then all values."""

    TAG: ClassVar[int] = ApduTag.WRITE_REQUEST

    variables: tuple[VariableAccessSpecification, ...]
    values: tuple[axdr.Data, ...]

    def _encode_body(self) -> bytes:
        return pack_sequence(self.variables, _encode_access) + pack_sequence(self.values, encode_data)

    @classmethod
    def _decode_body(cls, data: bytes, offset: int) -> tuple[WriteRequest, int]:
        variables, offset = _read_accesses(data, offset)
        values, offset = read_sequence(data, offset, "list of data", read_data)
        return cls(variables, values), offset


@dataclass(frozen=True, slots=True)
class WriteResponse(XdlmsApdu):
    """WriteResponse (``0D``): one :class:`WriteResult` per variable of the request, in its order."""

    TAG: ClassVar[int] = ApduTag.WRITE_RESPONSE

    results: tuple[WriteResult, ...]

    def _encode_body(self) -> bytes:
        return pack_sequence(self.results, WriteResult.encode)

    @classmethod
    def _decode_body(cls, data: bytes, offset: int) -> tuple[WriteResponse, int]:
        results, offset = read_sequence(data, offset, "write result list", WriteResult.decode_from)
        return cls(results), offset


@dataclass(frozen=True, slots=True)
class UnconfirmedWriteRequest(XdlmsApdu):
    """UnconfirmedWriteRequest (``16``): a write the server does not answer (conformance
    unconfirmed-write); laid out as :class:`WriteRequest`."""

    TAG: ClassVar[int] = ApduTag.UNCONFIRMED_WRITE_REQUEST

    variables: tuple[VariableAccessSpecification, ...]
    values: tuple[axdr.Data, ...]

    def _encode_body(self) -> bytes:
        return pack_sequence(self.variables, _encode_access) + pack_sequence(self.values, encode_data)

    @classmethod
    def _decode_body(cls, data: bytes, offset: int) -> tuple[UnconfirmedWriteRequest, int]:
        variables, offset = _read_accesses(data, offset)
        values, offset = read_sequence(data, offset, "list of data", read_data)
        return cls(variables, values), offset


@dataclass(frozen=True, slots=True)
class InformationReportRequest(XdlmsApdu):
    """InformationReportRequest (``18``): the server reports ``values[i]`` of ``variables[i]`` unasked
    (conformance information-report).

    ``current_time`` is the OPTIONAL GeneralizedTime as its octets (None when absent); meters send a
    12-byte COSEM date-time, read by :meth:`date_time`.
    """

    TAG: ClassVar[int] = ApduTag.INFORMATION_REPORT_REQUEST

    variables: tuple[VariableAccessSpecification, ...]
    values: tuple[axdr.Data, ...]
    current_time: bytes | None = None

    @classmethod
    def at(
        cls,
        date_time: CosemDateTime,
        variables: tuple[VariableAccessSpecification, ...],
        values: tuple[axdr.Data, ...],
    ) -> InformationReportRequest:
        """A report stamped with a COSEM date-time."""
        return cls(variables, values, date_time.to_bytes())

    def date_time(self) -> CosemDateTime | None:
        """``current_time`` as a COSEM date-time; None when absent or not 12 bytes long."""
        if self.current_time is None or len(self.current_time) != CosemDateTime.SIZE:
            return None
        return CosemDateTime.from_bytes(self.current_time)

    def _encode_body(self) -> bytes:
        stamp = b"\x00" if self.current_time is None else b"\x01" + pack_octet_string(self.current_time)
        return stamp + pack_sequence(self.variables, _encode_access) + pack_sequence(self.values, encode_data)

    @classmethod
    def _decode_body(cls, data: bytes, offset: int) -> tuple[InformationReportRequest, int]:
        present, offset = read_presence(data, offset, "current-time marker")
        current_time = None
        if present:
            current_time, offset = read_octet_string(data, offset, "current-time")
        variables, offset = _read_accesses(data, offset)
        values, offset = read_sequence(data, offset, "list of data", read_data)
        return cls(variables, values, current_time), offset


ShortNameApdu: TypeAlias = (
    ReadRequest
    | ReadResponse
    | WriteRequest
    | WriteResponse
    | UnconfirmedWriteRequest
    | InformationReportRequest
)
"""Any of the short-name service APDUs."""
