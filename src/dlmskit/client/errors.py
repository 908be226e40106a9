"""What the client raises when the meter says no, in words a meter engineer can act on.

Every refusal names the object (OBIS code, its usual name and its interface class), the attribute or
method (index and name from the interface-class model), the meter's result code by standard name and
number, and a hint for the common causes::

    AccessDenied: calling remote_disconnect (method 1) of 0.0.96.3.10.255 Disconnect control (class 70):
    the meter answered read-write-denied (3): The association in use has no right to invoke this method.
    Hint: this association has no method access; HLS-GMAC management associations usually do

:class:`AccessDenied` (read-write-denied, scope-of-access-violated), :class:`ObjectUndefined`
(object-undefined) and :class:`TypeUnmatched` (type-unmatched) are the refusals people meet most;
:class:`MeterRefused` is their base and carries any other result code. Messages never contain keys,
passwords or the values sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from dlmskit.apdu.results import ActionResult, DataAccessResult
from dlmskit.codec.obis import Obis, describe
from dlmskit.cosem.classes import class_name
from dlmskit.errors import DlmsError

__all__ = ["AccessDenied", "MeterRefused", "ObjectUndefined", "Target", "TypeUnmatched", "refusal"]

Service = Literal["read", "write", "call"]


@dataclass(frozen=True, slots=True)
class Target:
    """One attribute or method of one object, as a request addresses it."""

    logical_name: Obis
    class_id: int
    index: int
    name: str
    is_method: bool = False

    def __str__(self) -> str:
        kind = "method" if self.is_method else "attribute"
        return f"{self.name} ({kind} {self.index}) of {describe_object(self.logical_name, self.class_id)}"


def describe_object(logical_name: Obis, class_id: int) -> str:
    """``0.0.96.3.10.255 Disconnect control (class 70)``; the OBIS name and the class name when they differ."""
    cls = class_name(class_id)
    usual = describe(logical_name)
    if usual is None or usual == cls:
        return f"{logical_name} {cls} (class {class_id})"
    return f"{logical_name} {usual} ({cls}, class {class_id})"


class MeterRefused(DlmsError):
    """The meter refused a read, a write or a method call.

    ``target`` says what was addressed, ``result`` is the meter's Data-Access-Result or Action-Result (an
    int when the code is not a standard one), ``result_name`` its standard name and ``hint`` the likely
    cause in words (may be empty).
    """

    def __init__(
        self, service: Service, target: Target, result: DataAccessResult | ActionResult | int, hint: str = ""
    ) -> None:
        self.service = service
        self.target = target
        self.result = result
        code = int(result)
        known = (ActionResult if service == "call" else DataAccessResult).lookup(code)
        self.result_name = known.standard_name if known is not None else "unknown result"
        self.hint = hint or (known.hint if known is not None else "")
        verb = {"read": "reading", "write": "writing", "call": "calling"}[service]
        text = f"{verb} {target}: the meter answered {self.result_name} ({code})"
        if known is not None:
            text += f": {known.description}"
        if self.hint:
            text += f" Hint: {self.hint}"
        super().__init__(text)


class AccessDenied(MeterRefused):
    """The association has no right to this attribute or method (read-write-denied, scope-of-access-violated)."""


class ObjectUndefined(MeterRefused):
    """The meter has no such object, attribute or method (object-undefined)."""


class TypeUnmatched(MeterRefused):
    """The meter expected another data type (type-unmatched)."""


_SUBCLASSES: dict[int, type[MeterRefused]] = {
    DataAccessResult.READ_WRITE_DENIED: AccessDenied,
    DataAccessResult.SCOPE_OF_ACCESS_VIOLATED: AccessDenied,
    DataAccessResult.OBJECT_UNDEFINED: ObjectUndefined,
    DataAccessResult.TYPE_UNMATCHED: TypeUnmatched,
}


def refusal(
    service: Service, target: Target, result: DataAccessResult | ActionResult | int, hint: str = ""
) -> MeterRefused:
    """The exception for a refusal: :class:`AccessDenied`, :class:`ObjectUndefined`, :class:`TypeUnmatched`
    or the generic :class:`MeterRefused`. (The codes of these three are the same in both result enums.)"""
    return _SUBCLASSES.get(int(result), MeterRefused)(service, target, result, hint)
