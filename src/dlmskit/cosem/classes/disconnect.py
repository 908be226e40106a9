"""Disconnect control (class 70): the supply relay (breaker) of the meter.

The relay has three control states: 0 disconnected, 1 connected, 2 ready for reconnection (open, waiting
for the customer to press the button). Eight transitions move between them (Blue Book names a to h):

====  ==================  ==============================
 a    remote_reconnect    disconnected -> connected
 b    remote_disconnect   connected -> disconnected
 c    remote_disconnect   ready_for_reconnection -> disconnected
 d    remote_reconnect    disconnected -> ready_for_reconnection
 e    manual_reconnect    ready_for_reconnection -> connected
 f    manual_disconnect   connected -> ready_for_reconnection
 g    local_disconnect    connected -> ready_for_reconnection
 h    local_reconnect     ready_for_reconnection -> connected
====  ==================  ==============================

control_mode (0..6) says which transitions are allowed: 0 none (always connected); 1 b c f g d e;
2 b c f g a e; 3 b c g d e; 4 b c g a e; 5 b c f g d e h; 6 b c g d e h. So in the even modes a remote
reconnect closes the relay at once, in modes 1, 3, 5 and 6 it only makes the relay ready and the customer
closes it. :func:`next_control_state` applies the table.
"""

from __future__ import annotations

from enum import Enum, IntEnum
from typing import Final

from dlmskit.cosem.classes.common import T, dummy_method
from dlmskit.cosem.model import LOGICAL_NAME_ATTRIBUTE, AttributeDef, InterfaceClass, names_of

__all__ = ["CLASSES", "DISCONNECT_CONTROL", "ControlMode", "ControlState", "Trigger", "next_control_state"]


class ControlState(IntEnum):
    """Disconnect control control_state."""

    DISCONNECTED = 0
    CONNECTED = 1
    READY_FOR_RECONNECTION = 2


class ControlMode(IntEnum):
    """Disconnect control control_mode: which transitions are allowed (see the module documentation)."""

    NONE = 0
    MODE_1 = 1
    MODE_2 = 2
    MODE_3 = 3
    MODE_4 = 4
    MODE_5 = 5
    MODE_6 = 6


class Trigger(Enum):
    """What asks the relay to move: a method call, the customer's button, or a local function (limiter)."""

    REMOTE_DISCONNECT = "remote_disconnect"
    REMOTE_RECONNECT = "remote_reconnect"
    MANUAL_DISCONNECT = "manual_disconnect"
    MANUAL_RECONNECT = "manual_reconnect"
    LOCAL_DISCONNECT = "local_disconnect"
    LOCAL_RECONNECT = "local_reconnect"


_S = ControlState
_TRANSITIONS: Final = {
    "a": (Trigger.REMOTE_RECONNECT, _S.DISCONNECTED, _S.CONNECTED),
    "b": (Trigger.REMOTE_DISCONNECT, _S.CONNECTED, _S.DISCONNECTED),
    "c": (Trigger.REMOTE_DISCONNECT, _S.READY_FOR_RECONNECTION, _S.DISCONNECTED),
    "d": (Trigger.REMOTE_RECONNECT, _S.DISCONNECTED, _S.READY_FOR_RECONNECTION),
    "e": (Trigger.MANUAL_RECONNECT, _S.READY_FOR_RECONNECTION, _S.CONNECTED),
    "f": (Trigger.MANUAL_DISCONNECT, _S.CONNECTED, _S.READY_FOR_RECONNECTION),
    "g": (Trigger.LOCAL_DISCONNECT, _S.CONNECTED, _S.READY_FOR_RECONNECTION),
    "h": (Trigger.LOCAL_RECONNECT, _S.READY_FOR_RECONNECTION, _S.CONNECTED),
}
_ALLOWED: Final = {0: "", 1: "bcfgde", 2: "bcfgae", 3: "bcgde", 4: "bcgae", 5: "bcfgdeh", 6: "bcgdeh"}


def next_control_state(control_mode: int, control_state: int, trigger: Trigger) -> ControlState | None:
    """The control state after ``trigger``, or ``None`` when the mode allows no such move from this state.

    ``next_control_state(2, ControlState.DISCONNECTED, Trigger.REMOTE_RECONNECT)`` is
    ``ControlState.CONNECTED`` (transition a); in mode 1 the same call gives ``READY_FOR_RECONNECTION`` (d).
    Unknown modes allow nothing.
    """
    for letter in _ALLOWED.get(control_mode, ""):
        wanted, before, after = _TRANSITIONS[letter]
        if wanted is trigger and before == control_state:
            return after
    return None


DISCONNECT_CONTROL: Final = InterfaceClass(
    70,
    0,
    "Disconnect control",
    (
        LOGICAL_NAME_ATTRIBUTE,
        AttributeDef(
            2,
            "output_state",
            T.BOOLEAN,
            static=False,
            description="The relay as it is: true = closed (supply connected).",
        ),
        AttributeDef(
            3,
            "control_state",
            T.ENUM,
            static=False,
            description="The state the relay is controlled to.",
            enum_names=names_of(ControlState),
        ),
        AttributeDef(
            4,
            "control_mode",
            T.ENUM,
            static=True,
            description="Which transitions are allowed (0 = always connected).",
            enum_names=names_of(ControlMode),
        ),
    ),
    (
        dummy_method(1, "remote_disconnect", "Opens the relay (transitions b and c)."),
        dummy_method(
            2,
            "remote_reconnect",
            "Closes the relay (a) or makes it ready for manual reconnection (d), depending on control_mode.",
        ),
    ),
)

CLASSES: Final = (DISCONNECT_CONTROL,)
