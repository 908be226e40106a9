"""What every byte transport offers, synchronous and asyncio alike.

A transport moves bytes between dlmskit and a meter (a TCP connection, UDP datagrams, a serial line or an
optical probe). It knows nothing of DLMS framing: the sans-I/O link layer above splits the byte stream
into HDLC frames or wrapper PDUs.

``recv(timeout)`` returns at least one byte, whatever has arrived (possibly part of a frame, possibly
several frames); it raises :class:`dlmskit.errors.MeterTimeout` when nothing arrived within ``timeout``
seconds and :class:`TransportClosed` when the peer closed the connection or the device went away.

Every implementation takes an optional ``on_bytes(direction, chunk)`` callback, called with ``"tx"`` for
each chunk sent and ``"rx"`` for each chunk received, for byte-level traces (APDU-level tracing is the
session layer's business).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from dlmskit.errors import LinkError, MeterTimeout

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["MAX_READ", "AsyncTransport", "OnBytes", "Transport", "TransportClosed"]

OnBytes = Callable[[str, bytes], None]
"""Byte-level trace hook: ``on_bytes("tx" | "rx", chunk)``."""

MAX_READ = 65536
"""The most bytes one ``recv`` asks the operating system for (a UDP datagram holds at most 65507)."""


class TransportClosed(LinkError):
    """The peer closed the connection, the device disappeared, or the transport is not open."""


@runtime_checkable
class Transport(Protocol):
    """A blocking byte transport; ``with transport:`` opens it and closes it again."""

    @property
    def description(self) -> str:
        """What this transport talks to, for people: ``"tcp 127.0.0.1:4059"``, ``"serial COM3 9600 8N1"``."""
        ...

    @property
    def is_open(self) -> bool:
        """Whether :meth:`open` succeeded and :meth:`close` has not been called since."""
        ...

    def open(self) -> None:
        """Connect or open the device; raises :class:`dlmskit.errors.LinkError` saying why it cannot."""
        ...

    def close(self) -> None:
        """Release the connection or device; closing a closed transport does nothing."""
        ...

    def send(self, data: bytes) -> None:
        """Send all of ``data``."""
        ...

    def recv(self, timeout: float) -> bytes:
        """At least one received byte, waiting at most ``timeout`` seconds."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


@runtime_checkable
class AsyncTransport(Protocol):
    """An asyncio byte transport; ``async with transport:`` opens it and closes it again."""

    @property
    def description(self) -> str:
        """What this transport talks to, for people (as :attr:`Transport.description`)."""
        ...

    @property
    def is_open(self) -> bool:
        """Whether :meth:`open` succeeded and :meth:`close` has not been called since."""
        ...

    async def open(self) -> None:
        """Connect or open the device; raises :class:`dlmskit.errors.LinkError` saying why it cannot."""
        ...

    async def close(self) -> None:
        """Release the connection or device; closing a closed transport does nothing."""
        ...

    async def send(self, data: bytes) -> None:
        """Send all of ``data``."""
        ...

    async def recv(self, timeout: float) -> bytes:
        """At least one received byte, waiting at most ``timeout`` seconds."""
        ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class SyncTransportBase(ABC):
    """Context management and the trace hook shared by the blocking transports."""

    def __init__(self, on_bytes: OnBytes | None) -> None:
        self._on_bytes = on_bytes

    @abstractmethod
    def open(self) -> None: ...

    @abstractmethod
    def close(self) -> None: ...

    def _trace(self, direction: str, chunk: bytes) -> None:
        if self._on_bytes is not None:
            self._on_bytes(direction, chunk)

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncTransportBase(ABC):
    """Context management and the trace hook shared by the asyncio transports."""

    def __init__(self, on_bytes: OnBytes | None) -> None:
        self._on_bytes = on_bytes

    @abstractmethod
    async def open(self) -> None: ...

    @abstractmethod
    async def close(self) -> None: ...

    def _trace(self, direction: str, chunk: bytes) -> None:
        if self._on_bytes is not None:
            self._on_bytes(direction, chunk)

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


def no_data_error(description: str, timeout: float) -> MeterTimeout:
    """The error ``recv`` raises when nothing arrived within ``timeout`` seconds."""
    return MeterTimeout(f"{description}: no data within {timeout:g} s")


def not_open_error(description: str) -> TransportClosed:
    """The error for sending or receiving on a transport that is not open."""
    return TransportClosed(f"{description}: not open")
