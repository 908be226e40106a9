"""Types and methods that many interface classes share (Blue Book common data types)."""

from __future__ import annotations

from typing import Final

from dlmskit.codec import axdr
from dlmskit.codec.axdr import DataType as T
from dlmskit.cosem.model import LOGICAL_NAME_STRING, MethodDef, structure

__all__ = [
    "CAPTURE_OBJECT_DEFINITION",
    "OBJECT_DEFINITION",
    "SCALER_UNIT",
    "SCRIPT_REFERENCE",
    "VALUE_DEFINITION",
    "T",
    "dummy_method",
]

SCALER_UNIT: Final = structure(scaler=T.INTEGER, unit=T.ENUM)
"""scal_unit_type: value = raw x 10^scaler, in the unit of the DLMS unit enumeration."""

OBJECT_DEFINITION: Final = structure(class_id=T.LONG_UNSIGNED, logical_name=LOGICAL_NAME_STRING)
"""An object: class id and logical name."""

VALUE_DEFINITION: Final = structure(
    class_id=T.LONG_UNSIGNED, logical_name=LOGICAL_NAME_STRING, attribute_index=T.INTEGER
)
"""One attribute of one object (what a register monitor or a limiter watches)."""

CAPTURE_OBJECT_DEFINITION: Final = structure(
    class_id=T.LONG_UNSIGNED,
    logical_name=LOGICAL_NAME_STRING,
    attribute_index=T.INTEGER,
    data_index=T.LONG_UNSIGNED,
)
"""One column of a profile (or one pushed attribute); data_index 0 = the whole attribute."""

SCRIPT_REFERENCE: Final = structure(script_logical_name=LOGICAL_NAME_STRING, script_selector=T.LONG_UNSIGNED)
"""A script of a script table: the table's logical name and the script identifier (action_item)."""


def dummy_method(index: int, name: str, description: str, min_version: int = 0) -> MethodDef:
    """A method whose data is the Blue Book's dummy ``integer(0)`` (sent as ``0F 00``)."""
    return MethodDef(
        index, name, T.INTEGER, axdr.Integer(0), description=description, min_version=min_version
    )
