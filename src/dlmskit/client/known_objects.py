"""The interface class of the usual logical names, so that nobody has to look a class id up.

A meter's object list is the authority (the client reads it when a logical name is not in this table),
but the common objects carry the same class in every meter that follows the OBIS conventions of the
Blue Book and the companion specifications (IDIS, DSMR): the clock is class 8, the disconnect control
class 70, a load profile class 7, an energy register class 3.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

from dlmskit.codec.obis import Obis

__all__ = ["USUAL_CLASSES", "usual_class_id"]

_ANY: Final = None
_QUANTITY = range(1, 81)
"""Electricity value group C 1..80: the measured quantities (81 and up are angles, service entries, profiles)."""
USUAL_CLASSES: Final[tuple[tuple[tuple[int | range | None, ...], int, str], ...]] = (
    ((0, 0, 1, 0, _ANY, 255), 8, "Clock"),
    ((0, 0, 42, 0, 0, 255), 1, "COSEM logical device name (Data)"),
    ((0, 0, 96, 1, _ANY, 255), 1, "Device identification (Data)"),
    ((0, 0, 96, 3, 10, 255), 70, "Disconnect control"),
    ((0, 0, 19, 40, _ANY, 255), 115, "Token gateway"),
    ((0, 0, 40, 0, _ANY, 255), 15, "Association LN"),
    ((0, 0, 43, 0, _ANY, 255), 64, "Security setup"),
    ((0, 0, 43, 1, _ANY, 255), 1, "Invocation (frame) counter (Data)"),
    ((0, 0, 44, 0, _ANY, 255), 18, "Image transfer"),
    ((0, 0, 99, 98, _ANY, 255), 7, "Event log (Profile generic)"),
    ((1, 0, 99, _ANY, _ANY, 255), 7, "Load profile (Profile generic)"),
    ((1, 0, 98, 1, _ANY, _ANY), 7, "Billing profile (Profile generic)"),
    ((1, _ANY, _QUANTITY, 8, _ANY, _ANY), 3, "Energy register (Register)"),
    ((1, _ANY, _QUANTITY, 7, _ANY, 255), 3, "Instantaneous value (Register)"),
)
"""``(pattern, class id, what)``: a pattern group is a value, a range of values or ``None`` (any value);
the first match wins."""


@lru_cache(maxsize=1024)
def usual_class_id(logical_name: Obis) -> int | None:
    """The class id the logical name has by convention, or ``None`` when there is no convention.

    Cached: a client asks for the same few logical names in every session (the table walk costs more than
    the GET it serves)."""
    groups = logical_name.groups
    for pattern, class_id, _what in USUAL_CLASSES:
        if all(_matches(want, have) for want, have in zip(pattern, groups, strict=True)):
            return class_id
    return None


def _matches(want: int | range | None, have: int) -> bool:
    if want is None:
        return True
    if isinstance(want, range):
        return have in want
    return want == have
