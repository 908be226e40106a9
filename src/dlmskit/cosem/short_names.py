"""Short-name referencing: base names, the Association SN object list, and the map between names.

A short-name (SN) server gives every object a *base name*, a 16-bit number listed in the object_list
(attribute 2) of its Association SN (class 12, base name ``FA00``). Attribute *n* of the object is the
DLMS named variable ``base + 8 * (n - 1)`` (attribute 1, the logical name, is the base name itself); method
*m* is ``base + first_method_offset + 8 * (m - 1)``, where the offset of method 1 is fixed per interface
class by the Blue Book (:data:`FIRST_METHOD_OFFSETS`). Reading attribute 2 of the register with base name
``2000`` is a ReadRequest for ``2008``; calling method 1 of the disconnect control at ``4000`` a
WriteRequest to ``4020``.

:class:`ShortNameMap` turns logical names into variable names and back, from the object list read once
per association::

    names = ShortNameMap.from_object_list(object_list_value, access_rights_list_value)
    names.attribute("1.0.1.8.0.255", 2)        # -> 0x2008
    names.method("0.0.96.3.10.255", 1)         # -> 0x4020
    names.resolve(0x4020)                      # -> ShortNameTarget(entry, "method", 1)

Base names are ``long`` (Integer16) in the object list, so ``FA00`` arrives as -1536: they are kept as
the unsigned 16 bits here (0..65535), as the SN APDUs carry them.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

from dlmskit.codec import axdr
from dlmskit.codec.obis import Obis, obis
from dlmskit.cosem.classes import get_class
from dlmskit.cosem.values import (
    AttributeAccess,
    AttributeAccessMode,
    MethodAccess,
    MethodAccessMode,
    _elements,
    _enum_or_int,
    _fields,
    _int,
    _logical_name,
    _selectors,
)
from dlmskit.errors import ConfigurationError, DecodeError, EncodeError

__all__ = [
    "ASSOCIATION_SN_BASE_NAME",
    "DLMSKIT_METHOD_OFFSETS",
    "FIRST_METHOD_OFFSETS",
    "ShortNameAccess",
    "ShortNameEntry",
    "ShortNameMap",
    "ShortNameTarget",
    "attribute_variable",
    "decode_access_rights_list",
    "decode_sn_object_list",
    "first_method_offset",
    "method_variable",
]

ASSOCIATION_SN_BASE_NAME: Final = 0xFA00
"""The base name of the current Association SN (also the vaa-name of a short-name InitiateResponse)."""

FIRST_METHOD_OFFSETS: Final[Mapping[int, int]] = {
    3: 0x28,  # Register: reset
    4: 0x38,  # Extended register: reset
    5: 0x48,  # Demand register: reset, next_period
    6: 0x30,  # Register activation: add_register, add_mask, delete_mask
    7: 0x58,  # Profile generic: reset, capture
    8: 0x60,  # Clock: adjust_to_quarter ... shift_time
    9: 0x20,  # Script table: execute
    11: 0x10,  # Special days table: insert, delete
    12: 0x20,  # Association SN: method 3 read_by_logicalname at 0x30 ... 8 reply_to_HLS_authentication 0x58
    15: 0x60,  # Association LN
    17: 0x20,  # SAP assignment: connect_logical_device
    18: 0x40,  # Image transfer: image_transfer_initiate ... image_activate
    20: 0x50,  # Activity calendar: activate_passive_calendar
    40: 0x38,  # Push setup: push
    42: 0x60,  # IPv4 setup: add_mc_IP_address ...
    61: 0x28,  # Register table: reset, capture
    64: 0x30,  # Security setup: security_activate, key_transfer ...
    70: 0x20,  # Disconnect control: remote_disconnect, remote_reconnect
    72: 0x70,  # M-Bus client version 1 (version 0: see _FIRST_METHOD_OFFSETS_BY_VERSION)
}
"""Offset of method 1 from the base name, by class id (DLMS UA Blue Book short-name tables).

Sources, public: the method table of the Gurux .NET stack (``GXDLMS.GetActionInfo`` in C#: image
transfer 0x40, activity calendar 0x50, Association LN 0x60, Association SN 0x20, clock 0x60, demand
register 0x48, extended register 0x38, IPv4 setup 0x60, profile generic 0x58, register 0x28, register
activation 0x30, register table 0x28, SAP assignment and script table 0x20, special days table 0x10); the
gurux-dlms Python client in SN mode for disconnect control 0x20, security setup 0x30 and push setup 0x38
(its Python table folds clock and profile generic into wrong values, 0x38 and 0x28: see the tests); and
the short-name method tables of EnergyICT Connexo (``com/energyict/dlms/cosem/methods``: Association SN
method 3 at 0x30 and method 8 at 0x58, activity calendar 0x50, special days table 0x10 and 0x18, M-Bus
client 0x60 in version 0 (Blue Book 10th edition) and 0x70 in version 1). Classes not listed here have
no method offset in those sources; pass ``method_offsets`` to :class:`ShortNameMap` for them.
"""

DLMSKIT_METHOD_OFFSETS: Final[Mapping[int, int]] = {
    111: 0x98,  # Account: 19 attributes, methods from 0x98
    112: 0x58,  # Credit: 11 attributes
    113: 0x68,  # Charge: 13 attributes
    115: 0x30,  # Token gateway: 6 attributes, enter at 0x30
}
"""dlmskit's own choice of method-1 offsets for the payment classes no public source gives (the simulator
serves them, the client uses them by default): the first slot after the last attribute, ``8 * attribute
count``, the rule that also gives the Blue Book's disconnect control (4 attributes, 0x20). A real meter
that differs is met with ``method_offsets`` (:class:`ShortNameMap`)."""

_FIRST_METHOD_OFFSETS_BY_VERSION: Final[Mapping[tuple[int, int], int]] = {(72, 0): 0x60}


def first_method_offset(
    class_id: int, version: int = 0, overrides: Mapping[int, int] | None = None
) -> int | None:
    """The offset of method 1 of ``class_id`` from the base name, or None when no source gives it."""
    if overrides is not None and class_id in overrides:
        return overrides[class_id]
    found = _FIRST_METHOD_OFFSETS_BY_VERSION.get((class_id, version))
    return found if found is not None else FIRST_METHOD_OFFSETS.get(class_id)


def _checked_name(value: int, what: str) -> int:
    if not 0 <= value <= 0xFFFF:
        raise EncodeError(f"{what} 0x{value:X} does not fit in 16 bits")
    return value


def attribute_variable(base_name: int, attribute_id: int) -> int:
    """The variable name of attribute ``attribute_id`` (1 and up) of the object at ``base_name``."""
    if attribute_id < 1:
        raise EncodeError(f"attribute {attribute_id} has no short name (attributes start at 1)")
    return _checked_name(base_name + 8 * (attribute_id - 1), "variable name")


def method_variable(base_name: int, class_id: int, method_id: int, *, version: int = 0) -> int:
    """The variable name of method ``method_id`` (1 and up) of the object at ``base_name``."""
    offset = first_method_offset(class_id, version)
    if offset is None:
        raise ConfigurationError(
            f"no short-name method offset known for class {class_id}: give it in "
            f"ShortNameMap(method_offsets={{{class_id}: offset}})"
        )
    return _method_variable(base_name, offset, method_id)


def _method_variable(base_name: int, offset: int, method_id: int) -> int:
    if method_id < 1:
        raise EncodeError(f"method {method_id} has no short name (methods start at 1)")
    return _checked_name(base_name + offset + 8 * (method_id - 1), "variable name")


# --------------------------------------------------------------------------------------------------------
# The Association SN object list and access rights list
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ShortNameEntry:
    """One element of the Association SN object_list: ``{base_name, class_id, version, logical_name}``."""

    base_name: int
    class_id: int
    version: int
    logical_name: Obis

    @classmethod
    def decode(cls, element: axdr.Data) -> ShortNameEntry:
        """From one decoded object_list element; :class:`DecodeError` when malformed."""
        base_name, class_id, version, logical_name = _fields(element, 4, "object_list element")
        return cls(
            _int(base_name, "base_name") & 0xFFFF,
            _int(class_id, "class_id"),
            _int(version, "version"),
            _logical_name(logical_name),
        )

    def encode(self) -> axdr.Structure:
        """The object_list element as the standard types it: base_name ``long`` (signed 16 bits)."""
        signed = self.base_name - 0x10000 if self.base_name & 0x8000 else self.base_name
        return axdr.Structure(
            [
                axdr.Long(signed),
                axdr.LongUnsigned(self.class_id),
                axdr.Unsigned(self.version),
                axdr.OctetString(self.logical_name.to_bytes()),
            ]
        )


def decode_sn_object_list(value: axdr.Data) -> list[ShortNameEntry]:
    """Every entry of a decoded Association SN object_list (attribute 2)."""
    entries = []
    for number, element in enumerate(_elements(value, "object_list")):
        try:
            entries.append(ShortNameEntry.decode(element))
        except DecodeError as exc:
            raise exc.shifted(0, f"object_list element {number}") from None
    return entries


@dataclass(frozen=True, slots=True)
class ShortNameAccess:
    """One element of the Association SN access_rights_list: the rights on the object at ``base_name``.

    Access modes are those of Association LN versions 0-2 (:class:`AttributeAccessMode`,
    :class:`MethodAccessMode`; unknown values kept as ints).
    """

    base_name: int
    attribute_access: Mapping[int, AttributeAccess] = field(default_factory=dict)
    method_access: Mapping[int, MethodAccess] = field(default_factory=dict)

    @classmethod
    def decode(cls, element: axdr.Data) -> ShortNameAccess:
        """From one decoded access_rights_list element; :class:`DecodeError` when malformed."""
        base_name, attribute_items, method_items = _fields(element, 3, "access_rights_list element")
        attributes: dict[int, AttributeAccess] = {}
        for item in _elements(attribute_items, "attribute_access"):
            attribute_id, mode, selectors = _fields(item, 3, "attribute_access item")
            number = _int(attribute_id, "attribute_id")
            attributes[number] = AttributeAccess(
                number, _enum_or_int(AttributeAccessMode, _int(mode, "access_mode")), _selectors(selectors)
            )
        methods: dict[int, MethodAccess] = {}
        for item in _elements(method_items, "method_access"):
            method_id, mode = _fields(item, 2, "method_access item")
            number = _int(method_id, "method_id")
            if isinstance(mode, bool):
                methods[number] = MethodAccess(
                    number, MethodAccessMode.ACCESS if mode else MethodAccessMode.NO_ACCESS
                )
            else:
                methods[number] = MethodAccess(
                    number, _enum_or_int(MethodAccessMode, _int(mode, "access_mode"))
                )
        return cls(_int(base_name, "base_name") & 0xFFFF, attributes, methods)

    def encode(self) -> axdr.Structure:
        """The access_rights_list element, base_name as ``long``."""
        signed = self.base_name - 0x10000 if self.base_name & 0x8000 else self.base_name
        return axdr.Structure(
            [
                axdr.Long(signed),
                axdr.Array(
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
                ),
                axdr.Array(
                    axdr.Structure([axdr.Integer(access.method_id), axdr.Enum(int(access.access_mode))])
                    for access in self.method_access.values()
                ),
            ]
        )


def decode_access_rights_list(value: axdr.Data) -> list[ShortNameAccess]:
    """Every entry of a decoded Association SN access_rights_list (attribute 3)."""
    entries = []
    for number, element in enumerate(_elements(value, "access_rights_list")):
        try:
            entries.append(ShortNameAccess.decode(element))
        except DecodeError as exc:
            raise exc.shifted(0, f"access_rights_list element {number}") from None
    return entries


# --------------------------------------------------------------------------------------------------------
# The map
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ShortNameTarget:
    """What a variable name refers to: attribute or method ``index`` of the object ``entry``."""

    entry: ShortNameEntry
    kind: Literal["attribute", "method"]
    index: int


class ShortNameMap:
    """Logical name and attribute/method <-> variable name, for one short-name association.

    Built from the object list (and, when read, the access rights list) of the Association SN.
    ``method_offsets`` gives the offset of method 1 for classes :data:`FIRST_METHOD_OFFSETS` does not know
    (or overrides it, for meters that differ). Lookups by logical name accept an :class:`Obis` or its text.
    """

    __slots__ = ("_bases", "_by_base", "_by_name", "_method_offsets", "_rights")

    def __init__(
        self,
        entries: Iterable[ShortNameEntry],
        access_rights: Iterable[ShortNameAccess] = (),
        *,
        method_offsets: Mapping[int, int] | None = None,
    ) -> None:
        self._by_name: dict[Obis, ShortNameEntry] = {}
        self._by_base: dict[int, ShortNameEntry] = {}
        for entry in entries:
            _checked_name(entry.base_name, "base name")
            other = self._by_base.get(entry.base_name)
            if other is not None and other != entry:
                raise ConfigurationError(
                    f"base name 0x{entry.base_name:04X} is given to both {other.logical_name} and "
                    f"{entry.logical_name}"
                )
            self._by_base[entry.base_name] = entry
            self._by_name.setdefault(entry.logical_name, entry)
        self._bases = sorted(self._by_base)
        self._rights = {rights.base_name: rights for rights in access_rights}
        self._method_offsets = dict(method_offsets or {})

    @classmethod
    def from_object_list(
        cls,
        object_list: axdr.Data,
        access_rights_list: axdr.Data = None,
        *,
        method_offsets: Mapping[int, int] | None = None,
    ) -> ShortNameMap:
        """From the decoded attributes 2 (and 3, when read) of the Association SN."""
        rights = [] if access_rights_list is None else decode_access_rights_list(access_rights_list)
        return cls(decode_sn_object_list(object_list), rights, method_offsets=method_offsets)

    def __len__(self) -> int:
        return len(self._by_base)

    def __iter__(self) -> Iterator[ShortNameEntry]:
        return (self._by_base[base] for base in self._bases)

    def __contains__(self, logical_name: object) -> bool:
        if isinstance(logical_name, (str, Obis)):
            return obis(logical_name) in self._by_name
        return False

    def entry(self, logical_name: Obis | str) -> ShortNameEntry:
        """The object list entry of ``logical_name``; :class:`ConfigurationError` when the association
        does not list it."""
        name = obis(logical_name)
        found = self._by_name.get(name)
        if found is None:
            raise ConfigurationError(
                f"{name} is not in the object list of this short-name association "
                f"({len(self)} objects); check the OBIS code or the client address"
            )
        return found

    def attribute(self, logical_name: Obis | str, attribute_id: int) -> int:
        """The variable name of attribute ``attribute_id`` of ``logical_name``."""
        entry = self.entry(logical_name)
        return attribute_variable(entry.base_name, attribute_id)

    def method(self, logical_name: Obis | str, method_id: int) -> int:
        """The variable name of method ``method_id`` of ``logical_name``."""
        entry = self.entry(logical_name)
        offset = self._method_offset(entry)
        if offset is None:
            raise ConfigurationError(
                f"no short-name method offset known for class {entry.class_id} ({entry.logical_name}): "
                f"give it in ShortNameMap(method_offsets={{{entry.class_id}: offset}})"
            )
        return _method_variable(entry.base_name, offset, method_id)

    def access(self, logical_name: Obis | str) -> ShortNameAccess | None:
        """The access rights of ``logical_name`` from the access rights list (None when not read)."""
        return self._rights.get(self.entry(logical_name).base_name)

    def resolve(self, variable_name: int) -> ShortNameTarget | None:
        """The attribute or method ``variable_name`` names, or None when it is no variable of a listed
        object (between objects, not a multiple of 8 from a base name, or past the class's last
        attribute and method when the class is known)."""
        position = bisect.bisect_right(self._bases, variable_name) - 1
        if position < 0:
            return None
        entry = self._by_base[self._bases[position]]
        offset = variable_name - entry.base_name
        if offset % 8:
            return None
        described = get_class(entry.class_id, entry.version)
        method_offset = self._method_offset(entry)
        if method_offset is not None and offset >= method_offset:
            index = (offset - method_offset) // 8 + 1
            if described is not None and index > max((m.index for m in described.methods), default=0):
                return None
            return ShortNameTarget(entry, "method", index)
        index = offset // 8 + 1
        if described is not None and index > max(a.index for a in described.attributes):
            return None
        return ShortNameTarget(entry, "attribute", index)

    def _method_offset(self, entry: ShortNameEntry) -> int | None:
        return first_method_offset(entry.class_id, entry.version, self._method_offsets)
