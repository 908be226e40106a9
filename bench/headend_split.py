"""Where the head-end's CPU goes per session: ``python -m bench.headend_split --meters 1000``.

The engine reads a simulated fleet (``dlmskit simulate --fleet``, its own process; one HLS-GMAC register read
per meter, stored in SQLite) and the head-end process's CPU time is split by thread: the event loop's (the
client's sessions, asyncio, the engine) and the worker threads' (each meter's settings and keys read from
the inventory, the batch writer's transactions), each measured with ``time.thread_time`` around the calls.
With ``--profile`` the event loop's own time is further split by package under cProfile (which slows it:
the shares matter, not the sums). No timing is asserted anywhere.
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import os
import pstats
import resource
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.headend import PLAN, _fleet, pin
from dlmskit.headend import Engine, EngineLimits, Inventory, KeyStore, Store
from dlmskit.headend import batch as batch_module
from dlmskit.security.keys import SecretBytes
from dlmskit.transport import eventloop

_spent: collections.Counter[str] = collections.Counter()
_lock = threading.Lock()


def _timed(function: Callable[..., Any], name: str) -> Callable[..., Any]:
    def run(*args: Any, **kwargs: Any) -> Any:
        started = time.thread_time()
        try:
            return function(*args, **kwargs)
        finally:
            with _lock:
                _spent[name] += time.thread_time() - started

    return run


def _group(file: str, function: str) -> str:
    if "select.epoll" in function or "poll' of 'select" in function:
        return "waiting (epoll)"
    if "/dlmskit/headend/" in file:
        return "dlmskit.headend"
    if "/dlmskit/" in file:
        return "dlmskit." + file.split("/dlmskit/")[1].split("/")[0].removesuffix(".py")
    for name in ("sqlalchemy", "asyncio", "cryptography"):
        if f"/{name}/" in file:
            return name
    if file == "~":
        return "built-ins (sockets, ...)"
    return "other"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meters", type=int, default=1000)
    parser.add_argument("--delay", type=float, default=0.3)
    parser.add_argument("--jitter", type=float, default=0.2)
    parser.add_argument(
        "--transport", choices=("hdlc", "wrapper"), default="hdlc", help="the meters' data link"
    )
    parser.add_argument(
        "--pin", action="store_true", help="the simulator on the last CPU, the head-end on the others"
    )
    parser.add_argument(
        "--batch-delay", type=float, default=0.02, help="EngineLimits.batch_delay: seconds a batch gathers"
    )
    parser.add_argument("--profile", action="store_true", help="split the event loop's time by package")
    parser.add_argument("--top", type=int, default=0, help="with --profile: the N functions of most own time")
    parser.add_argument(
        "--loop",
        choices=eventloop.LOOP_CHOICES,
        default="auto",
        help="the event loop (auto: uvloop if installed)",
    )
    options = parser.parse_args()
    batch_module.BatchWriter._apply_alone = _timed(  # type: ignore[method-assign]
        batch_module.BatchWriter._apply_alone, "batch writer transactions (worker thread)"
    )
    Inventory.settings_of_many = _timed(  # type: ignore[method-assign]
        Inventory.settings_of_many, "settings and keys of the meters, 500 a query (worker thread)"
    )
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as temporary:
        directory = Path(temporary)
        fleet, inventory_file = _fleet(
            directory, options.meters, options.delay, options.jitter, transport=options.transport
        )
        try:
            pinned = pin([fleet.pid]) if options.pin else "not pinned"
            store = Store(f"sqlite:///{directory / 'headend.sqlite'}")
            inventory = Inventory(store, KeyStore(store, SecretBytes(os.urandom(32))))
            inventory.import_file(inventory_file)
            meters = inventory.meters("fleet")
            engine = Engine(
                inventory,
                EngineLimits(
                    max_sessions=options.meters,
                    connections_per_second=10_000,
                    retries=0,
                    batch_delay=options.batch_delay,
                ),
            )
            loop_cpu = 0.0
            profile = cProfile.Profile() if options.profile else None

            async def run() -> None:
                nonlocal loop_cpu
                started = time.thread_time()
                await engine.run(PLAN, meters)
                loop_cpu = time.thread_time() - started

            _spent.clear()
            usage = resource.getrusage(resource.RUSAGE_SELF)
            cpu, wall = time.process_time(), time.perf_counter()
            if profile is not None:
                profile.enable()
            eventloop.run(run(), loop=options.loop)
            if profile is not None:
                profile.disable()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            after = resource.getrusage(resource.RUSAGE_SELF)
            user, system = after.ru_utime - usage.ru_utime, after.ru_stime - usage.ru_stime
            switches = (after.ru_nvcsw - usage.ru_nvcsw, after.ru_nivcsw - usage.ru_nivcsw)
            store.close()
        finally:
            fleet.terminate()
            fleet.wait()
    n = options.meters
    print(
        f"{n} meters, {options.transport}, {eventloop.which_loop(options.loop)}, {pinned}, {wall:.1f} s, load average {load:.1f} before, {os.getloadavg()[0]:.1f} after"
    )
    print(f"{cpu / n * 1000:7.3f} ms/session  head-end process CPU")
    print(f"{user / n * 1000:7.3f} ms/session    of it in user space, {system / n * 1000:.3f} in the kernel")
    print(
        f"{switches[0] / n:7.2f} voluntary and {switches[1] / n:.2f} involuntary context switches a session"
    )
    print(f"{loop_cpu / n * 1000:7.3f} ms/session  event loop thread (client sessions, asyncio, engine)")
    for name, spent in _spent.most_common():
        print(f"{spent / n * 1000:7.3f} ms/session  {name}")
    if profile is not None:
        stats = pstats.Stats(profile)
        groups: collections.Counter[str] = collections.Counter()
        for (file, _line, function), (_cc, _nc, own, _cum, _callers) in stats.stats.items():  # type: ignore[attr-defined]
            groups[_group(file, function)] += own
        total = sum(groups.values())
        print("event loop under cProfile, share of its time by package:")
        for name, own in groups.most_common(12):
            print(f"{own / total * 100:6.1f} %  {name}")
        if options.top:
            stats.sort_stats("tottime").print_stats(options.top)


if __name__ == "__main__":
    main()
