"""The sizing model (bench/sizing.py) is worked out from the results file it is given; bench.workers starts.

A results document made up here (figures chosen to be easy to check by hand, not measured) goes through
``bench.sizing``; the model's figures follow from it and from the printed assumptions. Nothing is timed.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from bench.sizing import Assumptions, main, measured, model


def _run(workers: int, worker_cpu_ms: float) -> dict[str, Any]:
    return {
        "workers": workers,
        "meters": 1000,
        "ok": 1000,
        "reads_per_hour": 100_000.0 * workers,
        "worker_cpu_ms_per_read": worker_cpu_ms,
        "redis_cpu_ms_per_read": 0.5,
        "postgres_cpu_ms_per_read": 2.0,
        "redis_commands_per_read": 10.0,
        "postgres_transactions_per_read": 3.0,
        "postgres_wal_bytes_per_read": 1000.0,
        "postgres_new_readings": 1000,
        "postgres_client_connections_max": 6 * workers,
        "redis_stream_bytes_per_entry": 100.0,
        "redis_fence_key_bytes": 70.0,
        "redis_lease_key_bytes": 120.0,
        "wall_s": 36.0 / workers,
        "fleet_cpu_ms_per_read": 1.0,
        "peak_rss_mib": [100.0] * workers,
        "session_seconds_mean": 2.0,
        "wire": {"connections": 2, "bytes_up": 600, "bytes_down": 400, "writes_up": 8, "writes_down": 8},
        "load_average_before": [3.0, 2.0, 1.0],
        "load_average_after": [4.0, 2.0, 1.0],
    }


RESULTS = {
    "command": "python -m bench.workers --meters 1000",
    "machine": {"cores": 2, "cpu": "test"},
    "runs": [_run(1, 8.0), _run(2, 10.0), _run(3, 9.0)],
    "tables": {"readings": {"bytes_per_row": 200.0}, "jobs": {"bytes_per_row": 300.0}},
}


def _figures() -> dict[str, float]:
    return {line.what: line.value for line in model(measured(RESULTS), Assumptions())}


def test_the_model_follows_from_the_measured_costs_and_the_assumptions() -> None:
    found = measured(RESULTS)
    assert found.worker_cpu_ms == 10.0  # the most costly run's
    assert (found.exchanges, found.bytes_up, found.bytes_down) == (4.0, 300.0, 200.0)  # per session
    assert found.connections_per_worker == 6.0
    figures = _figures()
    rate = 10_000_000 * 4 / 3600 * 1.5
    assert figures["reads per hour"] == 40_000_000
    assert figures["design rate"] == pytest.approx(rate)
    assert figures["worker CPU"] == pytest.approx(rate * 0.010 / 0.7)
    assert figures["worker processes"] == math.ceil(rate * 0.010 / 0.7)
    assert figures["session time in the field"] == 5.0  # (4 exchanges + connect) x 1 s
    assert figures["sessions open at once"] == pytest.approx(rate * 5.0)  # Little's law
    assert figures["commands"] == pytest.approx(rate * 10)
    assert figures["Redis servers (one queue each)"] == math.ceil(rate * 0.0005 / 0.7)
    assert figures["fencing tokens"] == pytest.approx(10_000_000 * 70 / 2**30)
    assert figures["WAL"] == pytest.approx(40_000_000 * 24 * 1000 / 2**30)
    assert figures["rows written"] == pytest.approx(rate * 4)  # reading, job, fence, counter block
    assert figures["bytes of one session"] == 500 + (8 + 8 + 7) * 52  # 8 data segments, 8 ACKs, open, close


def test_the_assumptions_change_the_model() -> None:
    slower = model(measured(RESULTS), Assumptions(rtt_s=2.0, peak_factor=1.0, meters=1_000_000))
    figures = {line.what: line.value for line in slower}
    assert figures["design rate"] == pytest.approx(1_000_000 * 4 / 3600)
    assert figures["session time in the field"] == 10.0


def test_the_command_prints_assumptions_measured_costs_and_the_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = tmp_path / "workers.json"
    results.write_text(json.dumps(RESULTS), encoding="utf-8")
    main(["--results", str(results), "--rtt-s", "0.5"])
    printed = capsys.readouterr().out
    assert "- `rtt_s` = 0.5: a GPRS/3G round trip" in printed
    assert "- `worker_cpu_ms` = 10" in printed
    assert "| workers | sessions open at once | 41,667 | sessions |" in printed
    assert "| 3 | 1,000 | 1,000 | 12.0 | 300,000 | 9.00 |" in printed  # the runs as measured


def test_the_workers_bench_starts() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.workers", "--help"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "--meters" in done.stdout
