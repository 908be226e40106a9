"""COSEM ``Data`` values as translator elements, and back.

Each A-XDR type has its element (the Gurux translator names)::

    <UInt8 Value="C8" />              unsigned 200: integers as fixed-width hex, two's complement
    <Int16 Value="FED4" />            long -300
    <OctetString Value="0000010000FF" />
    <String Value="ABC" />            visible-string as text (as hex in Hex="..." when not printable)
    <StringUTF8 Value="C3 A4" />      utf8-string as hex bytes
    <Boolean Value="True" />
    <BitString Value="1010000011" />
    <Float32 Value="3FC00000" />      floats as the hex of their IEEE 754 bytes
    <DateTime Value="07E30C1001073B28FF8000FF" />   date-time, Date, Time as their raw bytes
    <Structure Qty="02"> ... </Structure>, <Array Qty="02"> ... </Array>
    <None />, <DontCare />
    <CompactArray><ContentsDescription>..types..</ContentsDescription><ArrayContents>..values..</ArrayContents>

Comments explain the values (decimal for integers, the date-time, the OBIS code of a 6-byte octet-string).
:func:`data_node` builds the element of a decoded value; :func:`data_value` reads one back into the typed
value that encodes to the same bytes.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from typing import Any

from dlmskit.codec import axdr
from dlmskit.codec.cosem_datetime import CosemDate, CosemDateTime, CosemTime
from dlmskit.codec.obis import Obis, describe
from dlmskit.errors import EncodeError
from dlmskit.translator.tree import Node

__all__ = ["DATA_ELEMENTS", "data_node", "data_value", "obis_comment", "quantity"]

_INT_ELEMENTS: dict[type[Any], tuple[str, int]] = {
    axdr.Integer: ("Int8", 1),
    axdr.Long: ("Int16", 2),
    axdr.DoubleLong: ("Int32", 4),
    axdr.Long64: ("Int64", 8),
    axdr.Unsigned: ("UInt8", 1),
    axdr.LongUnsigned: ("UInt16", 2),
    axdr.DoubleLongUnsigned: ("UInt32", 4),
    axdr.Long64Unsigned: ("UInt64", 8),
    axdr.Enum: ("Enum", 1),
    axdr.Bcd: ("BCD", 1),
}
_INT_CLASSES = {name: (cls, size) for cls, (name, size) in _INT_ELEMENTS.items()}
_FLOAT_ELEMENTS: dict[type[Any], tuple[str, str]] = {
    axdr.Float32: ("Float32", ">f"),
    axdr.Float64: ("Float64", ">d"),
}
_TYPE_ELEMENTS = {
    axdr.DataType.NULL_DATA: "None",
    axdr.DataType.ARRAY: "Array",
    axdr.DataType.STRUCTURE: "Structure",
    axdr.DataType.BOOLEAN: "Boolean",
    axdr.DataType.BIT_STRING: "BitString",
    axdr.DataType.DOUBLE_LONG: "Int32",
    axdr.DataType.DOUBLE_LONG_UNSIGNED: "UInt32",
    axdr.DataType.OCTET_STRING: "OctetString",
    axdr.DataType.VISIBLE_STRING: "String",
    axdr.DataType.UTF8_STRING: "StringUTF8",
    axdr.DataType.BCD: "BCD",
    axdr.DataType.INTEGER: "Int8",
    axdr.DataType.LONG: "Int16",
    axdr.DataType.UNSIGNED: "UInt8",
    axdr.DataType.LONG_UNSIGNED: "UInt16",
    axdr.DataType.COMPACT_ARRAY: "CompactArray",
    axdr.DataType.LONG64: "Int64",
    axdr.DataType.LONG64_UNSIGNED: "UInt64",
    axdr.DataType.ENUM: "Enum",
    axdr.DataType.FLOAT32: "Float32",
    axdr.DataType.FLOAT64: "Float64",
    axdr.DataType.DATE_TIME: "DateTime",
    axdr.DataType.DATE: "Date",
    axdr.DataType.TIME: "Time",
    axdr.DataType.DONT_CARE: "DontCare",
}
_TYPES_BY_ELEMENT = {name: data_type for data_type, name in _TYPE_ELEMENTS.items()}
DATA_ELEMENTS = frozenset(_TYPES_BY_ELEMENT)
"""The element names of Data values."""


def quantity(count: int) -> str:
    """A ``Qty`` attribute: the count in hex, an even number of digits (``02``, ``0100``)."""
    text = f"{count:X}"
    return text.zfill(len(text) + len(text) % 2)


def obis_comment(raw: bytes) -> str:
    """``0.0.1.0.0.255 Clock``: the dotted OBIS code of 6 bytes and the object's name when known."""
    code = Obis.from_bytes(raw)
    name = describe(code)
    return f"{code} {name}" if name else str(code)


# --------------------------------------------------------------------------------------------------------
# value -> element
# --------------------------------------------------------------------------------------------------------


def data_node(value: axdr.Data) -> Node:
    """The element of one decoded A-XDR value."""
    if value is None:
        return Node("None")
    if isinstance(value, bool):
        return Node.leaf("Boolean", "True" if value else "False")
    int_element = _INT_ELEMENTS.get(type(value))
    if int_element is not None:
        return _int_node(*int_element, value)
    float_element = _FLOAT_ELEMENTS.get(type(value))
    if float_element is not None:
        name, fmt = float_element
        return Node.leaf(name, struct.pack(fmt, value).hex().upper(), repr(float(value)))
    if isinstance(value, axdr.OctetString):
        return Node.leaf("OctetString", value.hex().upper(), _octet_string_comment(bytes(value)))
    if isinstance(value, axdr.BitString):
        return Node.leaf("BitString", str(value))
    if isinstance(value, axdr.Utf8String):
        return Node.leaf("StringUTF8", value.encode("utf-8").hex(" ").upper(), repr(str(value)))
    if isinstance(value, axdr.VisibleString):
        if value.isprintable() and value.strip() == value:
            return Node.leaf("String", str(value))
        return Node("String", {"Hex": value.encode("latin-1").hex().upper()}, repr(str(value)))
    if isinstance(value, CosemDateTime):
        return Node.leaf("DateTime", value.to_bytes().hex().upper(), str(value))
    if isinstance(value, CosemDate):
        return Node.leaf("Date", value.to_bytes().hex().upper(), str(value))
    if isinstance(value, CosemTime):
        return Node.leaf("Time", value.to_bytes().hex().upper(), str(value))
    if isinstance(value, axdr.DontCare):
        return Node("DontCare")
    if isinstance(value, axdr.CompactArray):
        return _compact_array_node(value)
    if isinstance(value, tuple):
        return Node("Structure", {"Qty": quantity(len(value))}, children=[data_node(item) for item in value])
    if isinstance(value, list):
        return Node("Array", {"Qty": quantity(len(value))}, children=[data_node(item) for item in value])
    raise EncodeError(f"no translator element for the value {type(value).__name__}")  # pragma: no cover


def _int_node(name: str, size: int, value: int) -> Node:
    text = (value & ((1 << (8 * size)) - 1)).to_bytes(size, "big").hex().upper()
    comment = None if name == "BCD" or 0 <= value < 10 else str(int(value))
    return Node.leaf(name, text, comment)


def _octet_string_comment(raw: bytes) -> str | None:
    if len(raw) == 6:
        return obis_comment(raw)
    if len(raw) == CosemDateTime.SIZE:
        stamp = CosemDateTime.from_bytes(raw)
        if stamp.month in range(1, 13) or stamp.month >= 0xFD:
            return str(stamp)
    if len(raw) >= 2 and all(0x20 <= byte < 0x7F for byte in raw):
        return repr(raw.decode("ascii"))
    return None


def _compact_array_node(value: axdr.CompactArray) -> Node:
    description = Node("ContentsDescription", children=[_description_node(value.description)])
    contents = Node(
        "ArrayContents", {"Qty": quantity(len(value))}, children=[data_node(item) for item in value]
    )
    return Node("CompactArray", children=[description, contents])


def _description_node(description: axdr.TypeDescription) -> Node:
    if isinstance(description, axdr.StructureDescription):
        return Node(
            "Structure",
            {"Qty": quantity(len(description.members))},
            children=[_description_node(member) for member in description.members],
        )
    if isinstance(description, axdr.ArrayDescription):
        return Node(
            "Array", {"Qty": quantity(description.count)}, children=[_description_node(description.element)]
        )
    return Node(_TYPE_ELEMENTS[description])


# --------------------------------------------------------------------------------------------------------
# element -> value
# --------------------------------------------------------------------------------------------------------


def hex_bytes(node: Node, attribute: str = "Value") -> bytes:
    """The bytes written as hex in ``attribute`` (spaces allowed); :class:`EncodeError` naming the element."""
    text = node.attributes.get(attribute)
    if text is None:
        raise EncodeError(f"<{node.name}> needs a {attribute} attribute{_at(node)}")
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise EncodeError(f"<{node.name} {attribute}={text!r}> is not hex{_at(node)}") from None


def hex_int(node: Node, size: int, attribute: str = "Value") -> int:
    """An unsigned integer of ``size`` bytes written as hex (shorter hex is accepted)."""
    raw = hex_bytes(node, attribute)
    if not 0 < len(raw) <= size:
        raise EncodeError(f"<{node.name}> needs {size} bytes of hex, got {len(raw)}{_at(node)}")
    return int.from_bytes(raw, "big")


def _at(node: Node) -> str:
    return f" (line {node.line})" if node.line else ""


def data_value(node: Node) -> axdr.Data:
    """The typed A-XDR value an element stands for; :class:`EncodeError` when it is not a Data element."""
    data_type = _TYPES_BY_ELEMENT.get(node.name)
    if data_type is None:
        raise EncodeError(f"<{node.name}> is not a data type element{_at(node)}")
    reader = _READERS.get(data_type)
    if reader is not None:
        return reader(node)
    int_class, size = _INT_CLASSES[node.name]
    value = hex_int(node, size)
    if node.name.startswith("Int") and value >> (8 * size - 1):
        value -= 1 << (8 * size)
    result: axdr.Data = int_class(value)
    return result


def _float(node: Node) -> axdr.Data:
    name, fmt = next(pair for cls, pair in _FLOAT_ELEMENTS.items() if pair[0] == node.name)
    raw = hex_bytes(node)
    if len(raw) != struct.calcsize(fmt):
        raise EncodeError(f"<{name}> needs {struct.calcsize(fmt)} bytes of hex, got {len(raw)}{_at(node)}")
    number = struct.unpack(fmt, raw)[0]
    if math.isnan(number):
        raise EncodeError(f"<{name}> holds a NaN, which cannot be written back bit for bit{_at(node)}")
    return (axdr.Float32 if name == "Float32" else axdr.Float64)(number)


def _boolean(node: Node) -> axdr.Data:
    text = (node.value or "").strip().lower()
    if text in ("true", "1", "01", "ff"):
        return True
    if text in ("false", "0", "00"):
        return False
    raise EncodeError(f"<Boolean Value={node.value!r}> is neither True nor False{_at(node)}")


def _string(node: Node) -> axdr.Data:
    if "Hex" in node.attributes:
        return axdr.VisibleString(hex_bytes(node, "Hex").decode("latin-1"))
    if node.value is None:
        raise EncodeError(f"<String> needs a Value attribute{_at(node)}")
    return axdr.VisibleString(node.value)


def _utf8(node: Node) -> axdr.Data:
    try:
        return axdr.Utf8String(hex_bytes(node).decode("utf-8"))
    except UnicodeDecodeError:
        raise EncodeError(f"<StringUTF8> holds bytes that are not UTF-8{_at(node)}") from None


def _bit_string(node: Node) -> axdr.Data:
    return axdr.BitString((node.value or "").strip())


def _fixed(size: int, make: Callable[[bytes], axdr.Data]) -> Callable[[Node], axdr.Data]:
    def read(node: Node) -> axdr.Data:
        raw = hex_bytes(node)
        if len(raw) != size:
            raise EncodeError(f"<{node.name}> needs {size} bytes of hex, got {len(raw)}{_at(node)}")
        return make(raw)

    return read


def _children(node: Node) -> list[axdr.Data]:
    return [data_value(child) for child in node.children]


def _structure(node: Node) -> axdr.Data:
    return axdr.Structure(_children(node))


def _array(node: Node) -> axdr.Data:
    return axdr.Array(_children(node))


def _compact_array(node: Node) -> axdr.Data:
    description = node.find("ContentsDescription")
    contents = node.find("ArrayContents")
    if description is None or len(description.children) != 1 or contents is None:
        raise EncodeError(
            f"<CompactArray> needs one type in <ContentsDescription> and the values in <ArrayContents>{_at(node)}"
        )
    return axdr.CompactArray(_children(contents), _description(description.children[0]))


def _description(node: Node) -> axdr.TypeDescription:
    data_type = _TYPES_BY_ELEMENT.get(node.name)
    if data_type is None:
        raise EncodeError(f"<{node.name}> is not a data type element{_at(node)}")
    if data_type == axdr.DataType.STRUCTURE:
        return axdr.StructureDescription(tuple(_description(child) for child in node.children))
    if data_type == axdr.DataType.ARRAY:
        if len(node.children) != 1:
            raise EncodeError(f"an <Array> type description holds exactly one element type{_at(node)}")
        return axdr.ArrayDescription(hex_int(node, 2, "Qty"), _description(node.children[0]))
    return data_type


_READERS: dict[axdr.DataType, Callable[[Node], axdr.Data]] = {
    axdr.DataType.NULL_DATA: lambda node: None,
    axdr.DataType.DONT_CARE: lambda node: axdr.DONT_CARE,
    axdr.DataType.BOOLEAN: _boolean,
    axdr.DataType.BIT_STRING: _bit_string,
    axdr.DataType.OCTET_STRING: lambda node: axdr.OctetString(hex_bytes(node)),
    axdr.DataType.VISIBLE_STRING: _string,
    axdr.DataType.UTF8_STRING: _utf8,
    axdr.DataType.FLOAT32: _float,
    axdr.DataType.FLOAT64: _float,
    axdr.DataType.DATE_TIME: _fixed(CosemDateTime.SIZE, CosemDateTime.from_bytes),
    axdr.DataType.DATE: _fixed(CosemDate.SIZE, CosemDate.from_bytes),
    axdr.DataType.TIME: _fixed(4, CosemTime.from_bytes),
    axdr.DataType.STRUCTURE: _structure,
    axdr.DataType.ARRAY: _array,
    axdr.DataType.COMPACT_ARRAY: _compact_array,
}
