"""The meter simulator the session cases talk to, in a process of its own.

:func:`command` is ``dlmskit simulate --port PORT`` once that command exists. Until then it is this module
(``python bench/simulator.py PORT``), which serves the test suite's small demo meter (``tests/tinymeter.py``:
HLS-GMAC client 1 with the Green Book keys, a logical device name, an energy register) with
:class:`dlmskit.simulator.server.MeterServer` over HDLC on TCP. Either listens on 127.0.0.1 only and runs
until the bench ends it; this module also stops by itself after ``--lifetime`` seconds.

``python -m bench.simulator load`` is the simulator's own load bench (issue 14, docs/simulator.md "Large
answers"): a fleet simulator (``dlmskit simulate --fleet``) in a process of its own; ``--big`` clients (a
second process) read the 10,000-row load profile at once, each from its own meter (``--same-meter``: all from
meter 0); meanwhile this process reads the clock of another meter every ``--every`` seconds over one open
association, and reports the median and worst latency of those small reads, alone and alongside the big
reads. Every client is the reader (client 32, LLS) of the fleet's model (``--ciphered``: the big reads by the
management client, HLS-GMAC, authenticated and encrypted, each meter's own keys); only 127.0.0.1.
``python -m bench.simulator sessions`` measures the simulator's CPU per HLS-GMAC session of ten small GETs
against a 1-meter fleet (what answering ciphered GETs in slices costs); ``--meters 2000 --gets 1 --delay 0.3
--jitter 1.2 --concurrency 1000`` is the head-end's session (SNRM, AARQ, HLS action, one GET, RLRQ, DISC),
each meter read once, with GPRS-like round trips (``--loop``: the simulator's event loop).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

__all__ = ["command", "has_simulate_command", "main"]

REPO = Path(__file__).resolve().parent.parent


def has_simulate_command() -> bool:
    """``dlmskit simulate`` is available in this Python."""
    probe = subprocess.run(
        [sys.executable, "-m", "dlmskit", "simulate", "--help"], capture_output=True, timeout=60, check=False
    )
    return probe.returncode == 0


def command(port: int, *, use_simulate: bool) -> list[str]:
    """The argv that starts a simulator listening on 127.0.0.1:``port``."""
    if use_simulate:
        return [sys.executable, "-m", "dlmskit", "simulate", "--port", str(port)]
    return [sys.executable, str(Path(__file__).resolve()), str(port)]


def _tinymeter() -> ModuleType:
    """``tests/tinymeter.py`` by its path (dlms-cosem installs a top-level ``tests`` package that would
    shadow the repository's)."""
    spec = importlib.util.spec_from_file_location("bench_tinymeter", REPO / "tests" / "tinymeter.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


async def _serve_demo_meter(port: int, lifetime: float) -> None:
    from dlmskit.simulator.server import MeterServer

    server = MeterServer(_tinymeter().demo_meter(), link="hdlc")
    await server.start_tcp("127.0.0.1", port)
    try:
        await asyncio.sleep(lifetime)
    finally:
        await server.close()


# -- the load bench: small reads alongside big ones --------------------------------------------------------

PROFILE = (7, "1.0.99.1.0.255", 2)
CLOCK = (8, "0.0.1.0.0.255", 2)
READER = 32
READER_PASSWORD = b"12345678"


async def _reader(port: int, physical: int) -> tuple[object, object]:
    """An open LLS association of the reader (client 32) with a fleet meter: (connection, session)."""
    from dlmskit.client.connection import AsyncConnection
    from dlmskit.link.hdlc_address import HdlcAddress
    from dlmskit.link.hdlc_link import HdlcClientLink
    from dlmskit.security.hls import Mechanism
    from dlmskit.session.client import ClientSession, ClientSettings
    from dlmskit.transport import AsyncTcpTransport

    session = ClientSession(ClientSettings(mechanism=Mechanism.LOW, secret=READER_PASSWORD))
    link = HdlcClientLink(READER, HdlcAddress(1, physical))
    connection = AsyncConnection(AsyncTcpTransport("127.0.0.1", port), link, session, timeout=120)
    await connection.open()
    return connection, session


async def _get(connection: object, session: object, what: tuple[int, str, int]) -> object:
    from dlmskit.apdu.common import CosemAttributeDescriptor
    from dlmskit.codec.obis import Obis
    from dlmskit.session.events import GetCompleted

    class_id, name, attribute = what
    answer = await connection.request(  # type: ignore[attr-defined]
        session.get(CosemAttributeDescriptor(class_id, Obis.parse(name), attribute))  # type: ignore[attr-defined]
    )
    if not isinstance(answer, GetCompleted) or not answer.results[0].ok:
        raise RuntimeError(f"GET {name} failed: {answer!r}")
    return answer.results[0].value


async def _management(meter: dict[str, Any], counters: object) -> tuple[object, object]:
    """An open HLS-GMAC association (auth+enc) of the management client (1) with a fleet meter."""
    from dlmskit.client.connection import AsyncConnection
    from dlmskit.link.hdlc_address import HdlcAddress
    from dlmskit.link.hdlc_link import HdlcClientLink
    from dlmskit.security.hls import Mechanism
    from dlmskit.security.keys import SecretBytes
    from dlmskit.session.client import ClientSession, ClientSettings
    from dlmskit.session.protection import SecurityPolicy, SecuritySettings
    from dlmskit.transport import AsyncTcpTransport

    security = SecuritySettings(
        policy=SecurityPolicy.AUTHENTICATED_ENCRYPTED,
        system_title=bytes.fromhex("4D4D4D0000000001"),
        block_cipher_key=SecretBytes(bytes.fromhex(meter["block_cipher_key"])),
        authentication_key=SecretBytes(bytes.fromhex(meter["authentication_key"])),
        invocation_counters=counters,  # type: ignore[arg-type]
    )
    session = ClientSession(
        ClientSettings(mechanism=Mechanism.HIGH_GMAC, security=security), challenge=os.urandom(16)
    )
    link = HdlcClientLink(1, HdlcAddress(1, int(meter["server_physical"])))
    transport = AsyncTcpTransport("127.0.0.1", int(meter["port"]))
    connection = AsyncConnection(transport, link, session, timeout=120)
    await connection.open()
    return connection, session


async def _big_reads(meters: list[dict[str, Any]], rounds: int, ciphered: bool) -> dict[str, object]:
    """Each meter's load profile read whole ``rounds`` times, all meters at once; the seconds each read took.
    ``ciphered``: by the management client (HLS-GMAC, every block ciphered), else by the reader (LLS)."""
    from dlmskit.security.invocation import MemoryInvocationCounterStore

    counters = MemoryInvocationCounterStore()
    opened = [
        await (_management(m, counters) if ciphered else _reader(m["port"], m["server_physical"]))
        for m in meters
    ]
    seconds: list[float] = []

    async def one(connection: object, session: object) -> None:
        for _ in range(rounds):
            start = time.perf_counter()
            rows = await _get(connection, session, PROFILE)
            seconds.append(time.perf_counter() - start)
            if len(rows) != 10_000:  # type: ignore[arg-type]
                raise RuntimeError(f"{len(rows)} rows, not 10000")  # type: ignore[arg-type]

    await asyncio.gather(*(one(c, s) for c, s in opened))
    for connection, _session in opened:
        await connection.close()  # type: ignore[attr-defined]
    return {"reads": len(seconds), "median_s": statistics.median(seconds), "worst_s": max(seconds)}


async def _small_reads(port: int, physical: int, every: float, until: asyncio.Event) -> list[float]:
    connection, session = await _reader(port, physical)
    latencies = []
    try:
        while not until.is_set():
            start = time.perf_counter()
            await _get(connection, session, CLOCK)
            latencies.append(time.perf_counter() - start)
            await asyncio.sleep(every)
    finally:
        await connection.close()  # type: ignore[attr-defined]
    return latencies


def _figures(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        "reads": len(ordered),
        "median_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(ordered[int(len(ordered) * 0.95)] * 1000, 1),
        "worst_ms": round(ordered[-1] * 1000, 1),
    }


def _python_path(source: str | None) -> dict[str, str]:
    """PYTHONPATH for a simulator from another source tree (``--simulator-src``: before/after figures)."""
    if source is None:
        return {}
    return {"PYTHONPATH": os.pathsep.join(filter(None, [source, os.environ.get("PYTHONPATH")]))}


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process so far (None without /proc)."""
    times = _cpu_times(pid)
    return None if times is None else sum(times)


def _cpu_times(pid: int) -> tuple[float, float] | None:
    """User and system CPU seconds of a process so far (None without /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def _fleet_process(
    meters: int, scratch: str, simulator_src: str | None, extra: list[str] | None = None
) -> subprocess.Popen[bytes]:
    """A ``dlmskit simulate --fleet`` process writing its inventory to ``scratch``/fleet.toml (``extra``: more
    options)."""
    argv = ["-m", "dlmskit", "simulate", "--fleet", str(meters), "--port", "0", *(extra or [])]
    return subprocess.Popen(
        [sys.executable, *argv, "--inventory", str(Path(scratch) / "fleet.toml")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "XDG_STATE_HOME": scratch, **_python_path(simulator_src)},
    )


async def _fleet_meters(scratch: str) -> list[dict[str, Any]]:
    """The meters of the fleet's inventory, once the process has written it (a minute at most)."""
    from dlmskit.simulator.source import parse_toml

    inventory = Path(scratch) / "fleet.toml"
    for _ in range(600):
        if inventory.exists():
            break
        await asyncio.sleep(0.1)
    return list(parse_toml(inventory.read_text(encoding="utf-8"), "fleet.toml")["meter"])


async def _load(args: argparse.Namespace) -> dict[str, object]:
    meters = args.big + 1
    with tempfile.TemporaryDirectory(prefix="simload-") as scratch:
        simulator = _fleet_process(meters, scratch, args.simulator_src)
        try:
            fleet = await _fleet_meters(scratch)
            small_meter, big_meters = (fleet[-1]["port"], fleet[-1]["server_physical"]), fleet[:-1]
            if args.same_meter:
                big_meters = [fleet[0]] * args.big
            alone_done = asyncio.Event()
            alone = asyncio.ensure_future(_small_reads(*small_meter, args.every, alone_done))
            await asyncio.sleep(args.alone)
            alone_done.set()
            baseline = await alone
            along_done = asyncio.Event()
            along = asyncio.ensure_future(_small_reads(*small_meter, args.every, along_done))
            await asyncio.sleep(0.5)
            loaded_at = os.getloadavg()[0]
            cpu_before = _cpu_seconds(simulator.pid)
            started = time.perf_counter()
            big = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bench.simulator",
                "big",
                json.dumps(big_meters),
                str(args.rounds),
                "ciphered" if args.ciphered else "plain",
                stdout=subprocess.PIPE,
            )
            out, _ = await big.communicate()
            elapsed = time.perf_counter() - started
            cpu_after = _cpu_seconds(simulator.pid)
            along_done.set()
            alongside = await along
            return {
                "simulator_src": args.simulator_src or "this tree",
                "big_clients": args.big,
                "same_meter": args.same_meter,
                "ciphered": args.ciphered,
                "rounds": args.rounds,
                "big_reads": json.loads(out),
                "big_reads_wall_s": round(elapsed, 2),
                "simulator_cpu_s": None
                if cpu_before is None or cpu_after is None
                else round(cpu_after - cpu_before, 2),
                "small_reads_alone": _figures(baseline),
                "small_reads_alongside": _figures(alongside),
                "load_average_1min": round(loaded_at, 2),
            }
        finally:
            simulator.terminate()
            simulator.wait(timeout=30)


async def _gmac_session(meter: dict[str, object], counters: object, gets: int = 10) -> None:
    """One HLS-GMAC session of the management client (auth+enc, the fleet's keys): ``gets`` small GETs."""
    from dlmskit.apdu.common import CosemAttributeDescriptor
    from dlmskit.client.connection import AsyncConnection
    from dlmskit.codec.obis import Obis
    from dlmskit.link.hdlc_address import HdlcAddress
    from dlmskit.link.hdlc_link import HdlcClientLink
    from dlmskit.security.hls import Mechanism
    from dlmskit.security.keys import SecretBytes
    from dlmskit.session.client import ClientSession, ClientSettings
    from dlmskit.session.events import GetCompleted
    from dlmskit.session.protection import SecurityPolicy, SecuritySettings
    from dlmskit.transport import AsyncTcpTransport

    security = SecuritySettings(
        policy=SecurityPolicy.AUTHENTICATED_ENCRYPTED,
        system_title=bytes.fromhex("4D4D4D0000000001"),
        block_cipher_key=SecretBytes(bytes.fromhex(str(meter["block_cipher_key"]))),
        authentication_key=SecretBytes(bytes.fromhex(str(meter["authentication_key"]))),
        invocation_counters=counters,  # type: ignore[arg-type]
    )
    session = ClientSession(
        ClientSettings(mechanism=Mechanism.HIGH_GMAC, security=security), challenge=os.urandom(16)
    )
    link = HdlcClientLink(1, HdlcAddress(1, int(meter["server_physical"])))  # type: ignore[call-overload]
    transport = AsyncTcpTransport("127.0.0.1", int(meter["port"]))  # type: ignore[call-overload]
    targets = [
        CosemAttributeDescriptor(1, Obis(0, 0, 42, 0, 0, 255), 2),
        CosemAttributeDescriptor(3, Obis(1, 0, 1, 8, 0, 255), 2),
        CosemAttributeDescriptor(8, Obis(0, 0, 1, 0, 0, 255), 2),
    ]
    async with AsyncConnection(transport, link, session, timeout=30) as connection:
        for index in range(gets):
            answer = await connection.request(session.get(targets[index % 3]))
            if not isinstance(answer, GetCompleted) or not answer.results[0].ok:
                raise RuntimeError(f"GET failed: {answer!r}")


async def _sessions(args: argparse.Namespace) -> dict[str, object]:
    """Simulator CPU per HLS-GMAC session of ``--gets`` GETs against a fleet of ``--meters`` (each session to
    the next meter in turn), ``--concurrency`` sessions at once."""
    from dlmskit.security.invocation import MemoryInvocationCounterStore

    counters = MemoryInvocationCounterStore()
    extra = ["--delay", str(args.delay), "--jitter", str(args.jitter)]
    if args.loop is not None:
        extra += ["--loop", args.loop]
    with tempfile.TemporaryDirectory(prefix="simload-") as scratch:
        simulator = _fleet_process(args.meters, scratch, args.simulator_src, extra)
        try:
            meters = await _fleet_meters(scratch)
            await _gmac_session(meters[0], counters, args.gets)  # warm-up
            at_once = asyncio.Semaphore(args.concurrency)

            async def one(index: int) -> None:
                async with at_once:
                    await _gmac_session(meters[index % len(meters)], counters, args.gets)

            loaded_at = os.getloadavg()[0]
            before = _cpu_times(simulator.pid)
            started = time.perf_counter()
            await asyncio.gather(*(one(index) for index in range(args.sessions)))
            elapsed = time.perf_counter() - started
            after = _cpu_times(simulator.pid)
            per_session = (
                None
                if before is None or after is None
                else [(a - b) / args.sessions * 1000 for a, b in zip(after, before, strict=True)]
            )
            return {
                "simulator_src": args.simulator_src or "this tree",
                "simulator_loop": args.loop or "the simulator's default",
                "meters": args.meters,
                "sessions": args.sessions,
                "gets": args.gets,
                "wall_s": round(elapsed, 1),
                "simulator_cpu_ms_per_session": None if per_session is None else round(sum(per_session), 3),
                "of_which_system_ms": None if per_session is None else round(per_session[1], 3),
                "load_average_1min": round(loaded_at, 2),
            }
        finally:
            simulator.terminate()
            simulator.wait(timeout=30)


def sessions_main(argv: list[str]) -> None:
    """``python -m bench.simulator sessions``: simulator CPU per small HLS-GMAC session."""
    parser = argparse.ArgumentParser(prog="python -m bench.simulator sessions")
    parser.add_argument("--sessions", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--meters", type=int, default=1, help="meters in the fleet (sessions go round them)")
    parser.add_argument("--gets", type=int, default=10, help="GETs a session")
    parser.add_argument("--delay", type=float, default=0.0, help="the fleet's seconds before each answer")
    parser.add_argument("--jitter", type=float, default=0.0, help="up to this many seconds more")
    parser.add_argument("--loop", choices=("auto", "asyncio", "uvloop"), help="the simulator's event loop")
    parser.add_argument("--simulator-src", help="run the simulator from this src directory")
    print(json.dumps(asyncio.run(_sessions(parser.parse_args(argv))), indent=2))


def load_main(argv: list[str]) -> None:
    """``python -m bench.simulator load``: see the module's docstring."""
    parser = argparse.ArgumentParser(prog="python -m bench.simulator load")
    parser.add_argument("--big", type=int, default=20, help="clients reading the 10,000-row profile at once")
    parser.add_argument("--rounds", type=int, default=1, help="whole-profile reads per big client")
    parser.add_argument("--same-meter", action="store_true", help="every big client reads meter 0")
    parser.add_argument(
        "--ciphered", action="store_true", help="big reads by the management client (HLS-GMAC, auth+enc)"
    )
    parser.add_argument("--every", type=float, default=0.02, help="seconds between small reads")
    parser.add_argument(
        "--simulator-src",
        help="run the simulator from this src directory (e.g. an older commit: git archive REV src | tar -x)",
    )
    parser.add_argument("--alone", type=float, default=3.0, help="seconds of small reads before the big ones")
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(_load(args)), indent=2))


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["load"]:
        load_main(argv[1:])
        return
    if argv[:1] == ["sessions"]:
        sessions_main(argv[1:])
        return
    if argv[:1] == ["big"]:
        meters = json.loads(argv[1])
        print(json.dumps(asyncio.run(_big_reads(meters, int(argv[2]), argv[3] == "ciphered"))))
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("port", type=int)
    parser.add_argument("--lifetime", type=float, default=900.0, help="stop after this many seconds")
    args = parser.parse_args(argv)
    asyncio.run(_serve_demo_meter(args.port, args.lifetime))


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    main()
