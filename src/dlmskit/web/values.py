"""Values for people: A-XDR data shown typed with names from the model, and editors typed from the model.

:func:`show` turns a value read from a meter into a :class:`Shown` (its A-XDR type, the text a meter
engineer reads, enum and structure member names from the interface-class model). :func:`editor_for`
says which form field edits an attribute or a method parameter, and :func:`parse_input` turns what the
user typed back into the plain Python value the model converts (``encode_attribute_value``).
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dlmskit.codec import axdr
from dlmskit.codec.cosem_datetime import CosemDateTime
from dlmskit.codec.obis import Obis
from dlmskit.cosem import (
    ANY,
    ArraySpec,
    Choice,
    OctetForm,
    OctetStringSpec,
    StructureSpec,
    TypeSpec,
    type_name,
    unit_symbol,
)
from dlmskit.errors import ConfigurationError, DecodeError, DlmsError

__all__ = ["Editor", "Shown", "cell", "editor_for", "parse_input", "show"]

_INTEGER_RANGES: dict[axdr.DataType, tuple[int, int]] = {
    axdr.DataType.INTEGER: (-128, 127),
    axdr.DataType.LONG: (-32768, 32767),
    axdr.DataType.DOUBLE_LONG: (-(2**31), 2**31 - 1),
    axdr.DataType.LONG64: (-(2**63), 2**63 - 1),
    axdr.DataType.UNSIGNED: (0, 255),
    axdr.DataType.LONG_UNSIGNED: (0, 65535),
    axdr.DataType.DOUBLE_LONG_UNSIGNED: (0, 2**32 - 1),
    axdr.DataType.LONG64_UNSIGNED: (0, 2**64 - 1),
    axdr.DataType.ENUM: (0, 255),
}


@dataclass(frozen=True, slots=True)
class Shown:
    """A value as the page shows it: ``type`` (A-XDR name), ``text`` and, for structures, named members."""

    type: str
    text: str
    members: tuple[tuple[str, Shown], ...] = ()
    hex: str = ""


def _type_of(value: Any) -> str:
    try:
        return axdr.type_of(value).standard_name
    except (DlmsError, ValueError, TypeError, KeyError, AttributeError):
        return type(value).__name__


def show(
    value: Any, spec: TypeSpec | None = None, enum_names: Mapping[int, str] | None = None, depth: int = 0
) -> Shown:
    """``value`` shown typed; ``spec`` and ``enum_names`` (from the model) add names."""
    kind = _type_of(value)
    if isinstance(value, bool) or value is None:
        return Shown(kind, "null" if value is None else str(value).lower())
    if isinstance(value, int):
        number = int(value)
        if enum_names and number in enum_names:
            return Shown(kind, f"{enum_names[number]} ({number})")
        return Shown(kind, str(number))
    if isinstance(value, float):
        return Shown(kind, repr(float(value)))
    if isinstance(value, (bytes, bytearray)):
        return _octets(bytes(value), kind, spec)
    if isinstance(value, str):
        return Shown(kind, str(value))
    if isinstance(value, CosemDateTime):
        return Shown(kind, value.to_datetime().isoformat(sep=" ") if value.is_calendar_time else str(value))
    if isinstance(value, (list, tuple)) and depth < 6:
        names: list[str]
        specs: list[TypeSpec | None]
        if isinstance(spec, StructureSpec) and spec.names == ("scaler", "unit") and len(value) == 2:
            scaler, unit = int(value[0]), int(value[1])
            return Shown(kind, f"scaler {scaler}, unit {unit_symbol(unit) or '?'} ({unit})")
        if isinstance(spec, StructureSpec) and len(spec.members) == len(value):
            names = [name for name, _ in spec.members]
            specs = [member for _, member in spec.members]
        else:
            element = spec.element if isinstance(spec, ArraySpec) else None
            names = [f"[{i}]" for i in range(len(value))]
            specs = [element] * len(value)
        shown_members = tuple(
            (name, show(item, item_spec, None, depth + 1))
            for name, item, item_spec in zip(names[:200], value, specs, strict=False)
        )
        more = f" (first 200 of {len(value)})" if len(value) > 200 else ""
        return Shown(kind, f"{len(value)} elements{more}", shown_members)
    return Shown(kind, str(axdr.to_python(value)))


def _octets(data: bytes, kind: str, spec: TypeSpec | None) -> Shown:
    hex_text = data.hex(" ").upper()
    if len(data) == 12 and (spec is None or isinstance(spec, OctetStringSpec) or spec is ANY):
        try:
            stamp = CosemDateTime.from_bytes(data)
        except DecodeError:
            stamp = None
        if stamp is not None and stamp.is_calendar_time:
            return Shown(kind, stamp.to_datetime().isoformat(sep=" "), hex=hex_text)
    if len(data) == 6 and isinstance(spec, OctetStringSpec) and spec.form is OctetForm.LOGICAL_NAME:
        return Shown(kind, str(Obis.from_bytes(data)), hex=hex_text)
    if data and all(32 <= b < 127 for b in data):
        return Shown(kind, f'"{data.decode("ascii")}"', hex=hex_text)
    return Shown(kind, hex_text or '""')


def cell(value: Any) -> Any:
    """A profile cell as plain JSON/CSV data (times in ISO 8601)."""
    if isinstance(value, _dt.datetime):
        return value.isoformat()
    return axdr.to_python(value)


@dataclass(frozen=True, slots=True)
class Editor:
    """The form field for a typed value: ``kind`` is integer, enum, boolean, datetime, text, hex or json."""

    kind: str
    type: str
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[tuple[int, str], ...] = field(default=())
    placeholder: str = ""


def editor_for(spec: TypeSpec | None, enum_names: Mapping[int, str] | None = None) -> Editor:
    """The editor for a value of type ``spec`` (``None``: a method without a parameter)."""
    if spec is None:
        return Editor("none", "no parameter")
    described = type_name(spec)
    if isinstance(spec, axdr.DataType):
        if spec in _INTEGER_RANGES:
            low, high = _INTEGER_RANGES[spec]
            if enum_names:
                return Editor("enum", described, low, high, tuple(sorted(enum_names.items())))
            return Editor("integer", described, low, high, placeholder=f"{low}..{high}")
        if spec == axdr.DataType.BOOLEAN:
            return Editor("boolean", described)
        if spec in (axdr.DataType.DATE_TIME, axdr.DataType.DATE, axdr.DataType.TIME):
            return Editor("datetime", described, placeholder="2026-01-01T12:00:00+01:00")
        if spec in (axdr.DataType.VISIBLE_STRING, axdr.DataType.UTF8_STRING):
            return Editor("text", described)
        if spec == axdr.DataType.OCTET_STRING:
            return Editor("hex", described, placeholder="hex digits, e.g. 0102AB")
        if spec in (axdr.DataType.FLOAT32, axdr.DataType.FLOAT64):
            return Editor("float", described)
    if isinstance(spec, OctetStringSpec):
        if spec.form is OctetForm.DATE_TIME:
            return Editor("datetime", described, placeholder="2026-01-01T12:00:00+01:00")
        if spec.form is OctetForm.LOGICAL_NAME:
            return Editor("text", described, placeholder="0.0.1.0.0.255")
        if spec.form is OctetForm.TOKEN:
            return Editor("text", described, placeholder="20 digits, spaces allowed")
        return Editor("text", described)
    if isinstance(spec, Choice):
        return Editor("json", described, placeholder="JSON")
    return Editor("json", described, placeholder='JSON, e.g. [1, 2] or {"scaler": 0, "unit": 30}')


def parse_input(text: str, editor: Editor) -> Any:
    """What the user typed into ``editor`` as a plain Python value (the model converts it further)."""
    text = text.strip()
    if editor.kind == "none":
        return None
    if editor.kind in ("integer", "enum"):
        try:
            return int(text, 0)
        except ValueError:
            if editor.kind == "enum":
                return text  # an enum name; the model looks it up
            raise ConfigurationError(f"{text!r} is not a whole number ({editor.type})") from None
    if editor.kind == "float":
        try:
            return float(text)
        except ValueError:
            raise ConfigurationError(f"{text!r} is not a number ({editor.type})") from None
    if editor.kind == "boolean":
        return text.lower() in ("1", "true", "on", "yes")
    if editor.kind == "datetime":
        try:
            return _dt.datetime.fromisoformat(text)
        except ValueError:
            raise ConfigurationError(
                f"{text!r} is not an ISO 8601 time such as 2026-01-01T12:00:00+01:00"
            ) from None
    if editor.kind == "hex":
        try:
            return bytes.fromhex(text.replace(":", " "))
        except ValueError:
            raise ConfigurationError(f"{text!r} is not hex digits ({editor.type})") from None
    if editor.kind == "json":
        if not text:
            return None
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text
