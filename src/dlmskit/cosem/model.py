"""The declarative COSEM interface-class model (IEC 62056-6-2, the DLMS UA Blue Book).

An :class:`InterfaceClass` lists, for one class id and version, every attribute (:class:`AttributeDef`: index,
name, A-XDR type, static or dynamic) and every method (:class:`MethodDef`: index, name, parameter type and
default, return type). The client, the meter simulator and the trace translator all read the same tables
(``dlmskit.cosem.classes``).

Types are described by a :data:`TypeSpec`:

- a :class:`~dlmskit.codec.axdr.DataType` (``DataType.LONG_UNSIGNED``);
- an :class:`OctetStringSpec`: an octet-string with a known layout (a logical name, a date-time, a token...);
- a :class:`StructureSpec` with named members or an :class:`ArraySpec` (built with :func:`structure` and
  :func:`array_of`); the codec's :class:`~dlmskit.codec.axdr.StructureDescription` and
  :class:`~dlmskit.codec.axdr.ArrayDescription` are accepted too;
- :data:`ANY`: any ``Data`` (the Blue Book's "CHOICE", e.g. the value of a Data object);
- a :class:`Choice` between a few types.

:func:`encode_attribute_value` and :func:`encode_method_parameter` turn plain Python values into the typed
A-XDR value the meter expects (``5`` into ``Unsigned(5)``, an :class:`~dlmskit.codec.obis.Obis` or
``"0.0.1.0.0.255"`` into the 6-byte logical name, a ``datetime`` into the 12-byte date-time octet-string,
``"connected"`` into ``Enum(1)`` where the attribute names its values). Values that are already typed pass
through when their type is the right one and are refused otherwise, naming the class, the attribute or
method and the expected type: that saves a round trip that would end in the meter's ``type-unmatched``.
The error messages never show the value itself (it may be a secret or a key).
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Final, TypeAlias

from dlmskit.codec import axdr
from dlmskit.codec.cosem_datetime import CosemDate, CosemDateTime, CosemTime
from dlmskit.codec.obis import Obis, ObisError
from dlmskit.errors import ConfigurationError, EncodeError

__all__ = [
    "ANY",
    "DATE_STRING",
    "DATE_TIME_STRING",
    "LOGICAL_NAME_ATTRIBUTE",
    "LOGICAL_NAME_STRING",
    "TIME_STRING",
    "TOKEN_STRING",
    "AnyData",
    "ArraySpec",
    "AttributeDef",
    "Choice",
    "InterfaceClass",
    "MethodDef",
    "OctetForm",
    "OctetStringSpec",
    "StructureSpec",
    "TypeSpec",
    "array_of",
    "choice",
    "encode_attribute_value",
    "encode_method_parameter",
    "generic_class",
    "names_of",
    "structure",
    "type_name",
]


# --------------------------------------------------------------------------------------------------------
# Type specifications
# --------------------------------------------------------------------------------------------------------


class AnyData:
    """Any A-XDR ``Data`` value: the Blue Book's untyped CHOICE (use the :data:`ANY` instance)."""

    __slots__ = ()
    _instance: AnyData | None = None

    def __new__(cls) -> AnyData:
        if cls._instance is None:
            cls._instance = object.__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "ANY"


ANY: Final = AnyData()
"""Any A-XDR data (a Data object's value, a register's value, a profile row...)."""


class OctetForm(Enum):
    """What an octet-string holds, where the Blue Book fixes it."""

    LOGICAL_NAME = "logical name"
    DATE_TIME = "date-time"
    DATE = "date"
    TIME = "time"
    TOKEN = "token"  # noqa: S105 - the name of a form, not a secret


_FORM_SIZES: Final[Mapping[OctetForm, int]] = {
    OctetForm.LOGICAL_NAME: 6,
    OctetForm.DATE_TIME: CosemDateTime.SIZE,
    OctetForm.DATE: CosemDate.SIZE,
    OctetForm.TIME: CosemTime.SIZE,
}


@dataclass(frozen=True, slots=True)
class OctetStringSpec:
    """An octet-string with a known layout: a logical name (6 bytes), a date-time (12), a date (5)..."""

    form: OctetForm

    @property
    def size(self) -> int | None:
        """The fixed length in bytes, or ``None`` when the length varies (tokens)."""
        return _FORM_SIZES.get(self.form)


LOGICAL_NAME_STRING: Final = OctetStringSpec(OctetForm.LOGICAL_NAME)
DATE_TIME_STRING: Final = OctetStringSpec(OctetForm.DATE_TIME)
DATE_STRING: Final = OctetStringSpec(OctetForm.DATE)
TIME_STRING: Final = OctetStringSpec(OctetForm.TIME)
TOKEN_STRING: Final = OctetStringSpec(OctetForm.TOKEN)


@dataclass(frozen=True, slots=True)
class StructureSpec:
    """A structure whose members have names (``scaler``, ``unit``) and types."""

    members: tuple[tuple[str, TypeSpec], ...]

    @property
    def names(self) -> tuple[str, ...]:
        """The member names, in order."""
        return tuple(name for name, _ in self.members)


@dataclass(frozen=True, slots=True)
class ArraySpec:
    """An array (of any length) whose elements all have one type."""

    element: TypeSpec


@dataclass(frozen=True, slots=True)
class Choice:
    """One of a few types (tried in order when a plain Python value is converted)."""

    alternatives: tuple[TypeSpec, ...]


TypeSpec: TypeAlias = (
    axdr.DataType
    | OctetStringSpec
    | StructureSpec
    | ArraySpec
    | Choice
    | AnyData
    | axdr.StructureDescription
    | axdr.ArrayDescription
)
"""The type of an attribute, a method parameter or a structure member."""


def structure(**members: TypeSpec) -> StructureSpec:
    """A :class:`StructureSpec` from keyword arguments, in order: ``structure(scaler=INTEGER, unit=ENUM)``."""
    return StructureSpec(tuple(members.items()))


def array_of(element: TypeSpec) -> ArraySpec:
    """An :class:`ArraySpec` of ``element``."""
    return ArraySpec(element)


def choice(*alternatives: TypeSpec) -> Choice:
    """A :class:`Choice` between ``alternatives``."""
    return Choice(alternatives)


def type_name(spec: TypeSpec) -> str:
    """The type as people read it: ``structure {scaler: integer, unit: enum}``, ``array of long-unsigned``."""
    if isinstance(spec, axdr.DataType):
        return spec.standard_name
    if isinstance(spec, OctetStringSpec):
        if spec.form is OctetForm.TOKEN:
            return "octet-string (a token: 20 ASCII digits or 10 packed BCD bytes, see dlmskit.client.token_to_octets)"
        return f"octet-string ({spec.form.value}, {spec.size} bytes)"
    if isinstance(spec, StructureSpec):
        return "structure {" + ", ".join(f"{n}: {type_name(t)}" for n, t in spec.members) + "}"
    if isinstance(spec, axdr.StructureDescription):
        return "structure {" + ", ".join(type_name(t) for t in spec.members) + "}"
    if isinstance(spec, (ArraySpec, axdr.ArrayDescription)):
        return f"array of {type_name(spec.element)}"
    if isinstance(spec, Choice):
        return "one of (" + " | ".join(type_name(t) for t in spec.alternatives) + ")"
    return "any data"


def names_of(enum_class: type[Enum]) -> dict[int, str]:
    """``{value: name}`` of an enum, names in lower case: the ``enum_names`` of an attribute."""
    return {int(member.value): member.name.lower() for member in enum_class}


# --------------------------------------------------------------------------------------------------------
# Attributes, methods, classes
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AttributeDef:
    """One attribute of an interface class.

    ``static`` attributes are configuration that changes only when written; dynamic ones are measured or
    updated by the meter. ``enum_names`` names the values of an enum attribute (``{0: "disconnected"}``);
    ``bit_names`` names the bits of a bit-coded attribute (bit 0 is the least significant bit of an
    integer, the first bit of a bit-string). ``min_version`` is the first class version with the attribute.
    """

    index: int
    name: str
    type: TypeSpec
    static: bool
    description: str = ""
    enum_names: Mapping[int, str] | None = None
    min_version: int = 0
    bit_names: Mapping[int, str] | None = None


@dataclass(frozen=True, slots=True)
class MethodDef:
    """One method of an interface class.

    ``parameter`` is ``None`` for a method invoked without data. ``default_parameter`` is what is sent when
    the caller gives nothing (most Blue Book methods take a dummy ``integer(0)``); ``None`` means the caller
    must give the parameter. ``returns`` is the type of the data in the action response, if any.
    """

    index: int
    name: str
    parameter: TypeSpec | None
    default_parameter: axdr.Data = None
    returns: TypeSpec | None = None
    description: str = ""
    min_version: int = 0


LOGICAL_NAME_ATTRIBUTE: Final = AttributeDef(
    1, "logical_name", LOGICAL_NAME_STRING, static=True, description="The OBIS code that names the object."
)
"""Attribute 1 of every interface class."""

_GENERIC_INDEX = re.compile(r"(?:attribute|method)_([0-9]+)")


def _normalise(name: str) -> str:
    return re.sub(r"[\s-]+", "_", name.strip()).lower()


@dataclass(frozen=True, slots=True)
class InterfaceClass:
    """One version of one COSEM interface class: ``class_id``, ``version``, attributes and methods.

    Look attributes and methods up by index or by name (case does not matter):
    ``disconnect_control.attribute("control_state")``, ``clock.method(6)``. A *generic* class (see
    :func:`generic_class`) stands for a class the model does not know: every index answers, typed ANY.
    """

    class_id: int
    version: int
    name: str
    attributes: tuple[AttributeDef, ...]
    methods: tuple[MethodDef, ...] = ()
    generic: bool = False
    _attributes_by_key: dict[int | str, AttributeDef] = field(init=False, repr=False, compare=False)
    _methods_by_key: dict[int | str, MethodDef] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        where = f"{self.name} (class {self.class_id} version {self.version})"
        if not self.attributes or self.attributes[0] != LOGICAL_NAME_ATTRIBUTE:
            raise ConfigurationError(f"{where}: attribute 1 must be logical_name")
        attributes: dict[int | str, AttributeDef] = {}
        for attribute in self.attributes:
            _register(attributes, attribute.index, attribute.name, attribute, where)
            _check_min_version(attribute.min_version, attribute.name, where, self.version)
        methods: dict[int | str, MethodDef] = {}
        for method in self.methods:
            _register(methods, method.index, method.name, method, where)
            _check_min_version(method.min_version, method.name, where, self.version)
        object.__setattr__(self, "_attributes_by_key", attributes)
        object.__setattr__(self, "_methods_by_key", methods)

    def attribute(self, key: int | str) -> AttributeDef | None:
        """The attribute with this index or name, or ``None``."""
        found = self._attributes_by_key.get(key if isinstance(key, int) else _normalise(key))
        if found is None and self.generic:
            index = _generic_index(key)
            if index is not None and index > 1:
                return AttributeDef(index, f"attribute_{index}", ANY, static=False)
        return found

    def method(self, key: int | str) -> MethodDef | None:
        """The method with this index or name, or ``None``."""
        found = self._methods_by_key.get(key if isinstance(key, int) else _normalise(key))
        if found is None and self.generic:
            index = _generic_index(key)
            if index is not None and index > 0:
                return MethodDef(index, f"method_{index}", ANY)
        return found

    def for_version(self, version: int) -> InterfaceClass:
        """The same class as it is in an earlier ``version``: attributes and methods added later left out."""
        if not 0 <= version <= self.version:
            raise ConfigurationError(f"{self.name} has versions 0..{self.version}, not {version}")
        return InterfaceClass(
            self.class_id,
            version,
            self.name,
            tuple(a for a in self.attributes if a.min_version <= version),
            tuple(m for m in self.methods if m.min_version <= version),
            self.generic,
        )

    def __hash__(self) -> int:
        return hash((self.class_id, self.version, self.name, self.generic))

    def __str__(self) -> str:
        return f"{self.name} (class {self.class_id}, version {self.version})"


def _register(table: dict[int | str, Any], index: int, name: str, item: object, where: str) -> None:
    if index < 1 or index in table:
        raise ConfigurationError(f"{where}: index {index} of {name} is not positive or not unique")
    key = _normalise(name)
    if key in table:
        raise ConfigurationError(f"{where}: the name {name} is used twice")
    table[index] = item
    table[key] = item


def _check_min_version(min_version: int, name: str, where: str, version: int) -> None:
    if not 0 <= min_version <= version:
        raise ConfigurationError(f"{where}: {name} appears in version {min_version}, after {version}")


def _generic_index(key: int | str) -> int | None:
    if isinstance(key, int):
        return key
    match = _GENERIC_INDEX.fullmatch(_normalise(key))
    return int(match.group(1)) if match else None


def generic_class(class_id: int, version: int = 0, name: str | None = None) -> InterfaceClass:
    """A stand-in for a class the model does not describe: logical_name plus any attribute, typed ANY.

    ``attribute(5)`` answers ``attribute_5`` of type ANY and ``method(2)`` answers ``method_2`` with an ANY
    parameter that the caller must give.
    """
    return InterfaceClass(
        class_id, version, name or f"Class {class_id}", (LOGICAL_NAME_ATTRIBUTE,), (), generic=True
    )


# --------------------------------------------------------------------------------------------------------
# Conversion of Python values into typed A-XDR values
# --------------------------------------------------------------------------------------------------------

_INT_CLASSES: Final[Mapping[axdr.DataType, Any]] = {
    cls.TAG: cls
    for cls in (
        axdr.Integer,
        axdr.Long,
        axdr.DoubleLong,
        axdr.Long64,
        axdr.Unsigned,
        axdr.LongUnsigned,
        axdr.DoubleLongUnsigned,
        axdr.Long64Unsigned,
        axdr.Enum,
        axdr.Bcd,
    )
}
_TYPED_VALUES: Final = (
    *_INT_CLASSES.values(),
    axdr.Float32,
    axdr.Float64,
    axdr.OctetString,
    axdr.VisibleString,
    axdr.Utf8String,
    axdr.BitString,
    axdr.CompactArray,
    axdr.DontCare,
    axdr.Array,
    axdr.Structure,
)
_DATE_VALUES: Final = (CosemDateTime, CosemDate, CosemTime)


class _Mismatch(Exception):
    """A value does not fit a spec; ``path`` says where inside the value (``[2].logical_name``)."""

    def __init__(self, path: str, spec: TypeSpec, found: str) -> None:
        super().__init__(path)
        self.path = path
        self.spec = spec
        self.found = found


class _NoFit(Exception):
    """A leaf value does not fit; the argument, if any, says why in words that never quote the value."""


def encode_attribute_value(cls: InterfaceClass, attribute: int | str | AttributeDef, value: Any) -> axdr.Data:
    """The typed A-XDR value to write to ``attribute`` of ``cls``, converted from ``value``.

    Plain Python values are converted to the attribute's type; typed A-XDR values must already have that
    type. Raises :class:`~dlmskit.errors.EncodeError` naming the class, the attribute and the expected type
    when the value does not fit, or when the class has no such attribute.
    """
    definition = attribute if isinstance(attribute, AttributeDef) else cls.attribute(attribute)
    if definition is None:
        raise EncodeError(f"{cls} has no attribute {attribute!r}")
    return _convert_for(cls, definition.name, definition.type, value, definition.enum_names)


def encode_method_parameter(
    cls: InterfaceClass, method: int | str | MethodDef, value: Any = None
) -> axdr.Data:
    """The typed A-XDR parameter for invoking ``method`` of ``cls``, converted from ``value``.

    ``None`` gives the method's default parameter (``integer(0)`` for most methods), or ``None`` for a
    method invoked without data. Raises :class:`~dlmskit.errors.EncodeError` naming the class, the method
    and the expected type when the value does not fit, when the method needs a parameter and none is
    given, or when the class has no such method.
    """
    definition = method if isinstance(method, MethodDef) else cls.method(method)
    if definition is None:
        raise EncodeError(f"{cls} has no method {method!r}")
    where = f"{cls.name}.{definition.name}"
    if definition.parameter is None:
        if value is not None:
            raise EncodeError(f"{where} takes no parameter")
        return None
    if value is None:
        if definition.default_parameter is None:
            raise EncodeError(f"{where} needs a parameter: {type_name(definition.parameter)}")
        return definition.default_parameter
    return _convert_for(cls, definition.name, definition.parameter, value, None)


def _convert_for(
    cls: InterfaceClass, member: str, spec: TypeSpec, value: Any, enum_names: Mapping[int, str] | None
) -> axdr.Data:
    try:
        return _convert(value, spec, "", enum_names)
    except _Mismatch as exc:
        raise EncodeError(
            f"{cls.name}.{member}{exc.path} expects {type_name(exc.spec)}, got {exc.found}"
        ) from None


def _convert(value: Any, spec: TypeSpec, path: str, enum_names: Mapping[int, str] | None = None) -> axdr.Data:
    if isinstance(spec, AnyData):
        try:
            axdr.encode(value)
        except EncodeError:
            raise _Mismatch(
                path, spec, _describe(value) + " (wrap plain ints: axdr.DoubleLong(5)...)"
            ) from None
        return value
    if isinstance(spec, Choice):
        for alternative in spec.alternatives:
            try:
                return _convert(value, alternative, path)
            except _Mismatch:
                continue
        raise _Mismatch(path, spec, _describe(value))
    if isinstance(spec, (StructureSpec, axdr.StructureDescription)):
        return _convert_structure(value, spec, path)
    if isinstance(spec, (ArraySpec, axdr.ArrayDescription)):
        if isinstance(value, axdr.Structure) or not _is_sequence(value):
            raise _Mismatch(path, spec, _describe(value))
        items = [_convert(item, spec.element, f"{path}[{i}]") for i, item in enumerate(value)]
        return value if isinstance(value, axdr.CompactArray) else axdr.Array(items)
    try:
        if isinstance(value, _TYPED_VALUES):
            return _check_typed(value, spec)
        return _convert_leaf(value, spec, enum_names)
    except _NoFit as exc:
        found = _describe(value) + (f" ({exc.args[0]})" if exc.args else "")
        raise _Mismatch(path, spec, found) from None


def _convert_structure(
    value: Any, spec: StructureSpec | axdr.StructureDescription, path: str
) -> axdr.Structure:
    if isinstance(spec, StructureSpec):
        members = spec.members
    else:
        members = tuple((f"[{i}]", t) for i, t in enumerate(spec.members))
    if isinstance(value, Mapping) and isinstance(spec, StructureSpec):
        if set(value) != set(spec.names):
            raise _Mismatch(path, spec, "a mapping with keys " + ", ".join(map(str, value)))
        items = [value[name] for name in spec.names]
    elif isinstance(value, axdr.Array) or not _is_sequence(value):
        raise _Mismatch(path, spec, _describe(value))
    else:
        items = list(value)
    if len(items) != len(members):
        raise _Mismatch(path, spec, f"{len(items)} elements instead of {len(members)}")
    converted = []
    for item, (name, member) in zip(items, members, strict=True):
        converted.append(
            _convert(item, member, f"{path}{name}" if name.startswith("[") else f"{path}.{name}")
        )
    return axdr.Structure(converted)


def _is_sequence(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes, bytearray))


def _check_typed(value: Any, spec: TypeSpec) -> axdr.Data:
    """A value that is already typed: keep it if its type is the spec's, refuse it otherwise."""
    if isinstance(spec, OctetStringSpec):
        if not isinstance(value, axdr.OctetString):
            raise _NoFit
        if spec.size is not None and len(value) != spec.size:
            raise _NoFit(f"{len(value)} bytes")
        return value
    if not isinstance(spec, axdr.DataType) or axdr.type_of(value) != spec:
        raise _NoFit
    if spec in (axdr.DataType.ARRAY, axdr.DataType.STRUCTURE):
        return _convert(value, ANY, "")
    return value


def _convert_leaf(value: Any, spec: TypeSpec, enum_names: Mapping[int, str] | None) -> axdr.Data:
    """A plain Python value (int, str, bytes, datetime, Obis...) converted to a leaf spec."""
    if isinstance(spec, OctetStringSpec):
        return axdr.OctetString(_octets_of(value, spec))
    if not isinstance(spec, axdr.DataType):
        raise _NoFit
    int_class = _INT_CLASSES.get(spec)
    if int_class is not None:
        number = _integer_of(value, enum_names)
        if not int_class.MIN <= number <= int_class.MAX:
            raise _NoFit(f"outside {int_class.MIN}..{int_class.MAX}")
        return int_class(number)
    if spec == axdr.DataType.OCTET_STRING:
        if isinstance(value, Obis):
            return axdr.OctetString(value.to_bytes())
        if isinstance(value, str):
            try:
                return axdr.convert(value, spec)
            except EncodeError:
                raise _NoFit("text that is not hex digits") from None
        if isinstance(value, (bytes, bytearray, memoryview, _dt.datetime, *_DATE_VALUES)):
            return axdr.convert(value, spec)
        raise _NoFit
    if spec == axdr.DataType.BOOLEAN:
        if (isinstance(value, int) and value in (0, 1)) or (
            isinstance(value, str) and value.lower() in _BOOL_WORDS
        ):
            return axdr.convert(value, spec)
        raise _NoFit
    if spec == axdr.DataType.NULL_DATA:
        if value is not None:
            raise _NoFit
        return None
    if spec in (axdr.DataType.ARRAY, axdr.DataType.STRUCTURE):
        if not _is_sequence(value):
            raise _NoFit
        items = [_convert(item, ANY, "") for item in value]
        return axdr.Array(items) if spec == axdr.DataType.ARRAY else axdr.Structure(items)
    if spec in (axdr.DataType.FLOAT32, axdr.DataType.FLOAT64) and isinstance(value, bool):
        raise _NoFit
    if spec in (axdr.DataType.DATE_TIME, axdr.DataType.DATE, axdr.DataType.TIME) and not isinstance(
        value, (str, _dt.date, _dt.time, *_DATE_VALUES)
    ):
        raise _NoFit
    try:
        converted = axdr.convert(value, spec)
        if spec == axdr.DataType.VISIBLE_STRING:
            converted.encode("latin-1")
    except (EncodeError, UnicodeError):
        raise _NoFit from None
    return converted


_BOOL_WORDS: Final = frozenset({"true", "false", "on", "off", "1", "0"})


def _integer_of(value: Any, enum_names: Mapping[int, str] | None) -> int:
    if isinstance(value, bool):
        raise _NoFit
    if isinstance(value, int):
        return int(value)
    if not isinstance(value, str):
        raise _NoFit
    if enum_names:
        wanted = _normalise(value)
        for number, name in enum_names.items():
            if _normalise(name) == wanted:
                return number
    try:
        return int(value, 0)
    except ValueError:
        raise _NoFit("text that is not a number" + (" or a value name" if enum_names else "")) from None


def _octets_of(value: Any, spec: OctetStringSpec) -> bytes:
    form = spec.form
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        if spec.size is not None and len(raw) != spec.size:
            raise _NoFit(f"{len(raw)} bytes")
        return raw
    if form is OctetForm.LOGICAL_NAME:
        if isinstance(value, Obis):
            return value.to_bytes()
        if isinstance(value, str):
            try:
                return Obis.parse(value).to_bytes()
            except ObisError:
                raise _NoFit("text that is not an OBIS code") from None
    elif form is OctetForm.DATE_TIME:
        if isinstance(value, CosemDateTime):
            return value.to_bytes()
        if isinstance(value, _dt.datetime):
            return CosemDateTime.from_datetime(value).to_bytes()
        if isinstance(value, str):
            try:
                return CosemDateTime.from_datetime(_dt.datetime.fromisoformat(value)).to_bytes()
            except ValueError:
                raise _NoFit("text that is not an ISO 8601 date-time") from None
    elif form is OctetForm.DATE:
        if isinstance(value, CosemDate):
            return value.to_bytes()
        if isinstance(value, _dt.date) and not isinstance(value, _dt.datetime):
            return CosemDate.from_date(value).to_bytes()
    elif form is OctetForm.TIME:
        if isinstance(value, CosemTime):
            return value.to_bytes()
        if isinstance(value, _dt.time):
            return CosemTime.from_time(value).to_bytes()
    elif isinstance(value, str):  # a token given as text: ASCII digits or BCD? Let the caller say.
        raise _NoFit(
            "pass token_to_octets(token) or token_to_octets(token, format='bcd') (from dlmskit.client)"
        )
    raise _NoFit


def _describe(value: Any) -> str:
    """What a value is, in words, without showing the value itself."""
    if value is None:
        return "null-data"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, _TYPED_VALUES):
        name = axdr.type_of(value).standard_name
        article = "an" if name[0] in "aeio" or name.startswith("unsigned") else "a"
        if isinstance(value, axdr.BitString):
            return f"{article} {name} of {len(value)} bits"
        if isinstance(value, (bytes, str)):
            return f"{article} {name} of {len(value)} {'bytes' if isinstance(value, bytes) else 'characters'}"
        if isinstance(value, (list, tuple)):
            return f"{article} {name} of {len(value)} elements"
        return f"{article} {name}"
    if isinstance(value, int):
        return "a plain int"
    if isinstance(value, str):
        return f"text of {len(value)} characters"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"{len(bytes(value))} bytes"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of {len(value)} items"
    return f"a {type(value).__name__}"
