"""Attribute values written in a model file, turned into typed A-XDR values.

Where the interface class fixes an attribute's type, the model writes the plain value and the class model
converts it (:func:`dlmskit.cosem.encode_attribute_value`): numbers, enum value names (``"connected"``),
OBIS codes, ISO 8601 date-times, hex text for octet-strings (``"FFFF03FE07020000008000FF"``) and
``{ scaler = -3, unit = "Wh" }`` with a unit symbol or name. Where the class leaves the type open (the value
of a Data or Register object), the model says it::

    value = { type = "double-long-unsigned", value = 0 }
    value = { type = "octet-string", ascii = "MMM0000012345678" }
    value = { type = "structure", value = [{ type = "unsigned", value = 1 }, { type = "boolean", value = true }] }

:func:`default_value` gives the value of an attribute the model leaves out (zero, empty, "not specified").
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

from dlmskit.codec import axdr
from dlmskit.codec.cosem_datetime import CosemDate, CosemDateTime, CosemTime
from dlmskit.cosem.model import (
    AnyData,
    ArraySpec,
    AttributeDef,
    Choice,
    InterfaceClass,
    OctetForm,
    OctetStringSpec,
    StructureSpec,
    TypeSpec,
    encode_attribute_value,
)
from dlmskit.cosem.units import Unit
from dlmskit.errors import ConfigurationError, EncodeError

__all__ = ["attribute_value", "default_value", "typed_value", "unit_code"]

_TYPE_NAMES = {data_type.standard_name: data_type for data_type in axdr.DataType}
_HEX = frozenset(string.hexdigits)


def unit_code(unit: Any) -> int:
    """The DLMS unit code of ``"Wh"``, ``"watt_hour"`` or ``30``."""
    if isinstance(unit, int) and not isinstance(unit, bool):
        return unit
    if isinstance(unit, str):
        for member in Unit:
            if unit == member.symbol or unit.lower().replace(" ", "_") == member.name.lower():
                return int(member)
    raise ConfigurationError(f"unknown unit {unit!r}; use a symbol such as Wh, W, V, A, var or a unit code")


def typed_value(raw: Any) -> axdr.Data:
    """A value written with its type: ``{ type = "long-unsigned", value = 230 }``.

    ``octet-string`` takes ``value`` as hex text or ``ascii`` as text; ``array`` and ``structure`` take a
    list of typed values.
    """
    if not isinstance(raw, Mapping) or "type" not in raw:
        raise ConfigurationError(
            'this attribute can hold any type, so give it: { type = "long-unsigned", value = 230 } '
            '(or { type = "octet-string", ascii = "text" })'
        )
    name = str(raw["type"]).strip().lower().replace("_", "-")
    data_type = _TYPE_NAMES.get(name)
    if data_type is None:
        raise ConfigurationError(
            f"unknown data type {raw['type']!r}; use an A-XDR type name such as double-long-unsigned, long, octet-string, visible-string, enum"
        )
    extra = set(raw) - {"type", "value", "ascii"}
    if extra:
        raise ConfigurationError(f"unexpected key {sorted(extra)[0]!r} in a typed value")
    if "ascii" in raw:
        if data_type != axdr.DataType.OCTET_STRING or not isinstance(raw["ascii"], str):
            raise ConfigurationError('ascii = "..." is for octet-string values only')
        return axdr.OctetString(raw["ascii"].encode("ascii", errors="strict"))
    if "value" not in raw:
        raise ConfigurationError(f'the {name} value is missing: {{ type = "{name}", value = ... }}')
    value = raw["value"]
    if data_type in (axdr.DataType.ARRAY, axdr.DataType.STRUCTURE):
        if not isinstance(value, list):
            raise ConfigurationError(f"a {name} value is a list of typed values")
        items = [typed_value(item) for item in value]
        return axdr.Array(items) if data_type == axdr.DataType.ARRAY else axdr.Structure(items)
    try:
        return axdr.convert(value, data_type)
    except (EncodeError, ValueError) as error:
        raise ConfigurationError(f"{name}: {error}") from None


def _prepare(raw: Any, spec: TypeSpec) -> Any:
    """Model spellings the class model does not take itself: hex for layout octet-strings, unit names."""
    if isinstance(spec, OctetStringSpec) and isinstance(raw, str) and spec.size is not None:
        compact = raw.replace(" ", "")
        if len(compact) == 2 * spec.size and _HEX.issuperset(compact):
            return bytes.fromhex(compact)
        return raw
    if isinstance(spec, StructureSpec) and isinstance(raw, Mapping):
        prepared = {
            key: _prepare(value, dict(spec.members).get(key, AnyData())) for key, value in raw.items()
        }
        if "unit" in prepared and "scaler" in prepared:
            prepared["unit"] = unit_code(prepared["unit"])
        return prepared
    if isinstance(spec, ArraySpec) and isinstance(raw, list):
        return [_prepare(item, spec.element) for item in raw]
    return raw


def attribute_value(cls: InterfaceClass, attribute: AttributeDef, raw: Any) -> axdr.Data:
    """The typed value of ``attribute`` from its model spelling; ``ConfigurationError`` when it does not fit."""
    if isinstance(attribute.type, AnyData):
        return typed_value(raw)
    try:
        return encode_attribute_value(cls, attribute, _prepare(raw, attribute.type))
    except EncodeError as error:
        raise ConfigurationError(str(error)) from None


def default_value(spec: TypeSpec) -> axdr.Data:
    """What an attribute holds when the model gives no value: zero, empty, or "not specified"."""
    if isinstance(spec, AnyData):
        return None
    if isinstance(spec, Choice):
        return default_value(spec.alternatives[0])
    if isinstance(spec, (StructureSpec, axdr.StructureDescription)):
        members = (
            spec.members if isinstance(spec, axdr.StructureDescription) else [t for _, t in spec.members]
        )
        return axdr.Structure([default_value(member) for member in members])
    if isinstance(spec, (ArraySpec, axdr.ArrayDescription)):
        return axdr.Array()
    if isinstance(spec, OctetStringSpec):
        if spec.form is OctetForm.DATE_TIME:
            return axdr.OctetString(CosemDateTime().to_bytes())
        return axdr.OctetString(bytes(spec.size or 0))
    if spec in (axdr.DataType.ARRAY, axdr.DataType.COMPACT_ARRAY):
        return axdr.Array()
    if spec == axdr.DataType.STRUCTURE:
        return axdr.Structure()
    if spec == axdr.DataType.NULL_DATA:
        return None
    if spec == axdr.DataType.BOOLEAN:
        return False
    if spec == axdr.DataType.DATE_TIME:
        return CosemDateTime()
    if spec == axdr.DataType.DATE:
        return CosemDate()
    if spec == axdr.DataType.TIME:
        return CosemTime()
    if spec == axdr.DataType.DONT_CARE:
        return axdr.DONT_CARE
    if spec == axdr.DataType.OCTET_STRING:
        return axdr.OctetString(b"")
    if spec in (axdr.DataType.VISIBLE_STRING, axdr.DataType.UTF8_STRING, axdr.DataType.BIT_STRING):
        return axdr.convert("", spec)
    return axdr.convert(0, spec)
