"""The simulator's network side: an asyncio server that runs one link and one session per connection.

:class:`MeterServer` serves any :class:`~dlmskit.session.server.ServerApplication` over HDLC or the wrapper,
on TCP (many concurrent connections, each with its own association), UDP (wrapper) or a serial line. One
connection's bad input, protocol errors or exceptions end that connection only; every other connection goes
on. Connections without a complete request for ``inactivity_timeout`` are closed, like a meter's HDLC inactivity
timer (a peer trickling a byte now and then is closed too).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from dlmskit.errors import ConfigurationError, MeterTimeout
from dlmskit.link.events import ApduReceived, Link, LinkClosed, LinkFailed, LinkOpened
from dlmskit.link.hdlc_address import HdlcAddress
from dlmskit.link.hdlc_link import LARGEST_PARAMETERS, HdlcServerLink
from dlmskit.link.hdlc_parameters import HdlcParameters
from dlmskit.link.wrapper_link import WrapperServerLink
from dlmskit.session.server import ServerApplication, ServerSession
from dlmskit.transport.base import AsyncTransport, TransportClosed

__all__ = ["LinkKind", "MeterServer", "ServerStats"]

log = logging.getLogger("dlmskit.simulator")

LinkKind = Literal["hdlc", "wrapper"]

MAX_UDP_PEERS = 10_000
"""Client addresses the UDP server remembers (links and sessions) before forgetting the oldest."""


@dataclass
class ServerStats:
    """Counters for tests and the console."""

    connections: int = 0
    active: int = 0
    apdus: int = 0
    connection_errors: int = 0
    closed_for_inactivity: int = 0
    refused_connections: int = 0
    sessions_by_client: dict[int, int] = field(default_factory=dict)


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
        inactivity_timeout: float = 120.0,
        challenge_factory: Callable[[], bytes] | None = None,
        response_delay: Callable[[], float] | None = None,
        max_connections: int | None = None,
    ) -> None:
        self.application = application
        self.link_kind = link
        self.server_address = server_address or HdlcAddress(1, 17)
        self.wrapper_port = wrapper_port
        self.hdlc_limits = hdlc_limits
        self.inactivity_timeout = inactivity_timeout
        self.challenge_factory = challenge_factory
        self.response_delay = response_delay
        """Seconds to wait before each answer (a fleet's GPRS-like round trips); None: answer at once."""
        self.max_connections = max_connections
        """Concurrent TCP connections served at most; more are closed at once, with a log line."""
        self.stats = ServerStats()
        self._servers: list[asyncio.AbstractServer] = []
        self._datagram_transports: list[asyncio.DatagramTransport] = []
        self._writers: set[asyncio.StreamWriter] = set()
        self._handlers: set[asyncio.Task[Any]] = set()

    # -- per connection ----------------------------------------------------------------------------------

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
        # without ever completing a frame is closed like a silent one.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.inactivity_timeout
        try:
            while True:
                try:
                    data = await asyncio.wait_for(read(), timeout=max(0.0, deadline - loop.time()))
                except (asyncio.TimeoutError, MeterTimeout):
                    self.stats.closed_for_inactivity += 1
                    log.info("%s: no complete request for %.0f s, closing", peer, self.inactivity_timeout)
                    return
                if not data:
                    return
                if not self._handle(link, sessions, data, peer):
                    out = link.data_to_send()
                    if out:
                        await write(out)
                    return
                out = link.data_to_send()
                if out:
                    deadline = loop.time() + self.inactivity_timeout
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
        for event in events:
            if isinstance(event, LinkOpened):
                sessions.clear()  # a new SNRM resets everything on this link
            elif isinstance(event, ApduReceived):
                client = self._client_of(link)
                if client is None:
                    continue
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
        """Listen on TCP; returns the asyncio server (``server.sockets[0].getsockname()`` tells the port)."""

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            if task is not None:
                self._handlers.add(task)
                task.add_done_callback(self._handlers.discard)
            host, port = writer.get_extra_info("peername")[:2]
            peer = f"{host}:{port}"
            if self.max_connections is not None and len(self._writers) >= self.max_connections:
                self.stats.refused_connections += 1
                log.warning(
                    "%s: refused, %d connections already open (the limit, max_connections)",
                    peer,
                    self.max_connections,
                )
                writer.close()
                with contextlib.suppress(ConnectionError, OSError):
                    await writer.wait_closed()
                return
            self._writers.add(writer)

            async def write(data: bytes) -> None:
                writer.write(data)
                await writer.drain()

            try:
                await self.serve_stream(lambda: reader.read(65536), write, peer)
            finally:
                self._writers.discard(writer)
                writer.close()
                with contextlib.suppress(ConnectionError, OSError):
                    await writer.wait_closed()

        server = await asyncio.start_server(handle, host, port, limit=1 << 20, backlog=1024)
        self._servers.append(server)
        return server

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
                return await transport.recv(self.inactivity_timeout + 1)
            except TransportClosed:
                return b""

        while True:
            await self.serve_stream(read, transport.send, transport.description)
            if not forever or not transport.is_open:
                return

    # -- lifecycle -----------------------------------------------------------------------------------------

    async def close(self) -> None:
        """Stop listening and end every open connection (their handlers are cancelled and awaited)."""
        for server in self._servers:
            server.close()
        for datagrams in self._datagram_transports:
            datagrams.close()
        self._datagram_transports.clear()
        # Close the connections: each handler sees the end of its stream and finishes on its own; only
        # the ones still running after a grace period are cancelled.
        for writer in list(self._writers):
            writer.close()
        if self._handlers:
            _done, pending = await asyncio.wait(set(self._handlers), timeout=2.0)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        for server in self._servers:
            with contextlib.suppress(Exception):
                await server.wait_closed()
        self._servers.clear()
