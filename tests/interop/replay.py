"""A scripted peer: answers a client over a real loopback TCP socket with exactly the bytes of a recording.

The recordings are the byte-exact transcripts in ``<repo>/../shared/interop/gurux-c-server/`` (their README
describes the format: ``C->S <hex>`` and ``S->C <hex>`` lines, one HDLC frame or wrapper PDU each). The peer
walks the transcript in order: for every ``C->S`` line it reads one whole frame (HDLC) or PDU (wrapper)
from the client, whatever its content, and keeps it; for every ``S->C`` line it sends the recorded bytes.
Nothing is computed: the client under test must cope with the recorded meter's answers as they are.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
GURUX_C = SHARED / "interop" / "gurux-c-server"


def transcript(name: str) -> tuple[dict[str, str], list[tuple[str, bytes]]]:
    """The header (``# key: value``) and the chunks (direction, bytes) of one recording; skip when absent."""
    path = GURUX_C / name
    if not path.is_file():
        pytest.skip(f"the recordings are not here: {path} (CI keeps shared/ next to the repository)")
    header: dict[str, str] = {}
    chunks: list[tuple[str, bytes]] = []
    for line in path.read_text().splitlines():
        if line.startswith("# ") and ":" in line:
            key, _, value = line[2:].partition(":")
            header[key.strip()] = value.strip()
        elif line.startswith(("C->S ", "S->C ")):
            chunks.append((line[:4], bytes.fromhex(line[5:])))
    return header, chunks


def _read_exactly(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        part = sock.recv(count - len(data))
        if not part:
            raise EOFError
        data += part
    return data


def read_unit(sock: socket.socket, link: str) -> bytes:
    """One HDLC frame (flags included) or one wrapper PDU from ``sock``."""
    if link == "wrapper":
        header = _read_exactly(sock, 8)
        return header + _read_exactly(sock, int.from_bytes(header[6:8], "big"))
    first = _read_exactly(sock, 1)
    while first != b"\x7e":
        first = _read_exactly(sock, 1)
    head = _read_exactly(sock, 2)
    while head[0] == 0x7E:  # a closing flag shared with the next opening one
        head = head[1:] + _read_exactly(sock, 1)
    length = int.from_bytes(head, "big") & 0x7FF
    return first + head + _read_exactly(sock, length - 1)


@dataclass
class ScriptedPeer:
    """Serves one connection on a free loopback port with the ``S->C`` chunks of ``chunks``."""

    chunks: list[tuple[str, bytes]]
    link: str = "hdlc"
    received: list[bytes] = field(default_factory=list)
    error: BaseException | None = None
    finished: bool = False

    def __post_init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(20)
        self.port: int = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        try:
            connection, _ = self._listener.accept()
        except OSError as exc:
            self.error = exc
            return
        with connection:
            connection.settimeout(20)
            try:
                for direction, data in self.chunks:
                    if direction == "C->S":
                        self.received.append(read_unit(connection, self.link))
                    else:
                        connection.sendall(data)
                self.finished = True
                while connection.recv(4096):  # whatever the client still sends, until it closes
                    pass
            except EOFError:
                pass
            except OSError as exc:
                self.error = exc

    def stop(self) -> None:
        self._thread.join(timeout=20)
        self._listener.close()

    def completed(self) -> bool:
        """Whether the whole recording was played without an error: waits for the peer's thread (the
        client may see the last answer before that thread has marked the script finished)."""
        self._thread.join(timeout=20)
        return self.finished and self.error is None
