"""Long synchronous work cut into slices, so that the simulator's event loop serves other meters meanwhile.

The session and the meter answer a request synchronously (sans-I/O): a GET of a 10,000-row load profile
computes and encodes every row before the answer exists. Run inline on the event loop, twenty such reads at
once held every other connection for seconds. :func:`run_in_slices` runs such a call on a worker thread **in
lock-step** with the event loop's thread: exactly one of the two runs at any time (no data race, no contention
for the GIL: the call sees the meter as if it ran inline), and wherever the call passes :func:`checkpoint` after
``SLICE`` seconds of work, it pauses and the event loop runs one round (the other connections) before it goes
on. The calls in slices take turns: one slice per round of the event loop for all of them together, so
twenty long answers at once delay another connection by about one slice, not twenty. Code that is not run by
:func:`run_in_slices` (tests, the UDP server) passes checkpoints at no cost.

A cancelled call (its connection closed) is finished without pauses before the cancellation goes on, so a
worker never stays blocked; at most ``MAX_WORKERS`` calls are in slices at once, any more run inline.
"""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["MAX_WORKERS", "SLICE", "checkpoint", "run_in_slices"]

_T = TypeVar("_T")

SLICE = 0.002
"""Seconds of work between two pauses (the event loop's other connections wait at most about this long for
each call in slices)."""
MAX_WORKERS = 64
"""Calls in slices at once (one worker thread each); more run inline."""

_local = threading.local()


def checkpoint() -> None:
    """Where a long computation may pause (every row of a profile, for instance): when it runs in slices and
    its slice is used up, the event loop runs a round before this returns. Elsewhere: nothing."""
    call = getattr(_local, "call", None)
    if call is not None and time.perf_counter() >= call.slice_ends:
        call.pause()


class _Call(Generic[_T]):
    """One call run in slices: ``step`` (event loop thread) and ``pause`` (worker thread) hand over."""

    def __init__(self, function: Callable[[], _T]) -> None:
        self.function = function
        self.result: _T | None = None
        self.error: BaseException | None = None
        self.done = False
        self.inline = False
        """Finish without pauses (the call was cancelled)."""
        self.slice_ends = 0.0
        self._go = threading.Lock()
        self._go.acquire()
        self._back = threading.Lock()
        self._back.acquire()

    # -- the worker thread --------------------------------------------------------------------------------

    def run(self) -> None:
        """Run the call (its first slice begins: the event loop's thread waits in :meth:`wait`)."""
        self.slice_ends = time.perf_counter() + SLICE
        _local.call = self
        try:
            self.result = self.function()
        except BaseException as error:  # handed to the event loop's thread, which raises it
            self.error = error
        finally:
            _local.call = None
            self.done = True
            self._back.release()

    def pause(self) -> None:
        if self.inline:
            return
        self._back.release()
        self._go.acquire()
        self.slice_ends = time.perf_counter() + SLICE

    # -- the event loop's thread ----------------------------------------------------------------------------

    def step(self) -> None:
        """Let the call run until its next pause or its end (blocks this thread meanwhile)."""
        self._go.release()
        self._back.acquire()

    def wait(self) -> None:
        """Wait for the first slice, started by the worker, to end."""
        self._back.acquire()


class _Worker:
    """A thread that runs calls one after the other."""

    def __init__(self) -> None:
        self._call: _Call[object] | None = None
        self._wake = threading.Lock()  # plain locks as signals: the cheapest hand-over between threads
        self._wake.acquire()
        self._thread = threading.Thread(target=self._loop, name="dlmskit-simulator-slices", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            self._wake.acquire()
            call, self._call = self._call, None
            if call is not None:
                call.run()

    def start(self, call: _Call[object]) -> None:
        """Start ``call`` on this worker (idle: its last call is done); then ``call.wait()``."""
        self._call = call
        self._wake.release()


_idle: list[_Worker] = []
_busy = 0
_lock = threading.Lock()


def _take() -> _Worker | None:
    global _busy
    with _lock:
        if _idle:
            _busy += 1
            return _idle.pop()
        if _busy >= MAX_WORKERS:
            return None
        _busy += 1
    return _Worker()


def _give_back(worker: _Worker) -> None:
    global _busy
    with _lock:
        _busy -= 1
        _idle.append(worker)


class _Turns:
    """The calls of one event loop waiting for their next slice, woken one per round of the loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._scheduled = False

    async def next(self) -> None:
        turn: asyncio.Future[None] = self._loop.create_future()
        self._waiting.append(turn)
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self._wake_one)
        await turn

    def _wake_one(self) -> None:
        self._scheduled = False
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_result(None)
                break
        if self._waiting:  # the others: one per later round
            self._scheduled = True
            self._loop.call_soon(self._wake_one)


_turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Turns] = weakref.WeakKeyDictionary()


def _turns_of(loop: asyncio.AbstractEventLoop) -> _Turns:
    turns = _turns.get(loop)
    if turns is None:
        turns = _turns[loop] = _Turns(loop)
    return turns


async def run_in_slices(function: Callable[[], _T]) -> _T:
    """``function()``, run in slices of about ``SLICE`` seconds between which the event loop runs (see the
    module's docstring); its result, or its exception raised here."""
    worker = _take()
    if worker is None:
        return function()
    call: _Call[_T] = _Call(function)
    turns = _turns_of(asyncio.get_running_loop())
    try:
        worker.start(call)  # type: ignore[arg-type]
        call.wait()
        while not call.done:
            try:
                await turns.next()
            except asyncio.CancelledError:
                call.inline = True
                while not call.done:
                    call.step()
                raise
            call.step()
    finally:
        if call.done:
            _give_back(worker)
    if call.error is not None:
        raise call.error
    return call.result  # type: ignore[return-value]
