"""Where the client's CPU goes in an HLS-GMAC session: cProfile and CPU time of N sessions.

Two clients, the same session as case 5 of ``bench/run.py`` (SNRM, AARQ with HLS-GMAC auth+enc, pass 3/4,
ten GETs, RLRQ, DISC over HDLC on TCP against a simulator process):

- ``session``: the sans-I/O ``ClientSession`` with the blocking ``Connection`` (what ``bench/sessions.py``
  times);
- ``client``: ``DlmsClient.read`` (what the head-end runs, through ``AsyncDlmsClient``), each read by OBIS
  code with the class id found by the client;
- ``gurux``: gurux-dlms's ``GXDLMSSecureClient`` as ``bench/sessions.py`` drives it (only in bench/.venv),
  for the ratio in the same conditions.

    .venv/bin/python -m bench.profile_session --client session --sessions 50            # CPU per session
    .venv/bin/python -m bench.profile_session --client client --sessions 50 --profile   # plus cProfile

CPU per session is ``time.process_time`` of this process (the client only) divided by the sessions, after
two warm-up sessions; the load average is printed with it because the machine is shared.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.lib_gurux import quiet
from bench.sessions import GETS, SERVER, GuruxClient, Simulator, dlmskit_sync_session
from bench.simulator import has_simulate_command
from bench.workload import AK, EK
from dlmskit.client import DlmsClient, MeterSettings
from dlmskit.security.invocation import MemoryInvocationCounterStore

__all__ = ["main"]

READS = (("0.0.42.0.0.255", 2), ("1.0.1.8.0.255", 2), ("1.0.1.8.0.255", 3))


def _client_session(port: int, counter_path: Path) -> Callable[[], None]:
    settings = MeterSettings(
        host="127.0.0.1",
        port=port,
        client_address=1,
        server_logical=SERVER.logical,
        server_physical=SERVER.physical,
        authentication="gmac",
        system_title="4D4D4D0000000002",
        block_cipher_key=EK.hex(),
        authentication_key=AK.hex(),
        invocation_counter_path=counter_path,
    )

    def run() -> None:
        with DlmsClient(settings) as meter:
            for index in range(GETS):
                name, attribute = READS[index % len(READS)]
                meter.read(name, attribute)

    return run


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--client", choices=("session", "client", "gurux"), default="session")
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--profile", action="store_true", help="print the cProfile of the timed sessions")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--sort", default="tottime")
    args = parser.parse_args(argv)
    with Simulator(use_simulate=has_simulate_command()) as simulator, tempfile.TemporaryDirectory() as state:
        if args.client == "session":
            counters = MemoryInvocationCounterStore()

            def run() -> None:
                dlmskit_sync_session(simulator.port, counters)
        elif args.client == "gurux":
            gurux = GuruxClient()
            port = simulator.port
            run = quiet(lambda: gurux.session(port))  # type: ignore[assignment]
        else:
            run = _client_session(simulator.port, Path(state) / "counters.json")
        for _ in range(2):
            run()
        load = os.getloadavg()[0]
        profiler = cProfile.Profile(time.process_time) if args.profile else None
        cpu: list[float] = []
        times_before = os.times()
        for _ in range(args.sessions):
            start = time.process_time()
            if profiler is not None:
                profiler.enable()
            run()
            if profiler is not None:
                profiler.disable()
            cpu.append(time.process_time() - start)
        times_after = os.times()
    user = (times_after.user - times_before.user) / args.sessions
    system = (times_after.system - times_before.system) / args.sessions
    print(
        f"{args.client}: {args.sessions} sessions, client CPU per session median "
        f"{statistics.median(cpu) * 1e3:.2f} ms, mean {statistics.mean(cpu) * 1e3:.2f} ms "
        f"(user {user * 1e3:.2f} + system {system * 1e3:.2f} ms) "
        f"(load average {load:.2f} at start, {os.getloadavg()[0]:.2f} at end)"
        + (" [under cProfile]" if profiler is not None else "")
    )
    if profiler is not None:
        stats = pstats.Stats(profiler)
        stats.sort_stats(args.sort).print_stats(args.top)


if __name__ == "__main__":
    main()
