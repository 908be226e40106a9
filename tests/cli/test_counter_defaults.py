"""``dlmskit simulate`` with its default paths and CLI HLS-GMAC reads against it, as real processes.

The issue this guards against: the simulator and the CLI kept their counters in one default file, the
simulator wrote its stale copy back and set the client's counter back, and the CLI then sent AARQs with
counters it had used before (GCM nonce reuse). Here HOME and XDG_STATE_HOME point into the test's own
directory, nothing names a state directory, and every client counter on the wire (from each read's
``--trace``) must be new. Also ``dlmskit counter show|set`` and ``--read-frame-counter`` against the
simulator.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

EK = "000102030405060708090A0B0C0D0E0F"  # the simulator's documented demo keys (docs/simulator.md)
AK = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"
GMAC = ("--auth", "gmac", "--key", EK, "--auth-key", AK)
_LISTENING = re.compile(r"listening on 127\.0\.0\.1:(\d+)")
_COUNTER = re.compile(r"invocation counter (\d+) \(")


class Simulator:
    def __init__(self, home: Path) -> None:
        self.environment = {
            **os.environ,
            "HOME": str(home),
            "XDG_STATE_HOME": str(home / "state"),
            "XDG_CONFIG_HOME": str(home / "config"),
            "COLUMNS": "200",
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "dlmskit", "simulate", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=self.environment,
            text=True,
        )
        assert self.process.stdout is not None
        for line in self.process.stdout:
            found = _LISTENING.search(line)
            if found:
                self.port = found.group(1)
                break
        else:
            pytest.fail("dlmskit simulate did not start listening")
        # Keep reading its output so that the pipe never fills up.
        threading.Thread(target=self.process.stdout.read, daemon=True).start()

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "dlmskit", *args, "--port", self.port]
        return subprocess.run(command, capture_output=True, text=True, env=self.environment, timeout=120)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


@pytest.fixture
def simulator(tmp_path: Path) -> Iterator[Simulator]:
    running = Simulator(tmp_path)
    yield running
    running.stop()


def _sent_counters(trace: str) -> list[int]:
    """The client's invocation counters in a ``--trace`` (the decoded lines under each ``TX →`` frame)."""
    counters: list[int] = []
    sending = False
    for line in trace.splitlines():
        if line.startswith("TX →"):
            sending = True
        elif line.startswith("RX ←"):
            sending = False
        elif sending:
            counters.extend(int(value) for value in _COUNTER.findall(line))
    return counters


def _read(simulator: Simulator, *options: str) -> list[int]:
    result = simulator.run("read", *GMAC, "--trace", *options, "0.0.42.0.0.255")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "MMM0000012345678" in result.stdout
    counters = _sent_counters(result.stderr + result.stdout)
    assert len(counters) >= 3  # the AARQ's, the GET's and the release's at least
    return counters


def _reads(simulator: Simulator, sequential: int, parallel: int, each: int) -> None:
    every: list[int] = []
    for _ in range(sequential):
        every.extend(_read(simulator))
    results: list[list[int]] = []
    failures: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(each):
                results.append(_read(simulator))
        except BaseException as error:  # reported below, in the test's thread
            failures.append(error)

    threads = [threading.Thread(target=worker) for _ in range(parallel)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures[0]
    for counters in results:
        every.extend(counters)
    assert len(every) == len(set(every)), "the client sent an invocation counter twice"
    state = Path(simulator.environment["XDG_STATE_HOME"]) / "dlmskit"
    assert (state / "client" / "invocation-counters.json").exists()
    assert (state / "simulator" / "invocation-counters.json").exists()
    assert not (state / "invocation-counters.json").exists()


def test_default_paths_sequential_and_concurrent_reads(simulator: Simulator) -> None:
    _reads(simulator, sequential=3, parallel=2, each=2)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_default_paths_60_sequential_and_4x20_concurrent_reads(simulator: Simulator) -> None:
    _reads(simulator, sequential=60, parallel=4, each=20)


def test_counter_show_set_and_read_frame_counter_first(simulator: Simulator) -> None:
    first = _read(simulator)
    shown = simulator.run("counter", "show", "--key", EK)
    assert shown.returncode == 0 and "this client" in shown.stdout
    # Another counter file for the same system title and key: the meter has seen higher counters.
    other = ("--state-dir", str(Path(simulator.environment["HOME"]) / "other"))
    refused = simulator.run("read", *GMAC, *other, "0.0.42.0.0.255")
    assert refused.returncode != 0
    assert "--read-frame-counter" in refused.stderr and "dlmskit counter set" in refused.stderr
    # The documented remedies: read the frame counter first, or set the counter.
    after = _read(simulator, *other, "--read-frame-counter")
    assert min(after) > max(first)
    lowered = simulator.run("counter", "set", "5", "--key", EK, *other)
    assert lowered.returncode != 0 and "never go back" in lowered.stderr
    raised = simulator.run("counter", "set", str(max(after) + 1000), "--key", EK)
    assert raised.returncode == 0
    assert min(_read(simulator)) == max(after) + 1000
