"""Cases 5 and 6: whole sessions against the simulator on loopback.

A session is what a head-end does to read a meter: SNRM/UA, AARQ/AARE with HLS-GMAC (authenticated and
encrypted APDUs, the Green Book demo keys, client 1, server 1/17), HLS pass 3/4, ten GETs (logical
device name, energy value, energy scaler-unit in turn), RLRQ/RLRE and DISC/UA, over HDLC on TCP.

The simulator runs in a process of its own (see :mod:`bench.simulator`); the client runs in this process,
so ``time.process_time`` here is the client's CPU time (gurux-dlms's receiving thread included). The
simulator's CPU time is read from ``/proc`` where there is one. Everything is bounded: a fixed number of
sessions, a timeout on every exchange and on every batch, and only 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import resource
import secrets
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from bench.lib_gurux import quiet
from bench.simulator import command
from bench.workload import AK, CLIENT_TITLE, EK
from dlmskit.apdu.common import CosemAttributeDescriptor
from dlmskit.client.connection import AsyncConnection, Connection
from dlmskit.codec.obis import Obis
from dlmskit.errors import DlmsError
from dlmskit.link.hdlc_address import HdlcAddress
from dlmskit.link.hdlc_link import HdlcClientLink
from dlmskit.security.hls import Mechanism
from dlmskit.security.invocation import MemoryInvocationCounterStore
from dlmskit.security.keys import SecretBytes
from dlmskit.session.client import ClientSession, ClientSettings
from dlmskit.session.events import GetCompleted
from dlmskit.session.protection import SecurityPolicy, SecuritySettings
from dlmskit.transport import AsyncTcpTransport, TcpTransport

__all__ = [
    "ManyResult",
    "SessionResult",
    "Simulator",
    "many_sessions",
    "single_sessions",
]

HOST = "127.0.0.1"
CLIENT_SAP = 1
SERVER = HdlcAddress(1, 17)
GETS = 10
TARGETS = (
    CosemAttributeDescriptor(1, Obis(0, 0, 42, 0, 0, 255), 2),
    CosemAttributeDescriptor(3, Obis(1, 0, 1, 8, 0, 255), 2),
    CosemAttributeDescriptor(3, Obis(1, 0, 1, 8, 0, 255), 3),
)
EXCHANGE_TIMEOUT = 30.0
BATCH_TIMEOUT = 90.0


# -- the simulator process ---------------------------------------------------------------------------------


GURUX_CLIENT_TITLE = bytes.fromhex("4752580000000001")
"""The gurux client's system title ("GRX" + serial 1)."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


class Simulator:
    """A simulator process on a free loopback port; a context manager that ends it (by its pid).

    Its output is dropped (``dlmskit simulate`` prints a banner); what it writes to stderr is shown if it
    fails to start."""

    def __init__(self, *, use_simulate: bool) -> None:
        self.port = _free_port()
        self._errors = tempfile.TemporaryFile()  # noqa: SIM115 - open as long as the process runs, closed by close()
        self._process = subprocess.Popen(
            command(self.port, use_simulate=use_simulate), stdout=subprocess.DEVNULL, stderr=self._errors
        )
        deadline = time.monotonic() + 60
        while True:
            if self._process.poll() is not None:
                self._errors.seek(0)
                said = self._errors.read().decode(errors="replace").strip().splitlines()[-3:]
                raise RuntimeError(
                    f"the simulator ended at start (exit code {self._process.returncode}): {' / '.join(said)}"
                )
            with contextlib.suppress(OSError), socket.create_connection((HOST, self.port), timeout=1):
                break
            if time.monotonic() > deadline:
                self.close()
                raise RuntimeError("the simulator did not listen within 60 s")
            time.sleep(0.05)

    def cpu_seconds(self) -> float | None:
        """User + system CPU time of the simulator process so far, from /proc (None elsewhere)."""
        try:
            with open(f"/proc/{self._process.pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
        self._errors.close()

    def __enter__(self) -> Simulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- dlmskit clients ---------------------------------------------------------------------------------------


def _dlmskit_session(counters: MemoryInvocationCounterStore) -> ClientSession:
    security = SecuritySettings(
        policy=SecurityPolicy.AUTHENTICATED_ENCRYPTED,
        system_title=CLIENT_TITLE,
        block_cipher_key=SecretBytes(EK),
        authentication_key=SecretBytes(AK),
        invocation_counters=counters,
    )
    settings = ClientSettings(mechanism=Mechanism.HIGH_GMAC, security=security)
    return ClientSession(settings, challenge=secrets.token_bytes(16))


def dlmskit_sync_session(port: int, counters: MemoryInvocationCounterStore) -> None:
    """One whole session with the blocking ``Connection``."""
    session = _dlmskit_session(counters)
    link = HdlcClientLink(CLIENT_SAP, SERVER)
    with Connection(TcpTransport(HOST, port), link, session, timeout=EXCHANGE_TIMEOUT) as connection:
        for index in range(GETS):
            answer = connection.request(session.get(TARGETS[index % len(TARGETS)]))
            if not isinstance(answer, GetCompleted) or not answer.results[0].ok:
                raise DlmsError(f"GET {index + 1} failed: {answer!r}")


async def dlmskit_async_session(port: int, counters: MemoryInvocationCounterStore) -> None:
    """One whole session with the asyncio ``AsyncConnection``."""
    session = _dlmskit_session(counters)
    link = HdlcClientLink(CLIENT_SAP, SERVER)
    transport = AsyncTcpTransport(HOST, port)
    async with AsyncConnection(transport, link, session, timeout=EXCHANGE_TIMEOUT) as connection:
        for index in range(GETS):
            answer = await connection.request(session.get(TARGETS[index % len(TARGETS)]))
            if not isinstance(answer, GetCompleted) or not answer.results[0].ok:
                raise DlmsError(f"GET {index + 1} failed: {answer!r}")


# -- the gurux-dlms client -----------------------------------------------------------------------------------


class GuruxClient:
    """gurux-dlms's ``GXDLMSSecureClient`` over ``gurux_net.GXNet``, driven the way its API asks: send the
    frames a request method returns, feed what arrives to ``getData`` until the reply is complete, ask
    ``receiverReady`` for more while the reply says more data follows."""

    def __init__(self) -> None:
        self.gx = importlib.import_module("gurux_dlms")
        self.enums = importlib.import_module("gurux_dlms.enums")
        self.objects = importlib.import_module("gurux_dlms.objects")
        self.secure = importlib.import_module("gurux_dlms.secure")
        self.net = importlib.import_module("gurux_net")
        self.network_type = importlib.import_module("gurux_net.enums").NetworkType
        self.receive_parameters = importlib.import_module("gurux_common.ReceiveParameters").ReceiveParameters
        self.invocation_counter = 1
        self.targets = [
            (self.objects.GXDLMSData("0.0.42.0.0.255"), 2),
            (self.objects.GXDLMSRegister("1.0.1.8.0.255"), 2),
            (self.objects.GXDLMSRegister("1.0.1.8.0.255"), 3),
        ]

    def session(self, port: int) -> None:
        gx, enums = self.gx, self.enums
        client = self.secure.GXDLMSSecureClient(
            True,
            CLIENT_SAP,
            gx.GXDLMSClient.getServerAddress(SERVER.logical, SERVER.physical),
            enums.Authentication.HIGH_GMAC,
            None,
            enums.InterfaceType.HDLC,
        )
        ciphering = client.ciphering
        ciphering.security = enums.Security.AUTHENTICATION_ENCRYPTION
        # Its own system title: sharing ours would restart counters our client already used under that
        # title (GCM nonce reuse), which the meter rightly refuses.
        ciphering.systemTitle = GURUX_CLIENT_TITLE
        ciphering.blockCipherKey = EK
        ciphering.authenticationKey = AK
        ciphering.invocationCounter = self.invocation_counter
        media = self.net.GXNet(self.network_type.TCP, HOST, port)
        media.open()
        try:
            reply = self._exchange(client, media, [client.snrmRequest()])
            client.parseUAResponse(reply.data)
            reply = self._exchange(client, media, client.aarqRequest())
            client.parseAareResponse(reply.data)
            if client.getIsAuthenticationRequired():
                reply = self._exchange(client, media, client.getApplicationAssociationRequest())
                client.parseApplicationAssociationResponse(reply.data)
            for index in range(GETS):
                target, attribute = self.targets[index % len(self.targets)]
                reply = self._exchange(client, media, client.read(target, attribute))
                if reply.value is None:
                    raise ValueError(f"GET {index + 1} returned no value")
                client.updateValue(target, attribute, reply.value)
            self._exchange(client, media, client.releaseRequest())
            self._exchange(client, media, [client.disconnectRequest()])
        finally:
            media.close()
            self.invocation_counter = ciphering.invocationCounter

    def _exchange(self, client: Any, media: Any, frames: list[Any]) -> Any:
        reply = self.gx.GXReplyData()
        for frame in frames:
            reply = self.gx.GXReplyData()
            self._read(client, media, frame, reply)
        while reply.isMoreData():
            self._read(client, media, client.receiverReady(reply), reply)
        return reply

    def _read(self, client: Any, media: Any, frame: Any, reply: Any) -> None:
        parameters = self.receive_parameters()
        parameters.eop = 0x7E
        parameters.waitTime = int(EXCHANGE_TIMEOUT * 1000)
        received = self.gx.GXByteBuffer()
        with media.getSynchronous():
            media.send(frame)
            while not client.getData(received, reply, None):
                parameters.reply = None
                if not media.receive(parameters):
                    raise TimeoutError(f"gurux-dlms: no answer within {EXCHANGE_TIMEOUT:g} s")
                received.set(parameters.reply)


# -- case 5 -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionResult:
    """Median client CPU time and wall time per session over ``sessions`` sessions."""

    cpu: float
    wall: float
    sessions: int
    simulator_cpu: float | None

    def to_json(self) -> dict[str, float | int | None]:
        return {
            "client_cpu_per_session": self.cpu,
            "wall_per_session": self.wall,
            "sessions": self.sessions,
            "simulator_cpu_per_session": self.simulator_cpu,
        }


def _timed_sessions(run: Callable[[], object], simulator: Simulator, count: int) -> SessionResult:
    for _ in range(2):
        run()  # warm-up: imports, first connection
    cpu, wall = [], []
    server_before = simulator.cpu_seconds()
    for _ in range(count):
        cpu_start, wall_start = time.process_time(), time.perf_counter()
        run()
        wall.append(time.perf_counter() - wall_start)
        cpu.append(time.process_time() - cpu_start)
    server_after = simulator.cpu_seconds()
    server = None if server_before is None or server_after is None else (server_after - server_before) / count
    return SessionResult(statistics.median(cpu), statistics.median(wall), count, server)


def single_sessions(count: int, *, use_simulate: bool, with_gurux: bool) -> dict[str, SessionResult | str]:
    """Case 5: ``count`` sessions one after the other for each client; a string says why one failed."""
    results: dict[str, SessionResult | str] = {}
    with Simulator(use_simulate=use_simulate) as simulator:
        counters = MemoryInvocationCounterStore()
        try:
            results["dlmskit"] = _timed_sessions(
                lambda: dlmskit_sync_session(simulator.port, counters), simulator, count
            )
        except (DlmsError, OSError) as error:
            results["dlmskit"] = f"failed: {error}"
        if with_gurux:
            gurux = GuruxClient()
            session = quiet(lambda: gurux.session(simulator.port))
            try:
                results["gurux-dlms"] = _timed_sessions(session, simulator, count)
            except Exception as error:  # a foreign library: report whatever it raised
                results["gurux-dlms"] = f"failed: {type(error).__name__}: {error}"
    return results


# -- case 6 -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ManyResult:
    """``sessions`` sessions with ``concurrency`` at a time, against one simulator process."""

    concurrency: int
    sessions: int
    failures: int
    wall: float
    client_cpu: float
    simulator_cpu: float | None
    first_error: str

    @property
    def per_second(self) -> float:
        return (self.sessions - self.failures) / self.wall

    def to_json(self) -> dict[str, float | int | str | None]:
        return {
            "concurrency": self.concurrency,
            "sessions": self.sessions,
            "failures": self.failures,
            "wall": self.wall,
            "sessions_per_second": self.per_second,
            "client_cpu_per_session": self.client_cpu / self.sessions,
            "simulator_cpu_per_session": None
            if self.simulator_cpu is None
            else self.simulator_cpu / self.sessions,
            "first_error": self.first_error,
        }


@contextlib.contextmanager
def _file_limit(needed: int) -> Iterator[None]:
    """Raise the soft limit of open files to ``needed`` (if the hard limit allows) for the block."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = soft if soft >= needed else (needed if hard == resource.RLIM_INFINITY else min(needed, hard))
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


async def _batch(
    port: int, concurrency: int, sessions: int, counters: MemoryInvocationCounterStore
) -> list[str]:
    """Run ``sessions`` sessions, ``concurrency`` at a time; the errors of those that failed."""
    gate = asyncio.Semaphore(concurrency)

    async def one() -> str | None:
        async with gate:
            try:
                await dlmskit_async_session(port, counters)
            except (DlmsError, OSError) as error:
                return f"{type(error).__name__}: {error}"
            return None

    tasks = [asyncio.ensure_future(one()) for _ in range(sessions)]
    done, pending = await asyncio.wait(tasks, timeout=BATCH_TIMEOUT)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    errors = [error for error in (task.result() for task in done) if error is not None]
    return errors + [f"not finished within {BATCH_TIMEOUT:g} s (cancelled)"] * len(pending)


def many_sessions(plan: list[tuple[int, int]], *, use_simulate: bool) -> list[ManyResult]:
    """Case 6: for each ``(concurrency, sessions)`` of ``plan``, a fresh simulator and one timed batch."""
    results = []
    counters = MemoryInvocationCounterStore()
    for concurrency, sessions in plan:
        with _file_limit(2 * concurrency + 256), Simulator(use_simulate=use_simulate) as simulator:
            asyncio.run(_batch(simulator.port, 1, 1, counters))  # warm-up
            server_before = simulator.cpu_seconds()
            cpu_start, wall_start = time.process_time(), time.perf_counter()
            errors = asyncio.run(_batch(simulator.port, concurrency, sessions, counters))
            wall = time.perf_counter() - wall_start
            cpu = time.process_time() - cpu_start
            server_after = simulator.cpu_seconds()
        server = None if server_before is None or server_after is None else server_after - server_before
        results.append(
            ManyResult(concurrency, sessions, len(errors), wall, cpu, server, errors[0] if errors else "")
        )
    return results
