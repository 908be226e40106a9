"""What the head-end's storage features cost in CPU: frame traces per session, opening and migrating the
database, exports.

    python -m bench.headend_storage [--sessions 40] [--readings 100000]

Process CPU time (the machine is shared: wall time says little); the meter is a `dlmskit simulate` process of
its own, so its CPU is not counted. One HLS-GMAC session reads the clock and two registers and stores them.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as _dt
import io
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dlmskit.headend import Engine, EngineLimits, Inventory, KeyStore, Meter, ReadPlan, Store
from dlmskit.headend.export import export_csv, export_parquet
from dlmskit.headend.store import utc
from dlmskit.security.keys import SecretBytes

EK = "000102030405060708090A0B0C0D0E0F"  # the simulator's documented demo keys (docs/simulator.md)
AK = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _sessions(root: Path, count: int) -> None:
    port = _free_port()
    binary = Path(sys.executable).parent / "dlmskit"
    meter = subprocess.Popen(
        [str(binary), "simulate", "--transport", "wrapper", "--port", str(port), "--state-dir", str(root)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port)).close()
                break
            except OSError:
                time.sleep(0.05)
        store = Store(f"sqlite:///{root / 'sessions.sqlite'}")
        inventory = Inventory(store, KeyStore(store, SecretBytes(bytes(range(32)), label="bench master key")))
        settings = {"port": port, "link": "wrapper", "client_address": 1, "authentication": "gmac"}
        inventory.put_meter(Meter("m", settings=settings))
        assert inventory.keystore is not None
        inventory.keystore.put("m", "block_cipher_key", EK)
        inventory.keystore.put("m", "authentication_key", AK)
        meters = inventory.meters()
        for mode in (None, "ciphered", "decrypted") * 2:
            plan = ReadPlan(
                "p", registers=("1.0.1.8.0.255", "1.0.2.8.0.255"), commands=False, trace_frames=mode
            )
            engine = Engine(inventory, EngineLimits(retries=0))
            start = time.process_time()
            for _ in range(count):
                (outcome,) = asyncio.run(engine.run(plan, meters))
                assert outcome.outcome == "ok", outcome
            spent = (time.process_time() - start) / count * 1000
            print(f"session, trace_frames={mode!s:9}: {spent:6.2f} ms CPU (mean of {count})")
        store.close()
    finally:
        meter.terminate()
        meter.wait()


def _database(root: Path, readings: int) -> None:
    url = f"sqlite:///{root / 'export.sqlite'}"
    start = time.process_time()
    store = Store(url)
    print(
        f"Store(url), empty SQLite file migrated to the newest revision: {(time.process_time() - start) * 1000:.1f} ms CPU"
    )
    store.close()
    start = time.process_time()
    for _ in range(50):
        Store(url).close()
    print(f"Store(url), database up to date: {(time.process_time() - start) / 50 * 1000:.2f} ms CPU")
    store = Store(url)
    base = _dt.datetime(2026, 1, 1, tzinfo=_dt.timezone.utc)
    rows = [
        {
            "meter": f"m{i % 1000:04d}",
            "logical_name": "1.0.1.8.0.255",
            "attribute": 2,
            "capture_time": utc(base + _dt.timedelta(minutes=15 * (i // 1000))),
            "value": f"{i}.5",
            "unit": "kWh",
        }
        for i in range(readings)
    ]
    store.save_readings(rows)
    for form in ("csv", "parquet"):
        start = time.process_time()
        if form == "csv":
            count = export_csv(store, "readings", io.StringIO())
        else:
            count = export_parquet(store, "readings", root / "readings.parquet")
        print(f"export readings as {form:7}: {count} rows, {time.process_time() - start:.2f} s CPU")
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=40)
    parser.add_argument("--readings", type=int, default=100_000)
    options = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as folder:
        _sessions(Path(folder), options.sessions)
        _database(Path(folder), options.readings)


if __name__ == "__main__":
    main()
