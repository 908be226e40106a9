"""Data objects (class 1): fixed values, the meter's identity, frame counters and the last event code.

Behaviours (model keys):

- none: the value from ``attributes.value``, writable when the association may write it;
- ``identity = "logical_device_name"`` or ``"serial_number"``: the ``[meter]`` value as an ASCII octet-string;
- ``frame_counter = 1``: the invocation counter the meter expects next from client 1, one above the highest
  it accepted (double-long-unsigned; see :mod:`dlmskit.simulator.associations` for the standard's
  definition and field practice);
- ``last_event = true``: the code of the last event logged (long-unsigned), the event log's second column.
"""

from __future__ import annotations

from typing import Any

from dlmskit.apdu.common import SelectiveAccessDescriptor
from dlmskit.codec import axdr
from dlmskit.session.server import AssociationContext
from dlmskit.simulator.model import ObjectModel
from dlmskit.simulator.objects.base import MeterServices, SimObject

__all__ = ["DataObject", "FrameCounter", "Identity", "LastEvent", "make_data"]

_IDENTITIES = ("logical_device_name", "serial_number")


class DataObject(SimObject):
    """A value that stays as it is unless a client writes it."""

    writable = frozenset({2})


class Identity(SimObject):
    """The logical device name or the serial number, from ``[meter]``."""

    behaviours = frozenset({"identity"})

    def __init__(self, model: ObjectModel, meter: MeterServices, identity: str) -> None:
        super().__init__(model, meter)
        self.identity = identity

    def read(
        self, attribute: int, context: AssociationContext | None, access: SelectiveAccessDescriptor | None
    ) -> Any:
        if attribute == 2:
            return axdr.OctetString(getattr(self.meter.settings, self.identity).encode("ascii"))
        return super().read(attribute, context, access)


class FrameCounter(SimObject):
    """The invocation counter the meter expects next from the client of one association."""

    behaviours = frozenset({"frame_counter"})

    def __init__(self, model: ObjectModel, meter: MeterServices, client_sap: int) -> None:
        super().__init__(model, meter)
        self.client_sap = client_sap

    def read(
        self, attribute: int, context: AssociationContext | None, access: SelectiveAccessDescriptor | None
    ) -> Any:
        if attribute == 2:
            state = self.meter.association_state(self.client_sap)
            return axdr.DoubleLongUnsigned(state.frame_counter() if state is not None else 0)
        return super().read(attribute, context, access)


class LastEvent(SimObject):
    """The code of the last event (0 before the first)."""

    behaviours = frozenset({"last_event"})

    def read(
        self, attribute: int, context: AssociationContext | None, access: SelectiveAccessDescriptor | None
    ) -> Any:
        if attribute == 2:
            return axdr.LongUnsigned(self.meter.last_event_code)
        return super().read(attribute, context, access)


def make_data(model: ObjectModel, meter: MeterServices) -> SimObject:
    """The Data object the model's behaviour keys ask for."""
    behaviour = model.behaviour
    if "identity" in behaviour:
        identity = behaviour["identity"]
        if identity not in _IDENTITIES:
            raise model.error(f"identity is {' or '.join(map(repr, _IDENTITIES))}", "identity")
        return Identity(model, meter, identity)
    if "frame_counter" in behaviour:
        sap = behaviour["frame_counter"]
        if not isinstance(sap, int) or isinstance(sap, bool):
            raise model.error("frame_counter is the client address of the association", "frame_counter")
        return FrameCounter(model, meter, sap)
    if behaviour.get("last_event") is True:
        return LastEvent(model, meter)
    return DataObject(model, meter)
