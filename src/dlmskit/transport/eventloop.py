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


async def within(awaitable: Awaitable[_T], timeout: float) -> _T:
    """``await awaitable``, or :class:`TimeoutError` after ``timeout`` seconds: ``asyncio.wait_for`` without
    its task per call (``asyncio.timeout`` on Python 3.11 and later)."""
    if sys.version_info >= (3, 11):
        async with asyncio.timeout(timeout):
            return await awaitable
    return await asyncio.wait_for(awaitable, timeout)  # pragma: no cover - Python 3.10
