"""Restarts in the middle of things: no invocation counter is ever used twice, and the client knows what
it read before the fault.

Real processes, killed with SIGKILL: the meter (``recording_meter.py``) records every invocation
counter it receives and sends (the client's in ciphered APDUs, the glo-initiateRequest of the AARQ and
the HLS answer f(StoC); its own in its ciphered answers); the client keeps its counters in a
:class:`~dlmskit.security.invocation.FileInvocationCounterStore` in ``tmp_path``, and so does the meter.
A GCM nonce (system title, invocation counter) used twice with the same key leaks plaintext, so any
repeat in the records fails the test.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.tinymeter import demo_meter

from dlmskit.client.connection import Connection
from dlmskit.errors import DlmsError
from dlmskit.link.hdlc_link import DEFAULT_PARAMETERS, HdlcClientLink
from dlmskit.security.ciphering import CipheredApdu, is_ciphered_tag
from dlmskit.security.invocation import FileInvocationCounterStore
from dlmskit.transport import TcpTransport

from .harness import SERVER, ProfileReader, TransferInterrupted, axdr_rows, client_session, profile_rows

REPOSITORY = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL and fork-free restarts are POSIX")


def _environment() -> dict[str, str]:
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join((str(REPOSITORY / "src"), str(REPOSITORY)))
    return environment


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Process:
    """A test process whose output lines can be waited for (bounded in time)."""

    def __init__(self, module: str, *arguments: object) -> None:
        self.popen = subprocess.Popen(
            [sys.executable, "-m", f"tests.robustness.{module}", *map(str, arguments)],
            cwd=REPOSITORY,
            env=_environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []

    def wait_for(self, predicate: object, timeout: float = 30.0) -> str:
        """Read lines until one satisfies ``predicate`` (a callable on the line)."""
        assert callable(predicate) and self.popen.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.popen.stdout.readline()
            if not line:
                break
            self.lines.append(line.strip())
            if predicate(line.strip()):
                return line.strip()
        stderr = self.popen.stderr.read() if self.popen.poll() is not None and self.popen.stderr else ""
        raise AssertionError(f"process output ended without the line: {self.lines[-5:]} {stderr[-2000:]}")

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=10)

    def close(self) -> None:
        self.kill()
        for stream in (self.popen.stdout, self.popen.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def processes() -> Iterator[list[Process]]:
    started: list[Process] = []
    yield started
    for process in started:
        process.close()


def _start_meter(processes: list[Process], port: int, tmp_path: Path) -> Process:
    meter = Process("recording_meter", port, tmp_path / "records.jsonl", tmp_path / "meter-counters.json")
    processes.append(meter)
    meter.wait_for(lambda line: line == "ready")
    return meter


def _records(tmp_path: Path) -> list[dict[str, object]]:
    text = (tmp_path / "records.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _assert_no_counter_used_twice(records: list[dict[str, object]]) -> None:
    for direction in ("to-meter", "to-client"):
        nonces = Counter(
            (record["title"], record["ic"]) for record in records if record["direction"] == direction
        )
        repeated = {nonce: count for nonce, count in nonces.items() if count > 1}
        assert not repeated, f"invocation counters used twice ({direction}): {repeated}"


def test_client_killed_mid_transfer_never_reuses_a_counter(tmp_path: Path, processes: list[Process]) -> None:
    port = _free_port()
    _start_meter(processes, port, tmp_path)
    counters = tmp_path / "client-counters.json"
    for run in range(3):
        client = Process("ciphered_client", port, counters, 400)
        processes.append(client)
        # Kill it in the middle of a datablock transfer of its second session (first one for run 0).
        if run:
            client.wait_for(lambda line: line.startswith("session"))
        client.wait_for(lambda line: line == "block 20")
        client.kill()
    last = Process("ciphered_client", port, counters, 400)
    processes.append(last)
    last.wait_for(lambda line: line == "session 1 done")
    last.kill()
    records = _records(tmp_path)
    to_meter = [record for record in records if record["direction"] == "to-meter"]
    assert {record["kind"] for record in to_meter} == {"aarq", "apdu", "f(StoC)"}
    assert len(to_meter) > 80
    _assert_no_counter_used_twice(records)
    # The store persisted each counter before handing it out: its file is ahead of every counter used.
    highest = max(int(str(record["ic"])) for record in to_meter)
    document = json.loads(counters.read_text(encoding="utf-8"))
    title = str(to_meter[0]["title"]).upper()
    assert max(document["counters"][title].values()) > highest


def test_meter_killed_mid_session_client_resumes_without_reusing_counters(
    tmp_path: Path, processes: list[Process]
) -> None:
    port = _free_port()
    meter = _start_meter(processes, port, tmp_path)
    counters = tmp_path / "client-counters.json"
    received: list[tuple[bytes | None, int]] = []

    def on_apdu(direction: str, apdu: bytes) -> None:
        if direction == "rx" and apdu and is_ciphered_tag(apdu[0]):
            received.append((None, CipheredApdu.decode(apdu).invocation_counter))

    def connect() -> Connection:
        session = client_session("hls-gmac", max_pdu=256, counters=FileInvocationCounterStore(counters))
        link = HdlcClientLink(1, SERVER, DEFAULT_PARAMETERS, max_retries=2)
        return Connection(TcpTransport("127.0.0.1", port), link, session, timeout=0.5, on_apdu=on_apdu)

    reader = ProfileReader(1, 2000, slice_rows=100)

    def kill_meter_at(rows: int) -> None:
        if rows == 600:
            meter.kill()

    connection = connect()
    connection.open()
    with pytest.raises(TransferInterrupted) as interrupted:
        reader.read(connection, on_progress=kill_meter_at)
    connection.close()
    # What was read before the fault is kept, and is right.
    assert len(interrupted.value.rows) == 600 and isinstance(interrupted.value.cause, DlmsError)
    assert "600 rows" in str(interrupted.value)
    clean = demo_meter()
    assert axdr_rows(interrupted.value.rows) == axdr_rows(profile_rows(clean, 1, 600))

    _start_meter(processes, port, tmp_path)  # the meter comes back on the same port
    with connect() as connection:
        rows = reader.read(connection)
    assert axdr_rows(rows) == axdr_rows(profile_rows(clean, 1, 2000))

    records = _records(tmp_path)
    _assert_no_counter_used_twice(records)
    assert len({ic for _title, ic in received}) == len(received), "the meter reused its own counters"
    assert len(received) > 20
