"""The head-end against a simulated fleet: ``make bench-headend`` (``python -m bench.headend --meters 10000
--async-store``).

A fleet of N meters (``dlmskit simulate --fleet``, ``--fleets`` processes of their own, round trips of
``--delay`` plus up to ``--jitter`` seconds: 0.3 s + up to 1.2 s by default) is read with one HLS-GMAC
register read per meter and its storage:

- **head-end**: :class:`dlmskit.headend.Engine` (asyncio, ``--max-sessions`` at once, the batched writer),
  into SQLite; with ``--async-store`` a second run over the same meters through
  :class:`dlmskit.headend.async_store.AsyncStore`;
- **plain loop, dlmskit**: what a user writes first: for each meter, ``with connect(...)``, read, insert
  into SQLite;
- **plain loop, gurux-dlms**: the same loop with gurux-dlms from PyPI (``GXDLMSClient`` over a socket).

Reported: wall time, sessions per hour, the head-end process's CPU time per session (and the simulators'),
the most sessions open at once, the memory per open session (RSS growth over the peak number of sessions),
sessions per database transaction, the load average before and after. The soft limit of open files is
raised to the hard one. No timing is asserted anywhere; the figures go into docs with this command.
"""

from __future__ import annotations

import argparse
import importlib
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from dlmskit.client import connect
from dlmskit.headend import Engine, EngineLimits, Inventory, KeyStore, ReadPlan, Store
from dlmskit.headend.async_store import AsyncStore
from dlmskit.headend.engine import JobOutcome
from dlmskit.security.keys import SecretBytes
from dlmskit.transport import eventloop

PLAN = ReadPlan("bench", registers=("1.0.1.8.0.255",), clock=False, commands=False)


def _rss_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _fleet(
    directory: Path, meters: int, delay: float, jitter: float, *, seed: int = 1, transport: str = "hdlc"
) -> tuple[subprocess.Popen[bytes], Path]:
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
            "--seed",
            str(seed),
            "--transport",
            transport,
        ],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 600
    while not inventory.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the fleet simulator did not start")
        time.sleep(0.2)
    return process, inventory


def pin(simulators: list[int]) -> str:
    """Put the simulator processes on the last CPU and this process (the head-end) on the others, so that
    neither evicts the other's caches or migrates between cores (what a utility does with a head-end that
    shares a machine: ``taskset``/``CPUAffinity=`` in its unit). Returns the layout in words."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return "not pinned (one CPU)"
    for pid in simulators:
        os.sched_setaffinity(pid, {cpus[-1]})
    os.sched_setaffinity(0, set(cpus[:-1]))
    return f"head-end on CPU {','.join(map(str, cpus[:-1]))}, simulators on CPU {cpus[-1]}"


def _cpu_seconds(pid: int) -> float:
    """User and system CPU time of another process (from /proc)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _inventory(directory: Path, inventory_files: list[Path]) -> Inventory:
    store = Store(f"sqlite:///{directory / 'headend.sqlite'}")
    inventory = Inventory(store, KeyStore(store, SecretBytes(os.urandom(32))))
    started = time.perf_counter()
    for inventory_file in inventory_files:
        inventory.import_file(inventory_file)
    print(f"inventory imported in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    return inventory


def _headend(
    inventory: Inventory,
    max_sessions: int,
    simulators: list[int],
    *,
    async_store: bool = False,
    loop: str = "auto",
) -> dict[str, float]:
    store = inventory.store
    meters = inventory.meters("fleet")
    engine = Engine(
        inventory,
        EngineLimits(max_sessions=max_sessions, connections_per_second=10_000, retries=0),
        async_store=AsyncStore(store) if async_store else None,
    )
    rss_before = _rss_mib()
    simulated = sum(_cpu_seconds(pid) for pid in simulators)
    cpu, wall = time.process_time(), time.perf_counter()

    async def run() -> list[JobOutcome]:
        try:
            return await engine.run(PLAN, meters)
        finally:
            if engine.async_store is not None:
                await engine.async_store.close()

    outcomes = eventloop.run(run(), loop=loop)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    simulated = sum(_cpu_seconds(pid) for pid in simulators) - simulated
    ok = sum(o.outcome == "ok" for o in outcomes)
    row = {
        "sessions": len(meters),
        "ok": ok,
        "wall_s": wall,
        "per_hour": ok / wall * 3600,
        "cpu_ms_per_session": cpu / len(meters) * 1000,
        "peak_sessions": engine.peak,
        "rss_growth_mib": _rss_mib() - rss_before,
        "simulator_cpu_ms_per_session": simulated / len(meters) * 1000,
        "sessions_per_transaction": len(meters) / max(1, engine.transactions),
    }
    print(f"head-end ({'async' if async_store else 'thread'}): {row}", file=sys.stderr, flush=True)
    return row


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
            k: v
            for k, v in meter.items()
            if k not in ("name", "template", "groups", "meter_system_title", "logical_device_name")
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
    return _plain_result(len(meters), ok, time.process_time() - cpu, time.perf_counter() - wall)


def _gurux_loop(directory: Path, inventory_file: Path, limit: int) -> dict[str, float]:
    """The loop a user writes with gurux-dlms (PyPI): for each meter a socket and a ``GXDLMSClient`` (HDLC,
    HLS-GMAC, authenticated encryption), SNRM, AARQ, the GMAC challenge, one get-with-list of the register's
    value and scaler-unit (what our ``client.register`` reads), release, DISC, then an insert into SQLite.
    The calls were learnt from the installed package (see bench/lib_gurux.py); none of its code is here."""
    import socket

    from dlmskit.simulator.source import parse_toml

    try:
        gx = importlib.import_module("gurux_dlms")
        enums = importlib.import_module("gurux_dlms.enums")
        objects = importlib.import_module("gurux_dlms.objects")
        ciphering = importlib.import_module("gurux_dlms.GXCiphering").GXCiphering
    except ImportError:
        return {}
    from bench.lib_gurux import quiet

    document = parse_toml(inventory_file.read_text(encoding="utf-8"), "fleet.toml")
    template = dict(document["template"]["fleet-gmac"])
    meters = document["meter"][:limit]
    database = sqlite3.connect(directory / "gurux.sqlite")
    database.execute("CREATE TABLE IF NOT EXISTS readings (meter TEXT, at TEXT, value TEXT, unit TEXT)")
    counter = 1

    def exchange(connection: socket.socket, client: Any, request: Any) -> Any:
        reply = gx.GXReplyData()
        connection.sendall(bytes(request))
        received = gx.GXByteBuffer()
        while not client.getData(received, reply, None):
            chunk = connection.recv(4096)
            if not chunk:
                raise ConnectionError("the meter closed the connection")
            received.set(chunk)
        return reply

    def one(meter: dict[str, Any]) -> tuple[str, str]:
        nonlocal counter
        wrapper = template.get("link") == "wrapper"
        server = (
            template["server_logical"]  # the wrapper's wPort
            if wrapper
            else gx.GXDLMSClient.getServerAddress(template["server_logical"], meter["server_physical"])
        )
        client = gx.GXDLMSClient(
            True,
            template["client_address"],
            server,
            enums.Authentication.HIGH_GMAC,
            None,
            enums.InterfaceType.WRAPPER if wrapper else enums.InterfaceType.HDLC,
        )
        cipher = ciphering(bytearray.fromhex("444C4B0000000003"))
        cipher.security = enums.Security.AUTHENTICATION_ENCRYPTION
        cipher.blockCipherKey = bytearray.fromhex(meter["block_cipher_key"])
        cipher.authenticationKey = bytearray.fromhex(meter["authentication_key"])
        cipher.invocationCounter = counter
        client.settings.cipher = cipher
        with socket.create_connection((meter["host"], meter["port"]), timeout=30) as connection:
            if not wrapper:  # the wrapper has no SNRM/UA and no DISC: TCP opens and closes the link
                client.parseUAResponse(exchange(connection, client, client.snrmRequest()).data)
            for request in client.aarqRequest():
                reply = exchange(connection, client, request)
            client.parseAareResponse(reply.data)
            for request in client.getApplicationAssociationRequest():
                reply = exchange(connection, client, request)
            client.parseApplicationAssociationResponse(reply.data)
            register = objects.GXDLMSRegister("1.0.1.8.0.255")
            wanted = [(register, 3), (register, 2)]  # the scaler first: gurux applies it to the value
            for message in client.readList(wanted):  # a list of messages, each a list of frames
                for request in message:
                    reply = exchange(connection, client, request)
            client.updateValues(wanted, reply.value)
            for request in client.releaseRequest():
                exchange(connection, client, request)
            if not wrapper:
                exchange(connection, client, client.disconnectRequest())
        counter = cipher.invocationCounter
        return str(register.value), str(register.unit)

    cpu, wall = time.process_time(), time.perf_counter()
    ok = 0
    for meter in meters:
        value, unit = quiet(lambda meter=meter: one(meter))()  # type: ignore[misc]
        with database:
            database.execute(
                "INSERT INTO readings VALUES (?, datetime('now'), ?, ?)", (meter["name"], value, unit)
            )
        ok += 1
    return _plain_result(len(meters), ok, time.process_time() - cpu, time.perf_counter() - wall)


def _plain_result(sessions: int, ok: int, cpu: float, wall: float) -> dict[str, Any]:
    """A plain loop's figures (one session at a time), in the head-end's columns."""
    return {
        "sessions": sessions,
        "ok": ok,
        "wall_s": wall,
        "per_hour": ok / wall * 3600,
        "cpu_ms_per_session": cpu / sessions * 1000,
        "peak_sessions": 1,
        "rss_growth_mib": 0.0,
    }


def _raise_file_limit() -> int:
    """Raise the soft limit of open files to the hard one (the fleet processes inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        wanted = 1 << 20 if hard == resource.RLIM_INFINITY else hard
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        return wanted
    return soft


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meters", type=int, default=10_000)
    parser.add_argument("--delay", type=float, default=0.3, help="seconds before each answer")
    parser.add_argument("--jitter", type=float, default=1.2, help="up to this many seconds more")
    parser.add_argument("--fleets", type=int, default=2, help="simulator processes sharing the meters")
    parser.add_argument("--max-sessions", type=int, default=2000)
    parser.add_argument(
        "--pin", action="store_true", help="the simulators on the last CPU, the head-end on the others"
    )
    parser.add_argument(
        "--transport",
        choices=("hdlc", "wrapper"),
        default="hdlc",
        help="the meters' data link: HDLC over TCP, or the wrapper (IEC 62056-47, GPRS meters' profile)",
    )
    parser.add_argument("--plain", type=int, default=10, help="meters read by each plain loop")
    parser.add_argument(
        "--async-store", action="store_true", help="a second head-end run through the async store"
    )
    parser.add_argument(
        "--loop",
        choices=eventloop.LOOP_CHOICES,
        default="auto",
        help="the head-end's event loop (auto: uvloop if installed)",
    )
    options = parser.parse_args()
    files = _raise_file_limit()
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as temporary:
        directory = Path(temporary)
        fleets = []
        try:
            share = -(-options.meters // options.fleets)
            for index in range(options.fleets):
                count = min(share, options.meters - index * share)
                if count > 0:
                    part = directory / f"fleet{index}"
                    part.mkdir()
                    fleets.append(
                        _fleet(
                            part,
                            count,
                            options.delay,
                            options.jitter,
                            seed=index + 1,
                            transport=options.transport,
                        )
                    )
            inventory = _inventory(directory, [inventory for _, inventory in fleets])
            pids = [process.pid for process, _ in fleets]
            pinned = pin(pids) if options.pin else "not pinned"
            rows = {"head-end": _headend(inventory, options.max_sessions, pids, loop=options.loop)}
            if options.async_store:
                # The same meters again (their counters go on), committing through SQLAlchemy's async engine.
                rows["head-end, async store"] = _headend(
                    inventory, options.max_sessions, pids, async_store=True, loop=options.loop
                )
            inventory.store.close()
            rows["plain loop, dlmskit"] = _plain_loop(directory, fleets[0][1], options.plain)
            gurux = _gurux_loop(directory, fleets[0][1], options.plain)
            if gurux:
                rows["plain loop, gurux-dlms"] = gurux
        finally:
            for process, _ in fleets:
                process.terminate()
            for process, _ in fleets:
                process.wait()
    after = os.getloadavg()
    print(
        f"{options.meters} meters in {len(fleets)} simulator processes, round trips {options.delay:g} s + up to "
        f"{options.jitter:g} s, one HLS-GMAC register read per session, stored in SQLite; open files {files}"
    )
    print(f"event loop: {eventloop.which_loop(options.loop)}; data link: {options.transport}; {pinned}")
    print(f"load average {load[0]:.1f} before, {after[0]:.1f} after (1 minute), {os.cpu_count()} CPUs")
    print(
        f"{'':24} {'sessions':>8} {'ok':>6} {'wall s':>8} {'per hour':>10} {'CPU ms/session':>15} "
        f"{'peak':>5} {'RSS MiB':>8}"
    )
    for name, row in rows.items():
        print(
            f"{name:24} {row['sessions']:>8.0f} {row['ok']:>6.0f} {row['wall_s']:>8.1f} {row['per_hour']:>10.0f} "
            f"{row['cpu_ms_per_session']:>15.2f} {row['peak_sessions']:>5.0f} {row['rss_growth_mib']:>8.1f}"
        )
    head = rows["head-end"]
    if head["peak_sessions"]:
        print(
            f"memory per open session: {head['rss_growth_mib'] * 1024 / head['peak_sessions']:.0f} KiB "
            "(RSS growth / most sessions open at once)"
        )
    for name, row in rows.items():
        if "simulator_cpu_ms_per_session" in row:
            print(
                f"{name}: simulators' CPU {row['simulator_cpu_ms_per_session']:.2f} ms/session, "
                f"{row['sessions_per_transaction']:.1f} sessions per database transaction"
            )
    for name, row in rows.items():
        if name.startswith("plain") and row["per_hour"] and head["cpu_ms_per_session"]:
            print(
                f"head-end / {name}: {head['per_hour'] / row['per_hour']:.0f}x the sessions an hour, "
                f"{row['cpu_ms_per_session'] / head['cpu_ms_per_session']:.1f}x less CPU a session"
            )


if __name__ == "__main__":
    main()
