"""Running a simulated meter: on a background thread (tests, the demo) or as the ``dlmskit simulate`` server.

:class:`SimulatorThread` serves a meter over TCP on its own asyncio event loop thread, so blocking code
(a :class:`~dlmskit.client.connection.Connection`, a test) can talk to it; :func:`serve` serves until
cancelled, over TCP or a serial line, for the command line.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, TypeVar, cast

from dlmskit.link.hdlc_address import HdlcAddress
from dlmskit.simulator.meter import SimulatedMeter, default_state_dir
from dlmskit.simulator.server import LinkKind, MeterServer, raise_open_file_limit
from dlmskit.transport import AsyncSerialTransport

__all__ = ["SimulatorThread", "default_state_dir", "meter_server", "serve"]

_T = TypeVar("_T")


def meter_server(meter: SimulatedMeter, link: LinkKind = "hdlc", **options: Any) -> MeterServer:
    """A :class:`MeterServer` at the meter's own HDLC address and wrapper port, its HDLC link
    negotiating what the meter's IEC HDLC setup object says (unless ``hdlc_limits`` is given)."""
    settings = meter.settings
    options.setdefault("hdlc_limits", meter.hdlc_limits)
    return MeterServer(
        meter,
        link=link,
        server_address=HdlcAddress(settings.hdlc_logical_address, settings.hdlc_physical_address),
        wrapper_port=settings.wrapper_port,
        **options,
    )


class SimulatorThread:
    """A meter served over TCP from a background thread; a context manager.

    ``port=0`` takes a free port: read it from :attr:`port`. :meth:`stop` closes the server and the thread.
    """

    def __init__(
        self,
        meter: SimulatedMeter,
        link: LinkKind = "hdlc",
        host: str = "127.0.0.1",
        port: int = 0,
        **options: Any,
    ) -> None:
        self.meter = meter
        self.server = meter_server(meter, link, **options)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="dlmskit-simulator", daemon=True)
        self._thread.start()
        try:
            listener = self._call(self.server.start_tcp(host, port))
        except BaseException:
            self._halt()
            raise
        self.host = host
        self.port: int = cast(asyncio.Server, listener).sockets[0].getsockname()[1]

    def _call(self, coroutine: Coroutine[Any, Any, _T]) -> _T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=30)

    def _halt(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def stop(self) -> None:
        """Close the server and end the thread (a second call does nothing)."""
        if self._loop.is_closed():
            return
        with contextlib.suppress(Exception):
            self._call(self.server.close())
        self._halt()

    def __enter__(self) -> SimulatorThread:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()


async def serve(
    meter: SimulatedMeter,
    *,
    link: LinkKind = "hdlc",
    host: str = "127.0.0.1",
    port: int = 4059,
    serial: str | None = None,
    baudrate: int = 9600,
    udp: bool = False,
    ready: Callable[[str], None] | None = None,
    max_connections: int | None = None,
) -> None:
    """Serve ``meter`` until cancelled: on TCP ``host:port`` (UDP with ``udp``: the wrapper only), or on the
    serial line ``serial``.

    ``ready`` is called with where the meter listens (``"127.0.0.1:4059"``, or the serial line) once it does;
    ``max_connections`` caps the concurrent TCP connections (None: the model's TCP-UDP setup nb_of_sim_conn,
    else no cap; refused connections are closed at once and logged at most every 10 s). The process's open
    files limit is raised to the hard limit first.
    """
    raise_open_file_limit()
    server = meter_server(meter, link, max_connections=max_connections)
    try:
        if serial is not None:
            transport = AsyncSerialTransport(serial, baudrate)
            await transport.open()
            try:
                if ready is not None:
                    ready(transport.description)
                await server.serve_transport(transport)
            finally:
                await transport.close()
        elif udp:
            datagrams = await server.start_udp(host, port)
            if ready is not None:
                ready(f"udp {host}:{datagrams.get_extra_info('sockname')[1]}")
            await asyncio.Event().wait()
        else:
            listener = await server.start_tcp(host, port)
            if ready is not None:
                ready(f"{host}:{cast(asyncio.Server, listener).sockets[0].getsockname()[1]}")
            await asyncio.Event().wait()
    finally:
        await server.close()
