"""The meter simulator the session cases talk to, in a process of its own.

:func:`command` is ``dlmskit simulate --port PORT`` once that command exists. Until then it is this module
(``python bench/simulator.py PORT``), which serves the test suite's small demo meter (``tests/tinymeter.py``:
HLS-GMAC client 1 with the Green Book keys, a logical device name, an energy register) with
:class:`dlmskit.simulator.server.MeterServer` over HDLC on TCP. Either listens on 127.0.0.1 only and runs
until the bench ends it; this module also stops by itself after ``--lifetime`` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("port", type=int)
    parser.add_argument("--lifetime", type=float, default=900.0, help="stop after this many seconds")
    args = parser.parse_args(argv)
    asyncio.run(_serve_demo_meter(args.port, args.lifetime))


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    main()
