"""A bad line on purpose: lost, repeated, damaged, late and overtaken frames between two link ends.

A meter stack earns trust by surviving what the field throws at it: optical heads that lose a byte,
GSM modems that repeat a packet, radio links that arrive late. This module reproduces those faults,
deterministically from a seed, so that a test (or a user checking their own meter model) can show a
session either completes with the right data or fails with a clear error, and never hangs:

- :class:`FaultPlan` says how often each fault happens. ``plan.line(name)`` gives a
  :class:`FaultyLine`, one direction of a line, whose faults follow from the seed and the name only.
- :class:`FrameSplitter` cuts a byte stream into the units the faults apply to: HDLC frames, wrapper
  frames, or the chunks as they come.
- :class:`FaultyWire` joins two sans-I/O links (:class:`~dlmskit.link.events.Link`) in memory through
  two faulty lines, with a step clock and each link's response timer; no sockets, no sleeps.
- :class:`FaultyProxy` is an asyncio TCP proxy on the loopback interface that applies a plan to the
  frames between a client and a server (for example :class:`~dlmskit.simulator.server.MeterServer`).

The faults, decided per unit (frame) in this order:

``drop``
    The unit is lost.
``corrupt``
    One byte of the unit is replaced by another value (a burst of at most 8 bits, which the HDLC
    frame check sequence always detects).
``duplicate``
    The unit arrives twice.
``delay``
    The unit arrives up to ``max_delay`` later; the units behind it wait for it (a slow line keeps
    the order).
``reorder``
    The unit is held back and arrives right after the next unit (or after ``max_delay`` when no other
    unit comes): the only fault that changes the order. HDLC counting modulo 8 relies on a line that
    keeps frames in order, as a serial line does; reordering shows what happens when it does not.

Time is whatever the caller counts in: steps for :class:`FaultyWire`, seconds of the event loop
for :class:`FaultyProxy`. Apart from the proxy this module does no I/O and reads no clock; the
randomness is a :class:`random.Random` seeded from the plan.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import ipaddress
import random
from collections.abc import Iterable
from dataclasses import dataclass, fields
from types import TracebackType
from typing import Final, Literal, TypeAlias

from dlmskit.errors import ConfigurationError, DecodeError
from dlmskit.link.events import Link, LinkEvent
from dlmskit.link.framer import HdlcFrameReader
from dlmskit.link.wrapper import WrapperFrameReader

__all__ = [
    "FaultPlan",
    "FaultStats",
    "FaultyLine",
    "FaultyProxy",
    "FaultyWire",
    "FrameSplitter",
    "Framing",
]

Framing: TypeAlias = Literal["hdlc", "wrapper", "chunks"]
"""What a fault applies to: one HDLC frame, one wrapper frame, or one chunk of bytes as it came."""

_READ_SIZE: Final = 65536


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """How often each fault happens (probabilities per unit, 0 to 1) and the seed that decides which
    units it hits. ``max_delay`` bounds ``delay`` and ``reorder``, in the time unit of the caller."""

    seed: int = 0
    drop: float = 0.0
    duplicate: float = 0.0
    corrupt: float = 0.0
    delay: float = 0.0
    reorder: float = 0.0
    max_delay: float = 3.0

    def __post_init__(self) -> None:
        for name in ("drop", "duplicate", "corrupt", "delay", "reorder"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigurationError(f"fault probability {name} must be 0..1, not {value}")
        if self.max_delay < 0:
            raise ConfigurationError(f"max_delay must be 0 or more, not {self.max_delay}")

    def line(self, name: str) -> FaultyLine:
        """One direction of a line (``name`` tells the directions apart, e.g. ``"client->server"``);
        the same plan and name always give the same faults."""
        return FaultyLine(self, random.Random(f"{self.seed}/{name}"))  # noqa: S311 - faults, not secrets


@dataclass
class FaultStats:
    """What a line did to the units sent over it."""

    units: int = 0
    delivered: int = 0
    dropped: int = 0
    corrupted: int = 0
    duplicated: int = 0
    delayed: int = 0
    reordered: int = 0

    def add(self, other: FaultStats) -> None:
        """Add the counts of ``other`` to these."""
        for item in fields(self):
            setattr(self, item.name, getattr(self, item.name) + getattr(other, item.name))


class FaultyLine:
    """One direction of a line with faults: units go in with :meth:`send` and come out, faults
    applied, with :meth:`receive` once they are due. Made by :meth:`FaultPlan.line`."""

    def __init__(self, plan: FaultPlan, rng: random.Random) -> None:
        self._plan = plan
        self._rng = rng
        self._queue: list[tuple[float, int, bytes]] = []
        """Units in flight: (due time, sequence, bytes), a heap."""
        self._held: list[bytes] = []
        """Units held back to arrive after the next unit."""
        self._held_since = 0.0
        self._last_due = float("-inf")
        self._sequence = 0
        self.stats = FaultStats()

    @property
    def in_flight(self) -> int:
        """Units sent and not received yet."""
        return len(self._queue) + len(self._held)

    @property
    def next_due(self) -> float | None:
        """When the next unit arrives (None when nothing is in flight)."""
        times = [self._queue[0][0]] if self._queue else []
        if self._held:
            times.append(self._held_since + self._plan.max_delay)
        return min(times) if times else None

    def send(self, unit: bytes, now: float) -> None:
        """Put one unit on the line at time ``now``."""
        plan, rng = self._plan, self._rng
        self.stats.units += 1
        # The same number of draws for every unit, so one fault never shifts the faults of later units.
        drop, corrupt, duplicate, delay, reorder = (rng.random() for _ in range(5))
        position = rng.randrange(len(unit)) if unit else 0
        change = rng.randrange(1, 256)
        late = rng.uniform(0.0, plan.max_delay)
        if drop < plan.drop:
            self.stats.dropped += 1
            return
        if unit and corrupt < plan.corrupt:
            self.stats.corrupted += 1
            damaged = bytearray(unit)
            damaged[position] ^= change
            unit = bytes(damaged)
        copies = [unit]
        if duplicate < plan.duplicate:
            self.stats.duplicated += 1
            copies.append(unit)
        due = now
        if delay < plan.delay:
            self.stats.delayed += 1
            due += late
        if reorder < plan.reorder and not self._held:
            self.stats.reordered += 1
            self._held = copies
            self._held_since = now
            return
        for copy in copies:
            self._schedule(copy, due)
        self._release_held(due)

    def receive(self, now: float) -> list[bytes]:
        """The units that have arrived by time ``now``, in arrival order."""
        if self._held and now >= self._held_since + self._plan.max_delay:
            self._release_held(now)
        arrived = []
        while self._queue and self._queue[0][0] <= now:
            arrived.append(heapq.heappop(self._queue)[2])
        self.stats.delivered += len(arrived)
        return arrived

    def _schedule(self, unit: bytes, due: float) -> None:
        self._last_due = max(due, self._last_due)
        heapq.heappush(self._queue, (self._last_due, self._sequence, unit))
        self._sequence += 1

    def _release_held(self, due: float) -> None:
        held, self._held = self._held, []
        for unit in held:
            self._schedule(unit, due)


class FrameSplitter:
    """Cuts a byte stream into the units faults apply to.

    For ``"hdlc"`` and ``"wrapper"`` each unit is one whole frame, found with
    :class:`~dlmskit.link.framer.HdlcFrameReader` or :class:`~dlmskit.link.wrapper.WrapperFrameReader`;
    bytes that do not form a frame (noise, a damaged frame, a broken wrapper stream) are not passed
    on: the splitter stands between peers that frame correctly, and the faults are the line's own.
    For ``"chunks"`` each piece of data is one unit, as it came.
    """

    def __init__(self, framing: Framing) -> None:
        if framing not in ("hdlc", "wrapper", "chunks"):
            raise ConfigurationError(f"framing must be hdlc, wrapper or chunks, not {framing!r}")
        self.framing = framing
        self._hdlc = HdlcFrameReader()
        self._wrapper = WrapperFrameReader()

    def feed(self, data: bytes) -> list[bytes]:
        """The units completed by ``data``."""
        if self.framing == "chunks":
            return [data] if data else []
        reader = self._hdlc if self.framing == "hdlc" else self._wrapper
        return [item.encode() for item in reader.feed(data) if not isinstance(item, DecodeError)]


class FaultyWire:
    """Two sans-I/O links joined in memory through a :class:`FaultPlan`, with a step clock.

    Each :meth:`step` moves what both links queued onto their lines, advances the clock by one,
    hands each link the units that arrived (one :meth:`~dlmskit.link.events.Link.receive_data` call per
    unit, as separate reads), and runs the response timers: a link that
    :attr:`~dlmskit.link.events.Link.needs_timer` and has received nothing for ``timeout_steps`` steps
    gets :meth:`~dlmskit.link.events.Link.on_timeout`. A ``timeout_steps`` shorter than the plan's
    ``max_delay`` makes late answers race with retransmissions, as on a slow line::

        wire = FaultyWire(client_link, server_link, FaultPlan(seed=7, drop=0.05))
        client_link.open()
        for _ in range(1000):  # always bound the loop
            client_events, server_events = wire.step()
            ...
    """

    def __init__(
        self, a: Link, b: Link, plan: FaultPlan, *, framing: Framing = "hdlc", timeout_steps: int = 4
    ) -> None:
        if timeout_steps < 1:
            raise ConfigurationError(f"timeout_steps must be 1 or more, not {timeout_steps}")
        self.a, self.b = a, b
        self.a_to_b = plan.line("a->b")
        self.b_to_a = plan.line("b->a")
        self.now = 0
        self.timeout_steps = timeout_steps
        self._splitters = (FrameSplitter(framing), FrameSplitter(framing))
        self._silent = [0, 0]
        """Steps since each link last received something."""

    @property
    def idle(self) -> bool:
        """Nothing in flight, nothing queued and neither link waiting for its timer."""
        return not (
            self.a_to_b.in_flight or self.b_to_a.in_flight or self.a.needs_timer or self.b.needs_timer
        )

    def step(self) -> tuple[list[LinkEvent], list[LinkEvent]]:
        """One tick of the clock; returns the events of link ``a`` and of link ``b``."""
        self.flush()
        self.now += 1
        events: tuple[list[LinkEvent], list[LinkEvent]] = ([], [])
        for index, (link, line) in enumerate(((self.a, self.b_to_a), (self.b, self.a_to_b))):
            units = line.receive(self.now)
            for unit in units:
                events[index].extend(link.receive_data(unit))
            self._silent[index] = 0 if units else self._silent[index] + 1
            if link.needs_timer and self._silent[index] >= self.timeout_steps:
                self._silent[index] = 0
                events[index].extend(link.on_timeout())
        self.flush()
        return events

    def flush(self) -> None:
        """Move what the links queued onto the lines (done by :meth:`step`; call it after queueing
        an APDU outside a step to put it on the line at the current time)."""
        for link, line, splitter in (
            (self.a, self.a_to_b, self._splitters[0]),
            (self.b, self.b_to_a, self._splitters[1]),
        ):
            data = link.data_to_send()
            for unit in splitter.feed(data):
                line.send(unit, self.now)


def _total(parts: Iterable[FaultStats]) -> FaultStats:
    total = FaultStats()
    for part in parts:
        total.add(part)
    return total


def _check_loopback(what: str, host: str) -> None:
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ConfigurationError(
            f"FaultyProxy {what} must be a loopback address (127.0.0.0/8, ::1), not {host!r}"
        )


class FaultyProxy:
    """An asyncio TCP proxy on the loopback interface that applies a :class:`FaultPlan` to the frames
    between a client and a server (delays in seconds)::

        async with FaultyProxy(("127.0.0.1", 0), ("127.0.0.1", meter_port), FaultPlan(seed=1, drop=0.05)) as proxy:
            ...  # connect the client to ("127.0.0.1", proxy.port)

    Every accepted connection opens its own connection to ``target`` and gets its own pair of lines
    (``"<n> client->server"``, ``"<n> server->client"``), so a run is repeatable from the seed.
    Bounded: both addresses must be loopback, a connection lasts at most ``max_lifetime`` seconds and
    is closed after ``idle_timeout`` seconds without traffic; :meth:`close` ends everything.
    """

    def __init__(
        self,
        listen: tuple[str, int],
        target: tuple[str, int],
        plan: FaultPlan,
        *,
        framing: Framing = "hdlc",
        max_lifetime: float = 60.0,
        idle_timeout: float = 30.0,
    ) -> None:
        _check_loopback("listen address", listen[0])
        _check_loopback("target address", target[0])
        FrameSplitter(framing)  # checks the framing
        self.listen, self.target, self.plan = listen, target, plan
        self.framing: Framing = framing
        self.max_lifetime = max_lifetime
        self.idle_timeout = idle_timeout
        self._lines: list[tuple[FaultyLine, FaultyLine]] = []
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def connections(self) -> int:
        """Connections accepted so far."""
        return len(self._lines)

    @property
    def client_to_server(self) -> FaultStats:
        """What the proxy did to the frames from the clients, all connections together."""
        return _total(lines[0].stats for lines in self._lines)

    @property
    def server_to_client(self) -> FaultStats:
        """What the proxy did to the frames from the server, all connections together."""
        return _total(lines[1].stats for lines in self._lines)

    @property
    def port(self) -> int:
        """The port the proxy listens on."""
        if self._server is None:
            raise ConfigurationError("the proxy is not started")
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> int:
        """Start listening; returns the port."""
        self._server = await asyncio.start_server(self._accept, self.listen[0], self.listen[1])
        return self.port

    async def close(self) -> None:
        """Stop listening and end every proxied connection."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def __aenter__(self) -> FaultyProxy:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(client_writer)
        number = len(self._lines)
        server_writer: asyncio.StreamWriter | None = None
        lines = (self.plan.line(f"{number} client->server"), self.plan.line(f"{number} server->client"))
        self._lines.append(lines)
        try:
            server_reader, upstream = await asyncio.wait_for(
                asyncio.open_connection(*self.target), timeout=min(5.0, self.max_lifetime)
            )
            server_writer = upstream
            self._writers.add(upstream)
            deadline = asyncio.get_running_loop().time() + self.max_lifetime
            forward = (
                self._forward(client_reader, upstream, lines[0], deadline),
                self._forward(server_reader, client_writer, lines[1], deadline),
            )
            # The connection ends when either side ends it (or the lifetime is over).
            pending = {asyncio.ensure_future(item) for item in forward}
            _done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for item in pending:
                item.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        except (OSError, asyncio.TimeoutError):
            pass
        except asyncio.CancelledError:
            # close() cancels the connections on purpose; ending quietly keeps asyncio's stream callback
            # (Python 3.11) from logging the cancellation as an error.
            pass
        finally:
            for writer in (client_writer, server_writer):
                if writer is not None:
                    writer.close()
                    self._writers.discard(writer)
            self._tasks.discard(task)

    async def _forward(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, line: FaultyLine, deadline: float
    ) -> None:
        """Carry one direction until end of stream, the idle timeout or the deadline."""
        loop = asyncio.get_running_loop()
        splitter = FrameSplitter(self.framing)
        quiet_since = loop.time()
        ended = False
        while True:
            now = loop.time()
            if now >= deadline or now - quiet_since >= self.idle_timeout:
                return
            due = line.next_due
            if ended and due is None:
                return
            wait = min(deadline, quiet_since + self.idle_timeout) - now
            if due is not None:
                wait = min(wait, max(0.0, due - now))
            if ended:
                await asyncio.sleep(wait)
            else:
                try:
                    data = await asyncio.wait_for(reader.read(_READ_SIZE), timeout=wait)
                except asyncio.TimeoutError:
                    data = None
                if data == b"":
                    ended = True  # deliver what is in flight, then end
                elif data:
                    quiet_since = loop.time()
                    for unit in splitter.feed(data):
                        line.send(unit, quiet_since)
            for unit in line.receive(loop.time()):
                writer.write(unit)
                await writer.drain()
