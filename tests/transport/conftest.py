"""Real operating-system resources for the transport tests: a pseudo-terminal pair made by socat."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class PtyPair:
    """Two pseudo-terminals joined by socat: bytes written to one are read from the other."""

    a: str
    b: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        """End socat: both pseudo-terminals lose their other end (a device that disappears)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


@pytest.fixture
def pty_pair(tmp_path: Path) -> Iterator[PtyPair]:
    socat = shutil.which("socat")
    if socat is None:
        pytest.skip(
            "socat is not on PATH (apt-get install socat, or `make sysdeps`): no pseudo-terminal pair"
        )
    a, b = tmp_path / "pty-a", tmp_path / "pty-b"
    log = (tmp_path / "socat.log").open("wb")
    process = subprocess.Popen(
        [socat, "-d", "-d", f"pty,raw,echo=0,link={a}", f"pty,raw,echo=0,link={b}"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    pair = PtyPair(str(a), str(b), process)
    try:
        deadline = time.monotonic() + 5.0
        while not (a.exists() and b.exists()):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    f"socat did not make the pseudo-terminal pair: {(tmp_path / 'socat.log').read_text()}"
                )
            time.sleep(0.01)
        yield pair
    finally:
        pair.stop()
        log.close()


class TcpServer:
    """A TCP server on 127.0.0.1 (port chosen by the OS) that serves one connection in a thread.

    ``handler(connection, server)`` runs with the accepted socket; a handler that must keep the
    connection open waits for :attr:`release`, which is set when the test ends.
    """

    def __init__(self, handler: Callable[[socket.socket, TcpServer], None]) -> None:
        self._handler = handler
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.port: int = self._listener.getsockname()[1]
        self.release = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self.release.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            connection.settimeout(5.0)
            with connection:
                self._handler(connection, self)
            return

    def close(self) -> None:
        self.release.set()
        self._thread.join(timeout=10)
        self._listener.close()


def echo(connection: socket.socket, server: TcpServer) -> None:
    """Send back every byte received until the client closes."""
    while chunk := connection.recv(4096):
        connection.sendall(chunk)


def hold_silently(connection: socket.socket, server: TcpServer) -> None:
    """Keep the connection open without sending anything until the test ends."""
    server.release.wait(timeout=10)


def close_at_once(connection: socket.socket, server: TcpServer) -> None:
    """Close the connection as soon as it is accepted."""


def _start(handler: Callable[[socket.socket, TcpServer], None]) -> Iterator[int]:
    server = TcpServer(handler)
    try:
        yield server.port
    finally:
        server.close()


@pytest.fixture
def echo_server() -> Iterator[int]:
    """The port of a TCP server that echoes."""
    yield from _start(echo)


@pytest.fixture
def silent_server() -> Iterator[int]:
    """The port of a TCP server that accepts and never sends."""
    yield from _start(hold_silently)


@pytest.fixture
def closing_server() -> Iterator[int]:
    """The port of a TCP server that closes the connection as soon as it has accepted it."""
    yield from _start(close_at_once)


def _unused_port(kind: socket.SocketKind) -> int:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def unused_tcp_port() -> int:
    """A loopback TCP port nothing listens on (bound for a moment by the OS, then released)."""
    return _unused_port(socket.SOCK_STREAM)


@pytest.fixture
def unused_udp_port() -> int:
    """A loopback UDP port nothing listens on (bound for a moment by the OS, then released)."""
    return _unused_port(socket.SOCK_DGRAM)
