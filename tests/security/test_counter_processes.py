"""Invocation counter stores shared by 8 processes that are killed with SIGKILL and restarted at random.

Every counter any process was handed must be unique, and each worker's counters (across its restarts)
must increase: the file store's OS lock and re-read, the SQLite store's BEGIN IMMEDIATE transactions and
the rule that a reservation only ever raises the stored value, checked with real processes.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

WORKER = Path(__file__).with_name("counter_worker.py")
ROOT = Path(__file__).resolve().parents[2]


def _counters(log: Path) -> list[int]:
    if not log.exists():
        return []
    text = log.read_text(encoding="ascii")
    return [int(line) for line in text.split("\n")[:-1]]  # a line is complete only with its newline


def _run(tmp_path: Path, kind: str, *, workers: int, count: int, block: int, kills: int, seed: int) -> int:
    store = tmp_path / ("counters.json" if kind == "file" else "counters.sqlite")
    logs = [tmp_path / f"worker-{index}.log" for index in range(workers)]
    environment = {**os.environ, "PYTHONPATH": str(ROOT / "src")}

    def start(index: int) -> subprocess.Popen[bytes]:
        remaining = count - len(_counters(logs[index]))
        command = [
            sys.executable,
            str(WORKER),
            kind,
            str(store),
            str(block),
            str(remaining),
            str(logs[index]),
        ]
        return subprocess.Popen(command, env=environment)

    processes = {index: start(index) for index in range(workers)}
    chance = random.Random(seed)
    killed = 0
    while killed < kills:
        time.sleep(chance.uniform(0.05, 0.25))
        running = [index for index, process in processes.items() if process.poll() is None]
        if not running:
            break
        index = chance.choice(running)
        processes[index].send_signal(signal.SIGKILL)
        processes[index].wait()
        killed += 1
        processes[index] = start(index)
    for index, process in processes.items():
        assert process.wait(timeout=300) == 0, f"worker {index} failed"
    every: list[int] = []
    for log in logs:
        counters = _counters(log)
        assert len(counters) >= count - kills  # a kill may lose the counter being logged, no more
        assert counters == sorted(counters) and len(set(counters)) == len(counters), (
            f"{log.name} not increasing"
        )
        every.extend(counters)
    assert len(every) == len(set(every)), "a counter was handed out twice"
    return killed


@pytest.mark.parametrize("kind", ["file", "sqlite"])
def test_eight_processes_with_sigkills_never_share_a_counter(tmp_path: Path, kind: str) -> None:
    killed = _run(tmp_path, kind, workers=8, count=2000, block=16, kills=10, seed=11)
    assert killed >= 1


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("kind", ["file", "sqlite"])
def test_eight_processes_one_write_per_counter(tmp_path: Path, kind: str) -> None:
    # One durable write per counter: 16,000 fsyncs in each store (about two minutes on a busy 2-core machine).
    _run(tmp_path, kind, workers=8, count=2000, block=1, kills=30, seed=12)
