"""The simulated meter: a :class:`~dlmskit.session.server.ServerApplication` built from a meter model.

:class:`SimulatedMeter` owns the objects of the model and answers every GET, SET and ACTION as a meter does:

1. the logical name must exist (else object-undefined) and have the requested class (else
   object-class-inconsistent); the attribute or method must be one the class defines (else object-undefined);
2. the association must have the right (else read-write-denied): the access rights of the model, narrowed
   to what the object supports (a register's energy is never writable, an association's secret never
   readable);
3. selective access only where the attribute offers it (else scope-of-access-violated);
4. written values and method parameters must have the type the class defines (else type-unmatched), or, for
   attributes of open type (a Data value), the type the attribute holds;
5. then the object decides (it may still refuse: a relay that may not move, a clock value out of range).

Time: ``now`` returns the *measurement timeline* (default: the wall clock, started at the model's start time
and running ``time_speed`` times as fast). Energy, instantaneous values and load profile rows are pure
functions of that timeline and the seed; the clock shows it moved by whatever clients set.

Invocation counters of the meter persist in ``state_dir`` (``invocation-counters.json``), so a restarted
meter never reuses one; without ``state_dir`` they live in memory (tests). The default state directory,
:func:`default_state_dir`, is the simulator's own (``$XDG_STATE_HOME/dlmskit/simulator``), apart from the
client's counters; several simulators may share one (the counter file is locked, see
:class:`~dlmskit.security.invocation.FileInvocationCounterStore`).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import os
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Final

from dlmskit.apdu.action import ActionResponseWithOptionalData
from dlmskit.apdu.common import ABSENT, CosemAttributeDescriptor, CosemMethodDescriptor, GetDataResult
from dlmskit.apdu.common import SelectiveAccessDescriptor as Access
from dlmskit.apdu.conformance import Conformance
from dlmskit.apdu.results import ActionResult, DataAccessResult
from dlmskit.codec import axdr
from dlmskit.codec.cosem_datetime import CosemDateTime
from dlmskit.codec.obis import Obis
from dlmskit.cosem.classes.disconnect import ControlState
from dlmskit.cosem.model import AnyData, encode_attribute_value, encode_method_parameter
from dlmskit.cosem.short_names import ShortNameAccess, ShortNameMap
from dlmskit.cosem.values import (
    AttributeAccess,
    AttributeAccessMode,
    MethodAccess,
    MethodAccessMode,
    ObjectListEntry,
)
from dlmskit.errors import ConfigurationError, EncodeError
from dlmskit.link.hdlc_link import LARGEST_PARAMETERS
from dlmskit.link.hdlc_parameters import (
    DEFAULT_MAX_INFO_LENGTH,
    DEFAULT_WINDOW_SIZE,
    MAX_INFO_LENGTH,
    MAX_WINDOW_SIZE,
    HdlcParameters,
)
from dlmskit.security.invocation import (
    FileInvocationCounterStore,
    InvocationCounterStore,
    MemoryInvocationCounterStore,
)
from dlmskit.session.server import AssociationContext, ServerAssociationSettings
from dlmskit.simulator.associations import AssociationState, CounterStore
from dlmskit.simulator.events import EventCode
from dlmskit.simulator.model import MeterModel, MeterSettings, TokenModel, default_model
from dlmskit.simulator.objects import (
    AssociationLN,
    Clock,
    Credit,
    DisconnectControl,
    ProfileGeneric,
    SecuritySetup,
    SimObject,
    TokenGateway,
    build_object,
)
from dlmskit.simulator.objects.data import FrameCounter
from dlmskit.simulator.server import LinkTimeouts
from dlmskit.simulator.short_names import ASSOCIATION_SN_CLASS, CURRENT_ASSOCIATION, allocate
from dlmskit.simulator.signals import DAY

__all__ = ["COUNTER_FILE", "SimulatedMeter", "default_state_dir"]

COUNTER_FILE = "invocation-counters.json"
"""The file in the state directory that keeps the meter's invocation counters."""

_UTC = _dt.timezone.utc


def default_state_dir() -> Path:
    """Where the simulator keeps its invocation counters: ``$XDG_STATE_HOME/dlmskit/simulator`` or
    ``~/.local/state/dlmskit/simulator`` (the client keeps its own in ``.../dlmskit/client``)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "dlmskit" / "simulator"


COUNTER_BLOCK = 100
"""Invocation counters reserved per durable write of the simulator's counter file."""


_HDLC_SETUP_CLASS: Final = 23
"""IEC HDLC setup."""
_TCP_UDP_SETUP_CLASS: Final = 41
"""TCP-UDP setup."""
_HDLC_LIMIT_ATTRIBUTES: Final = {"max_info_tx": 5, "max_info_rx": 6, "window_tx": 3, "window_rx": 4}
"""The attributes of the IEC HDLC setup object that bound the link, by HdlcParameters field."""


class SimulatedMeter:
    """A meter built from a model (the built-in one by default).

    ``now`` replaces the measurement timeline (tests pin time with it); ``seed`` and ``tamper`` override the
    model's ``[meter]`` values; ``quirks`` adds real-meter behaviours to the model's (docs/tolerance.md);
    ``state_dir`` keeps the invocation counters across restarts.
    """

    def __init__(
        self,
        model: MeterModel | None = None,
        *,
        now: Callable[[], _dt.datetime] | None = None,
        state_dir: str | Path | None = None,
        seed: int | None = None,
        tamper: bool | None = None,
        quirks: Iterable[str] | None = None,
        referencing: str | None = None,
    ) -> None:
        self.model = model if model is not None else default_model()
        settings = self.model.meter
        if referencing is not None:
            settings = dataclasses.replace(settings, referencing=referencing)
        if quirks is not None:
            settings = dataclasses.replace(settings, quirks=settings.quirks | frozenset(quirks))
        if seed is not None:
            settings = dataclasses.replace(settings, seed=seed)
        if tamper is not None:
            settings = dataclasses.replace(settings, tamper=tamper)
        self.settings: MeterSettings = settings
        self._now = now if now is not None else _wall_clock(settings.start, settings.time_speed)
        self.started = self.base_time()
        self.installed = self.started - settings.history_days * DAY
        store: InvocationCounterStore
        self.counter_file: Path | None = None
        """Where the meter's own invocation counters persist (None: in memory)."""
        if state_dir is None:
            store = MemoryInvocationCounterStore()
        else:
            directory = Path(state_dir).expanduser()
            directory.mkdir(parents=True, exist_ok=True)
            # Reserve counters in blocks: one durable write per block, not per APDU; a crash skips the
            # rest of a block (up to COUNTER_BLOCK - 1 counters) and never reuses one.
            # The default directory continues from the file the simulator shared with the client before.
            legacy = default_state_dir().parent / COUNTER_FILE
            inherit = legacy if directory == default_state_dir() else None
            self.counter_file = directory / COUNTER_FILE
            store = FileInvocationCounterStore(self.counter_file, block=COUNTER_BLOCK, inherit=inherit)
        self.counters = CounterStore(store)
        self.associations = {
            a.client_sap: AssociationState(a, self.counters) for a in self.model.associations
        }
        self.tokens: Mapping[str, TokenModel] = {t.token: t for t in self.model.tokens}
        self.events: list[tuple[_dt.datetime, EventCode]] = []
        """Every event logged, with the clock time (the event log object keeps the last ``entries``)."""
        self.last_event_code = 0
        self.generation = 0
        """Counts the changes of the meter's state made by clients and events (every SET, ACTION and event):
        answers computed from one state, kept in a cache, are kept under this number."""
        self._tamper = False
        self.objects: dict[Obis, SimObject] = {}
        for object_model in self.model.objects:
            self.objects[object_model.logical_name] = build_object(object_model, self)
        self.clock: Clock | None = self._first(Clock)
        self.relay: DisconnectControl | None = self._first(DisconnectControl)
        self.credit: Credit | None = self._first(Credit)
        self.token_gateway: TokenGateway | None = self._first(TokenGateway)
        self._logs: list[ProfileGeneric] = []
        for item in self.objects.values():
            if isinstance(item, ProfileGeneric):
                item.resolve(self.objects.get)
                if item.event_log:
                    self._logs.append(item)
            self._check_references(item)
        self._hdlc_setups = tuple(
            item for item in self.objects.values() if item.model.class_id == _HDLC_SETUP_CLASS
        )
        self._tcp_udp_setups = tuple(
            item for item in self.objects.values() if item.model.class_id == _TCP_UDP_SETUP_CLASS
        )
        """The IEC HDLC and TCP-UDP setup objects, found once: the server asks for its timeouts on every read."""
        self.long_answers = any(
            isinstance(item, ProfileGeneric) and not item.event_log and item.entries >= 100
            for item in self.objects.values()
        )
        """Whether some answers take long to compute (a periodic profile of 100 rows or more): the server
        answers what may be one of them in slices (slices.py)."""
        self.short_names: ShortNameMap | None = None
        """The base names of the objects when the meter speaks short-name referencing (else None)."""
        if settings.referencing == "sn":
            self.short_names = allocate(
                (item.cosem_class.class_id, item.cosem_class.version, name)
                for name, item in self.objects.items()
            )
        if settings.tamper:
            self.detect_tamper()

    @property
    def quirks(self) -> frozenset[str]:
        """The real-meter behaviours this meter imitates (the sessions read them)."""
        return self.settings.quirks

    def _first(self, kind: type[Any]) -> Any:
        return next((item for item in self.objects.values() if isinstance(item, kind)), None)

    def _check_references(self, item: SimObject) -> None:
        sap = None
        if isinstance(item, (SecuritySetup, FrameCounter)):
            sap, key = item.client_sap, "association" if isinstance(item, SecuritySetup) else "frame_counter"
        elif isinstance(item, AssociationLN) and item.client_sap is not None:
            sap, key = item.client_sap, "client"
        if sap is not None and sap not in self.associations:
            raise item.model.error(f"there is no [[association]] with client_sap = {sap}", key)

    # -- time --------------------------------------------------------------------------------------------------

    def base_time(self) -> float:
        """Now on the measurement timeline, in seconds since the epoch."""
        moment = self._now()
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=_UTC)
        return moment.timestamp()

    def clock_time(self) -> _dt.datetime:
        """The meter's clock (UTC)."""
        if self.clock is not None:
            return self.clock.now()
        return _dt.datetime.fromtimestamp(self.base_time(), _UTC)

    def render_time(self, instant: _dt.datetime) -> bytes:
        """The 12-byte date-time of ``instant`` as the meter's clock shows it."""
        if self.clock is not None:
            return self.clock.local(instant).to_bytes()
        return CosemDateTime.from_datetime(instant.astimezone(_UTC)).to_bytes()

    def instant_of(self, value: CosemDateTime) -> _dt.datetime | None:
        """The point in time of a date-time a client sent (None when it is not one)."""
        if self.clock is not None:
            return self.clock.instant_of(value)
        if not value.is_calendar_time:
            return None
        moment = value.to_datetime()
        return moment if moment.tzinfo else moment.replace(tzinfo=_UTC)

    # -- state shared by the objects -------------------------------------------------------------------------

    @property
    def seed(self) -> int:
        return self.settings.seed

    @property
    def tamper(self) -> bool:
        """Whether the meter is in its tamper state (relay open, reconnection refused)."""
        return self._tamper

    def detect_tamper(self) -> None:
        """Enter the tamper state: the relay opens and stays open until the tamper token (a test hook)."""
        self._tamper = True
        if self.relay is not None:
            self.relay.force(ControlState.DISCONNECTED)
        self.log_event(EventCode.TAMPER_DETECTED)

    def clear_tamper(self) -> None:
        """Leave the tamper state and close the relay (what the tamper token does)."""
        if not self._tamper:
            return
        self._tamper = False
        if self.relay is not None:
            self.relay.force(ControlState.CONNECTED)
        self.log_event(EventCode.TAMPER_CLEARED)

    def log_event(self, code: int) -> None:
        """Record an event: every event log captures its columns (clock, last event code)."""
        self.last_event_code = int(code)
        self.generation += 1
        self.events.append((self.clock_time(), EventCode(code)))
        for log in self._logs:
            log.capture_now()

    # -- HDLC setup -----------------------------------------------------------------------------------------

    def _hdlc_setup(self) -> SimObject | None:
        """The IEC HDLC setup object (class 23) of the meter's HDLC port: the one whose device address
        is the meter's physical address, else the first one."""
        setups = self._hdlc_setups
        physical = self.settings.hdlc_physical_address
        return next(
            (item for item in setups if item.values.get(9) == physical), setups[0] if setups else None
        )

    @property
    def hdlc_limits(self) -> HdlcParameters:
        """What the meter's HDLC link supports, as its IEC HDLC setup object says (window sizes and
        maximum information field lengths, attributes 3-6; a value of 0 or one left out of the model
        is the IEC 62056-46 default, 1 or 128; larger than the standard allows is clamped at
        negotiation). A model without that object gets the largest parameters, 2030 / 7."""
        setup = self._hdlc_setup()
        if setup is None:
            return LARGEST_PARAMETERS
        values: dict[str, int] = {}
        for name, attribute in _HDLC_LIMIT_ATTRIBUTES.items():
            default = DEFAULT_WINDOW_SIZE if name.startswith("window") else DEFAULT_MAX_INFO_LENGTH
            value = setup.values.get(attribute)
            values[name] = int(value) if isinstance(value, int) and value > 0 else default
        return HdlcParameters(**values)

    def _tcp_udp_setup(self) -> SimObject | None:
        """The TCP-UDP setup object (class 41): the first one of the model."""
        return self._tcp_udp_setups[0] if self._tcp_udp_setups else None

    def link_timeouts(self, link: str) -> LinkTimeouts | None:
        """The timeouts the meter's server applies on a connection of ``link`` ("hdlc" or "wrapper"), as the
        model's objects say now (a SET of them takes effect on open connections): for HDLC the IEC HDLC setup's
        inactivity_time_out (attribute 8, seconds) and inter_octet_time_out (attribute 7, milliseconds), for the
        wrapper the TCP-UDP setup's inactivity_time_out (attribute 6, seconds). 0 means never (no inactivity
        timeout; no inter-octet timeout). None when the model has no such object (the server's own default)."""
        if link == "hdlc":
            setup = self._hdlc_setup()
            if setup is None:
                return None
            inactivity, inter_octet = setup.values.get(8), setup.values.get(7)
            return LinkTimeouts(
                inactivity=float(inactivity) if isinstance(inactivity, int) and inactivity > 0 else None,
                inter_octet=inter_octet / 1000 if isinstance(inter_octet, int) and inter_octet > 0 else None,
            )
        setup = self._tcp_udp_setup()
        if setup is None:
            return None
        inactivity = setup.values.get(6)
        return LinkTimeouts(
            inactivity=float(inactivity) if isinstance(inactivity, int) and inactivity > 0 else None
        )

    @property
    def simultaneous_connections(self) -> int | None:
        """The TCP-UDP setup's nb_of_sim_conn (attribute 5): connections the meter serves at once (None: the
        model has no such object, or says 0)."""
        setup = self._tcp_udp_setup()
        value = setup.values.get(5) if setup is not None else None
        return int(value) if isinstance(value, int) and value > 0 else None

    def set_hdlc_limits(self, *, window: int | None = None, max_info_length: int | None = None) -> None:
        """Change the meter's HDLC setup object (both directions), so that its link negotiates these
        values and a client reading the object sees the same: ``set_hdlc_limits(window=1,
        max_info_length=128)`` makes a meter like most real ones (``dlmskit simulate --hdlc-window 1
        --hdlc-max-info 128``)."""
        setup = self._hdlc_setup()
        if setup is None:
            raise ConfigurationError("the meter model has no IEC HDLC setup object (class 23) to change")
        if window is not None:
            if not 1 <= window <= MAX_WINDOW_SIZE:
                raise ConfigurationError(f"HDLC window must be 1..{MAX_WINDOW_SIZE}, not {window}")
            setup.values[3] = setup.values[4] = axdr.Unsigned(window)
        if max_info_length is not None:
            if not 1 <= max_info_length <= MAX_INFO_LENGTH:
                raise ConfigurationError(
                    f"HDLC maximum information field length must be 1..{MAX_INFO_LENGTH}, not {max_info_length}"
                )
            setup.values[5] = setup.values[6] = axdr.LongUnsigned(max_info_length)

    def find(self, logical_name: Obis) -> SimObject | None:
        return self.objects.get(logical_name)

    def object(self, logical_name: str | Obis) -> Any:
        """The object with this logical name (``meter.object("0.0.96.3.10.255").control_state``)."""
        key = logical_name if isinstance(logical_name, Obis) else Obis.parse(logical_name)
        return self.objects[key]

    def association_state(self, client_sap: int) -> AssociationState | None:
        return self.associations.get(client_sap)

    def security_setup_of(self, client_sap: int) -> bytes:
        """The logical name of the security setup of an association (zeros when it has none)."""
        for item in self.objects.values():
            if isinstance(item, SecuritySetup) and item.client_sap == client_sap:
                return item.logical_name.to_bytes()
        return bytes(6)

    # -- access rights -------------------------------------------------------------------------------------

    def visible(self, client_sap: int, item: SimObject) -> bool:
        """Whether the association sees the object (it has at least one right on it)."""
        state = self.associations.get(client_sap)
        return state is not None and state.model.access.rule(item.logical_name).grants_anything

    def attribute_mode(self, client_sap: int, item: SimObject, attribute: int) -> AttributeAccessMode:
        """What the association may do with one attribute: the model's rights, as far as the object allows."""
        state = self.associations.get(client_sap)
        if state is None or not self.visible(client_sap, item):
            return AttributeAccessMode.NO_ACCESS
        rule = state.model.access.rule(item.logical_name)
        assert rule.read is not None and rule.write is not None
        read = attribute == 1 or (attribute in rule.read and attribute not in item.write_only)
        write = attribute in rule.write and attribute in item.writable
        return AttributeAccessMode(int(read) | int(write) << 1)

    def method_mode(self, client_sap: int, item: SimObject, method: int) -> MethodAccessMode:
        """Whether the association may invoke ``method`` of the object."""
        state = self.associations.get(client_sap)
        if state is None or not self.visible(client_sap, item):
            return MethodAccessMode.NO_ACCESS
        rule = state.model.access.rule(item.logical_name)
        assert rule.methods is not None
        allowed = method in rule.methods and method in item.methods
        return MethodAccessMode.ACCESS if allowed else MethodAccessMode.NO_ACCESS

    def object_list(self, client_sap: int) -> axdr.Array:
        """The object list of an association (Association LN attribute 2, version 1 encoding)."""
        entries = []
        for item in self.objects.values():
            if not self.visible(client_sap, item):
                continue
            attributes = {
                index: AttributeAccess(
                    index, self.attribute_mode(client_sap, item, index), item.selectors.get(index)
                )
                for index in item.attribute_indexes
            }
            methods = {
                m.index: MethodAccess(m.index, self.method_mode(client_sap, item, m.index))
                for m in item.cosem_class.methods
            }
            entry = ObjectListEntry(
                item.cosem_class.class_id, item.cosem_class.version, item.logical_name, attributes, methods
            )
            entries.append(entry.encode(association_version=1))
        return axdr.Array(entries)

    # -- ServerApplication -------------------------------------------------------------------------------------

    def association_settings(self, client_sap: int) -> ServerAssociationSettings | None:
        state = self.associations.get(client_sap)
        if state is None:
            return None
        settings = state.settings()
        if self.short_names is None:
            return settings
        conformance = settings.conformance
        if not conformance & (Conformance.READ | Conformance.WRITE):
            # The association's LN services, said in SN: get -> read, set -> write, selective access ->
            # parameterized access, blocks with get -> blocks with read.
            conformance = (
                Conformance.default_sn_client()
                if conformance & Conformance.ACTION or conformance & Conformance.SET
                else Conformance.READ | Conformance.MULTIPLE_REFERENCES | Conformance.PARAMETERIZED_ACCESS
            ) | (
                conformance
                & (Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ | Conformance.BLOCK_TRANSFER_WITH_SET_OR_WRITE)
            )
        return dataclasses.replace(settings, referencing="sn", conformance=conformance)

    # -- short-name referencing ------------------------------------------------------------------------------

    def resolve_short_name(
        self, context: AssociationContext, variable_name: int
    ) -> CosemAttributeDescriptor | CosemMethodDescriptor | None:
        """The attribute or method a variable name names (ShortNameApplication)."""
        if self.short_names is None:
            return None
        target = self.short_names.resolve(variable_name)
        if target is None:
            return None
        entry = target.entry
        if target.kind == "method":
            return CosemMethodDescriptor(entry.class_id, entry.logical_name, target.index)
        return CosemAttributeDescriptor(entry.class_id, entry.logical_name, target.index)

    def _association_sn(self, client_sap: int, attribute: int) -> GetDataResult:
        """Attributes of the current Association SN: what the client's association sees."""
        assert self.short_names is not None
        visible = [
            entry
            for entry in self.short_names
            if entry.class_id == ASSOCIATION_SN_CLASS
            or ((item := self.objects.get(entry.logical_name)) is not None and self.visible(client_sap, item))
        ]
        if attribute == 1:
            return GetDataResult(axdr.OctetString(CURRENT_ASSOCIATION.to_bytes()))
        if attribute == 2:
            return GetDataResult(axdr.Array(entry.encode() for entry in visible))
        if attribute == 3:
            rights = []
            for entry in visible:
                item = self.objects.get(entry.logical_name)
                if item is None or entry.class_id == ASSOCIATION_SN_CLASS:
                    continue
                attributes = {
                    index: AttributeAccess(
                        index, self.attribute_mode(client_sap, item, index), item.selectors.get(index)
                    )
                    for index in item.attribute_indexes
                }
                methods = {
                    m.index: MethodAccess(m.index, self.method_mode(client_sap, item, m.index))
                    for m in item.cosem_class.methods
                }
                rights.append(ShortNameAccess(entry.base_name, attributes, methods).encode())
            return GetDataResult(axdr.Array(rights))
        if attribute == 4:
            return GetDataResult(axdr.OctetString(self.security_setup_of(client_sap)))
        return GetDataResult(error=DataAccessResult.OBJECT_UNDEFINED)

    def _target(self, class_id: int, logical_name: Obis) -> SimObject | DataAccessResult:
        item = self.objects.get(logical_name)
        if item is None:
            return DataAccessResult.OBJECT_UNDEFINED
        if item.cosem_class.class_id != class_id:
            return DataAccessResult.OBJECT_CLASS_INCONSISTENT
        return item

    def get(
        self, context: AssociationContext, attribute: CosemAttributeDescriptor, access: Access | None
    ) -> GetDataResult:
        if (
            self.short_names is not None
            and attribute.class_id == ASSOCIATION_SN_CLASS
            and attribute.instance_id == CURRENT_ASSOCIATION
        ):
            return self._association_sn(context.client_sap, attribute.attribute_id)
        item = self._target(attribute.class_id, attribute.instance_id)
        if isinstance(item, DataAccessResult):
            return GetDataResult(error=item)
        index = attribute.attribute_id
        if index not in item.attribute_indexes:
            return GetDataResult(error=DataAccessResult.OBJECT_UNDEFINED)
        if self.attribute_mode(context.client_sap, item, index) not in (
            AttributeAccessMode.READ_ONLY,
            AttributeAccessMode.READ_AND_WRITE,
        ):
            return GetDataResult(error=DataAccessResult.READ_WRITE_DENIED)
        if access is not None and access.selector not in item.selectors.get(index, ()):
            return GetDataResult(error=DataAccessResult.SCOPE_OF_ACCESS_VIOLATED)
        value = item.read(index, context, access)
        if isinstance(value, DataAccessResult):
            return GetDataResult(error=value)
        return GetDataResult(value)

    def check_set(
        self, context: AssociationContext, attribute: CosemAttributeDescriptor
    ) -> DataAccessResult | None:
        """Why a write of ``attribute`` is refused whatever its value (steps 1 and 2), or None."""
        item = self._target(attribute.class_id, attribute.instance_id)
        if isinstance(item, DataAccessResult):
            return item
        index = attribute.attribute_id
        if item.cosem_class.attribute(index) is None or index not in item.attribute_indexes:
            return DataAccessResult.OBJECT_UNDEFINED
        if self.attribute_mode(context.client_sap, item, index) not in (
            AttributeAccessMode.WRITE_ONLY,
            AttributeAccessMode.READ_AND_WRITE,
        ):
            return DataAccessResult.READ_WRITE_DENIED
        return None

    def set(
        self,
        context: AssociationContext,
        attribute: CosemAttributeDescriptor,
        value: axdr.Data,
        access: Access | None,
    ) -> DataAccessResult:
        refused = self.check_set(context, attribute)
        if refused is not None:
            return refused
        self.generation += 1
        item = self._target(attribute.class_id, attribute.instance_id)
        assert not isinstance(item, DataAccessResult)
        index = attribute.attribute_id
        definition = item.cosem_class.attribute(index)
        assert definition is not None
        if access is not None:
            return DataAccessResult.SCOPE_OF_ACCESS_VIOLATED
        try:
            if isinstance(definition.type, AnyData):
                expected = item.value_type(index)
                if expected is not None and axdr.type_of(value) != expected:
                    return DataAccessResult.TYPE_UNMATCHED
            else:
                encode_attribute_value(item.cosem_class, definition, value)
        except EncodeError:
            return DataAccessResult.TYPE_UNMATCHED
        return item.write(index, value, context)

    def action(
        self, context: AssociationContext, method: CosemMethodDescriptor, parameters: axdr.Data
    ) -> ActionResponseWithOptionalData:
        self.generation += 1
        item = self._target(method.class_id, method.instance_id)
        if isinstance(item, DataAccessResult):
            return ActionResponseWithOptionalData(ActionResult(int(item)))
        definition = item.cosem_class.method(method.method_id)
        if definition is None:
            return ActionResponseWithOptionalData(ActionResult.OBJECT_UNDEFINED)
        state = self.associations.get(context.client_sap)
        rule = state.model.access.rule(item.logical_name) if state is not None else None
        if (
            rule is None
            or rule.methods is None
            or method.method_id not in rule.methods
            or not self.visible(context.client_sap, item)
        ):
            return ActionResponseWithOptionalData(ActionResult.READ_WRITE_DENIED)
        if method.method_id not in item.methods:
            return ActionResponseWithOptionalData(ActionResult.OBJECT_UNAVAILABLE)
        absent = parameters is ABSENT or parameters is None
        if context.settings.referencing == "sn" and definition.parameter is None and parameters == 0:
            absent = True  # a method without parameter, called over SN by writing integer 0 to it
        if definition.parameter is None:
            typed = absent
        elif absent:
            typed = False
        else:
            try:
                encode_method_parameter(item.cosem_class, definition, parameters)
                typed = True
            except EncodeError:
                typed = False
        if not typed:
            return ActionResponseWithOptionalData(ActionResult.TYPE_UNMATCHED)
        return item.invoke(method.method_id, parameters, context)


def _wall_clock(start: _dt.datetime | None, speed: float) -> Callable[[], _dt.datetime]:
    """Now on a timeline that starts at ``start`` (default: now) and runs ``speed`` times real time."""
    origin = start if start is not None else _dt.datetime.now(_UTC)
    wall = time.monotonic()

    def now() -> _dt.datetime:
        return origin + _dt.timedelta(seconds=(time.monotonic() - wall) * speed)

    return now
