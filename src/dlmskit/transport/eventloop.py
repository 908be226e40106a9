"""Which asyncio event loop runs a long-lived command: asyncio's own, or uvloop when it is installed.

uvloop (``pip install dlmskit[fast]``) is a drop-in event loop on libuv that spends less CPU per message
than asyncio's; it is never required. ``"auto"`` takes uvloop when it can be imported and asyncio's loop
otherwise; ``"uvloop"`` insists on it (an error in words without it); ``"asyncio"`` never uses it.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Literal, TypeVar

from dlmskit.errors import ConfigurationError

__all__ = ["LOOP_CHOICES", "LoopChoice", "loop_factory", "run", "which_loop", "within"]

LoopChoice = Literal["asyncio", "uvloop", "auto"]
LOOP_CHOICES: tuple[LoopChoice, ...] = ("auto", "asyncio", "uvloop")

_T = TypeVar("_T")


def _uvloop() -> Any | None:
    try:
        return importlib.import_module("uvloop")
    except ImportError:
        return None


def loop_factory(choice: str = "auto") -> Callable[[], asyncio.AbstractEventLoop] | None:
    """A factory of uvloop's loops, or ``None`` for asyncio's own, as ``choice`` says."""
    if choice not in LOOP_CHOICES:
        raise ConfigurationError(f"unknown event loop {choice!r}: choose one of {', '.join(LOOP_CHOICES)}")
    if choice == "asyncio":
        return None
    uvloop = _uvloop()
    if uvloop is None:
        if choice == "uvloop":
            raise ConfigurationError(
                "uvloop is not installed: pip install dlmskit[fast] (or choose --loop asyncio)"
            )
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def which_loop(choice: str = "auto") -> str:
    """``"uvloop"`` or ``"asyncio"``: the loop that ``choice`` gives on this installation."""
    return "asyncio" if loop_factory(choice) is None else "uvloop"


def run(main: Coroutine[Any, Any, _T], *, loop: str = "auto") -> _T:
    """``asyncio.run(main)`` on the event loop that ``loop`` chooses."""
    try:
        factory = loop_factory(loop)
    except ConfigurationError:
        main.close()  # never started: no "coroutine was never awaited" warning
        raise
    if factory is None:
        return asyncio.run(main)
    if sys.version_info >= (3, 11):
        with asyncio.Runner(loop_factory=factory) as runner:
            return runner.run(main)
    uvloop: Any = _uvloop()  # pragma: no cover - Python 3.10 only
    previous = asyncio.get_event_loop_policy()  # pragma: no cover
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())  # pragma: no cover
    try:  # pragma: no cover
        return asyncio.run(main)
    finally:  # pragma: no cover
        asyncio.set_event_loop_policy(previous)


if sys.version_info >= (3, 11):  # Task.cancelling/uncancel

    class _Deadline:
        """``asyncio.timeout`` cut to what :func:`within` needs (Python 3.11+), with the same cancellation
        rules: at the deadline the task is cancelled; on the way out a cancellation that was the deadline's own
        (``Task.uncancel`` brings the task's count of cancellation requests back to what it was on entry)
        becomes :class:`TimeoutError`, and any other cancellation (the task cancelled from outside, before or
        after the deadline) stays a cancellation. Unlike ``asyncio.timeout`` it is given the loop and so never
        asks for it (each ``get_running_loop``/``current_task`` without a loop is a ``getpid()`` system call, six
        a session in the head-end) and it cannot be rescheduled."""

        __slots__ = ("_cancelling", "_expired", "_handle", "_task")

        def __init__(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
            task = asyncio.current_task(loop)
            if task is None:
                raise RuntimeError("within() must be awaited inside a task")
            self._task = task
            self._cancelling = task.cancelling()
            self._expired = False
            self._handle: asyncio.TimerHandle | None = loop.call_at(when, self._expire)

        def _expire(self) -> None:
            self._handle = None
            self._expired = True
            self._task.cancel()

        def close(self, cancelled: bool) -> bool:
            """Stop the timer; whether the block's cancellation was the deadline's (then: TimeoutError)."""
            if self._handle is not None:
                self._handle.cancel()
                self._handle = None
            return self._expired and self._task.uncancel() <= self._cancelling and cancelled


async def within(
    awaitable: Awaitable[_T], timeout: float, *, loop: asyncio.AbstractEventLoop | None = None
) -> _T:
    """``await awaitable``, or :class:`TimeoutError` after ``timeout`` seconds: ``asyncio.wait_for``
    without its task per call (``loop``: the running loop, when the caller has it at hand)."""
    if sys.version_info >= (3, 11):
        running = loop or asyncio.get_running_loop()
        deadline = _Deadline(running, running.time() + timeout)
        try:
            result = await awaitable
        except asyncio.CancelledError as error:
            if deadline.close(True):
                raise TimeoutError from error
            raise
        except BaseException:
            deadline.close(False)
            raise
        deadline.close(False)
        return result
    return await asyncio.wait_for(awaitable, timeout)  # pragma: no cover - Python 3.10
