"""The head-end against a simulated fleet: ``make bench-headend`` (or ``python -m bench.headend --meters 1000``).

A fleet of N meters (``dlmskit simulate --fleet``, a process of its own, round trips of ``--delay`` plus up to
``--jitter`` seconds) is read twice with one HLS-GMAC register read per meter and its storage:

- **head-end**: :class:`dlmskit.headend.Engine` (asyncio, ``--max-sessions`` at once), into SQLite;
- **plain loop**: what a user writes first: for each meter, ``with connect(...)``, read, insert into SQLite.

Reported: wall time, sessions per hour, the head-end process's CPU time per session, the most sessions open at
once and the memory per open session (RSS growth over the peak number of sessions). No timing is asserted
anywhere; the figures go into docs and the closing note with this command.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dlmskit.client import connect
from dlmskit.headend import Engine, EngineLimits, Inventory, KeyStore, ReadPlan, Store
from dlmskit.security.keys import SecretBytes

PLAN = ReadPlan("bench", registers=("1.0.1.8.0.255",), clock=False, commands=False)


def _rss_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _fleet(directory: Path, meters: int, delay: float, jitter: float) -> tuple[subprocess.Popen[bytes], Path]:
    inventory = directory / "fleet.toml"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dlmskit",
            "simulate",
            "--fleet",
            str(meters),
            "--port",
            "0",
            "--inventory",
            str(inventory),
            "--delay",
            str(delay),
            "--jitter",
            str(jitter),
        ],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 600
    while not inventory.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the fleet simulator did not start")
        time.sleep(0.2)
    return process, inventory


def _headend(directory: Path, inventory_file: Path, max_sessions: int) -> dict[str, float]:
    store = Store(f"sqlite:///{directory / 'headend.sqlite'}")
    inventory = Inventory(store, KeyStore(store, SecretBytes(os.urandom(32))))
    inventory.import_file(inventory_file)
    meters = inventory.meters("fleet")
    engine = Engine(
        inventory, EngineLimits(max_sessions=max_sessions, connections_per_second=10_000, retries=0)
    )
    rss_before = _rss_mib()
    cpu, wall = time.process_time(), time.perf_counter()
    outcomes = asyncio.run(engine.run(PLAN, meters))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    ok = sum(o.outcome == "ok" for o in outcomes)
    store.close()
    return {
        "sessions": len(meters),
        "ok": ok,
        "wall_s": wall,
        "per_hour": ok / wall * 3600,
        "cpu_ms_per_session": cpu / len(meters) * 1000,
        "peak_sessions": engine.peak,
        "rss_growth_mib": _rss_mib() - rss_before,
    }


def _plain_loop(directory: Path, inventory_file: Path, limit: int) -> dict[str, float]:
    from dlmskit.simulator.source import parse_toml

    document = parse_toml(inventory_file.read_text(encoding="utf-8"), "fleet.toml")
    template = dict(document["template"]["fleet-gmac"])
    meters = document["meter"][:limit]
    database = sqlite3.connect(directory / "plain.sqlite")
    database.execute("CREATE TABLE IF NOT EXISTS readings (meter TEXT, at TEXT, value TEXT, unit TEXT)")
    cpu, wall = time.process_time(), time.perf_counter()
    ok = 0
    for meter in meters:
        settings = {
            k: v for k, v in meter.items() if k not in ("name", "template", "groups", "meter_system_title")
        }
        # Its own client system title: the meters remember the head-end's counters for the head-end's title.
        settings.update(system_title="444C4B0000000002", invocation_counter_path=directory / "counters.json")
        with connect(**template, **settings) as client:
            quantity = client.register("1.0.1.8.0.255")
        with database:
            database.execute(
                "INSERT INTO readings VALUES (?, datetime('now'), ?, ?)",
                (meter["name"], str(quantity.value), str(quantity.unit)),
            )
        ok += 1
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {
        "sessions": len(meters),
        "ok": ok,
        "wall_s": wall,
        "per_hour": ok / wall * 3600,
        "cpu_ms_per_session": cpu / len(meters) * 1000,
        "peak_sessions": 1,
        "rss_growth_mib": 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meters", type=int, default=1000)
    parser.add_argument("--delay", type=float, default=0.3, help="seconds before each answer")
    parser.add_argument("--jitter", type=float, default=0.2, help="up to this many seconds more")
    parser.add_argument("--max-sessions", type=int, default=1000)
    parser.add_argument("--plain", type=int, default=20, help="meters read by the plain loop")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        directory = Path(temporary)
        fleet, inventory = _fleet(directory, options.meters, options.delay, options.jitter)
        try:
            rows = {
                "head-end": _headend(directory, inventory, options.max_sessions),
                "plain loop": _plain_loop(directory, inventory, options.plain),
            }
        finally:
            fleet.terminate()
            fleet.wait()
    print(
        f"{options.meters} meters, round trips {options.delay:g} s + up to {options.jitter:g} s, "
        "one HLS-GMAC register read per session, stored in SQLite"
    )
    print(
        f"{'':12} {'sessions':>8} {'ok':>6} {'wall s':>8} {'per hour':>10} {'CPU ms/session':>15} {'peak':>5} {'RSS MiB':>8}"
    )
    for name, row in rows.items():
        print(
            f"{name:12} {row['sessions']:>8.0f} {row['ok']:>6.0f} {row['wall_s']:>8.1f} {row['per_hour']:>10.0f} "
            f"{row['cpu_ms_per_session']:>15.2f} {row['peak_sessions']:>5.0f} {row['rss_growth_mib']:>8.1f}"
        )
    peak = rows["head-end"]["peak_sessions"]
    if peak:
        print(
            f"memory per open session: {rows['head-end']['rss_growth_mib'] * 1024 / peak:.0f} KiB (RSS growth / peak)"
        )


if __name__ == "__main__":
    main()
