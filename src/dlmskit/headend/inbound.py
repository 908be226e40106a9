"""Inbound meters: meters that connect to the head-end as TCP clients (GPRS/LTE behind NAT).

The head-end listens (:class:`InboundListener`); a meter connects and the head-end is the DLMS client on the
connection the meter opened (:class:`AcceptedTransport`, a transport over an accepted socket):

1. **identification**, by the first push or by the logical device name. A meter that speaks first (a
   wrapper frame, or HDLC UI frames, within ``first_push_wait`` seconds) is identified by that push, checked and stored as the
   push listener does (known system title, new counter, tag verified with the meter's keys; quarantined
   otherwise, and the call ended). A meter that waits is asked: an association as the public client (no
   security, by default wrapper client 16 to logical device 1) reads the logical device name
   (0.0.42.0.0.255, attribute 2), then releases it; the name is looked up in the inventory (a meter whose
   ``logical_device_name`` is it, else a meter so named). An unknown meter is logged and counted, and the
   connection closed;
2. the meter's **address** is recorded in its inventory row (``inbound``: address and time), shown by
   the web console's dashboard (``where``);
3. its **job** runs on that connection: the listener's plan (the queued commands included), under the
   meter's lease, with its keys and invocation counters from the database, recorded in ``jobs`` like any
   other job (``busy`` when another head-end holds the lease);
4. the head-end hangs up. The meter calls again later.

HDLC over an inbound connection: a meter that pushes first in an HDLC UI frame is identified by that push
(its system title, or its HDLC address as the meter's ``server_physical``/``push_source_address``); one that
waits needs its HDLC address before it is known, so identification by logical device name uses the wrapper
(the TCP/IP profile of GPRS meters) unless ``identify`` says otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as _dt
import json
import logging
import os
import secrets
import socket
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from dlmskit.client import AsyncDlmsClient, MeterSettings
from dlmskit.errors import DlmsError, LinkError
from dlmskit.headend.counters import DatabaseCounterStore
from dlmskit.headend.inventory import Inventory, Meter
from dlmskit.headend.job import JobReport, run_job
from dlmskit.headend.meter_io import MeterIO, classify, counter_keys, make_settings
from dlmskit.headend.plans import ReadPlan
from dlmskit.headend.push import Arrival, HdlcPushReader, PushReceiver
from dlmskit.headend.store import Store, meters, utc
from dlmskit.headend.traces import capture
from dlmskit.link.wrapper import HEADER_LENGTH, MAX_APDU_LENGTH, WrapperFrame
from dlmskit.transport.base import (
    AsyncTransport,
    AsyncTransportBase,
    OnBytes,
    TransportClosed,
    no_data_error,
)

__all__ = ["AcceptedTransport", "InboundListener", "InboundStats", "record_address"]

log = logging.getLogger("dlmskit.headend.inbound")

LOGICAL_DEVICE_NAME = "0.0.42.0.0.255"
MAX_READ = 65536


class AcceptedTransport(AsyncTransportBase):
    """A transport over a TCP connection the meter opened and the head-end accepted.

    ``open`` and ``close`` do not connect or hang up: several associations (identification, then the job)
    follow each other on the one connection; :meth:`hang_up` ends it.
    """

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, on_bytes: OnBytes | None = None
    ) -> None:
        super().__init__(on_bytes)
        self._reader, self._writer = reader, writer
        host, port = writer.get_extra_info("peername")[:2]
        self.peer = f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
        self._gone = False

    @property
    def description(self) -> str:
        """``"inbound tcp 10.1.2.3:51234"``."""
        return f"inbound tcp {self.peer}"

    @property
    def is_open(self) -> bool:
        """Whether the meter is still connected (as far as we know)."""
        return not self._gone

    async def open(self) -> None:
        """Nothing to connect: the meter did; a connection the meter closed cannot be opened again."""
        if self._gone:
            raise TransportClosed(f"{self.description}: the meter hung up")

    async def close(self) -> None:
        """An association ended; the connection stays up for the next one (see :meth:`hang_up`)."""

    async def hang_up(self) -> None:
        """Close the connection."""
        self._gone = True
        self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()

    async def first_push(self, wait: float) -> Arrival | None:
        """The push the meter sends first, unasked: a wrapper frame, or HDLC UI frame(s) (checked as the push
        listener checks them, segments joined), or None when nothing arrives within ``wait`` seconds. Raises
        :class:`TransportClosed` when the meter hangs up, and :class:`~dlmskit.errors.LinkError` for bytes
        that are neither."""
        try:
            first = await asyncio.wait_for(self._reader.readexactly(1), wait)
        except asyncio.TimeoutError:
            return None
        except (asyncio.IncompleteReadError, OSError) as exc:
            self._gone = True
            raise TransportClosed(f"{self.description}: the meter hung up") from exc
        try:
            if first == b"\x7e":
                return await asyncio.wait_for(self._first_hdlc(), 10.0)
            head = first + await asyncio.wait_for(self._reader.readexactly(HEADER_LENGTH - 1), 10.0)
        except (asyncio.TimeoutError, asyncio.IncompleteReadError, OSError) as exc:
            self._gone = True
            raise TransportClosed(f"{self.description}: a first frame cut short") from exc
        length = int.from_bytes(head[6:8], "big")
        if head[:2] != b"\x00\x01" or length > MAX_APDU_LENGTH:
            raise LinkError(f"{self.description}: the first bytes are not a wrapper frame ({head.hex()})")
        try:
            body = await asyncio.wait_for(self._reader.readexactly(length), 10.0)
        except (asyncio.TimeoutError, asyncio.IncompleteReadError, OSError) as exc:
            self._gone = True
            raise TransportClosed(f"{self.description}: a wrapper frame cut short") from exc
        self._trace("rx", head + body)
        frame = WrapperFrame.decode(head + body)
        return Arrival(frame.apdu, f"inbound {self.peer}", ("wrapper", frame.source_wport))

    async def _first_hdlc(self) -> Arrival:
        """HDLC frames after the first flag, up to a complete push (at most 64 segments)."""
        frames = HdlcPushReader(f"inbound {self.peer}")
        for _ in range(64):
            head = await self._reader.readexactly(2)
            if head[0] == 0x7E:  # the opening flag of a frame after its predecessor's closing flag
                head = head[1:] + await self._reader.readexactly(1)
            length = int.from_bytes(head, "big") & 0x07FF
            if length < 7:
                raise LinkError(f"{self.description}: the first bytes are not an HDLC frame ({head.hex()})")
            frame = b"\x7e" + head + await self._reader.readexactly(length - 1)
            self._trace("rx", frame)
            found = frames.feed(frame)
            if found:
                return found[0]
        raise LinkError(f"{self.description}: more than 64 HDLC segments in the first push")

    async def send(self, data: bytes) -> None:
        """Send all of ``data``."""
        if self._gone:
            raise TransportClosed(f"{self.description}: the meter hung up")
        self._trace("tx", data)
        try:
            self._writer.write(data)
            await self._writer.drain()
        except OSError as exc:
            self._gone = True
            raise TransportClosed(f"{self.description}: {exc}") from exc

    async def recv(self, timeout: float) -> bytes:
        """The bytes that arrived, waiting at most ``timeout`` seconds for the first one."""
        if self._gone:
            raise TransportClosed(f"{self.description}: the meter hung up")
        try:
            chunk = await asyncio.wait_for(self._reader.read(MAX_READ), max(timeout, 0.0))
        except asyncio.TimeoutError:
            raise no_data_error(self.description, timeout) from None
        except OSError as exc:
            self._gone = True
            raise TransportClosed(f"{self.description}: {exc}") from exc
        if not chunk:
            self._gone = True
            raise TransportClosed(f"{self.description}: connection closed by the meter")
        self._trace("rx", chunk)
        return chunk


class _ClientOn(AsyncDlmsClient):
    """The asyncio client over a given transport (the connection a meter opened) instead of one it dials."""

    def __init__(self, settings: MeterSettings, transport: AcceptedTransport, **options: Any) -> None:
        super().__init__(settings, **options)
        self._accepted = transport

    async def _transport(self) -> AsyncTransport:
        await self._accepted.open()
        return self._accepted


def record_address(store: Store, meter: str, address: str) -> None:
    """Record where an inbound meter called from, and when, in its inventory row."""
    with store.engine.begin() as connection:
        found = connection.execute(sa.select(meters.c.body).where(meters.c.name == meter)).scalar()
        if found is None:
            return
        body = json.loads(found)
        body["inbound"] = {"address": address, "at": utc(_dt.datetime.now(_dt.timezone.utc))}
        connection.execute(
            sa.update(meters).where(meters.c.name == meter).values(body=json.dumps(body, sort_keys=True))
        )


@dataclass
class InboundStats:
    """What the listener did."""

    connections: int = 0
    identified: int = 0
    unknown: int = 0
    failed: int = 0
    """Connections where identification failed (no answer, refused, the meter hung up)."""
    outcomes: dict[str, int] = field(default_factory=dict)


class InboundListener:
    """Accepts meters' connections, identifies each meter and runs ``plan`` on its connection."""

    def __init__(
        self,
        inventory: Inventory,
        plan: ReadPlan,
        *,
        identify: MeterSettings | None = None,
        first_push_wait: float = 1.0,
        job_timeout: float = 120.0,
        lease_seconds: float = 60.0,
        max_connections: int = 1000,
        owner: str | None = None,
    ) -> None:
        self.inventory = inventory
        self.store = inventory.store
        self.plan = plan
        self.identify = identify or MeterSettings(
            link="wrapper", client_address=16, server_logical=1, authentication="none", timeout=10.0
        )
        self.first_push_wait = first_push_wait
        self.job_timeout = job_timeout
        self._pushes: PushReceiver | None = (
            PushReceiver(self.store, inventory, inventory.keystore)
            if inventory.keystore is not None
            else None
        )
        self.lease_seconds = lease_seconds
        self.max_connections = max_connections
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}:inbound"
        self.stats = InboundStats()
        self._servers: list[asyncio.AbstractServer] = []
        self._handlers: set[asyncio.Task[None]] = set()
        self._counters: dict[str, DatabaseCounterStore] = {}

    async def start(self, host: str = "0.0.0.0", port: int = 4059) -> asyncio.AbstractServer:  # noqa: S104
        """Listen for meters; returns the asyncio server (its first socket tells the port)."""

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            if task is not None:
                self._handlers.add(task)
                task.add_done_callback(self._handlers.discard)
            transport = AcceptedTransport(reader, writer)
            try:
                if len(self._handlers) > self.max_connections:
                    log.warning(
                        "%s: refused, %d inbound connections open", transport.peer, self.max_connections
                    )
                    return
                await self.serve(transport)
            except asyncio.CancelledError:
                log.info("%s: call cut short (the listener closes)", transport.peer)
            except Exception:  # one meter must never take the listener down
                log.exception("%s: inbound connection failed", transport.peer)
            finally:
                await transport.hang_up()

        server = await asyncio.start_server(handle, host, port, backlog=1024)
        self._servers.append(server)
        return server

    async def serve(self, transport: AcceptedTransport) -> str | None:
        """Identify the meter on ``transport`` and run the plan; returns the outcome (None: not identified)."""
        self.stats.connections += 1
        meter = await self._identify(transport)
        if meter is None:
            return None
        self.stats.identified += 1
        await asyncio.to_thread(record_address, self.store, meter.name, transport.peer)
        outcome, reason, _report = await self._job(meter, transport)
        self.stats.outcomes[outcome] = self.stats.outcomes.get(outcome, 0) + 1
        log.info("%s from %s: %s, %s", meter.name, transport.peer, outcome, reason)
        return outcome

    async def _identify(self, transport: AcceptedTransport) -> Meter | None:
        try:
            pushed = await transport.first_push(self.first_push_wait)
            if pushed is not None:
                return await self._by_push(transport, pushed)
            async with _ClientOn(self.identify, transport) as client:
                value = await client.read(LOGICAL_DEVICE_NAME, 2)
        except (DlmsError, OSError, asyncio.TimeoutError) as error:
            self.stats.failed += 1
            log.warning("%s: not identified: %s", transport.peer, classify(error)[1])
            return None
        raw = getattr(value, "value", value)
        name = raw.decode("ascii", "replace") if isinstance(raw, (bytes, bytearray)) else str(raw)
        found = await asyncio.to_thread(self._lookup, name)
        if found is None:
            self.stats.unknown += 1
            log.warning(
                "%s: unknown meter, logical device name %r (not in the inventory)", transport.peer, name
            )
        return found

    async def _by_push(self, transport: AcceptedTransport, pushed: Arrival) -> Meter | None:
        """The meter whose push this is: stored like any push when its system title is known, its counter
        new and its tag verified with the meter's keys; quarantined (and the call ended) otherwise."""
        if self._pushes is None:
            self.stats.failed += 1
            log.warning("%s: a push first, but no key store is open to check it", transport.peer)
            return None
        receiver = self._pushes
        result = (await asyncio.to_thread(receiver.receive_many, [pushed]))[0]
        if result.outcome != "stored" or result.meter is None:
            self.stats.unknown += 1
            log.warning("%s: not identified by its push: %s", transport.peer, result.reason)
            return None
        return await asyncio.to_thread(self.inventory.meter, result.meter)

    def _lookup(self, logical_device_name: str) -> Meter | None:
        every = self.inventory.meters()
        for meter in every:
            if meter.logical_device_name == logical_device_name:
                return meter
        for meter in every:
            if meter.name == logical_device_name:
                return meter
        return None

    async def _job(self, meter: Meter, transport: AcceptedTransport) -> tuple[str, str, JobReport | None]:
        started = utc(_dt.datetime.now(_dt.timezone.utc))
        report: JobReport | None = None
        if not await asyncio.to_thread(self.store.acquire_lease, meter.name, self.owner, self.lease_seconds):
            outcome, reason = "busy", "another head-end holds this meter's lease"
        else:
            try:
                report = await asyncio.wait_for(self._run(meter, transport), self.job_timeout)
                outcome, reason = "ok", f"{report.stored} new rows (inbound from {transport.peer})"
                if report.commands:
                    reason += "; " + ", ".join(f"command {i} {state}" for i, state, _ in report.commands)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                outcome, reason = classify(error)
            finally:
                await asyncio.to_thread(self.store.release_lease, meter.name, self.owner)
        await asyncio.to_thread(
            self.store.record_job,
            meter=meter.name,
            plan=self.plan.name,
            started_at=started,
            finished_at=utc(_dt.datetime.now(_dt.timezone.utc)),
            outcome=outcome,
            reason=reason[:2000],
            attempts=1,
            stored=report.stored if report is not None else 0,
        )
        return outcome, reason, report

    async def _run(self, meter: Meter, transport: AcceptedTransport) -> JobReport:
        settings = make_settings(await asyncio.to_thread(self.inventory.settings_of, meter))
        counters = self._counters.get(meter.name)
        if counters is None:
            counters = self._counters[meter.name] = DatabaseCounterStore(self.store, meter.name)
        await asyncio.to_thread(counters.prefetch, counter_keys(settings))
        commands = (
            await asyncio.to_thread(self.store.queued_commands, meter.name) if self.plan.commands else []
        )
        trace = capture(self.plan.trace_frames or meter.trace_frames, self.store, meter.name, settings)
        try:
            async with _ClientOn(settings, transport, counter_store=counters, on_frame=trace) as client:
                return await run_job(MeterIO(client), self.store, self.plan, meter.name, commands)
        finally:
            if trace is not None:
                await trace.save()

    async def close(self) -> None:
        """Stop listening and end the connections in progress."""
        for server in self._servers:
            server.close()
        for task in list(self._handlers):
            task.cancel()
        for task in list(self._handlers):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for server in self._servers:
            with contextlib.suppress(Exception):
                await server.wait_closed()
        self._servers.clear()
