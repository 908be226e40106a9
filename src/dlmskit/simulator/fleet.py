"""A fleet of simulated meters in one process, for the head-end: ``dlmskit simulate --fleet N``.

Each meter is the model's meter with its own identity, derived from the fleet's seed and its index: serial
number, logical device name, system title, HDLC physical address and the management client's keys
(demo keys: anyone who knows the seed can derive them). Each listens on its own TCP port (a range from
``port``, or free ports with ``port=0``). A share of the meters can be made **unreachable** (nothing listens
on their port), **slow** (answers after ``slow_delay`` seconds, beyond a head-end's timeout) or **faulty**
(the inventory lists keys the meter does not have, as after a failed key change); every answer waits
``delay`` seconds plus up to ``jitter`` seconds, like a GPRS round trip.

:meth:`Fleet.inventory_toml` writes the inventory a head-end imports (``dlmskit headend import``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as _dt
import json
import logging
import random
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from cryptography.hazmat.primitives import hashes

from dlmskit.apdu.block import GeneralBlockTransfer
from dlmskit.apdu.common import CosemAttributeDescriptor, LongInvokeIdAndPriority
from dlmskit.apdu.notification import DataNotification, EventNotificationRequest
from dlmskit.apdu.results import DataAccessResult
from dlmskit.codec import axdr
from dlmskit.codec.cosem_datetime import CosemDateTime
from dlmskit.codec.obis import Obis
from dlmskit.errors import ConfigurationError
from dlmskit.link.hdlc_address import HdlcAddress
from dlmskit.link.hdlc_frame import LLC_RESPONSE, Control, FrameType, HdlcFrame, segment
from dlmskit.link.wrapper import WrapperFrame
from dlmskit.security.ciphering import encrypt_apdu
from dlmskit.security.suite0 import GcmCipher
from dlmskit.session.protection import counter_key_id
from dlmskit.simulator.meter import SimulatedMeter
from dlmskit.simulator.model import MeterModel, default_model
from dlmskit.simulator.runner import meter_server
from dlmskit.simulator.server import ConnectionLimit, LinkKind, MeterServer, raise_open_file_limit

log = logging.getLogger("dlmskit.simulator.fleet")

__all__ = ["Fleet", "FleetMeter", "PushKind", "PushLink"]

MANAGEMENT_CLIENT = 1
PUSH_SETUP = "0.0.25.9.0.255"
"""The push setup object whose push_object_list says what a fleet meter pushes (when its model has one)."""
EVENT_CODE = "0.0.96.11.0.255"

PushKind = str
"""``data`` (data-notifications), ``event`` (event-notifications of the last event code) or ``both``."""
PushLink = str
"""``wrapper`` (wrapper/UDP) or ``hdlc`` (HDLC UI frames over one TCP connection)."""


def _derive(seed: int, index: int, what: str, size: int) -> bytes:
    digest = hashes.Hash(hashes.SHA256())
    digest.update(f"dlmskit-fleet/{seed}/{index}/{what}".encode())
    return digest.finalize()[:size]


@dataclass(frozen=True)
class FleetMeter:
    """One meter of the fleet: its identity, where it listens and how it misbehaves (``ok`` when it does not)."""

    index: int
    name: str
    serial_number: str
    logical_device_name: str
    system_title: bytes
    hdlc_physical_address: int
    block_cipher_key: bytes = dataclasses.field(repr=False)
    authentication_key: bytes = dataclasses.field(repr=False)
    behaviour: str = "ok"
    port: int = 0


class Fleet:
    """``count`` meters from ``model`` (the built-in one by default); :meth:`start` serves them."""

    def __init__(
        self,
        count: int,
        *,
        seed: int = 1,
        model: MeterModel | None = None,
        link: LinkKind = "hdlc",
        delay: float = 0.0,
        jitter: float = 0.0,
        unreachable: float = 0.0,
        slow: float = 0.0,
        faulty: float = 0.0,
        slow_delay: float = 30.0,
        time_speed: float | None = None,
        max_connections: int | None = None,
        max_total_connections: int | None = None,
    ) -> None:
        if not 1 <= count <= 16_000:
            raise ConfigurationError(f"a fleet has 1..16000 meters, not {count}")
        if min(unreachable, slow, faulty) < 0 or unreachable + slow + faulty > 1:
            raise ConfigurationError(
                "the shares of unreachable, slow and faulty meters must add up to 1 at most"
            )
        self.seed = seed
        self.link = link
        self.model = model if model is not None else default_model()
        self.delay, self.jitter, self.slow_delay = delay, jitter, slow_delay
        self.max_connections = max_connections
        """Connections each meter serves at once (None: the model's nb_of_sim_conn, else no cap)."""
        self.connection_limit = ConnectionLimit(max_total_connections, "max_total_connections, the fleet's")
        """Connections the whole fleet serves at once (its ``limit`` None: no cap)."""
        self._random = random.Random(seed)  # noqa: S311 - simulated delays, not secrets
        behaviours = (
            ["unreachable"] * round(count * unreachable)
            + ["slow"] * round(count * slow)
            + ["faulty"] * round(count * faulty)
        )
        behaviours += ["ok"] * (count - len(behaviours))
        self._random.shuffle(behaviours)
        self.meters = [self._identity(i, behaviours[i]) for i in range(count)]
        self._time_speed = time_speed
        self.simulated: list[SimulatedMeter | None] = []
        self.servers: list[MeterServer] = []
        self._closed_ports: list[socket.socket] = []

    def _identity(self, index: int, behaviour: str) -> FleetMeter:
        manufacturer = self.model.meter.manufacturer
        serial = f"{(self.seed % 90) + 10:02d}{index + 1:06d}"
        return FleetMeter(
            index=index,
            name=f"{manufacturer}{serial}",
            serial_number=serial,
            logical_device_name=f"{manufacturer}{int(serial):013d}",
            system_title=manufacturer.upper().encode("ascii") + int(serial).to_bytes(5, "big"),
            hdlc_physical_address=0x10 + index,
            block_cipher_key=_derive(self.seed, index, "ek", 16),
            authentication_key=_derive(self.seed, index, "ak", 16),
            behaviour=behaviour,
        )

    def meter_model(self, meter: FleetMeter) -> MeterModel:
        """The model of one fleet meter: the fleet's model with the meter's identity and keys."""
        settings = dataclasses.replace(
            self.model.meter,
            serial_number=meter.serial_number,
            logical_device_name=meter.logical_device_name,
            system_title=meter.system_title,
            hdlc_physical_address=meter.hdlc_physical_address,
            seed=self.seed * 100_000 + meter.index,
        )
        if self._time_speed is not None:
            settings = dataclasses.replace(settings, time_speed=self._time_speed)
        associations = []
        for association in self.model.associations:
            changes: dict[str, object] = {"server_system_title": meter.system_title}
            if association.client_sap == MANAGEMENT_CLIENT:
                changes.update(
                    block_cipher_key=meter.block_cipher_key, authentication_key=meter.authentication_key
                )
            associations.append(dataclasses.replace(association, **changes))  # type: ignore[arg-type]
        return dataclasses.replace(self.model, meter=settings, associations=tuple(associations))

    def check_open_files(self, limit: int | None) -> bool:
        """Warn, in words, when the open files limit cannot hold every reachable meter's listening socket
        and one connection to each at once (the fleet's total cap, when set, bounds the connections): past
        it the kernel completes connections the process cannot accept, and they are reset. Returns whether
        the limit is enough."""
        if limit is None:
            return True
        listening = sum(meter.behaviour != "unreachable" for meter in self.meters)
        connections = listening
        if self.connection_limit.limit is not None:
            connections = min(connections, self.connection_limit.limit)
        needed = listening + connections + 64  # the process's own files, the event loop's
        if needed <= limit:
            return True
        log.warning(
            "the open files limit (%d) is below what %d meters need with one connection each at once (about "
            "%d): connections past it are reset; raise the hard limit (ulimit -Hn, systemd LimitNOFILE=), "
            "cap them with --max-total-connections, or serve the fleet from several processes",
            limit,
            listening,
            needed,
        )
        return False

    def _delay(self, slow: bool) -> float:
        base = self.slow_delay if slow else self.delay
        return base + (self._random.random() * self.jitter if self.jitter else 0.0)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Serve every reachable meter: on ``port + index`` (``port=0``: any free port). The process's open
        files limit is raised to the hard limit first (each meter listens on a socket of its own)."""
        self.check_open_files(raise_open_file_limit())
        placed = []
        for meter in self.meters:
            wanted = port + meter.index if port else 0
            if meter.behaviour == "unreachable":
                self.simulated.append(None)
                placed.append(dataclasses.replace(meter, port=wanted or self._free_port(host)))
                continue
            simulated = SimulatedMeter(self.meter_model(meter))
            slow = meter.behaviour == "slow"
            delayed = slow or self.delay > 0 or self.jitter > 0
            server = meter_server(
                simulated,
                self.link,
                response_delay=(lambda slow=slow: self._delay(slow)) if delayed else None,
                max_connections=self.max_connections,
                connection_limit=self.connection_limit,
            )
            listener = await server.start_tcp(host, wanted)
            self.simulated.append(simulated)
            self.servers.append(server)
            bound = cast(asyncio.Server, listener).sockets[0].getsockname()[1]
            placed.append(dataclasses.replace(meter, port=bound))
        self.meters = placed
        self.host = host

    def _free_port(self, host: str) -> int:
        """A port nothing listens on: bound (so no other server of this process takes it), never listened on."""
        holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        holder.bind((host, 0))
        self._closed_ports.append(holder)
        return int(holder.getsockname()[1])

    @staticmethod
    def push_frame(meter: FleetMeter, simulated: SimulatedMeter) -> bytes:
        """One push of ``meter`` as a wrapper frame: a DataNotification (what its push setup object's
        push_object_list names; its logical device name and the counter for a model without one),
        general-glo-ciphered with its keys and the next of its own invocation counters."""
        return WrapperFrame(1, 1, Fleet.push_apdu(meter, simulated)).encode()

    @staticmethod
    def push_apdu(meter: FleetMeter, simulated: SimulatedMeter, kind: PushKind = "data") -> bytes:
        """One push of ``meter``, general-glo-ciphered: a data-notification, or (``kind="event"``) an
        event-notification of its last event code (0.0.96.11.0.255), with the time."""
        cipher = GcmCipher(meter.block_cipher_key, meter.authentication_key)
        counter = simulated.counters.next(meter.system_title, counter_key_id(meter.block_cipher_key))
        stamp = CosemDateTime.from_datetime(_dt.datetime.now(_dt.timezone.utc))
        if kind == "event":
            code = axdr.LongUnsigned(simulated.last_event_code & 0xFFFF)
            descriptor = CosemAttributeDescriptor(1, Obis.parse(EVENT_CODE), 2)
            plain = EventNotificationRequest(descriptor, code, stamp).encode()
        else:
            plain = DataNotification(
                LongInvokeIdAndPriority(counter & 0xFFFFFF),
                stamp,
                Fleet._push_body(meter, simulated, counter),
            ).encode()
        return encrypt_apdu(
            plain, kind="general-glo", sc=0x30, system_title=meter.system_title, ic=counter, keys=cipher
        )

    @staticmethod
    def _push_body(meter: FleetMeter, simulated: SimulatedMeter, counter: int) -> axdr.Data:
        setup = simulated.find(Obis.parse(PUSH_SETUP))
        if setup is None:
            return axdr.Structure(
                [
                    axdr.OctetString(meter.logical_device_name.encode("ascii")),
                    axdr.DoubleLongUnsigned(counter),
                ]
            )
        values = []
        for entry in setup.read(2, None, None):
            target = simulated.find(Obis.from_bytes(bytes(entry[1])))
            value = target.read(int(entry[2]), None, None) if target is not None else None
            values.append(None if isinstance(value, DataAccessResult) else value)
        return axdr.Structure(values)

    @staticmethod
    def push_frames(
        meter: FleetMeter,
        simulated: SimulatedMeter,
        *,
        kind: PushKind = "data",
        gbt: int = 0,
        link: PushLink = "wrapper",
        hdlc_max_info: int = 128,
    ) -> list[bytes]:
        """One push of ``meter`` as the frames to send: wrapper frames or HDLC UI frames (from the meter's
        HDLC address, segmented beyond ``hdlc_max_info`` bytes), the APDU cut into general-block-transfer
        blocks of ``gbt`` bytes when ``gbt`` is not 0 (the meter sends them unconfirmed, numbered from 1)."""
        apdu = Fleet.push_apdu(meter, simulated, kind)
        apdus = [apdu]
        if gbt:
            pieces = [apdu[i : i + gbt] for i in range(0, len(apdu), gbt)]
            apdus = [
                GeneralBlockTransfer(n == len(pieces), False, 1, n, 0, piece).encode()
                for n, piece in enumerate(pieces, start=1)
            ]
        if link != "hdlc":
            return [WrapperFrame(1, 1, one).encode() for one in apdus]
        source = HdlcAddress(1, meter.hdlc_physical_address, 4)
        frames = []
        for one in apdus:
            parts = segment(LLC_RESPONSE + one, hdlc_max_info)
            frames += [
                HdlcFrame(
                    HdlcAddress(MANAGEMENT_CLIENT),
                    source,
                    Control(FrameType.UI, poll_final=True),
                    part,
                    segmented=n < len(parts) - 1,
                ).encode()
                for n, part in enumerate(parts)
            ]
        return frames

    async def push_forever(
        self,
        host: str,
        port: int,
        every: float,
        *,
        kind: PushKind = "data",
        gbt: int = 0,
        link: PushLink = "wrapper",
    ) -> None:
        """Push mode: every ``every`` seconds (spread with jitter) each reachable meter sends a DataNotification
        over wrapper/UDP to ``host:port``, general-glo-ciphered with its keys and its own invocation counter.
        Faulty meters push with the keys they have, which the head-end's inventory does not list.

        ``kind="event"`` sends event-notifications instead, ``"both"`` one of each in turn; ``gbt`` cuts each
        push into general-block-transfer blocks of that many bytes; ``link="hdlc"`` sends HDLC UI frames over
        one TCP connection to ``host:port`` (as meters behind a concentrator) instead of wrapper/UDP."""
        loop = asyncio.get_running_loop()
        if link == "hdlc":
            _reader, writer = await asyncio.open_connection(host, port)

            def send(frames: list[bytes]) -> None:
                writer.write(b"".join(frames))

            closer = writer.close
        else:
            transport, _ = await loop.create_datagram_endpoint(
                asyncio.DatagramProtocol, remote_addr=(host, port)
            )

            def send(frames: list[bytes]) -> None:
                for frame in frames:
                    transport.sendto(frame)

            closer = transport.close

        async def one(meter: FleetMeter, simulated: SimulatedMeter) -> None:
            await asyncio.sleep(self._random.random() * every)
            turn = 0
            while True:
                what = kind if kind != "both" else ("data", "event")[turn % 2]
                turn += 1
                send(self.push_frames(meter, simulated, kind=what, gbt=gbt, link=link))
                await asyncio.sleep(every)

        try:
            await asyncio.gather(
                *(one(m, s) for m, s in zip(self.meters, self.simulated, strict=True) if s is not None)
            )
        finally:
            closer()

    async def call_in_forever(self, host: str, port: int, every: float) -> None:
        """Inbound mode: each reachable meter connects to the head-end at ``host:port`` (a GPRS meter behind
        NAT calling in), says who it is with a push (a wrapper frame, or an HDLC UI frame with the HDLC
        link; see :meth:`push_frames`), then
        serves DLMS on that connection until the head-end hangs up, and calls again after ``every`` seconds
        (the first call spread over ``every``; a refused call is retried likewise)."""
        reachable = [(m, s) for m, s in zip(self.meters, self.simulated, strict=True) if s is not None]

        async def call(meter: FleetMeter, simulated: SimulatedMeter, server: MeterServer) -> None:
            try:
                reader, writer = await asyncio.open_connection(host, port)
            except OSError as error:
                log.info("%s: cannot call the head-end at %s:%d: %s", meter.name, host, port, error)
                return

            async def read() -> bytes:
                return await reader.read(65536)

            async def write(data: bytes) -> None:
                writer.write(data)
                await writer.drain()

            try:
                if self.link == "wrapper":
                    await write(self.push_frame(meter, simulated))
                elif self.link == "hdlc":  # a UI frame from the meter's HDLC address
                    await write(b"".join(self.push_frames(meter, simulated, link="hdlc")))
                await server.serve_stream(read, write, f"head-end {host}:{port}")
            finally:
                writer.close()
                with contextlib.suppress(ConnectionError, OSError):
                    await writer.wait_closed()

        async def one(meter: FleetMeter, simulated: SimulatedMeter, server: MeterServer) -> None:
            await asyncio.sleep(self._random.random() * every)
            while True:
                await call(meter, simulated, server)
                await asyncio.sleep(every)

        await asyncio.gather(
            *(one(m, s, server) for (m, s), server in zip(reachable, self.servers, strict=True))
        )

    async def close(self) -> None:
        """Stop every meter."""
        for server in self.servers:
            with contextlib.suppress(Exception):
                await server.close()
        for holder in self._closed_ports:
            holder.close()
        self.servers.clear()

    def inventory_toml(
        self, *, group: str = "fleet", template: str = "fleet-gmac", timeout: float = 5.0
    ) -> str:
        """The inventory file of the fleet for the head-end: one template and one ``[[meter]]`` per meter."""
        lines = [
            "# A simulated fleet (dlmskit simulate --fleet): demo keys derived from the seed; never use them on a real meter.",
            f"[template.{template}]",
            f'link = "{self.link}"',
            f"client_address = {MANAGEMENT_CLIENT}",
            'authentication = "gmac"',
            'security_policy = "auth-enc"',
            f"server_logical = {self.model.meter.hdlc_logical_address}",
            f"timeout = {timeout!r}",
            f"connect_timeout = {timeout!r}",
            "",
        ]
        host = getattr(self, "host", "127.0.0.1")
        for meter in self.meters:
            ak = meter.authentication_key
            if meter.behaviour == "faulty":
                ak = bytes(b ^ 0xFF for b in ak)
            lines += [
                "[[meter]]",
                f"name = {json.dumps(meter.name)}",
                f"template = {json.dumps(template)}",
                f"groups = [{json.dumps(group)}]",
                f"host = {json.dumps(host)}",
                f"port = {meter.port}",
                f"server_physical = {meter.hdlc_physical_address}",
                f'meter_system_title = "{meter.system_title.hex().upper()}"',
                f"logical_device_name = {json.dumps(meter.logical_device_name)}",
                f'block_cipher_key = "{meter.block_cipher_key.hex().upper()}"',
                f'authentication_key = "{ak.hex().upper()}"',
                f"# behaviour: {meter.behaviour}",
                "",
            ]
        return "\n".join(lines)

    def write_inventory(self, path: str | Path, *, group: str = "fleet", timeout: float = 5.0) -> Path:
        """Write :meth:`inventory_toml` to ``path`` (through a temporary file: a reader never sees half of it)."""
        file = Path(path)
        partial = file.with_name(file.name + ".partial")
        partial.write_text(self.inventory_toml(group=group, timeout=timeout), encoding="utf-8")
        partial.replace(file)
        return file
