"""The catalogue of interface classes the model describes, by class id and version.

:func:`get_class` finds a class (the latest version when none is asked for); :func:`class_for` always
answers, falling back to a :func:`~dlmskit.cosem.model.generic_class` for classes and versions the model
does not describe; :func:`all_classes` lists them all.
"""

from __future__ import annotations

from typing import Final

from dlmskit.cosem.classes import (
    association,
    communication,
    data,
    disconnect,
    image_transfer,
    monitoring,
    payment,
    profile,
    security,
    time,
)
from dlmskit.cosem.model import InterfaceClass, generic_class

__all__ = ["all_classes", "class_for", "class_name", "get_class"]

_REGISTRY: Final[dict[int, dict[int, InterfaceClass]]] = {}
for _module in (
    data,
    profile,
    time,
    association,
    image_transfer,
    communication,
    monitoring,
    security,
    disconnect,
    payment,
):
    for _cls in _module.CLASSES:
        _REGISTRY.setdefault(_cls.class_id, {})[_cls.version] = _cls

# Standard classes the model does not describe yet, so that they can at least be named.
_OTHER_CLASS_NAMES: Final = {
    24: "IEC twisted pair (1) setup",
    25: "M-Bus slave port setup",
    26: "Utility tables",
    27: "Modem configuration",
    28: "Auto answer",
    29: "Auto connect",
    30: "Data protection",
    43: "MAC address setup",
    44: "PPP setup",
    46: "SMTP setup",
    47: "GSM diagnostic",
    48: "IPv6 setup",
    61: "Register table",
    62: "Compact data",
    63: "Status mapping",
    65: "Parameter monitor",
    74: "M-Bus master port setup",
}


def get_class(class_id: int, version: int | None = None) -> InterfaceClass | None:
    """The model of ``class_id`` in ``version`` (the latest described version when ``None``), or ``None``."""
    versions = _REGISTRY.get(class_id)
    if not versions:
        return None
    if version is None:
        return versions[max(versions)]
    return versions.get(version)


def class_for(class_id: int, version: int) -> InterfaceClass:
    """The model of ``class_id`` in ``version``, or a generic stand-in (every attribute typed ANY)."""
    found = get_class(class_id, version)
    return found if found is not None else generic_class(class_id, version, class_name(class_id))


def class_name(class_id: int) -> str:
    """The standard name of a class id (``"Register"``), or ``"Class 9999"`` when unknown."""
    versions = _REGISTRY.get(class_id)
    if versions:
        return next(iter(versions.values())).name
    return _OTHER_CLASS_NAMES.get(class_id, f"Class {class_id}")


def all_classes() -> list[InterfaceClass]:
    """Every described class and version, ordered by class id then version."""
    return [versions[v] for _, versions in sorted(_REGISTRY.items()) for v in sorted(versions)]
