"""Data and register classes: Data (1), Register (3), Extended register (4), Demand register (5) and
Register activation (6)."""

from __future__ import annotations

from typing import Final

from dlmskit.cosem.classes.common import OBJECT_DEFINITION, SCALER_UNIT, T, dummy_method
from dlmskit.cosem.model import (
    ANY,
    DATE_TIME_STRING,
    LOGICAL_NAME_ATTRIBUTE,
    AttributeDef,
    InterfaceClass,
    MethodDef,
    array_of,
    structure,
)

__all__ = ["CLASSES", "DATA", "DEMAND_REGISTER", "EXTENDED_REGISTER", "REGISTER", "REGISTER_ACTIVATION"]

_SCALER_UNIT_DESCRIPTION = "Scaler (power of ten applied to value) and unit of the value."
_RESET = dummy_method(1, "reset", "Sets the value to its default (usually 0).")

DATA: Final = InterfaceClass(
    1,
    0,
    "Data",
    (
        LOGICAL_NAME_ATTRIBUTE,
        AttributeDef(2, "value", ANY, static=False, description="The data: any type, instance specific."),
    ),
)

REGISTER: Final = InterfaceClass(
    3,
    0,
    "Register",
    (
        LOGICAL_NAME_ATTRIBUTE,
        AttributeDef(2, "value", ANY, static=False, description="The current value, unscaled."),
        AttributeDef(3, "scaler_unit", SCALER_UNIT, static=True, description=_SCALER_UNIT_DESCRIPTION),
    ),
    (_RESET,),
)

EXTENDED_REGISTER: Final = InterfaceClass(
    4,
    0,
    "Extended register",
    (
        LOGICAL_NAME_ATTRIBUTE,
        AttributeDef(2, "value", ANY, static=False, description="The current value, unscaled."),
        AttributeDef(3, "scaler_unit", SCALER_UNIT, static=True, description=_SCALER_UNIT_DESCRIPTION),
        AttributeDef(
            4, "status", ANY, static=False, description="Manufacturer specific status of the value."
        ),
        AttributeDef(
            5, "capture_time", DATE_TIME_STRING, static=False, description="When the value was captured."
        ),
    ),
    (_RESET,),
)

DEMAND_REGISTER: Final = InterfaceClass(
    5,
    0,
    "Demand register",
    (
        LOGICAL_NAME_ATTRIBUTE,
        AttributeDef(
            2, "current_average_value", ANY, static=False, description="Average of the running period."
        ),
        AttributeDef(
            3, "last_average_value", ANY, static=False, description="Average of the last complete period."
        ),
        AttributeDef(4, "scaler_unit", SCALER_UNIT, static=True, description=_SCALER_UNIT_DESCRIPTION),
        AttributeDef(5, "status", ANY, static=False, description="Status of last_average_value."),
        AttributeDef(
            6,
            "capture_time",
            DATE_TIME_STRING,
            static=False,
            description="When last_average_value was captured.",
        ),
        AttributeDef(
            7,
            "start_time_current",
            DATE_TIME_STRING,
            static=False,
            description="When the running period started.",
        ),
        AttributeDef(
            8, "period", T.DOUBLE_LONG_UNSIGNED, static=True, description="Length of one period, in seconds."
        ),
        AttributeDef(
            9,
            "number_of_periods",
            T.LONG_UNSIGNED,
            static=True,
            description="Periods averaged for a sliding demand (1 = block demand).",
        ),
    ),
    (
        _RESET,
        dummy_method(2, "next_period", "Closes the running period and starts a new one."),
    ),
)

_REGISTER_ACT_MASK = structure(mask_name=T.OCTET_STRING, index_list=array_of(T.UNSIGNED))

REGISTER_ACTIVATION: Final = InterfaceClass(
    6,
    0,
    "Register activation",
    (
        LOGICAL_NAME_ATTRIBUTE,
        AttributeDef(
            2,
            "register_assignment",
            array_of(OBJECT_DEFINITION),
            static=True,
            description="The registers this object switches (tariff registers).",
        ),
        AttributeDef(
            3,
            "mask_list",
            array_of(_REGISTER_ACT_MASK),
            static=True,
            description="Named masks; each lists the (1-based) register_assignment entries it enables.",
        ),
        AttributeDef(
            4,
            "active_mask",
            T.OCTET_STRING,
            static=False,
            description="Name of the mask in force (the tariff).",
        ),
    ),
    (
        MethodDef(
            1, "add_register", OBJECT_DEFINITION, description="Adds a register to register_assignment."
        ),
        MethodDef(2, "add_mask", _REGISTER_ACT_MASK, description="Adds or replaces a mask."),
        MethodDef(3, "delete_mask", T.OCTET_STRING, description="Deletes the mask with this name."),
    ),
)

CLASSES: Final = (DATA, REGISTER, EXTENDED_REGISTER, DEMAND_REGISTER, REGISTER_ACTIVATION)
