"""Short-name referencing in the simulator: base names for the model's objects and the Association SN.

With ``referencing = "sn"`` in the model's ``[meter]`` table (or ``dlmskit simulate --referencing sn``)
every association takes the short-name application contexts and answers READ/WRITE by variable name. The
objects, rights and behaviour are those of the LN meter: the session resolves each variable name to the
attribute or method it names (:meth:`SimulatedMeter.resolve_short_name
<dlmskit.simulator.meter.SimulatedMeter.resolve_short_name>`) and answers through the same get/set/action.

Base names are allocated in the order of the model, from :data:`FIRST_BASE_NAME`, one :data:`SPAN` (256
variable names) per object, which leaves room for every attribute and method of every class the
simulator has. The Association LN objects (class 15) have no place in an SN meter: the current
association is the Association SN (class 12) at ``FA00``, logical name 0.0.40.0.0.255, whose
object_list (attribute 2) and access_rights_list (attribute 3) list what the client's association sees.
Methods are at the Blue Book offsets (:data:`~dlmskit.cosem.short_names.FIRST_METHOD_OFFSETS`), the
payment classes at dlmskit's own (:data:`~dlmskit.cosem.short_names.DLMSKIT_METHOD_OFFSETS`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from dlmskit.codec.obis import Obis
from dlmskit.cosem.short_names import (
    ASSOCIATION_SN_BASE_NAME,
    DLMSKIT_METHOD_OFFSETS,
    ShortNameEntry,
    ShortNameMap,
)
from dlmskit.errors import ConfigurationError

__all__ = [
    "ASSOCIATION_SN_CLASS",
    "ASSOCIATION_SN_VERSION",
    "CURRENT_ASSOCIATION",
    "FIRST_BASE_NAME",
    "SPAN",
    "allocate",
]

FIRST_BASE_NAME: Final = 0x0100
SPAN: Final = 0x100
ASSOCIATION_SN_CLASS: Final = 12
ASSOCIATION_SN_VERSION: Final = 3
CURRENT_ASSOCIATION: Final = Obis(0, 0, 40, 0, 0, 255)
_ASSOCIATION_LN_CLASS: Final = 15


def allocate(objects: Iterable[tuple[int, int, Obis]]) -> ShortNameMap:
    """The base names of ``(class_id, version, logical_name)`` objects, in order, with the Association SN."""
    entries = [
        ShortNameEntry(
            ASSOCIATION_SN_BASE_NAME, ASSOCIATION_SN_CLASS, ASSOCIATION_SN_VERSION, CURRENT_ASSOCIATION
        )
    ]
    base = FIRST_BASE_NAME
    for class_id, version, logical_name in objects:
        if class_id == _ASSOCIATION_LN_CLASS:
            continue
        entries.append(ShortNameEntry(base, class_id, version, logical_name))
        base += SPAN
        if base >= ASSOCIATION_SN_BASE_NAME:
            raise ConfigurationError("too many objects for short-name referencing (at most 249)")
    return ShortNameMap(entries, method_offsets=DLMSKIT_METHOD_OFFSETS)
