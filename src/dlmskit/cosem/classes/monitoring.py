"""Monitoring classes: Register monitor (21) and Limiter (71)."""

from __future__ import annotations

from typing import Final

from dlmskit.cosem.classes.common import SCRIPT_REFERENCE, VALUE_DEFINITION, T
from dlmskit.cosem.model import (
    ANY,
    DATE_TIME_STRING,
    LOGICAL_NAME_ATTRIBUTE,
    AttributeDef,
    InterfaceClass,
    array_of,
    structure,
)

__all__ = ["CLASSES", "LIMITER", "REGISTER_MONITOR"]

REGISTER_MONITOR: Final = InterfaceClass(
    21,
    0,
    "Register monitor",
    (
        LOGICAL_NAME_ATTRIBUTE,
        AttributeDef(
            2,
            "thresholds",
            array_of(ANY),
            static=True,
            description="Threshold values, of the monitored value's type.",
        ),
        AttributeDef(
            3, "monitored_value", VALUE_DEFINITION, static=True, description="The attribute that is watched."
        ),
        AttributeDef(
            4,
            "actions",
            array_of(structure(action_up=SCRIPT_REFERENCE, action_down=SCRIPT_REFERENCE)),
            static=True,
            description="One pair per threshold: the script run when the value goes above, and below.",
        ),
    ),
)

LIMITER: Final = InterfaceClass(
    71,
    0,
    "Limiter",
    (
        LOGICAL_NAME_ATTRIBUTE,
        AttributeDef(
            2, "monitored_value", VALUE_DEFINITION, static=True, description="The attribute that is watched."
        ),
        AttributeDef(3, "threshold_active", ANY, static=False, description="The threshold in force."),
        AttributeDef(4, "threshold_normal", ANY, static=True, description="The threshold in normal times."),
        AttributeDef(
            5, "threshold_emergency", ANY, static=True, description="The threshold during an emergency."
        ),
        AttributeDef(
            6,
            "min_over_threshold_duration",
            T.DOUBLE_LONG_UNSIGNED,
            static=True,
            description="Seconds above the threshold before action_over_threshold runs.",
        ),
        AttributeDef(
            7,
            "min_under_threshold_duration",
            T.DOUBLE_LONG_UNSIGNED,
            static=True,
            description="Seconds below the threshold before action_under_threshold runs.",
        ),
        AttributeDef(
            8,
            "emergency_profile",
            structure(
                emergency_profile_id=T.LONG_UNSIGNED,
                emergency_activation_time=DATE_TIME_STRING,
                emergency_duration=T.DOUBLE_LONG_UNSIGNED,
            ),
            static=True,
            description="The emergency: its id, start and duration in seconds.",
        ),
        AttributeDef(
            9,
            "emergency_profile_group_id_list",
            array_of(T.LONG_UNSIGNED),
            static=True,
            description="Emergency profile ids this meter obeys.",
        ),
        AttributeDef(
            10,
            "emergency_profile_active",
            T.BOOLEAN,
            static=False,
            description="Whether an emergency profile is in force.",
        ),
        AttributeDef(
            11,
            "actions",
            structure(action_over_threshold=SCRIPT_REFERENCE, action_under_threshold=SCRIPT_REFERENCE),
            static=True,
            description="The scripts run when the value stays above, and back below, the threshold.",
        ),
    ),
)

CLASSES: Final = (REGISTER_MONITOR, LIMITER)
