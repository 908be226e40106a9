"""The simulated COSEM objects, one module per area, and :func:`build_object` that picks the right one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from dlmskit.simulator.model import ObjectModel
from dlmskit.simulator.objects.association import AssociationLN, SapAssignment
from dlmskit.simulator.objects.base import MeterServices, SimObject
from dlmskit.simulator.objects.clock import Clock
from dlmskit.simulator.objects.communication import HdlcSetup, TcpUdpSetup
from dlmskit.simulator.objects.credit import Credit
from dlmskit.simulator.objects.data import make_data
from dlmskit.simulator.objects.disconnect import DisconnectControl
from dlmskit.simulator.objects.profile import ProfileGeneric
from dlmskit.simulator.objects.register import make_register
from dlmskit.simulator.objects.security import SecuritySetup
from dlmskit.simulator.objects.token import TokenGateway

__all__ = [
    "AssociationLN",
    "Clock",
    "Credit",
    "DisconnectControl",
    "HdlcSetup",
    "MeterServices",
    "ProfileGeneric",
    "SapAssignment",
    "SecuritySetup",
    "SimObject",
    "TcpUdpSetup",
    "TokenGateway",
    "build_object",
]

_FACTORIES: Final[dict[int, Callable[[ObjectModel, MeterServices], SimObject]]] = {
    1: make_data,
    3: make_register,
    7: ProfileGeneric,
    8: Clock,
    15: AssociationLN,
    17: SapAssignment,
    23: HdlcSetup,
    41: TcpUdpSetup,
    64: SecuritySetup,
    70: DisconnectControl,
    112: Credit,
    115: TokenGateway,
}


def build_object(model: ObjectModel, meter: MeterServices) -> SimObject:
    """The simulated object for one ``[[object]]``: classes without behaviour hold the model's values."""
    return _FACTORIES.get(model.class_id, SimObject)(model, meter)
