"""What every simulated COSEM object has: its class model, its attribute values, and the meter around it.

:class:`SimObject` keeps the values of the attributes the model gives (and a default for the others) and
answers reads, writes and method calls. Subclasses (one module per area) compute dynamic attributes and
implement methods. The meter checks existence, class, access rights and data types before an object sees a
request, so objects only decide what a meter decides: values, state changes, and refusals that depend on
state (a relay that may not reconnect now).

:class:`MeterServices` is what objects may ask of the meter they live in (time, events, tamper state,
the other objects).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from dlmskit.apdu.action import ActionResponseWithOptionalData
from dlmskit.apdu.common import GetDataResult, SelectiveAccessDescriptor
from dlmskit.apdu.results import ActionResult, DataAccessResult
from dlmskit.codec import axdr
from dlmskit.codec.obis import Obis
from dlmskit.cosem import get_class
from dlmskit.cosem.model import AnyData, InterfaceClass
from dlmskit.errors import ConfigurationError
from dlmskit.session.server import AssociationContext
from dlmskit.simulator.model import ObjectModel
from dlmskit.simulator.values import attribute_value, default_value

if TYPE_CHECKING:
    from dlmskit.codec.cosem_datetime import CosemDateTime
    from dlmskit.simulator.associations import AssociationState
    from dlmskit.simulator.model import MeterSettings, TokenModel
    from dlmskit.simulator.objects.credit import Credit
    from dlmskit.simulator.objects.disconnect import DisconnectControl

__all__ = ["MeterServices", "ReadResult", "SimObject", "done", "refused"]

ReadResult = Any
"""An attribute value (A-XDR data, possibly :class:`~dlmskit.apdu.common.EncodedData`), or the
:class:`DataAccessResult` that refuses the read."""


class MeterServices(Protocol):
    """What an object may ask of its meter."""

    settings: MeterSettings
    tokens: Mapping[str, TokenModel]
    last_event_code: int
    credit: Credit | None
    relay: DisconnectControl | None

    @property
    def seed(self) -> int: ...

    installed: float
    """When the meter was installed, on the measurement timeline (seconds since the epoch)."""

    def base_time(self) -> float:
        """Now on the measurement timeline (seconds since the epoch): what energy and profiles follow."""
        ...

    def clock_time(self) -> _dt.datetime:
        """The meter's clock (the measurement timeline moved by clock settings), timezone-aware."""
        ...

    def render_time(self, instant: _dt.datetime) -> bytes:
        """The 12-byte COSEM date-time of ``instant`` in the meter's time zone (and daylight saving)."""
        ...

    def instant_of(self, value: CosemDateTime) -> _dt.datetime | None:
        """The point in time of a date-time a client sent (None when it names none)."""
        ...

    def security_setup_of(self, client_sap: int) -> bytes:
        """The logical name of the association's security setup (zeros: none)."""
        ...

    def log_event(self, code: int) -> None:
        """Record an event in the event log."""
        ...

    def find(self, logical_name: Obis) -> SimObject | None: ...

    @property
    def tamper(self) -> bool: ...

    def clear_tamper(self) -> None: ...

    def association_state(self, client_sap: int) -> AssociationState | None: ...

    def object_list(self, client_sap: int) -> axdr.Array: ...


def done(value: axdr.Data = None, *, returns: bool = False) -> ActionResponseWithOptionalData:
    """A successful method call (with return data when ``returns``)."""
    return ActionResponseWithOptionalData(ActionResult.SUCCESS, GetDataResult(value) if returns else None)


def refused(result: ActionResult) -> ActionResponseWithOptionalData:
    """A method call the meter refuses."""
    return ActionResponseWithOptionalData(result)


class SimObject:
    """A COSEM object of the simulated meter; plain values for every attribute, no methods.

    ``writable`` lists the attributes the object lets a client change (the association's rights may allow
    fewer), ``methods`` the methods it implements, ``write_only`` the attributes nobody reads (secrets),
    ``selectors`` the selective-access selectors per attribute and ``behaviours`` the model keys it takes
    besides ``attributes``.
    """

    writable: ClassVar[frozenset[int]] = frozenset()
    methods: ClassVar[frozenset[int]] = frozenset()
    write_only: ClassVar[frozenset[int]] = frozenset()
    selectors: ClassVar[Mapping[int, tuple[int, ...]]] = {}
    behaviours: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, model: ObjectModel, meter: MeterServices) -> None:
        cls = get_class(model.class_id, model.version)
        if cls is None:
            raise model.error(f"class {model.class_id} version {model.version} is not known to the simulator")
        self.model = model
        self.meter = meter
        self.cosem_class: InterfaceClass = cls
        self.logical_name = model.logical_name
        self.name = model.name or cls.name
        unknown = set(model.behaviour) - self.behaviours
        if unknown:
            key = sorted(unknown)[0]
            known = ", ".join(sorted(self.behaviours)) or "none"
            raise model.error(f"unknown key {key!r} for a {cls.name} object (behaviours: {known})", key)
        self.values: dict[int, axdr.Data] = {a.index: default_value(a.type) for a in cls.attributes}
        self.values[1] = axdr.OctetString(model.logical_name.to_bytes())
        for name, raw in model.attributes.items():
            definition = cls.attribute(int(name) if name.isdigit() else name)
            if definition is None or definition.index == 1:
                names = ", ".join(a.name for a in cls.attributes[1:])
                raise model.error(f"{cls.name} has no attribute {name!r} to set (attributes: {names})", name)
            try:
                self.values[definition.index] = attribute_value(cls, definition, raw)
            except ConfigurationError as error:
                raise model.error(f"{definition.name}: {error}", name) from None

    # -- model helpers ----------------------------------------------------------------------------------------

    def behaviour(self, key: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
        """The behaviour ``key`` from the model, checked to be of ``kind``."""
        value = self.model.behaviour.get(key, default)
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if value is not default and (
            not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds)
        ):
            raise self.model.error(f"{key} has the wrong type ({type(value).__name__})", key)
        return value

    # -- what the meter asks ------------------------------------------------------------------------------------

    @property
    def attribute_indexes(self) -> tuple[int, ...]:
        return tuple(a.index for a in self.cosem_class.attributes)

    def value_type(self, attribute: int) -> axdr.DataType | None:
        """The A-XDR type a write must have, for attributes the class leaves open (None: the class says)."""
        definition = self.cosem_class.attribute(attribute)
        if definition is not None and isinstance(definition.type, AnyData):
            current = self.read(attribute, None, None)
            if current is None or isinstance(current, DataAccessResult):
                return None
            return axdr.type_of(current)
        return None

    def read(
        self, attribute: int, context: AssociationContext | None, access: SelectiveAccessDescriptor | None
    ) -> ReadResult:
        """The value of ``attribute`` (``context`` is None for the meter's own captures)."""
        return self.values[attribute]

    def write(self, attribute: int, value: axdr.Data, context: AssociationContext) -> DataAccessResult:
        """Change ``attribute`` (already checked: writable, allowed, right type)."""
        self.values[attribute] = value
        return DataAccessResult.SUCCESS

    def invoke(
        self, method: int, parameters: axdr.Data, context: AssociationContext
    ) -> ActionResponseWithOptionalData:
        """Run ``method`` (already checked: implemented, allowed, right parameter type)."""
        return refused(ActionResult.OBJECT_UNAVAILABLE)  # pragma: no cover - objects list what they implement

    def captured(self, attribute: int, start: float, end: float) -> axdr.Data:
        """The value a load profile captures for the period ``start``..``end`` of the measurement timeline.

        By default the current value; measured objects compute theirs at ``end``.
        """
        return self.read(attribute, None, None)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.logical_name} {self.name!r}>"
