"""A worker process for test_counter_processes: takes counters from a shared store and logs each one.

Usage: ``python counter_worker.py file|sqlite STORE BLOCK COUNT LOG``. Every counter is written to LOG as
one line (one ``write``, O_APPEND) right after the store handed it out; a SIGKILL may lose the last one
(skipped, which is allowed) but never writes half a line.
"""

from __future__ import annotations

import os
import sys

from dlmskit.security.invocation import (
    FileInvocationCounterStore,
    InvocationCounterStore,
    SqliteInvocationCounterStore,
)

TITLE = bytes.fromhex("444C4B0000000001")


def main() -> None:
    kind, store_path, block, count, log_path = sys.argv[1:6]
    store: InvocationCounterStore
    if kind == "file":
        store = FileInvocationCounterStore(store_path, block=int(block))
    else:
        store = SqliteInvocationCounterStore(store_path, block=int(block))
    log = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    for _ in range(int(count)):
        os.write(log, b"%d\n" % store.next(TITLE, "unicast:test"))
    os.close(log)


if __name__ == "__main__":
    main()
