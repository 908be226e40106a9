"""Profile generic (class 7): load profiles, billing profiles and event logs."""

from __future__ import annotations

from enum import IntEnum
from typing import Final

from dlmskit.cosem.classes.common import CAPTURE_OBJECT_DEFINITION, T, dummy_method
from dlmskit.cosem.model import ANY, LOGICAL_NAME_ATTRIBUTE, AttributeDef, InterfaceClass, array_of, names_of

__all__ = ["CLASSES", "PROFILE_GENERIC", "SortMethod"]


class SortMethod(IntEnum):
    """Profile generic sort_method: where a new entry goes when the buffer is full."""

    FIFO = 1
    LIFO = 2
    LARGEST = 3
    SMALLEST = 4
    NEAREST_TO_ZERO = 5
    FAREST_FROM_ZERO = 6


PROFILE_GENERIC: Final = InterfaceClass(
    7,
    1,
    "Profile generic",
    (
        LOGICAL_NAME_ATTRIBUTE,
        AttributeDef(
            2,
            "buffer",
            array_of(ANY),
            static=False,
            description="The entries: one structure per capture, one element per capture object. "
            "Read it with selective access (by range or by entry) to get part of it.",
        ),
        AttributeDef(
            3,
            "capture_objects",
            array_of(CAPTURE_OBJECT_DEFINITION),
            static=True,
            description="The columns of the buffer. Writing it clears the buffer.",
        ),
        AttributeDef(
            4,
            "capture_period",
            T.DOUBLE_LONG_UNSIGNED,
            static=True,
            description="Seconds between automatic captures (0 = captures are triggered externally).",
        ),
        AttributeDef(
            5,
            "sort_method",
            T.ENUM,
            static=True,
            description="How entries are sorted.",
            enum_names=names_of(SortMethod),
        ),
        AttributeDef(
            6,
            "sort_object",
            CAPTURE_OBJECT_DEFINITION,
            static=True,
            description="The column sorted on (all zero = sorted by capture order).",
        ),
        AttributeDef(
            7,
            "entries_in_use",
            T.DOUBLE_LONG_UNSIGNED,
            static=False,
            description="Entries in the buffer now.",
        ),
        AttributeDef(
            8,
            "profile_entries",
            T.DOUBLE_LONG_UNSIGNED,
            static=True,
            description="How many entries the buffer holds at most.",
        ),
    ),
    (
        dummy_method(1, "reset", "Clears the buffer."),
        dummy_method(2, "capture", "Captures one entry now."),
    ),
)

CLASSES: Final = (PROFILE_GENERIC,)
