"""Disconnect control (class 70): the supply relay, with the control modes 0-6 of the Blue Book.

``control_state`` moves only along the transitions a-h that ``control_mode`` allows
(:func:`dlmskit.cosem.next_control_state`); ``output_state`` follows it (true only when connected). Remote
transitions come from methods 1 and 2; manual ones (the customer's button) and local ones (a limiter or a
tamper detector) come from :meth:`DisconnectControl.trigger`, the simulator's hook for tests and demos.

Answers to the remote methods:

- success when the mode allows the transition from the current state, or when the relay already is where
  the call wants it (remote_disconnect while disconnected, remote_reconnect while connected);
- object-unavailable when the mode does not allow the transition (mode 0 allows none);
- temporary-failure for remote_reconnect while the meter is in its tamper state: the relay stays open
  until the tamper token is entered.

Every move is logged in the event log. ``control_mode`` (attribute 4) is writable, 0..6.
"""

from __future__ import annotations

from typing import Any

from dlmskit.apdu.action import ActionResponseWithOptionalData
from dlmskit.apdu.common import SelectiveAccessDescriptor
from dlmskit.apdu.results import ActionResult, DataAccessResult
from dlmskit.codec import axdr
from dlmskit.cosem.classes.disconnect import ControlState, Trigger, next_control_state
from dlmskit.session.server import AssociationContext
from dlmskit.simulator.events import EventCode
from dlmskit.simulator.model import ObjectModel
from dlmskit.simulator.objects.base import MeterServices, SimObject, done, refused

__all__ = ["DisconnectControl"]

_EVENTS = {
    (Trigger.REMOTE_DISCONNECT, ControlState.DISCONNECTED): EventCode.REMOTE_DISCONNECTION,
    (Trigger.REMOTE_RECONNECT, ControlState.CONNECTED): EventCode.REMOTE_CONNECTION,
    (Trigger.REMOTE_RECONNECT, ControlState.READY_FOR_RECONNECTION): EventCode.READY_FOR_RECONNECTION,
    (Trigger.MANUAL_RECONNECT, ControlState.CONNECTED): EventCode.MANUAL_CONNECTION,
    (Trigger.MANUAL_DISCONNECT, ControlState.READY_FOR_RECONNECTION): EventCode.MANUAL_DISCONNECTION,
    (Trigger.LOCAL_DISCONNECT, ControlState.READY_FOR_RECONNECTION): EventCode.LOCAL_DISCONNECTION,
    (Trigger.LOCAL_RECONNECT, ControlState.CONNECTED): EventCode.LOCAL_CONNECTION,
}
_RECONNECTS = (Trigger.REMOTE_RECONNECT, Trigger.MANUAL_RECONNECT, Trigger.LOCAL_RECONNECT)


class DisconnectControl(SimObject):
    """The relay."""

    writable = frozenset({4})
    methods = frozenset({1, 2})

    def __init__(self, model: ObjectModel, meter: MeterServices) -> None:
        super().__init__(model, meter)
        if "control_state" not in model.attributes:
            self.values[3] = axdr.Enum(ControlState.CONNECTED)
        if int(self.values[4]) > 6:
            raise model.error("control_mode is 0..6", "control_mode")

    @property
    def control_state(self) -> ControlState:
        return ControlState(int(self.values[3]))

    @property
    def control_mode(self) -> int:
        return int(self.values[4])

    @property
    def output_state(self) -> bool:
        return self.control_state == ControlState.CONNECTED

    def force(self, state: ControlState) -> None:
        """Put the relay in ``state`` whatever the mode (tamper detection, the tamper token)."""
        self.values[3] = axdr.Enum(state)

    def trigger(self, trigger: Trigger) -> bool:
        """Apply one trigger (button, limiter, or a remote call); False when the relay does not move."""
        if self.meter.tamper and trigger in _RECONNECTS:
            return False
        after = next_control_state(self.control_mode, self.control_state, trigger)
        if after is None:
            return False
        self.force(after)
        self.meter.log_event(_EVENTS[(trigger, after)])
        return True

    def read(
        self, attribute: int, context: AssociationContext | None, access: SelectiveAccessDescriptor | None
    ) -> Any:
        if attribute == 2:
            return self.output_state
        return super().read(attribute, context, access)

    def write(self, attribute: int, value: axdr.Data, context: AssociationContext) -> DataAccessResult:
        if int(value) > 6:
            return DataAccessResult.OTHER_REASON
        return super().write(attribute, value, context)

    def invoke(
        self, method: int, parameters: axdr.Data, context: AssociationContext
    ) -> ActionResponseWithOptionalData:
        if method == 1:
            trigger, already = Trigger.REMOTE_DISCONNECT, ControlState.DISCONNECTED
        else:
            trigger, already = Trigger.REMOTE_RECONNECT, ControlState.CONNECTED
            if self.meter.tamper:
                return refused(ActionResult.TEMPORARY_FAILURE)
        if self.control_state == already or self.trigger(trigger):
            return done()
        return refused(ActionResult.OBJECT_UNAVAILABLE)
