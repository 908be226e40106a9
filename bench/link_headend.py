"""The HDLC client link's time inside the head-end: ``python -m bench.link_headend --meters 1000``.

Runs ``bench.headend_split`` (the engine reading a simulated fleet) with the public methods of
:class:`~dlmskit.link.hdlc_link.HdlcClientLink` wrapped: each call is timed with ``time.perf_counter``
(45 ns a call here; ``time.thread_time`` costs 0.5 µs, more than the shortest methods) and the figure per
method is the **median** call times the calls per session, so that a call cut by another process on the
shared machine does not count. The head-end's own figures are printed first (its CPU includes the
wrappers). ``bench/link_frames.py`` times the same link alone, without sockets or the rest of the client.
"""

from __future__ import annotations

import argparse
import collections
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from bench import headend_split
from dlmskit.link.hdlc_link import HdlcClientLink

METHODS = ("__init__", "open", "send_apdu", "receive_data", "data_to_send", "on_timeout", "close")


def _timed(function: Callable[..., Any], samples: list[float]) -> Callable[..., Any]:
    def run(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            samples.append(time.perf_counter() - started)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meters", type=int, default=1000)
    options = parser.parse_args()
    samples: dict[str, list[float]] = collections.defaultdict(list)
    for name in METHODS:
        setattr(HdlcClientLink, name, _timed(getattr(HdlcClientLink, name), samples[name]))
    sys.argv = [sys.argv[0], "--meters", str(options.meters)]
    headend_split.main()
    total = 0.0
    for name in METHODS:
        values = samples[name]
        if not values:
            continue
        median = statistics.median(values)
        per_session = median * len(values) / options.meters
        total += per_session
        calls = len(values) / options.meters
        print(
            f"{name:14} {median * 1e6:7.2f} µs median x {calls:4.1f} calls = {per_session * 1e6:6.1f} µs/session"
        )
    print(f"HdlcClientLink {total * 1e6:6.1f} µs/session (sum of the medians x calls)")


if __name__ == "__main__":
    main()
