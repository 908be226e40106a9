"""Shared pieces of the robustness tests: a meter behind a faulty line in memory, the demo requests,
and a profile reader that says how far it got when the line fails.

:class:`SimulatedLine` is a blocking :class:`~dlmskit.transport.base.Transport` whose far end is a
meter (an :class:`~dlmskit.link.hdlc_link.HdlcServerLink` or a wrapper server link and one
:class:`~dlmskit.session.server.ServerSession` per client, as the simulator runs them) reached through
the two :class:`~dlmskit.link.faults.FaultyLine` directions of a :class:`~dlmskit.link.faults.FaultPlan`.
Time is counted in steps, not seconds: a ``recv`` that sees nothing for ``timeout_steps`` steps raises
:class:`~dlmskit.errors.MeterTimeout`, so the real :class:`~dlmskit.client.connection.Connection` runs
its response timer and link recovery exactly as over a serial line, without sleeping. A run that
needs more than ``max_steps`` steps in all is a hang and fails the test.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal

from tests.tinymeter import AK, CLIENT_TITLE, EK, TinyMeter, client_security, secret

from dlmskit.apdu.common import (
    CosemAttributeDescriptor,
    CosemMethodDescriptor,
    SelectiveAccessDescriptor,
)
from dlmskit.client.connection import Connection
from dlmskit.codec import axdr
from dlmskit.codec.obis import Obis
from dlmskit.errors import DlmsError, MeterTimeout
from dlmskit.link.events import ApduReceived, Link, LinkClosed, LinkOpened
from dlmskit.link.faults import FaultPlan, FaultStats, FrameSplitter
from dlmskit.link.hdlc_address import HdlcAddress
from dlmskit.link.hdlc_link import DEFAULT_PARAMETERS, LARGEST_PARAMETERS, HdlcClientLink, HdlcServerLink
from dlmskit.link.hdlc_parameters import HdlcParameters
from dlmskit.link.wrapper_link import WrapperLink, WrapperServerLink
from dlmskit.security.hls import Mechanism
from dlmskit.security.invocation import InvocationCounterStore
from dlmskit.session.client import ClientSession, ClientSettings
from dlmskit.session.events import GetCompleted
from dlmskit.session.protection import SecurityPolicy, SecuritySettings
from dlmskit.session.server import ServerSession

LDN = CosemAttributeDescriptor(1, Obis(0, 0, 42, 0, 0, 255), 2)
ENERGY = CosemAttributeDescriptor(3, Obis(1, 0, 1, 8, 0, 255), 2)
PROFILE = CosemAttributeDescriptor(7, Obis(1, 0, 99, 1, 0, 255), 2)
DISCONNECT = CosemMethodDescriptor(70, Obis(0, 0, 96, 3, 10, 255), 1)
SERVER = HdlcAddress(1, 17)

PASSWORD = b"12345678"
"""The LLS password of the demo meter's client 32."""
CLIENT_SAP = {"none": 16, "lls": 32, "hls-gmac": 1}
Case = Literal["none", "lls", "hls-gmac"]


def client_settings(
    case: Case, *, max_pdu: int = 0xFFFF, counters: InvocationCounterStore | None = None
) -> ClientSettings:
    """The client side of one of the demo meter's associations (see ``tests.tinymeter.demo_meter``)."""
    if case == "none":
        return ClientSettings(max_receive_pdu_size=max_pdu)
    if case == "lls":
        return ClientSettings(mechanism=Mechanism.LOW, secret=PASSWORD, max_receive_pdu_size=max_pdu)
    security = (
        SecuritySettings(
            policy=SecurityPolicy.AUTHENTICATED_ENCRYPTED,
            system_title=CLIENT_TITLE,
            block_cipher_key=secret(EK),
            authentication_key=secret(AK),
            invocation_counters=counters,
        )
        if counters is not None
        else client_security()
    )
    assert isinstance(security, SecuritySettings)
    return ClientSettings(mechanism=Mechanism.HIGH_GMAC, security=security, max_receive_pdu_size=max_pdu)


def client_session(case: Case, **kwargs: Any) -> ClientSession:
    return ClientSession(client_settings(case, **kwargs), challenge=secrets.token_bytes(16))


def profile_rows(meter: TinyMeter, first: int, last: int) -> list[Any]:
    """Rows ``first``..``last`` (1-based, inclusive) of the demo meter's load profile, as stored."""
    rows = meter.values[(PROFILE.class_id, str(PROFILE.instance_id), PROFILE.attribute_id)]
    assert isinstance(rows, list)
    return list(rows[first - 1 : last])


def entry_range(first: int, last: int) -> SelectiveAccessDescriptor:
    return SelectiveAccessDescriptor.entry_descriptor(first, last)


class HangDetected(AssertionError):
    """A run needed more steps than its budget: the stack did not give up when it should have."""


class SimulatedLine:
    """A blocking transport whose far end is a meter behind a faulty line (see the module doc)."""

    def __init__(
        self,
        meter: TinyMeter,
        plan: FaultPlan,
        *,
        link: Literal["hdlc", "wrapper"] = "hdlc",
        limits: HdlcParameters = LARGEST_PARAMETERS,
        timeout_steps: int = 4,
        max_steps: int = 200_000,
        frame_per_read: bool = False,
    ) -> None:
        self.meter = meter
        self.plan = plan
        self.link_kind = link
        self.limits = limits
        self.timeout_steps = timeout_steps
        self.max_steps = max_steps
        self.frame_per_read = frame_per_read
        """Each ``recv`` returns one frame (as a slow serial line does), not all that arrived in a step."""
        self._arrived: list[bytes] = []
        self.now = 0
        self.restarts = 0
        self._open = False
        self.to_meter = plan.line("client->meter")
        self.to_client = plan.line("meter->client")
        self._client_frames = FrameSplitter(link)
        self._meter_frames = FrameSplitter(link)
        self._server_silent = 0
        self.apdus_to_meter: list[bytes] = []
        """Every APDU the meter's link delivered to its sessions (each once, whatever the line did)."""
        self.restart_meter()

    @property
    def description(self) -> str:
        return f"simulated {self.link_kind} line to a meter (seed {self.plan.seed})"

    @property
    def is_open(self) -> bool:
        return self._open

    @property
    def stats(self) -> FaultStats:
        """Both directions' fault counts together."""
        total = FaultStats()
        total.add(self.to_meter.stats)
        total.add(self.to_client.stats)
        return total

    def restart_meter(self) -> None:
        """The meter loses its link and sessions (a power cut): what it was doing is gone."""
        self.restarts += 1
        self.server_link: Link = (
            WrapperServerLink(1)
            if self.link_kind == "wrapper"
            else HdlcServerLink(
                SERVER,
                self.limits,
                accept_client=lambda sap: self.meter.association_settings(sap) is not None,
            )
        )
        self.sessions: dict[int, ServerSession] = {}

    def open(self) -> None:
        self._open = True

    def close(self) -> None:
        self._open = False

    def __enter__(self) -> SimulatedLine:
        self.open()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def send(self, data: bytes) -> None:
        for unit in self._client_frames.feed(data):
            self.to_meter.send(unit, self.now)

    def recv(self, timeout: float) -> bytes:
        """What reaches the client within ``timeout_steps`` steps (``timeout`` is not used: time is
        counted in steps)."""
        if self._arrived:
            return self._arrived.pop(0)
        for _ in range(self.timeout_steps):
            self._tick()
            arrived = self.to_client.receive(self.now)
            if arrived and self.frame_per_read:
                self._arrived = arrived[1:]
                return arrived[0]
            if arrived:
                return b"".join(arrived)
        raise MeterTimeout(f"nothing from the simulated meter in {self.timeout_steps} steps")

    def _tick(self) -> None:
        self.now += 1
        if self.now > self.max_steps:
            raise HangDetected(f"still running after {self.max_steps} steps ({self.stats})")
        units = self.to_meter.receive(self.now)
        link = self.server_link
        for unit in units:
            for event in link.receive_data(unit):
                self._meter_event(event)
        self._server_silent = 0 if units else self._server_silent + 1
        if link.needs_timer and self._server_silent >= self.timeout_steps:
            link.on_timeout()
        for unit in self._meter_frames.feed(link.data_to_send()):
            self.to_client.send(unit, self.now)

    def _meter_event(self, event: object) -> None:
        """What :class:`~dlmskit.simulator.server.MeterServer` does with its link's events."""
        link = self.server_link
        if isinstance(event, (LinkOpened, LinkClosed)):
            self.sessions.clear()
        elif isinstance(event, ApduReceived):
            client = (
                link.client_address if isinstance(link, HdlcServerLink) else link.client_wport  # type: ignore[attr-defined]
            )
            if client is None:
                return
            self.apdus_to_meter.append(event.apdu)
            session = self.sessions.get(client)
            if session is None:
                session = self.sessions[client] = ServerSession(self.meter, client)
            for response in session.receive(event.apdu):
                link.send_apdu(response)


def client_link(
    case: Case,
    kind: Literal["hdlc", "wrapper"] = "hdlc",
    *,
    parameters: HdlcParameters = DEFAULT_PARAMETERS,
    max_retries: int = 3,
) -> Link:
    if kind == "wrapper":
        return WrapperLink(CLIENT_SAP[case], 1)
    return HdlcClientLink(CLIENT_SAP[case], SERVER, parameters, max_retries=max_retries)


@dataclass
class TransferInterrupted(Exception):
    """A profile read stopped on an error; ``rows`` are the rows read before it."""

    rows: list[Any]
    cause: DlmsError

    def __str__(self) -> str:
        return f"profile read interrupted after {len(self.rows)} rows: {self.cause}"


@dataclass
class ProfileReader:
    """Reads the demo load profile in slices of ``slice_rows`` entries (selective access by entry),
    keeping every row read, so that after a failure the caller knows what it has and can go on from
    the next entry over a new connection."""

    first: int
    last: int
    slice_rows: int = 500
    rows: list[Any] = field(default_factory=list)
    requests: int = 0

    @property
    def done(self) -> bool:
        return self.first + len(self.rows) > self.last

    def read(self, connection: Connection, on_progress: Callable[[int], None] | None = None) -> list[Any]:
        """Read the missing rows over ``connection``; raises :class:`TransferInterrupted` with the
        rows read so far when the connection fails."""
        session = connection.session
        while not self.done:
            start = self.first + len(self.rows)
            stop = min(start + self.slice_rows - 1, self.last)
            self.requests += 1
            try:
                event = connection.request(
                    session.get(PROFILE, entry_range(start, stop)), context=f"profile rows {start}..{stop}"
                )
            except DlmsError as error:
                raise TransferInterrupted(list(self.rows), error) from error
            assert isinstance(event, GetCompleted), event
            value = event.results[0].value
            assert isinstance(value, list) and len(value) == stop - start + 1, (start, stop, value)
            self.rows.extend(value)
            if on_progress is not None:
                on_progress(len(self.rows))
        return self.rows


def axdr_rows(rows: list[Any]) -> bytes:
    """The rows as one A-XDR array (to compare what was read with what the meter holds, byte for byte)."""
    return axdr.encode(axdr.Array(rows))
