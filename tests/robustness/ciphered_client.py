"""A client process that runs HLS-GMAC (auth+enc) sessions in a loop, for the restart tests.

``python -m tests.robustness.ciphered_client PORT COUNTERS ROWS`` associates with the demo meter on
``127.0.0.1:PORT`` as client 1, reads ``ROWS`` rows of the load profile in small datablocks and
releases, over and over (at most 50 sessions, at most 60 s). Its invocation counters live in a
:class:`~dlmskit.security.invocation.FileInvocationCounterStore` at ``COUNTERS``. It prints
``block N`` for every datablock received and ``session N done`` after each session, flushed at once, so
a test knows when it is in the middle of a transfer and can kill it there.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from tests.robustness.harness import PROFILE, SERVER, client_session, entry_range

from dlmskit.client.connection import Connection
from dlmskit.link.hdlc_link import DEFAULT_PARAMETERS, HdlcClientLink
from dlmskit.security.invocation import FileInvocationCounterStore
from dlmskit.session.events import GetCompleted, SendApdu
from dlmskit.transport import TcpTransport


def main(port: int, counters: Path, rows: int) -> None:
    store = FileInvocationCounterStore(counters)
    deadline = time.monotonic() + 60
    for number in range(50):
        if time.monotonic() > deadline:
            return
        session = client_session("hls-gmac", max_pdu=128, counters=store)
        link = HdlcClientLink(1, SERVER, DEFAULT_PARAMETERS)
        with Connection(TcpTransport("127.0.0.1", port), link, session, timeout=5) as connection:

            def progress(step: SendApdu) -> None:
                print(f"block {step.blocks}", flush=True)

            event = connection.request(session.get(PROFILE, entry_range(1, rows)), progress=progress)
            assert isinstance(event, GetCompleted) and len(event.results[0].value) == rows  # type: ignore[arg-type]
        print(f"session {number} done", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]))
