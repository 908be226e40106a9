"""UDP byte transports for the DLMS/COSEM wrapper over UDP (IEC 62056-47, port 4059).

Each ``send`` is one datagram and each ``recv`` returns one datagram: over UDP a wrapper PDU travels in
a datagram of its own. The socket is connected to the meter's address, so datagrams from anyone else
are dropped by the operating system, and an ICMP "port unreachable" coming back for a datagram sent is
reported (by the next ``send`` or ``recv``) as :class:`dlmskit.errors.LinkError`.
"""

from __future__ import annotations

import asyncio
import socket
import time

from dlmskit.errors import LinkError
from dlmskit.transport._inet import connect_error, format_endpoint, unreachable_error
from dlmskit.transport.base import (
    MAX_READ,
    AsyncTransportBase,
    OnBytes,
    SyncTransportBase,
    no_data_error,
    not_open_error,
)

__all__ = ["AsyncUdpTransport", "UdpTransport"]


def _io_error(description: str, exc: OSError) -> LinkError:
    if isinstance(exc, ConnectionRefusedError):
        return unreachable_error(description)
    return LinkError(f"{description}: {exc.strerror or exc}")


class UdpTransport(SyncTransportBase):
    """Blocking UDP datagrams to and from ``host:port``."""

    def __init__(self, host: str, port: int, *, on_bytes: OnBytes | None = None) -> None:
        super().__init__(on_bytes)
        self._host = host
        self._port = port
        self._sock: socket.socket | None = None

    @property
    def description(self) -> str:
        """``"udp 127.0.0.1:4059"``."""
        return f"udp {format_endpoint(self._host, self._port)}"

    @property
    def is_open(self) -> bool:
        """Whether the socket is open (UDP has no connection: the meter may still not listen)."""
        return self._sock is not None

    def open(self) -> None:
        """Resolve the address and open a socket connected to it; an open transport stays as it is."""
        if self._sock is not None:
            return
        try:
            family, kind, proto, _, address = socket.getaddrinfo(
                self._host, self._port, type=socket.SOCK_DGRAM
            )[0]
            sock = socket.socket(family, kind, proto)
        except OSError as exc:
            raise connect_error(self._host, self._port, exc) from exc
        try:
            sock.connect(address)
        except OSError as exc:
            sock.close()
            raise connect_error(self._host, self._port, exc) from exc
        self._sock = sock

    def close(self) -> None:
        """Close the socket."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def send(self, data: bytes) -> None:
        """Send ``data`` as one datagram."""
        sock = self._require_open()
        self._trace("tx", data)
        sock.settimeout(None)
        try:
            sock.send(data)
        except OSError as exc:
            raise _io_error(self.description, exc) from exc

    def recv(self, timeout: float) -> bytes:
        """The next datagram, waiting at most ``timeout`` seconds (empty datagrams are skipped)."""
        sock = self._require_open()
        deadline = time.monotonic() + timeout
        while True:
            sock.settimeout(max(deadline - time.monotonic(), 0.0))
            try:
                datagram = sock.recv(MAX_READ)
            except (TimeoutError, BlockingIOError):
                raise no_data_error(self.description, timeout) from None
            except OSError as exc:
                raise _io_error(self.description, exc) from exc
            if datagram:
                self._trace("rx", datagram)
                return datagram

    def _require_open(self) -> socket.socket:
        if self._sock is None:
            raise not_open_error(self.description)
        return self._sock


class _DatagramQueue(asyncio.DatagramProtocol):
    """Queues the datagrams (and ICMP errors) that arrive on the endpoint."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes | OSError] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        if data:
            self.queue.put_nowait(data)

    def error_received(self, exc: Exception) -> None:
        if isinstance(exc, OSError):
            self.queue.put_nowait(exc)


class AsyncUdpTransport(AsyncTransportBase):
    """Asyncio UDP datagrams to and from ``host:port``."""

    def __init__(self, host: str, port: int, *, on_bytes: OnBytes | None = None) -> None:
        super().__init__(on_bytes)
        self._host = host
        self._port = port
        self._endpoint: tuple[asyncio.DatagramTransport, _DatagramQueue] | None = None

    @property
    def description(self) -> str:
        """``"udp 127.0.0.1:4059"``."""
        return f"udp {format_endpoint(self._host, self._port)}"

    @property
    def is_open(self) -> bool:
        """Whether the endpoint is open (UDP has no connection: the meter may still not listen)."""
        return self._endpoint is not None

    async def open(self) -> None:
        """Resolve the address and open an endpoint connected to it; an open transport stays as it is."""
        if self._endpoint is not None:
            return
        loop = asyncio.get_running_loop()
        try:
            transport, protocol = await loop.create_datagram_endpoint(
                _DatagramQueue, remote_addr=(self._host, self._port)
            )
        except OSError as exc:
            raise connect_error(self._host, self._port, exc) from exc
        self._endpoint = (transport, protocol)

    async def close(self) -> None:
        """Close the endpoint."""
        if self._endpoint is not None:
            transport, _ = self._endpoint
            self._endpoint = None
            transport.close()

    async def send(self, data: bytes) -> None:
        """Send ``data`` as one datagram."""
        transport, _ = self._require_open()
        self._trace("tx", data)
        transport.sendto(data)

    async def recv(self, timeout: float) -> bytes:
        """The next datagram, waiting at most ``timeout`` seconds (empty datagrams are skipped)."""
        _, protocol = self._require_open()
        try:
            item = await asyncio.wait_for(protocol.queue.get(), max(timeout, 0.0))
        except asyncio.TimeoutError:
            raise no_data_error(self.description, timeout) from None
        if isinstance(item, OSError):
            raise _io_error(self.description, item) from item
        self._trace("rx", item)
        return item

    def _require_open(self) -> tuple[asyncio.DatagramTransport, _DatagramQueue]:
        if self._endpoint is None:
            raise not_open_error(self.description)
        return self._endpoint
