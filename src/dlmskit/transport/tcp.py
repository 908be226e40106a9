"""TCP byte transports: the usual way to reach a meter's DLMS/COSEM wrapper (IEC 62056-47, port 4059).

The same transports carry HDLC over TCP (some gateways and terminal servers forward a meter's serial
line to a TCP port); which framing flows is the link layer's choice.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

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


class AsyncTcpTransport(AsyncTransportBase):
    """An asyncio TCP connection to ``host:port`` on asyncio streams (Nagle's algorithm off)."""

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
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    @property
    def description(self) -> str:
        """``"tcp 127.0.0.1:4059"``."""
        return f"tcp {format_endpoint(self._host, self._port)}"

    @property
    def is_open(self) -> bool:
        """Whether the connection is up (as far as we know: a peer's close is seen on the next ``recv``)."""
        return self._streams is not None

    async def open(self) -> None:
        """Connect; an open transport stays as it is."""
        if self._streams is not None:
            return
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(self._host, self._port), self._connect_timeout
            )
        except asyncio.TimeoutError:
            raise connect_timeout_error(self._host, self._port, self._connect_timeout) from None
        except OSError as exc:
            raise connect_error(self._host, self._port, exc) from exc
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._streams = (reader, writer)

    async def close(self) -> None:
        """Close the connection."""
        if self._streams is None:
            return
        _, writer = self._streams
        self._streams = None
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()

    async def send(self, data: bytes) -> None:
        """Send all of ``data`` (returns once the socket buffer has taken it)."""
        _, writer = self._require_open()
        self._trace("tx", data)
        try:
            writer.write(data)
            await writer.drain()
        except OSError as exc:
            raise await self._fail(exc) from exc

    async def recv(self, timeout: float) -> bytes:
        """The bytes that arrived, waiting at most ``timeout`` seconds for the first one."""
        reader, _ = self._require_open()
        try:
            chunk = await asyncio.wait_for(reader.read(MAX_READ), max(timeout, 0.0))
        except asyncio.TimeoutError:
            raise no_data_error(self.description, timeout) from None
        except OSError as exc:
            raise await self._fail(exc) from exc
        if not chunk:
            await self.close()
            raise TransportClosed(f"{self.description}: connection closed by the peer")
        self._trace("rx", chunk)
        return chunk

    def _require_open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._streams is None:
            raise not_open_error(self.description)
        return self._streams

    async def _fail(self, exc: OSError) -> LinkError:
        error = _io_error(self.description, exc)
        if isinstance(error, TransportClosed):
            await self.close()
        return error
