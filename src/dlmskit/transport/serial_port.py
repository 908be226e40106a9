"""Serial-line byte transports on pyserial: RS-232/RS-485 converters, optical probes, modems' data lines.

The port is opened with ``serial.serial_for_url``, so besides device names (``/dev/ttyUSB0``, ``COM3``)
pyserial's URLs work too: ``loop://`` (a loopback, for experiments) and ``socket://host:port`` (a serial
line forwarded by a terminal server).

DLMS/COSEM over HDLC uses 8 data bits, no parity, 1 stop bit (8N1); an IEC 62056-21 optical probe opens
at 300 baud 7E1 and switches to 8N1 after the mode E sign-on (:mod:`dlmskit.transport.mode_e`), which is
what :meth:`SerialTransport.configure` is for.

:class:`AsyncSerialTransport` needs no package beyond pyserial. On POSIX it watches the device's file
descriptor with the event loop (``loop.add_reader``/``add_writer``), so no thread is involved. Where the
event loop cannot watch the port — on Windows (whose proactor event loop has no ``add_reader``) and for
pyserial URL handlers without a file descriptor (``loop://``, ``socket://``) — each ``recv`` and ``send``
runs pyserial's blocking call in the event loop's default thread executor instead. In that fallback a
cancelled ``recv`` keeps its thread reading until its timeout ends, and the bytes it reads are dropped.
"""

from __future__ import annotations

import asyncio
import errno
import io
import os
import select
import time
from dataclasses import dataclass, replace
from typing import Any, Final

import serial  # type: ignore[import-untyped]  # pyserial ships no type hints

from dlmskit.errors import ConfigurationError, LinkError
from dlmskit.transport.base import (
    MAX_READ,
    AsyncTransportBase,
    OnBytes,
    SyncTransportBase,
    TransportClosed,
    no_data_error,
    not_open_error,
)

__all__ = ["AsyncSerialTransport", "SerialSettings", "SerialTransport"]

_PARITIES: Final = {"N": "none", "E": "even", "O": "odd", "M": "mark", "S": "space"}
_BYTESIZES: Final = (5, 6, 7, 8)
_STOPBITS: Final = (1, 1.5, 2)


@dataclass(frozen=True, slots=True)
class SerialSettings:
    """Line settings of a serial port: baud rate and character format (``9600 8N1``)."""

    baudrate: int = 9600
    bytesize: int = 8
    parity: str = "N"
    """``N`` none, ``E`` even, ``O`` odd, ``M`` mark, ``S`` space."""
    stopbits: float = 1

    def __post_init__(self) -> None:
        if isinstance(self.baudrate, bool) or not isinstance(self.baudrate, int) or self.baudrate <= 0:
            raise ConfigurationError(f"baud rate must be a positive integer, not {self.baudrate!r}")
        if self.bytesize not in _BYTESIZES:
            raise ConfigurationError(f"data bits must be 5, 6, 7 or 8, not {self.bytesize!r}")
        if self.parity not in _PARITIES:
            raise ConfigurationError(f"parity must be one of N, E, O, M, S, not {self.parity!r}")
        if self.stopbits not in _STOPBITS:
            raise ConfigurationError(f"stop bits must be 1, 1.5 or 2, not {self.stopbits!r}")

    def __str__(self) -> str:
        return f"{self.baudrate} {self.bytesize}{self.parity}{self.stopbits:g}"


def _open_port(url: str, settings: SerialSettings) -> Any:
    """The open pyserial port (typed ``Any``: pyserial has no type hints)."""
    try:
        return serial.serial_for_url(
            url,
            baudrate=settings.baudrate,
            bytesize=settings.bytesize,
            parity=settings.parity,
            stopbits=settings.stopbits,
            timeout=0,
        )
    except serial.SerialException as exc:
        raise _open_error(url, exc) from exc
    except ValueError as exc:  # pyserial's word for an unknown URL scheme or unusable settings
        raise ConfigurationError(f"cannot open serial port {url}: {exc}") from exc


def _open_error(url: str, exc: OSError) -> LinkError:
    """The error, in words, for a serial port that cannot be opened."""
    where = f"cannot open serial port {url}"
    if exc.errno in (errno.ENOENT, errno.ENODEV, errno.ENXIO):
        return LinkError(f"{where}: device not found — is the probe or converter plugged in?")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return LinkError(
            f"{where}: permission denied — on Linux add your user to the 'dialout' group "
            "(sudo usermod -aG dialout $USER) and log in again"
        )
    if exc.errno == errno.EBUSY:
        return LinkError(f"{where}: device busy — is another program using it?")
    return LinkError(f"{where}: {exc.strerror or exc}")


def _apply(port: Any, settings: SerialSettings) -> None:
    """Switch an open port to ``settings`` in one step.

    pyserial's public setters reconfigure the port once per setting, so a switch from 300 7E1 to
    9600 8N1 would pass through 9600 7E1 and 9600 8E1; worse, a pseudo-terminal (which is always 8N1)
    refuses a step whose only change is the character format. So the four values are set together on
    pyserial's port object and the port is reconfigured once, as its own setters do (pyserial 3.x).
    """
    port._baudrate = settings.baudrate
    port._bytesize = settings.bytesize
    port._parity = settings.parity
    port._stopbits = settings.stopbits
    port._reconfigure_port()


def _watchable_fd(port: Any) -> int | None:
    """The port's file descriptor where ``select`` and the event loop can wait on it (POSIX devices)."""
    if os.name != "posix":
        return None
    try:
        return int(port.fileno())
    except io.UnsupportedOperation:  # a pyserial URL handler (loop://, socket://)
        return None


def _read_fd(fd: int, description: str) -> bytes:
    """What a device reported readable holds: ``b""`` after a false alarm, :class:`TransportClosed` when it
    is gone (a tty in raw mode reads end-of-file when there is nothing, so call this only once readable)."""
    try:
        chunk = os.read(fd, MAX_READ)
    except BlockingIOError:
        return b""
    except OSError as exc:
        raise TransportClosed(f"{description}: device disconnected ({exc.strerror})") from exc
    if not chunk:
        raise TransportClosed(f"{description}: device disconnected (end of file)")
    return chunk


def _read_some(port: Any, timeout: float, description: str) -> bytes:
    """Pyserial's blocking read: the first byte within ``timeout`` seconds, then whatever is waiting.

    For ports without a file descriptor to wait on; changing pyserial's ``timeout`` reconfigures the port.
    """
    timeout = max(timeout, 0.0)
    try:
        if port.timeout != timeout:
            port.timeout = timeout
        first = bytes(port.read(1))
        if not first:
            raise no_data_error(description, timeout)
        waiting = int(port.in_waiting)
        return first + bytes(port.read(waiting)) if waiting else first
    except serial.SerialException as exc:
        raise TransportClosed(f"{description}: device disconnected ({exc})") from exc


def _write_all(port: Any, data: bytes, description: str) -> None:
    try:
        port.write(data)
    except serial.SerialException as exc:
        raise TransportClosed(f"{description}: device disconnected ({exc})") from exc


class SerialTransport(SyncTransportBase):
    """A blocking serial port; ``port`` is a device name or a pyserial URL.

    On POSIX ``recv`` waits on the device's file descriptor with ``select``; elsewhere, and for URL
    handlers, with pyserial's read timeout.
    """

    def __init__(
        self,
        port: str,
        baudrate: int = 9600,
        bytesize: int = 8,
        parity: str = "N",
        stopbits: float = 1,
        *,
        on_bytes: OnBytes | None = None,
    ) -> None:
        super().__init__(on_bytes)
        self._url = port
        self._settings = SerialSettings(baudrate, bytesize, parity, stopbits)
        self._port: Any = None
        self._fd: int | None = None

    @property
    def description(self) -> str:
        """``"serial /dev/ttyUSB0 9600 8N1"``."""
        return f"serial {self._url} {self._settings}"

    @property
    def settings(self) -> SerialSettings:
        """The line settings in force (or used by the next :meth:`open`)."""
        return self._settings

    @property
    def is_open(self) -> bool:
        """Whether the port is open."""
        return self._port is not None

    def open(self) -> None:
        """Open the port with the current settings; an open transport stays as it is."""
        if self._port is None:
            self._port = _open_port(self._url, self._settings)
            self._fd = _watchable_fd(self._port)

    def close(self) -> None:
        """Close the port."""
        if self._port is not None:
            port, self._port, self._fd = self._port, None, None
            port.close()

    def configure(
        self,
        *,
        baudrate: int | None = None,
        bytesize: int | None = None,
        parity: str | None = None,
        stopbits: float | None = None,
    ) -> None:
        """Change the line settings named; on an open port, after the bytes already sent have left it."""
        settings = _updated(self._settings, baudrate, bytesize, parity, stopbits)
        if self._port is not None:
            self._port.flush()
            _apply(self._port, settings)
        self._settings = settings

    def send(self, data: bytes) -> None:
        """Write all of ``data`` to the port."""
        port = self._require_open()
        self._trace("tx", data)
        _write_all(port, data, self.description)

    def recv(self, timeout: float) -> bytes:
        """The bytes that arrived, waiting at most ``timeout`` seconds for the first one."""
        port = self._require_open()
        if self._fd is None:
            chunk = _read_some(port, timeout, self.description)
        else:
            deadline = time.monotonic() + timeout
            chunk = b""
            while not chunk:
                remaining = max(deadline - time.monotonic(), 0.0)
                if not select.select([self._fd], [], [], remaining)[0]:
                    raise no_data_error(self.description, timeout)
                chunk = _read_fd(self._fd, self.description)
        self._trace("rx", chunk)
        return chunk

    def _require_open(self) -> Any:
        if self._port is None:
            raise not_open_error(self.description)
        return self._port


def _updated(
    settings: SerialSettings,
    baudrate: int | None,
    bytesize: int | None,
    parity: str | None,
    stopbits: float | None,
) -> SerialSettings:
    return replace(
        settings,
        baudrate=settings.baudrate if baudrate is None else baudrate,
        bytesize=settings.bytesize if bytesize is None else bytesize,
        parity=settings.parity if parity is None else parity,
        stopbits=settings.stopbits if stopbits is None else stopbits,
    )


class AsyncSerialTransport(AsyncTransportBase):
    """An asyncio serial port on pyserial; ``port`` is a device name or a pyserial URL.

    See the module documentation for how the port is watched (event loop on POSIX, thread fallback).
    """

    def __init__(
        self,
        port: str,
        baudrate: int = 9600,
        bytesize: int = 8,
        parity: str = "N",
        stopbits: float = 1,
        *,
        on_bytes: OnBytes | None = None,
    ) -> None:
        super().__init__(on_bytes)
        self._url = port
        self._settings = SerialSettings(baudrate, bytesize, parity, stopbits)
        self._port: Any = None
        self._fd: int | None = None
        """The file descriptor the event loop watches; ``None`` in the thread fallback."""
        self._received = bytearray()
        self._failure: TransportClosed | None = None
        self._ready = asyncio.Event()
        """Set while ``_received`` holds bytes or ``_failure`` is set."""

    @property
    def description(self) -> str:
        """``"serial /dev/ttyUSB0 9600 8N1"``."""
        return f"serial {self._url} {self._settings}"

    @property
    def settings(self) -> SerialSettings:
        """The line settings in force (or used by the next :meth:`open`)."""
        return self._settings

    @property
    def is_open(self) -> bool:
        """Whether the port is open."""
        return self._port is not None

    @property
    def uses_event_loop(self) -> bool:
        """Whether the event loop watches the port (``False``: the thread fallback is in use)."""
        return self._fd is not None

    async def open(self) -> None:
        """Open the port with the current settings; an open transport stays as it is."""
        if self._port is not None:
            return
        loop = asyncio.get_running_loop()
        # Opening a device is quick, but a socket:// URL connects: keep the loop free meanwhile.
        port = await loop.run_in_executor(None, _open_port, self._url, self._settings)
        self._received.clear()
        self._failure = None
        self._ready.clear()
        fd = _watchable_fd(port)
        if fd is not None:
            try:
                loop.add_reader(fd, self._on_readable)
            except NotImplementedError:  # an event loop that cannot watch file descriptors
                fd = None
        self._fd = fd
        self._port = port

    async def close(self) -> None:
        """Close the port; a ``recv`` waiting on the event loop raises :class:`TransportClosed`."""
        if self._port is None:
            return
        port, self._port = self._port, None
        if self._fd is not None:
            asyncio.get_running_loop().remove_reader(self._fd)
            self._fd = None
        self._failure = not_open_error(self.description)
        self._ready.set()
        port.close()

    async def configure(
        self,
        *,
        baudrate: int | None = None,
        bytesize: int | None = None,
        parity: str | None = None,
        stopbits: float | None = None,
    ) -> None:
        """Change the line settings named; on an open port, after the bytes already sent have left it."""
        settings = _updated(self._settings, baudrate, bytesize, parity, stopbits)
        port = self._port
        if port is not None:
            await asyncio.get_running_loop().run_in_executor(None, port.flush)
            _apply(port, settings)
        self._settings = settings

    async def send(self, data: bytes) -> None:
        """Write all of ``data`` to the port (returns once the operating system has taken it)."""
        port = self._require_open()
        self._trace("tx", data)
        if self._fd is None:
            await asyncio.get_running_loop().run_in_executor(None, _write_all, port, data, self.description)
            return
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(self._fd, view) :]
            except BlockingIOError:
                await self._writable(self._fd)
            except OSError as exc:
                raise TransportClosed(f"{self.description}: device disconnected ({exc.strerror})") from exc

    async def recv(self, timeout: float) -> bytes:
        """The bytes that arrived, waiting at most ``timeout`` seconds for the first one."""
        port = self._require_open()
        if self._fd is None:
            chunk = await asyncio.get_running_loop().run_in_executor(
                None, _read_some, port, timeout, self.description
            )
        else:
            try:
                await asyncio.wait_for(self._ready.wait(), max(timeout, 0.0))
            except asyncio.TimeoutError:
                raise no_data_error(self.description, timeout) from None
            if not self._received:
                assert self._failure is not None
                raise self._failure
            chunk = bytes(self._received)
            self._received.clear()
            if self._failure is None:
                self._ready.clear()
        self._trace("rx", chunk)
        return chunk

    def _on_readable(self) -> None:
        """Event-loop callback: move what the device has into ``_received``."""
        assert self._fd is not None
        try:
            chunk = _read_fd(self._fd, self.description)
        except TransportClosed as exc:
            asyncio.get_running_loop().remove_reader(self._fd)
            self._failure = exc
            self._ready.set()
            return
        if chunk:
            self._received += chunk
            self._ready.set()

    async def _writable(self, fd: int) -> None:
        loop = asyncio.get_running_loop()
        writable = loop.create_future()

        def wake() -> None:
            if not writable.done():
                writable.set_result(None)

        loop.add_writer(fd, wake)
        try:
            await writable
        finally:
            loop.remove_writer(fd)

    def _require_open(self) -> Any:
        if self._port is None:
            raise not_open_error(self.description)
        return self._port
