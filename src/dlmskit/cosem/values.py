"""Typed views of structured attribute values that clients, simulators and translators all need.

- :class:`ObjectListEntry`: one element of the Association LN object list (attribute 2): what the meter
  offers and who may read, write or call it.
- :class:`CaptureObject`: one column of a profile (Profile generic attribute 3) or one pushed attribute.
- :class:`TokenStatus`: the Token gateway's token_status (attribute 6).
- :func:`token_to_octets` / :func:`token_from_octets`: STS tokens (20 decimal digits) as the meter takes them.

Decoders take the value as :func:`dlmskit.codec.axdr.decode` returns it and raise
:class:`~dlmskit.errors.DecodeError` when its shape is wrong; they accept any integer type where the
standard names one (meters are not always exact), and ``encode`` writes the standard's types.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum, IntFlag
from typing import Any, Final, Literal, TypeVar

from dlmskit.codec import axdr
from dlmskit.codec.obis import Obis
from dlmskit.errors import DecodeError, EncodeError

__all__ = [
    "STS_TOKEN_MAX",
    "AccessRights",
    "AttributeAccess",
    "AttributeAccessMode",
    "CaptureObject",
    "MethodAccess",
    "MethodAccessMode",
    "ObjectListEntry",
    "TokenDeliveryMethod",
    "TokenStatus",
    "TokenStatusCode",
    "decode_capture_objects",
    "decode_object_list",
    "token_from_octets",
    "token_to_octets",
]


class AttributeAccessMode(IntEnum):
    """Attribute access_mode of Association LN versions 0 to 2."""

    NO_ACCESS = 0
    READ_ONLY = 1
    WRITE_ONLY = 2
    READ_AND_WRITE = 3
    AUTHENTICATED_READ_ONLY = 4
    AUTHENTICATED_WRITE_ONLY = 5
    AUTHENTICATED_READ_AND_WRITE = 6


class MethodAccessMode(IntEnum):
    """Method access_mode of Association LN versions 1 and 2 (version 0 sends a boolean)."""

    NO_ACCESS = 0
    ACCESS = 1
    AUTHENTICATED_ACCESS = 2


class AccessRights(IntFlag):
    """The bit-coded access_mode of Association LN version 3, for attributes and methods.

    Bit 0 is read access (for a method: the right to call it), bit 1 write access; the other bits say what
    protection requests and responses need.
    """

    READ = 0x01
    WRITE = 0x02
    AUTHENTICATED_REQUEST = 0x04
    ENCRYPTED_REQUEST = 0x08
    DIGITALLY_SIGNED_REQUEST = 0x10
    AUTHENTICATED_RESPONSE = 0x20
    ENCRYPTED_RESPONSE = 0x40
    DIGITALLY_SIGNED_RESPONSE = 0x80


_E = TypeVar("_E", bound=IntEnum)
_READABLE: Final = frozenset({1, 3, 4, 6})
_WRITABLE: Final = frozenset({2, 3, 5, 6})


@dataclass(frozen=True, slots=True)
class AttributeAccess:
    """The access right of one attribute.

    ``access_mode`` is an :class:`AttributeAccessMode` (Association LN versions 0-2), an
    :class:`AccessRights` (version 3) or a plain int for a value outside the enumeration.
    ``access_selectors`` lists the selective-access selectors allowed (``None``: none).
    """

    attribute_id: int
    access_mode: AttributeAccessMode | AccessRights | int
    access_selectors: tuple[int, ...] | None = None

    @property
    def can_read(self) -> bool:
        """Whether the association may read the attribute."""
        if isinstance(self.access_mode, AccessRights):
            return AccessRights.READ in self.access_mode
        return isinstance(self.access_mode, AttributeAccessMode) and self.access_mode in _READABLE

    @property
    def can_write(self) -> bool:
        """Whether the association may write the attribute."""
        if isinstance(self.access_mode, AccessRights):
            return AccessRights.WRITE in self.access_mode
        return isinstance(self.access_mode, AttributeAccessMode) and self.access_mode in _WRITABLE


@dataclass(frozen=True, slots=True)
class MethodAccess:
    """The access right of one method: a :class:`MethodAccessMode` (versions 0-2, a boolean in version 0
    reads as ACCESS / NO_ACCESS), an :class:`AccessRights` (version 3) or a plain int."""

    method_id: int
    access_mode: MethodAccessMode | AccessRights | int

    @property
    def can_execute(self) -> bool:
        """Whether the association may call the method."""
        if isinstance(self.access_mode, AccessRights):
            return AccessRights.READ in self.access_mode
        return self.access_mode in (MethodAccessMode.ACCESS, MethodAccessMode.AUTHENTICATED_ACCESS)


@dataclass(frozen=True, slots=True)
class ObjectListEntry:
    """One element of the Association LN object_list: an object and the association's rights on it."""

    class_id: int
    version: int
    logical_name: Obis
    attribute_access: Mapping[int, AttributeAccess] = field(default_factory=dict)
    method_access: Mapping[int, MethodAccess] = field(default_factory=dict)

    @classmethod
    def decode(cls, element: axdr.Data, *, association_version: int = 1) -> ObjectListEntry:
        """From one decoded object_list element.

        ``association_version`` is the version of the Association LN the list came from: it decides how
        access modes read (version 3 is bit coded; version 0 sends booleans for methods, which are also
        recognised in any version). Raises :class:`~dlmskit.errors.DecodeError` on a malformed element.
        """
        class_id, version, name, rights = _fields(element, 4, "object_list element")
        attribute_items, method_items = _fields(rights, 2, "access_rights")
        attributes: dict[int, AttributeAccess] = {}
        for item in _elements(attribute_items, "attribute_access"):
            attribute_id, mode, selectors = _fields(item, 3, "attribute_access item")
            attributes[_int(attribute_id, "attribute_id")] = AttributeAccess(
                _int(attribute_id, "attribute_id"),
                _attribute_mode(_int(mode, "access_mode"), association_version),
                _selectors(selectors),
            )
        methods: dict[int, MethodAccess] = {}
        for item in _elements(method_items, "method_access"):
            method_id, mode = _fields(item, 2, "method_access item")
            methods[_int(method_id, "method_id")] = MethodAccess(
                _int(method_id, "method_id"), _method_mode(mode, association_version)
            )
        return cls(
            _int(class_id, "class_id"),
            _int(version, "version"),
            _logical_name(name),
            attributes,
            methods,
        )

    def encode(self, *, association_version: int = 1) -> axdr.Structure:
        """The object_list element, typed as Association LN ``association_version`` sends it."""
        attributes = axdr.Array(
            axdr.Structure(
                [
                    axdr.Integer(access.attribute_id),
                    axdr.Enum(int(access.access_mode)),
                    None
                    if access.access_selectors is None
                    else axdr.Array(axdr.Integer(s) for s in access.access_selectors),
                ]
            )
            for access in self.attribute_access.values()
        )
        methods = axdr.Array(
            axdr.Structure(
                [
                    axdr.Integer(access.method_id),
                    bool(access.access_mode)
                    if association_version == 0
                    else axdr.Enum(int(access.access_mode)),
                ]
            )
            for access in self.method_access.values()
        )
        return axdr.Structure(
            [
                axdr.LongUnsigned(self.class_id),
                axdr.Unsigned(self.version),
                axdr.OctetString(self.logical_name.to_bytes()),
                axdr.Structure([attributes, methods]),
            ]
        )


def decode_object_list(value: axdr.Data, *, association_version: int = 1) -> list[ObjectListEntry]:
    """Every entry of a decoded Association LN object_list (attribute 2)."""
    entries = []
    for number, element in enumerate(_elements(value, "object_list")):
        try:
            entries.append(ObjectListEntry.decode(element, association_version=association_version))
        except DecodeError as exc:
            raise exc.shifted(0, f"object_list element {number}") from None
    return entries


@dataclass(frozen=True, slots=True)
class CaptureObject:
    """One capture object: an attribute of an object (``data_index`` > 0: one element of it)."""

    class_id: int
    logical_name: Obis
    attribute_index: int
    data_index: int = 0

    @classmethod
    def decode(cls, element: axdr.Data) -> CaptureObject:
        """From a decoded ``structure {long-unsigned, octet-string, integer, long-unsigned}``."""
        class_id, name, attribute_index, data_index = _fields(element, 4, "capture object")
        return cls(
            _int(class_id, "class_id"),
            _logical_name(name),
            _int(attribute_index, "attribute_index"),
            _int(data_index, "data_index"),
        )

    def encode(self) -> axdr.Structure:
        """The capture_object_definition structure."""
        return axdr.Structure(
            [
                axdr.LongUnsigned(self.class_id),
                axdr.OctetString(self.logical_name.to_bytes()),
                axdr.Integer(self.attribute_index),
                axdr.LongUnsigned(self.data_index),
            ]
        )

    def __str__(self) -> str:
        text = f"{self.class_id}/{self.logical_name}/{self.attribute_index}"
        return f"{text}/{self.data_index}" if self.data_index else text


def decode_capture_objects(value: axdr.Data) -> list[CaptureObject]:
    """Every column of a decoded Profile generic capture_objects (attribute 3)."""
    columns = []
    for number, element in enumerate(_elements(value, "capture_objects")):
        try:
            columns.append(CaptureObject.decode(element))
        except DecodeError as exc:
            raise exc.shifted(0, f"capture object {number}") from None
    return columns


class TokenStatusCode(IntEnum):
    """Token gateway token_status status_code: 0-3 the steps a token passed, 4-7 where it failed."""

    FORMAT_OK = 0
    AUTHENTICATION_OK = 1
    VALIDATION_OK = 2
    TOKEN_EXECUTION_OK = 3
    TOKEN_FORMAT_FAILURE = 4
    AUTHENTICATION_FAILURE = 5
    VALIDATION_RESULT_FAILURE = 6
    TOKEN_EXECUTION_RESULT_FAILURE = 7
    TOKEN_RECEIVED = 8


class TokenDeliveryMethod(IntEnum):
    """Token gateway token_delivery_method."""

    REMOTE = 0
    LOCAL = 1
    MANUAL = 2


@dataclass(frozen=True, slots=True)
class TokenStatus:
    """Token gateway token_status: how far the last token got, and manufacturer detail bits."""

    status_code: TokenStatusCode | int
    data_value: axdr.BitString = field(default_factory=axdr.BitString)

    @classmethod
    def decode(cls, value: axdr.Data) -> TokenStatus:
        """From a decoded ``structure {enum, bit-string}``."""
        code, bits = _fields(value, 2, "token_status")
        number = _int(code, "status_code")
        if not isinstance(bits, axdr.BitString):
            raise DecodeError(
                "token_status data_value is not a bit-string",
                expected="bit-string",
                found=type(bits).__name__,
            )
        return cls(_enum_or_int(TokenStatusCode, number), bits)

    def encode(self) -> axdr.Structure:
        """The token_status structure."""
        return axdr.Structure([axdr.Enum(int(self.status_code)), axdr.BitString(self.data_value)])

    @property
    def succeeded(self) -> bool:
        """Whether the token was executed."""
        return self.status_code == TokenStatusCode.TOKEN_EXECUTION_OK

    @property
    def failed(self) -> bool:
        """Whether the token was refused at some step."""
        return self.status_code in (
            TokenStatusCode.TOKEN_FORMAT_FAILURE,
            TokenStatusCode.AUTHENTICATION_FAILURE,
            TokenStatusCode.VALIDATION_RESULT_FAILURE,
            TokenStatusCode.TOKEN_EXECUTION_RESULT_FAILURE,
        )


# --------------------------------------------------------------------------------------------------------
# STS tokens

STS_TOKEN_MAX: Final = 73786976294838206463
"""The largest STS token: 66 bits of token data written as 20 decimal digits (2^66 - 1)."""

_TOKEN_SEPARATORS = re.compile(r"[\s-]+")
_TOKEN_DIGITS = re.compile(r"[0-9]{20}")


def token_to_octets(token: str, format: Literal["ascii", "bcd"] = "ascii") -> bytes:
    """The octet-string for Token gateway ``enter``: 20 ASCII digit bytes, or 10 packed BCD bytes.

    ``token`` is the 20-digit STS token as printed on a receipt; spaces and dashes between the digits are
    ignored (``"0571 8854 5901 9721 1241"``). Most meters take the ASCII form (the default); others take
    packed BCD (``format="bcd"``). Raises :class:`~dlmskit.errors.EncodeError` for a token that is not
    20 decimal digits or that exceeds :data:`STS_TOKEN_MAX`.
    """
    digits = _TOKEN_SEPARATORS.sub("", token)
    if not _TOKEN_DIGITS.fullmatch(digits):
        count = sum(c in "0123456789" for c in digits)
        if count == len(digits):
            raise EncodeError(f"an STS token has 20 digits, this one has {count}")
        raise EncodeError("an STS token is 20 decimal digits (spaces and dashes allowed between them)")
    if int(digits) > STS_TOKEN_MAX:
        raise EncodeError(f"an STS token is at most {STS_TOKEN_MAX}; this one is larger (mistyped?)")
    if format == "ascii":
        return digits.encode("ascii")
    if format == "bcd":
        return bytes.fromhex(digits)
    raise EncodeError(f"token format is 'ascii' or 'bcd', not {format!r}")


def token_from_octets(data: bytes) -> str:
    """The 20 token digits from the octets a meter holds: 20 ASCII digits or 10 packed BCD bytes.

    Raises :class:`~dlmskit.errors.DecodeError` for anything else.
    """
    raw = bytes(data)
    if len(raw) == 20 and _TOKEN_DIGITS.fullmatch(raw.decode("latin-1")):
        return raw.decode("ascii")
    if len(raw) == 10 and all(byte >> 4 <= 9 and byte & 0x0F <= 9 for byte in raw):
        return raw.hex()
    raise DecodeError(
        "not an STS token", expected="20 ASCII digits or 10 BCD bytes", found=f"{len(raw)} bytes"
    )


# --------------------------------------------------------------------------------------------------------
# Shape checks shared by the decoders


def _fields(value: Any, count: int, what: str) -> tuple[Any, ...]:
    if not isinstance(value, tuple) or len(value) != count:
        raise DecodeError(
            f"malformed {what}", expected=f"a structure of {count} elements", found=_shape(value)
        )
    return value


def _elements(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise DecodeError(f"malformed {what}", expected="an array", found=_shape(value))
    return value


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise DecodeError(f"malformed {what}", expected="an integer", found=_shape(value))
    return int(value)


def _logical_name(value: Any) -> Obis:
    if not isinstance(value, bytes) or len(value) != 6:
        raise DecodeError(
            "malformed logical_name", expected="an octet-string of 6 bytes", found=_shape(value)
        )
    return Obis.from_bytes(value)


def _selectors(value: Any) -> tuple[int, ...] | None:
    if value is None:
        return None
    return tuple(_int(item, "access selector") for item in _elements(value, "access_selectors"))


def _attribute_mode(mode: int, association_version: int) -> AttributeAccessMode | AccessRights | int:
    if association_version >= 3:
        return AccessRights(mode)
    return _enum_or_int(AttributeAccessMode, mode)


def _method_mode(mode: Any, association_version: int) -> MethodAccessMode | AccessRights | int:
    if isinstance(mode, bool):
        return MethodAccessMode.ACCESS if mode else MethodAccessMode.NO_ACCESS
    number = _int(mode, "access_mode")
    if association_version >= 3:
        return AccessRights(number)
    return _enum_or_int(MethodAccessMode, number)


def _enum_or_int(enum: type[_E], value: int) -> _E | int:
    try:
        return enum(value)
    except ValueError:
        return value


def _shape(value: Any) -> str:
    if value is None:
        return "null-data"
    tag = getattr(value, "TAG", None)
    name = tag.standard_name if isinstance(tag, axdr.DataType) else type(value).__name__
    if isinstance(value, (list, tuple)):
        return f"{name} of {len(value)} elements"
    if isinstance(value, bytes):
        return f"{name} of {len(value)} bytes"
    if isinstance(value, str):
        return f"{name} of {len(value)} characters"
    return name
