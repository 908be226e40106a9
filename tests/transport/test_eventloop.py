"""The event loop a long-lived command runs on: asyncio's own, or uvloop when installed (dlmskit[fast])."""

from __future__ import annotations

import asyncio
import importlib.util
import sys

import pytest

from dlmskit.errors import ConfigurationError
from dlmskit.transport import AsyncTcpTransport, TransportClosed, eventloop

HAVE_UVLOOP = importlib.util.find_spec("uvloop") is not None


async def _loop_module() -> str:
    return type(asyncio.get_running_loop()).__module__


def test_asyncio_is_asyncio_s_own_loop() -> None:
    assert eventloop.which_loop("asyncio") == "asyncio"
    assert eventloop.run(_loop_module(), loop="asyncio").startswith("asyncio")


def test_auto_takes_uvloop_only_when_installed() -> None:
    expected = "uvloop" if HAVE_UVLOOP else "asyncio"
    assert eventloop.which_loop("auto") == expected
    assert eventloop.run(_loop_module(), loop="auto").startswith(expected)


def test_uvloop_insisted_on() -> None:
    if HAVE_UVLOOP:
        assert eventloop.run(_loop_module(), loop="uvloop").startswith("uvloop")
    else:
        with pytest.raises(ConfigurationError, match=r"pip install dlmskit\[fast\]"):
            eventloop.run(_loop_module(), loop="uvloop")


def test_an_unknown_loop_is_refused_in_words() -> None:
    with pytest.raises(ConfigurationError, match="choose one of auto, asyncio, uvloop"):
        eventloop.loop_factory("trio")


async def _echo_round_trip() -> bytes:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(await reader.read(100))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    try:
        port = server.sockets[0].getsockname()[1]
        async with AsyncTcpTransport("127.0.0.1", port) as transport:
            await transport.send(b"\x7e\xa0\x07\x03\x21\x93\x0f\x01\x7e")
            received = b""
            while len(received) < 9:
                received += await transport.recv(5.0)
            with pytest.raises(TransportClosed, match="closed by the peer"):
                await transport.recv(5.0)
            return received
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize(
    "loop",
    [
        "asyncio",
        pytest.param("uvloop", marks=pytest.mark.skipif(not HAVE_UVLOOP, reason="uvloop not installed")),
    ],
)
def test_the_tcp_transport_runs_on_either_loop(loop: str) -> None:
    assert eventloop.run(_echo_round_trip(), loop=loop) == b"\x7e\xa0\x07\x03\x21\x93\x0f\x01\x7e"


# -- within(): asyncio.timeout's cancellation rules, without asking for the loop ----------------------------


@pytest.mark.parametrize("loop_name", ["asyncio", "uvloop"])
def test_within_keeps_asyncio_timeout_s_rules(loop_name: str) -> None:
    if loop_name == "uvloop" and not HAVE_UVLOOP:
        pytest.skip("uvloop is not installed")
    if sys.version_info < (3, 11):
        pytest.skip("asyncio.timeout and Task.cancelling are Python 3.11+ (3.10 runs asyncio.wait_for)")

    async def value_after(seconds: float, value: int = 7) -> int:
        await asyncio.sleep(seconds)
        return value

    async def fail_after(seconds: float) -> None:
        await asyncio.sleep(seconds)
        raise ValueError("the awaitable's own error")

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        assert await eventloop.within(value_after(0.01), 5.0) == 7
        assert await eventloop.within(value_after(0.01), 5.0, loop=loop) == 7
        with pytest.raises(TimeoutError):
            await eventloop.within(value_after(5.0), 0.05)
        await asyncio.sleep(0.1)  # no cancellation left over for the task's next wait
        with pytest.raises(ValueError, match="own error"):
            await eventloop.within(fail_after(0.01), 0.05)
        await asyncio.sleep(0.1)  # the timer was stopped with the error
        assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]

        # Cancelled from outside before the deadline: a cancellation, not a timeout.
        inner = asyncio.ensure_future(eventloop.within(value_after(5.0), 1.0))
        await asyncio.sleep(0.05)
        inner.cancel()
        with pytest.raises(asyncio.CancelledError):
            await inner

        # Cancelled from outside after the deadline fired: the outside cancellation wins.
        async def cancelled_late() -> None:
            task = asyncio.current_task()
            assert task is not None
            loop.call_later(0.05, task.cancel)
            await eventloop.within(value_after(5.0), 0.05)

        late = asyncio.ensure_future(cancelled_late())
        with pytest.raises(asyncio.CancelledError):
            await late

        # Nested deadlines: the inner one expires first and is the one that raises.
        async with asyncio.timeout(5.0):
            with pytest.raises(TimeoutError):
                await eventloop.within(value_after(5.0), 0.05)
            assert await eventloop.within(value_after(0.01, 3), 1.0) == 3
        # The outer deadline expires first: asyncio's TimeoutError, the inner within untouched.
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.05):
                await eventloop.within(value_after(5.0), 10.0)

    eventloop.run(scenario(), loop=loop_name)
