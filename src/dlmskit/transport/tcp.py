"""TCP byte transports: the usual way to reach a meter's DLMS/COSEM wrapper (IEC 62056-47, port 4059).

The same transports carry HDLC over TCP (some gateways and terminal servers forward a meter's serial
line to a TCP port); which framing flows is the link layer's choice.
"""

from __future__ import annotations

import asyncio
import errno
import socket
from typing import cast

from dlmskit.errors import LinkError
from dlmskit.transport._inet import connect_error, connect_timeout_error, format_endpoint
from dlmskit.transport.base import (
    MAX_READ,
    AsyncTransportBase,
    OnBytes,
    SyncTransportBase,
    TransportClosed,
    no_data_error,
    not_open_error,
)
from dlmskit.transport.eventloop import within

__all__ = ["AsyncTcpTransport", "TcpTransport"]

DEFAULT_CONNECT_TIMEOUT = 5.0
"""Seconds to wait for the TCP handshake before giving up."""


def _io_error(description: str, exc: OSError) -> LinkError:
    if isinstance(exc, ConnectionError):  # reset, aborted, broken pipe
        return TransportClosed(f"{description}: connection lost ({exc.strerror or exc})")
    return LinkError(f"{description}: {exc.strerror or exc}")


class TcpTransport(SyncTransportBase):
    """A blocking TCP connection to ``host:port`` (Nagle's algorithm off: DLMS exchanges small messages)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        on_bytes: OnBytes | None = None,
    ) -> None:
        super().__init__(on_bytes)
        self._host = host
        self._port = port
        self._connect_timeout = connect_timeout
        self._sock: socket.socket | None = None

    @property
    def description(self) -> str:
        """``"tcp 127.0.0.1:4059"``."""
        return f"tcp {format_endpoint(self._host, self._port)}"

    @property
    def is_open(self) -> bool:
        """Whether the connection is up (as far as we know: a peer's close is seen on the next ``recv``)."""
        return self._sock is not None

    def open(self) -> None:
        """Connect; an open transport stays as it is."""
        if self._sock is not None:
            return
        try:
            sock = socket.create_connection((self._host, self._port), timeout=self._connect_timeout)
        except TimeoutError:
            raise connect_timeout_error(self._host, self._port, self._connect_timeout) from None
        except OSError as exc:
            raise connect_error(self._host, self._port, exc) from exc
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock = sock

    def close(self) -> None:
        """Close the connection."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def send(self, data: bytes) -> None:
        """Send all of ``data``."""
        sock = self._require_open()
        self._trace("tx", data)
        sock.settimeout(None)
        try:
            sock.sendall(data)
        except OSError as exc:
            raise self._fail(exc) from exc

    def recv(self, timeout: float) -> bytes:
        """The bytes that arrived, waiting at most ``timeout`` seconds for the first one."""
        sock = self._require_open()
        sock.settimeout(max(timeout, 0.0))
        try:
            chunk = sock.recv(MAX_READ)
        except (TimeoutError, BlockingIOError):
            raise no_data_error(self.description, timeout) from None
        except OSError as exc:
            raise self._fail(exc) from exc
        if not chunk:
            self.close()
            raise TransportClosed(f"{self.description}: connection closed by the peer")
        self._trace("rx", chunk)
        return chunk

    def _require_open(self) -> socket.socket:
        if self._sock is None:
            raise not_open_error(self.description)
        return self._sock

    def _fail(self, exc: OSError) -> LinkError:
        error = _io_error(self.description, exc)
        if isinstance(error, TransportClosed):
            self.close()
        return error


class _StreamProtocol(asyncio.Protocol):
    """The receiving half of :class:`AsyncTcpTransport`: bytes kept until asked for, one waiter at a time.

    asyncio calls :meth:`data_received` as bytes arrive; ``recv`` takes them all at once, or waits on one
    future that the next chunk, the peer's close or the response timer completes. This costs a fraction of
    asyncio streams' per-read work (``StreamReader.read`` in a task per ``asyncio.wait_for``).

    The response timer is one timer a connection, not one a wait: :meth:`arm` only moves the wait's
    deadline, and the timer, when it fires, expires the wait if its deadline has passed or sets itself
    again for the deadline that a later wait moved (a session's waits are shorter than the timeout, so
    the timer seldom fires; a new timer a wait was a tenth of the head-end's loop time)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.deadline = 0.0
        """The loop time at which the current wait expires; 0: no wait."""
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self.transport: asyncio.Transport | None = None
        self.chunks: list[bytes] = []
        self.waiter: asyncio.Future[None] | None = None
        self.drain_waiter: asyncio.Future[None] | None = None
        self.paused = False
        self.eof = False
        self.lost: BaseException | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not subclasses of asyncio.Transport, but offer the same methods.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.chunks.append(data)
        self._wake()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake()
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        self.lost = exc
        self.stop_timer()
        self._wake()
        if self.drain_waiter is not None and not self.drain_waiter.done():
            self.drain_waiter.set_result(None)

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        if self.drain_waiter is not None and not self.drain_waiter.done():
            self.drain_waiter.set_result(None)

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def arm(self, timeout: float) -> None:
        """The current wait expires ``timeout`` seconds from now."""
        loop = self.loop
        deadline = self.deadline = loop.time() + timeout
        timer = self._timer
        if timer is None or self._timer_at > deadline:
            if timer is not None:
                timer.cancel()
            self._timer = loop.call_at(deadline, self._on_timer)
            self._timer_at = deadline

    def _on_timer(self) -> None:
        self._timer = None
        deadline = self.deadline
        if not deadline:
            return  # no wait: the timer lapses until the next one
        if self.loop.time() < deadline:  # a later wait moved the deadline
            self._timer = self.loop.call_at(deadline, self._on_timer)
            self._timer_at = deadline
            return
        self._wake()

    def stop_timer(self) -> None:
        self.deadline = 0.0
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def take(self) -> bytes:
        chunks = self.chunks
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        return data


class AsyncTcpTransport(AsyncTransportBase):
    """An asyncio TCP connection to ``host:port`` (an :class:`asyncio.Protocol`; Nagle's algorithm off)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        on_bytes: OnBytes | None = None,
    ) -> None:
        super().__init__(on_bytes)
        self._host = host
        self._port = port
        self._connect_timeout = connect_timeout
        self._protocol: _StreamProtocol | None = None

    @property
    def description(self) -> str:
        """``"tcp 127.0.0.1:4059"``."""
        return f"tcp {format_endpoint(self._host, self._port)}"

    @property
    def is_open(self) -> bool:
        """Whether the connection is up (as far as we know: a peer's close is seen on the next ``recv``)."""
        return self._protocol is not None

    async def open(self) -> None:
        """Connect; an open transport stays as it is."""
        if self._protocol is not None:
            return
        loop = asyncio.get_running_loop()
        try:
            transport, protocol = await within(
                loop.create_connection(lambda: _StreamProtocol(loop), self._host, self._port),
                self._connect_timeout,
                loop=loop,
            )
        except asyncio.TimeoutError:
            raise connect_timeout_error(self._host, self._port, self._connect_timeout) from None
        except OSError as exc:
            raise connect_error(self._host, self._port, exc) from exc
        # Nagle's algorithm is already off: asyncio's TCP transports (Python 3.6+) and uvloop's set
        # TCP_NODELAY on every connection they make (test_the_async_transport_turns_nagle_off).
        del transport
        self._protocol = protocol

    async def close(self) -> None:
        """Close the connection."""
        protocol = self._protocol
        if protocol is None:
            return
        self._protocol = None
        protocol.stop_timer()
        if protocol.transport is not None:
            protocol.transport.close()

    async def send(self, data: bytes) -> None:
        """Send all of ``data`` (returns once the socket buffer has taken it, or asyncio's buffer below its
        high-water mark)."""
        protocol = self._require_open()
        self._trace("tx", data)
        transport = protocol.transport
        if protocol.lost is not None or transport is None or transport.is_closing():
            raise await self._fail(ConnectionResetError(errno.ECONNRESET, "connection reset by peer"))
        transport.write(data)
        if protocol.paused:
            waiter = protocol.drain_waiter = protocol.loop.create_future()
            try:
                await waiter
            finally:
                protocol.drain_waiter = None
            if protocol.lost is not None:
                raise await self._fail(protocol.lost)

    async def recv(self, timeout: float) -> bytes:
        """The bytes that arrived, waiting at most ``timeout`` seconds for the first one."""
        protocol = self._require_open()
        if not protocol.chunks and not protocol.eof:
            if timeout <= 0:
                raise no_data_error(self.description, timeout)
            waiter = protocol.waiter = protocol.loop.create_future()
            protocol.arm(timeout)
            try:
                await waiter
            finally:
                protocol.deadline = 0.0
                protocol.waiter = None
        if protocol.chunks:
            chunk = protocol.take()
            self._trace("rx", chunk)
            return chunk
        if protocol.eof:
            lost = protocol.lost
            if isinstance(lost, OSError):
                raise await self._fail(lost) from lost
            await self.close()
            raise TransportClosed(f"{self.description}: connection closed by the peer")
        raise no_data_error(self.description, timeout)

    def _require_open(self) -> _StreamProtocol:
        if self._protocol is None:
            raise not_open_error(self.description)
        return self._protocol

    async def _fail(self, exc: BaseException) -> LinkError:
        error = (
            _io_error(self.description, exc)
            if isinstance(exc, OSError)
            else TransportClosed(f"{self.description}: connection lost ({exc})")
        )
        if isinstance(error, TransportClosed):
            await self.close()
        return error
