"""The simulated meter of the interoperability tests: the default model's demo values, the links, the pinned
time, and the server's counters once its connections ended. Free of gurux, so the fixtures can use it."""

from __future__ import annotations

import datetime as dt
import time
from typing import Literal

from dlmskit.simulator import SimulatorThread
from dlmskit.simulator.server import ServerStats

Link = Literal["hdlc", "wrapper"]
LINKS: tuple[Link, ...] = ("hdlc", "wrapper")

# The default model's documented demo secrets (docs/simulator.md; EK and AK are the Green Book example keys).
LLS_PASSWORD = "12345678"
EK = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
AK = bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF")
SERVER_SYSTEM_TITLE = bytes.fromhex("4D4D4D0000BC614E")  # "MMM" and serial number 12345678

PINNED = dt.datetime(2024, 3, 1, 12, 7, 30, tzinfo=dt.timezone.utc)
"""The meter's measurement timeline is pinned here, so gurux and our own client read the same values."""

GURUX_MISSING = "gurux-dlms is not installed (pip install -e '.[test]'): no interoperability tests"
"""Why the test modules are skipped without gurux-dlms."""


def settled(running: SimulatorThread, timeout: float = 5.0) -> ServerStats:
    """The server's counters once every connection it had has ended (a closed TCP connection ends on the
    server's side a moment later)."""
    deadline = time.monotonic() + timeout
    while running.server.stats.active and time.monotonic() < deadline:
        time.sleep(0.01)
    return running.server.stats
