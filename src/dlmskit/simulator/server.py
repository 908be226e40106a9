"""The simulator's network side: an asyncio server that runs one link and one session per connection.

:class:`MeterServer` serves any :class:`~dlmskit.session.server.ServerApplication` over HDLC or the wrapper,
on TCP (many concurrent connections, each with its own association), UDP (wrapper) or a serial line. One
connection's bad input, protocol errors or exceptions end that connection only; every other connection goes
on. A TCP connection is an :class:`asyncio.Protocol` (:class:`_TcpConnection`: bytes to the link as they
arrive, timers of the event loop); a serial line and a fleet's inbound calls run the same rules as a
coroutine (:meth:`MeterServer.serve_stream`).

Timeouts come from the meter's model when the application tells them (:meth:`SimulatedMeter.link_timeouts`,
asked again on every read, so a SET takes effect): a connection without a complete request for the
inactivity timeout is closed (a peer trickling a byte now and then is closed too, the timer runs from the
last answer), and over HDLC what arrived of a frame is dropped after the inter-octet timeout of silence.

Connections open at once are capped per server (``max_connections``, else the model's TCP-UDP setup
nb_of_sim_conn) and, with a shared :class:`ConnectionLimit`, across servers (a fleet's total); over a cap a new
connection is closed at once, and a log line says so at most every ``ConnectionLimit.LOG_EVERY`` seconds.

A request that may take long to answer (a whole load profile) is answered in slices
(:mod:`dlmskit.simulator.slices`), so that the other meters' connections are served meanwhile.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from dlmskit.apdu.common import ApduTag
from dlmskit.errors import ConfigurationError, MeterTimeout
from dlmskit.link.events import ApduReceived, Link, LinkClosed, LinkEvent, LinkFailed, LinkOpened
from dlmskit.link.hdlc_address import HdlcAddress
from dlmskit.link.hdlc_link import LARGEST_PARAMETERS, HdlcServerLink
from dlmskit.link.hdlc_parameters import HdlcParameters
from dlmskit.link.wrapper_link import WrapperServerLink
from dlmskit.session.server import ServerApplication, ServerSession
from dlmskit.simulator.slices import run_in_slices
from dlmskit.transport.base import AsyncTransport, TransportClosed
from dlmskit.transport.eventloop import within

__all__ = [
    "ConnectionLimit",
    "LinkKind",
    "LinkTimeouts",
    "MeterServer",
    "ServerStats",
    "may_take_long",
    "raise_open_file_limit",
]

log = logging.getLogger("dlmskit.simulator")

LinkKind = Literal["hdlc", "wrapper"]

MAX_UDP_PEERS = 10_000
"""Client addresses the UDP server remembers (links and sessions) before forgetting the oldest."""

DEFAULT_INACTIVITY_TIMEOUT = 120.0
"""Seconds without a complete request before a connection is closed, when neither the caller nor the model
says (the IEC HDLC setup's usual inactivity_time_out)."""


@dataclass(frozen=True)
class LinkTimeouts:
    """The timeouts of a connection, in seconds; None: none (the model's 0)."""

    inactivity: float | None
    """No complete request for this long (since the last answer): the connection is closed."""
    inter_octet: float | None = None
    """HDLC: this long without a byte in the middle of a frame drops what arrived of the frame."""


class ConnectionLimit:
    """A cap on the connections open at once, which one server or several (a fleet's total) share.

    Over the cap :meth:`acquire` says no; :meth:`refused` logs it, at most once every ``LOG_EVERY``
    seconds (with how many were refused since the last line), so a flood costs no more than a line.
    """

    LOG_EVERY = 10.0

    def __init__(self, limit: int | None, what: str = "max_connections") -> None:
        self.limit = limit
        self.what = what
        self.open = 0
        self.refused_total = 0
        self._unlogged = 0
        self._logged_at = -math.inf

    def full(self, open_now: int | None = None, limit: int | None = None) -> bool:
        """Whether another connection would be over the cap (``open_now``/``limit``: instead of our own)."""
        cap = self.limit if limit is None else limit
        return cap is not None and (self.open if open_now is None else open_now) >= cap

    def acquire(self) -> bool:
        """Count one more connection, unless the cap is reached."""
        if self.full():
            return False
        self.open += 1
        return True

    def release(self) -> None:
        self.open = max(0, self.open - 1)

    def refused(self, peer: str, open_now: int, limit: int) -> None:
        """Count a refused connection and log it unless a line went out less than LOG_EVERY seconds ago."""
        self.refused_total += 1
        self._unlogged += 1
        now = time.monotonic()
        if now - self._logged_at < self.LOG_EVERY:
            return
        more = self._unlogged - 1
        log.warning(
            "%s: refused, %d connections already open (the limit, %s)%s; refused connections are closed at "
            "once and logged at most every %.0f s",
            peer,
            open_now,
            self.what,
            f"; {more} more refused since the last line" if more > 0 else "",
            self.LOG_EVERY,
        )
        self._logged_at = now
        self._unlogged = 0


_MAY_TAKE_LONG: frozenset[int] = frozenset(
    {
        ApduTag.READ_REQUEST,  # SN: the variables are not worth decoding here
        ApduTag.GLO_READ_REQUEST,
        ApduTag.DED_READ_REQUEST,
        ApduTag.GLO_GET_REQUEST,
        ApduTag.DED_GET_REQUEST,
        ApduTag.GENERAL_GLO_CIPHERING,
        ApduTag.GENERAL_DED_CIPHERING,
        ApduTag.GENERAL_CIPHERING,
        ApduTag.GENERAL_SIGNING,
    }
)
_PROFILE_GENERIC = b"\x00\x07"


def may_take_long(apdu: bytes) -> bool:
    """Whether answering ``apdu`` may take long: a GET of a profile generic object (get-request-normal of
    class 7, or with-list), and every ciphered GET or SN READ (what they ask for is not known before the
    session deciphers them). Block continuations (get-request-next), SET, ACTION and AARQ are quick."""
    if not apdu:
        return False
    if apdu[0] == ApduTag.GET_REQUEST:
        return apdu[1:2] == b"\x03" or (apdu[1:2] == b"\x01" and apdu[3:5] == _PROFILE_GENERIC)
    if apdu[0] in (ApduTag.GLO_GET_REQUEST, ApduTag.DED_GET_REQUEST) and _ciphered_get_next(apdu):
        return False
    return apdu[0] in _MAY_TAKE_LONG


_GET_REQUEST_NEXT_SIZE = 7
"""C0 02, invoke-id-and-priority, block number (4 bytes)."""


def _ciphered_get_next(apdu: bytes) -> bool:
    """Whether a glo-/ded-get-request carries a get-request-next (a block continuation): told by the length
    of what it ciphers, which no other GET request has (security header: control byte and invocation
    counter, 5 bytes; the authentication tag, 12 bytes, when the control byte says authenticated)."""
    if len(apdu) < 3 or apdu[1] >= 0x80:
        return False
    length, control = apdu[1], apdu[2]
    plain = length - 5 - (12 if control & 0x10 else 0)
    return plain == _GET_REQUEST_NEXT_SIZE


def raise_open_file_limit() -> int | None:
    """Raise this process's soft limit of open files (RLIMIT_NOFILE) to the hard limit, so that a large fleet
    is not stopped by the usual 1024; returns the soft limit now (None where there is no such limit)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not a Unix
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft == resource.RLIM_INFINITY or soft < hard:
        wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        if wanted != soft:
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
                log.info("open files limit raised from %d to %d", soft, wanted)
                soft = wanted
            except (ValueError, OSError) as error:
                log.warning("cannot raise the open files limit from %d to %d: %s", soft, wanted, error)
    return int(soft)


@dataclass
class ServerStats:
    """Counters for tests and the console."""

    connections: int = 0
    active: int = 0
    apdus: int = 0
    connection_errors: int = 0
    closed_for_inactivity: int = 0
    partial_frames_dropped: int = 0
    """HDLC frames cut short by the inter-octet timeout."""
    refused_connections: int = 0
    sessions_by_client: dict[int, int] = field(default_factory=dict)


def _deadlines(
    timeouts: LinkTimeouts, link: Link, last_answer: float, last_byte: float
) -> tuple[float, float]:
    """When a connection is to be closed for inactivity (counted from its last answer: a peer trickling a byte
    now and then without ever completing a frame is closed like a silent one), and when what arrived of an
    incomplete HDLC frame is to be dropped (counted from the last byte); math.inf: never."""
    quiet_until = last_answer + timeouts.inactivity if timeouts.inactivity is not None else math.inf
    partial = isinstance(link, HdlcServerLink) and link.needs_timer
    octet_until = (
        last_byte + timeouts.inter_octet if partial and timeouts.inter_octet is not None else math.inf
    )
    return quiet_until, octet_until


class MeterServer:
    """Serve a meter application.

    ``server_address`` is the HDLC address the meter answers to (logical device 1, physical 17 by default);
    ``wrapper_port`` the wPort of the logical device for the wrapper; ``hdlc_limits`` what the meter's HDLC
    layer supports (2030-byte information fields and window 7 by default).
    """

    def __init__(
        self,
        application: ServerApplication,
        *,
        link: LinkKind = "hdlc",
        server_address: HdlcAddress | None = None,
        wrapper_port: int = 1,
        hdlc_limits: HdlcParameters = LARGEST_PARAMETERS,
        inactivity_timeout: float | None = None,
        challenge_factory: Callable[[], bytes] | None = None,
        response_delay: Callable[[], float] | None = None,
        max_connections: int | None = None,
        connection_limit: ConnectionLimit | None = None,
    ) -> None:
        self.application = application
        self.link_kind = link
        self.server_address = server_address or HdlcAddress(1, 17)
        self.wrapper_port = wrapper_port
        self.hdlc_limits = hdlc_limits
        self.inactivity_timeout = inactivity_timeout
        """Seconds without a complete request before a connection is closed; None: the model's (its IEC HDLC
        setup or TCP-UDP setup inactivity_time_out), else DEFAULT_INACTIVITY_TIMEOUT."""
        self.challenge_factory = challenge_factory
        self.response_delay = response_delay
        """Seconds to wait before each answer (a fleet's GPRS-like round trips); None: answer at once."""
        self.max_connections = max_connections
        """Concurrent TCP connections served at most (None: the model's TCP-UDP setup nb_of_sim_conn, if any);
        more are closed at once, with a log line at most every ConnectionLimit.LOG_EVERY seconds."""
        self.connection_limit = connection_limit
        """A cap shared with other servers (a fleet's total), or None."""
        self._own_limit = ConnectionLimit(None)
        self._turn = asyncio.Lock()
        """Held while a request of one of this meter's connections is answered (in slices: see slices.py), so
        that its answer is computed from one state of the meter."""
        self.stats = ServerStats()
        self._servers: list[asyncio.AbstractServer] = []
        self._datagram_transports: list[asyncio.DatagramTransport] = []
        self._connections: set[_TcpConnection] = set()
        self._handlers: set[asyncio.Task[Any]] = set()
        """Tasks answering TCP connections' requests that may take long or wait for the meter's turn (see
        :class:`_TcpConnection`)."""
        self._all_closed: asyncio.Future[None] | None = None

    # -- per connection ----------------------------------------------------------------------------------

    def timeouts(self) -> LinkTimeouts:
        """The timeouts that apply now: the model's (asked each time: a SET takes effect), the caller's
        ``inactivity_timeout`` over the model's inactivity timeout."""
        ask = getattr(self.application, "link_timeouts", None)
        model: LinkTimeouts | None = ask(self.link_kind) if ask is not None else None
        if self.inactivity_timeout is not None:
            inactivity: float | None = self.inactivity_timeout
        else:
            inactivity = model.inactivity if model is not None else DEFAULT_INACTIVITY_TIMEOUT
        inter_octet = model.inter_octet if model is not None and self.link_kind == "hdlc" else None
        return LinkTimeouts(inactivity, inter_octet)

    def connection_cap(self) -> int | None:
        """Connections this server serves at once: ``max_connections``, else the model's nb_of_sim_conn."""
        if self.max_connections is not None:
            return self.max_connections
        cap = getattr(self.application, "simultaneous_connections", None)
        return cap if isinstance(cap, int) else None

    def _make_link(self) -> Link:
        if self.link_kind == "wrapper":
            return WrapperServerLink(self.wrapper_port)
        accept = self.application.association_settings
        return HdlcServerLink(
            self.server_address, self.hdlc_limits, accept_client=lambda sap: accept(sap) is not None
        )

    def _session(self, client_sap: int) -> ServerSession:
        self.stats.sessions_by_client[client_sap] = self.stats.sessions_by_client.get(client_sap, 0) + 1
        quirks = frozenset(getattr(self.application, "quirks", ()))  # a SimulatedMeter's, if any
        if self.challenge_factory is not None:
            return ServerSession(
                self.application, client_sap, challenge_factory=self.challenge_factory, quirks=quirks
            )
        return ServerSession(self.application, client_sap, quirks=quirks)

    async def serve_stream(
        self, read: Callable[[], Awaitable[bytes]], write: Callable[[bytes], Awaitable[None]], peer: str
    ) -> None:
        """Run one connection: ``read`` returns the next bytes (b"" at the end), ``write`` sends bytes."""
        link = self._make_link()
        sessions: dict[int, ServerSession] = {}
        self.stats.connections += 1
        self.stats.active += 1
        log.info("connection from %s", peer)
        # Inactivity counts from the last answer, not the last byte: a peer trickling a byte now and then
        # without ever completing a frame is closed like a silent one. The inter-octet timeout (HDLC) counts
        # from the last byte, while a frame is incomplete.
        loop = asyncio.get_running_loop()
        last_answer = last_byte = loop.time()
        try:
            while True:
                timeouts = self.timeouts()
                quiet_until, octet_until = _deadlines(timeouts, link, last_answer, last_byte)
                until = min(quiet_until, octet_until)
                try:
                    if until == math.inf:
                        data = await read()
                    else:
                        data = await within(read(), max(0.0, until - loop.time()))
                except (asyncio.TimeoutError, MeterTimeout):
                    if self._expired(link, loop.time(), quiet_until, octet_until, timeouts, peer):
                        return
                    continue
                if not data:
                    return
                last_byte = loop.time()
                if not await self._handle_stream(link, sessions, data, peer):
                    out = link.data_to_send()
                    if out:
                        await write(out)
                    return
                out = link.data_to_send()
                if out:
                    last_answer = loop.time()
                    if self.response_delay is not None:
                        await asyncio.sleep(self.response_delay())
                    await write(out)
        except (ConnectionError, TransportClosed):
            pass
        except Exception:  # one bad connection must never take the server down
            self.stats.connection_errors += 1
            log.exception("%s: connection failed", peer)
        finally:
            self.stats.active -= 1
            log.info("connection from %s closed", peer)

    def _expired(
        self,
        link: Link,
        now: float,
        quiet_until: float,
        octet_until: float,
        timeouts: LinkTimeouts,
        peer: str,
    ) -> bool:
        """A connection's timer went off at ``now``: True when the inactivity timeout is over (the connection
        is to be closed); past the inter-octet timeout, what arrived of a frame is dropped."""
        if now >= quiet_until:
            self.stats.closed_for_inactivity += 1
            log.info(
                "%s: no complete request for %.0f s (the inactivity timeout), closing",
                peer,
                timeouts.inactivity,
            )
            return True
        if now >= octet_until:
            self.stats.partial_frames_dropped += 1
            link.on_timeout()  # drops what arrived of the frame
        return False

    async def _handle_stream(
        self, link: Link, sessions: dict[int, ServerSession], data: bytes, peer: str
    ) -> bool:
        """:meth:`_handle` for a stream, each event in this meter's turn (see :meth:`_handle_events`)."""
        return await self._handle_events(link, sessions, link.receive_data(data), peer)

    async def _handle_events(
        self, link: Link, sessions: dict[int, ServerSession], events: list[LinkEvent], peer: str
    ) -> bool:
        """Act on ``events`` of a stream's link, each in this meter's turn: a request that may take long (a GET
        of a profile, any ciphered GET) is answered in slices (see slices.py) when the application says it has
        long answers (``long_answers``: a SimulatedMeter with a load profile), so that the event loop serves
        the other meters' connections while a whole load profile is computed; this meter's other connections
        wait their turn. False when the connection must end."""
        slices = self._long_answers()
        for event in events:
            async with self._turn:
                if slices and isinstance(event, ApduReceived) and may_take_long(event.apdu):
                    handled = await run_in_slices(
                        functools.partial(self._on_event, link, sessions, event, peer)
                    )
                else:
                    handled = self._on_event(link, sessions, event, peer)
            if not handled:
                return False
        return True

    def _long_answers(self) -> bool:
        return bool(getattr(self.application, "long_answers", False))

    def _handle(
        self,
        link: Link,
        sessions: dict[int, ServerSession],
        data: bytes,
        peer: str,
        *,
        datagram: bool = False,
    ) -> bool:
        """Feed bytes (one datagram) to the link and the sessions; False when the connection must end."""
        if datagram and isinstance(link, WrapperServerLink):
            events = link.receive_datagram(data)
        else:
            events = link.receive_data(data)
        return all(self._on_event(link, sessions, event, peer) for event in events)

    def _on_event(self, link: Link, sessions: dict[int, ServerSession], event: LinkEvent, peer: str) -> bool:
        """Act on one event of the link; False when the connection must end."""
        if isinstance(event, LinkOpened):
            sessions.clear()  # a new SNRM resets everything on this link
        elif isinstance(event, ApduReceived):
            client = self._client_of(link)
            if client is None:
                return True
            session = sessions.get(client)
            if session is None:
                session = sessions[client] = self._session(client)
            self.stats.apdus += 1
            for response in session.receive(event.apdu):
                link.send_apdu(response)
        elif isinstance(event, LinkClosed):
            sessions.clear()
        elif isinstance(event, LinkFailed):
            self.stats.connection_errors += 1
            log.info("%s: %s", peer, event.error)
            return False
        return True

    @staticmethod
    def _client_of(link: Link) -> int | None:
        if isinstance(link, HdlcServerLink):
            return link.client_address
        if isinstance(link, WrapperServerLink):
            return link.client_wport
        return None  # pragma: no cover

    # -- TCP -----------------------------------------------------------------------------------------------

    async def start_tcp(self, host: str = "127.0.0.1", port: int = 4059) -> asyncio.AbstractServer:
        """Listen on TCP; returns the asyncio server (``server.sockets[0].getsockname()`` tells the port).

        Each connection is an :class:`asyncio.Protocol` (:class:`_TcpConnection`): bytes go to the link as they
        arrive, the timeouts and the response delay are timers of the event loop, and only a request that may
        take long runs as a task (in slices)."""
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: _TcpConnection(self), host, port, backlog=1024)
        self._servers.append(server)
        return server

    def _refuse(self, peer: str) -> bool:
        """Whether a new TCP connection from ``peer`` is over a cap (counted and logged: it is to be closed at
        once); else it is counted in the shared cap, if any."""
        cap = self.connection_cap()
        shared = self.connection_limit
        refused_by: tuple[ConnectionLimit, int, int] | None = None
        if cap is not None and self._own_limit.full(len(self._connections), cap):
            self._own_limit.what = (
                "max_connections" if self.max_connections is not None else "the model's nb_of_sim_conn"
            )
            refused_by = (self._own_limit, len(self._connections), cap)
        elif shared is not None and not shared.acquire():
            refused_by = (shared, shared.open, shared.limit or 0)
        if refused_by is None:
            return False
        self.stats.refused_connections += 1
        limit, open_now, most = refused_by
        limit.refused(peer, open_now, most)
        return True

    # -- UDP (the wrapper only) ------------------------------------------------------------------------------

    async def start_udp(self, host: str = "127.0.0.1", port: int = 4059) -> asyncio.DatagramTransport:
        """Serve the wrapper over UDP: each datagram is one wrapper frame; every client address
        (host, port) has its own link and sessions. At most ``MAX_UDP_PEERS`` are remembered (the oldest
        is forgotten first), so a flood of spoofed sources cannot grow memory without bound."""
        if self.link_kind != "wrapper":
            raise ConfigurationError("UDP carries the wrapper (IEC 62056-47), not HDLC")
        server = self
        peers: collections.OrderedDict[tuple[str, int], tuple[WrapperServerLink, dict[int, ServerSession]]]
        peers = collections.OrderedDict()

        class _Protocol(asyncio.DatagramProtocol):
            transport: asyncio.DatagramTransport

            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                self.transport = transport  # type: ignore[assignment]

            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                state = peers.get(addr)
                if state is None:
                    if len(peers) >= MAX_UDP_PEERS:
                        peers.popitem(last=False)
                    state = peers[addr] = (WrapperServerLink(server.wrapper_port), {})
                    server.stats.connections += 1
                peers.move_to_end(addr)
                link, sessions = state
                try:
                    server._handle(link, sessions, data, f"udp {addr[0]}:{addr[1]}", datagram=True)
                except Exception:  # one bad datagram must never take the server down
                    server.stats.connection_errors += 1
                    log.exception("udp %s:%s: datagram failed", *addr)
                    peers.pop(addr, None)
                    return
                for reply in link.datagrams_to_send():
                    self.transport.sendto(reply, addr)

        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(_Protocol, local_addr=(host, port))
        self._datagram_transports.append(transport)
        return transport

    # -- serial ----------------------------------------------------------------------------------------------

    async def serve_transport(self, transport: AsyncTransport, *, forever: bool = True) -> None:
        """Serve over an already opened byte transport (a serial line: pyserial, or a pseudo-terminal).

        A serial line has no "connection": after a client's DISC or a broken frame the line keeps being
        served (``forever``).
        """

        async def read() -> bytes:
            try:
                return await transport.recv(3600.0)  # serve_stream applies the timeouts
            except TransportClosed:
                return b""

        while True:
            await self.serve_stream(read, transport.send, transport.description)
            if not forever or not transport.is_open:
                return

    # -- lifecycle -----------------------------------------------------------------------------------------

    async def close(self) -> None:
        """Stop listening and end every open connection (the tasks of their long answers are awaited, and
        cancelled after a grace period)."""
        for server in self._servers:
            server.close()
        for datagrams in self._datagram_transports:
            datagrams.close()
        self._datagram_transports.clear()
        # Close the connections (what they have to send goes first); a task answering one of them finishes
        # on its own, and only the ones still running after a grace period are cancelled.
        for connection in list(self._connections):
            connection.close()
        if self._handlers:
            _done, pending = await asyncio.wait(set(self._handlers), timeout=2.0)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        if self._connections:  # still flushing what they had to send: at most a grace period more
            self._all_closed = asyncio.get_running_loop().create_future()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._all_closed), 2.0)
            self._all_closed = None
            for connection in list(self._connections):
                connection.abort()
        for server in self._servers:
            with contextlib.suppress(Exception):
                await server.wait_closed()
        self._servers.clear()

    def _forget(self, connection: _TcpConnection) -> None:
        """A TCP connection is closed."""
        self._connections.discard(connection)
        if self.connection_limit is not None:
            self.connection_limit.release()
        if not self._connections and self._all_closed is not None and not self._all_closed.done():
            self._all_closed.set_result(None)


READ_BUFFER_LIMIT = 1 << 20
"""Bytes a TCP connection keeps while its last request is being answered before it stops reading (the peer
then waits: TCP's own flow control)."""

_EARLY = 0.001
"""Seconds by which a timer of the event loop may go off before its time (uvloop counts in milliseconds)."""


class _TcpConnection(asyncio.Protocol):
    """One TCP connection of a :class:`MeterServer`: its link and sessions, fed by the event loop's callbacks.

    Bytes go to the link as they arrive (:meth:`data_received`) and the answers are written at once, or after
    the response delay by a timer; while an answer is pending (delayed, in slices, or held by back-pressure)
    what arrives is kept and handled next, in order. One timer of the event loop per connection applies the
    inactivity and inter-octet timeouts: it is moved earlier when a deadline comes sooner; when it goes off
    before a deadline that has moved later, it is set again for that one (most connections set it once).
    A request that may take long, or one that finds another connection of the meter in its turn, is answered
    by a task (:meth:`MeterServer._handle_events`)."""

    def __init__(self, server: MeterServer) -> None:
        self.server = server
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.peer = "?"
        self.accepted = False
        self.link: Link | None = None
        self.sessions: dict[int, ServerSession] = {}
        self.last_answer = self.last_byte = 0.0
        self.kept: list[bytes] = []
        """Bytes that arrived while an answer was pending."""
        self.kept_size = 0
        self.answering = False
        """An answer is pending: computed by a task, or waiting for the response delay."""
        self.writing_paused = False
        self.reading_paused = False
        self.eof = False
        self.closed = False
        self.timer: asyncio.TimerHandle | None = None
        self.timer_at = math.inf

    # -- asyncio's callbacks -------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not subclasses of asyncio.Transport, but offer the same methods.
        self.transport = transport = cast(asyncio.Transport, transport)
        peername = transport.get_extra_info("peername")
        self.peer = f"{peername[0]}:{peername[1]}" if peername else "?"
        server = self.server
        if server._refuse(self.peer):
            self.closed = True
            transport.close()
            return
        self.accepted = True
        server._connections.add(self)
        server.stats.connections += 1
        server.stats.active += 1
        log.info("connection from %s", self.peer)
        self.link = server._make_link()
        self.last_answer = self.last_byte = self.loop.time()
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self.closed:
            return
        if self.answering or self.writing_paused:
            self._keep(data)
            return
        self._receive(data)

    def eof_received(self) -> bool:
        self.eof = True
        if self.closed or self.answering or self.writing_paused or self.kept:
            return True  # closed once the pending answer is out (see _next)
        self.close()
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._stop_timer()
        if self.accepted:
            self.accepted = False
            self.server.stats.active -= 1
            log.info("connection from %s closed", self.peer)
            self.server._forget(self)

    def pause_writing(self) -> None:
        self.writing_paused = True

    def resume_writing(self) -> None:
        self.writing_paused = False
        if not self.answering:
            self._next()

    # -- the requests ----------------------------------------------------------------------------------------

    def _keep(self, data: bytes) -> None:
        self.kept.append(data)
        self.kept_size += len(data)
        if self.kept_size > READ_BUFFER_LIMIT and not self.reading_paused and self.transport is not None:
            self.reading_paused = True
            self.transport.pause_reading()

    def _receive(self, data: bytes) -> None:
        """Feed ``data`` to the link and act on its events; answer, at once or after the response delay."""
        server, link = self.server, self.link
        assert link is not None
        self.last_byte = self.loop.time()
        try:
            events = link.receive_data(data)
            if events:
                slices = server._long_answers()
                for index, event in enumerate(events):
                    if server._turn.locked() or (
                        slices and isinstance(event, ApduReceived) and may_take_long(event.apdu)
                    ):
                        self._answer_later(events[index:])
                        return
                    if not server._on_event(link, self.sessions, event, self.peer):
                        self._end()
                        return
        except Exception:  # one bad connection must never take the server down
            self._crashed()
            return
        self._answer()

    def _answer_later(self, events: list[LinkEvent]) -> None:
        """Act on ``events`` in a task (in this meter's turn; in slices when one may take long)."""
        self.answering = True
        task = self.loop.create_task(self._handle_events(events))
        self.server._handlers.add(task)
        task.add_done_callback(self.server._handlers.discard)

    async def _handle_events(self, events: list[LinkEvent]) -> None:
        assert self.link is not None
        try:
            handled = await self.server._handle_events(self.link, self.sessions, events, self.peer)
        except Exception:  # one bad connection must never take the server down
            self.answering = False
            self._crashed()
            return
        self.answering = False
        if self.closed:
            return
        if not handled:
            self._end()
            return
        self._answer()

    def _answer(self) -> None:
        """Send what the link has to send (after the response delay, if any); then the next bytes."""
        assert self.link is not None
        out = self.link.data_to_send()
        if out:
            self.last_answer = self.loop.time()
            delay = self.server.response_delay
            if delay is not None:
                self.answering = True
                self.loop.call_later(delay(), self._delayed, out)
                return
            self._write(out)
        self._next()

    def _delayed(self, out: bytes) -> None:
        self.answering = False
        if self.closed:
            return
        self._write(out)
        self._next()

    def _next(self) -> None:
        """Nothing is pending: handle what arrived meanwhile, close after the peer's end, or wait (the timer)."""
        if self.closed or self.writing_paused:
            return
        if self.kept:
            data = self.kept[0] if len(self.kept) == 1 else b"".join(self.kept)
            self.kept.clear()
            self.kept_size = 0
            if self.reading_paused and self.transport is not None:
                self.reading_paused = False
                self.transport.resume_reading()
            self._receive(data)
            return
        if self.eof:
            self.close()
            return
        self._arm()

    def _end(self) -> None:
        """The link failed: send what it has to say (at once) and close."""
        assert self.link is not None
        out = self.link.data_to_send()
        if out:
            self._write(out)
        self.close()

    def _crashed(self) -> None:
        self.server.stats.connection_errors += 1
        log.exception("%s: connection failed", self.peer)
        self.close()

    def _write(self, data: bytes) -> None:
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.write(data)

    # -- the timer -------------------------------------------------------------------------------------------

    def _arm(self) -> None:
        """Have the timer go off by the earlier deadline (never, when there is none)."""
        assert self.link is not None
        quiet_until, octet_until = _deadlines(
            self.server.timeouts(), self.link, self.last_answer, self.last_byte
        )
        until = min(quiet_until, octet_until)
        if until >= self.timer_at:
            return  # the timer goes off sooner and looks again
        self._stop_timer()
        if until != math.inf:
            self.timer_at = until
            self.timer = self.loop.call_at(until, self._timer)

    def _stop_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.timer_at = math.inf

    def _timer(self) -> None:
        self.timer = None
        self.timer_at = math.inf
        if self.closed or self.answering or self.link is None:
            return  # armed again once the answer is out
        server, link = self.server, self.link
        timeouts = server.timeouts()
        quiet_until, octet_until = _deadlines(timeouts, link, self.last_answer, self.last_byte)
        try:
            if server._expired(
                link, self.loop.time() + _EARLY, quiet_until, octet_until, timeouts, self.peer
            ):
                self.close(at_once=self.writing_paused)  # a peer that reads nothing is not waited for
                return
        except Exception:
            self._crashed()
            return
        self._arm()

    # -- closing ---------------------------------------------------------------------------------------------

    def close(self, *, at_once: bool = False) -> None:
        """Close the connection (what is to be sent goes first, unless ``at_once``)."""
        self.closed = True
        self._stop_timer()
        if self.transport is not None:
            if at_once:
                self.transport.abort()
            else:
                self.transport.close()

    def abort(self) -> None:
        self.close(at_once=True)
