"""Large answers without stalling the event loop: whole load profiles computed in slices (slices.py) while
the server goes on serving, the same bytes as the unsliced encoding, and the answer cache keyed by the
meter's state. No timing assertions: what is checked is that the answers are correct and complete, and
that other work ran between the slices."""

from __future__ import annotations

import asyncio
import secrets
from typing import cast

import pytest
from tests.simulator.simclient import PinnedTime, client_settings, connect

from dlmskit.apdu.common import CosemAttributeDescriptor, EncodedData
from dlmskit.client.connection import AsyncConnection
from dlmskit.codec import axdr
from dlmskit.codec.obis import Obis
from dlmskit.link.hdlc_address import HdlcAddress
from dlmskit.link.hdlc_link import HdlcClientLink
from dlmskit.session.client import ClientSession
from dlmskit.session.events import GetCompleted
from dlmskit.simulator import SimulatedMeter, slices
from dlmskit.simulator.objects import profile as profile_module
from dlmskit.simulator.objects.profile import ProfileGeneric
from dlmskit.simulator.runner import meter_server
from dlmskit.simulator.server import may_take_long
from dlmskit.transport import AsyncTcpTransport

PROFILE = "1.0.99.1.0.255"
BUFFER = CosemAttributeDescriptor(7, Obis.parse(PROFILE), 2)
CLOCK = CosemAttributeDescriptor(8, Obis(0, 0, 1, 0, 0, 255), 2)


def _unsliced(meter: SimulatedMeter) -> bytes:
    """The whole buffer encoded directly, outside any server and cache."""
    item = cast(ProfileGeneric, meter.object(PROFILE))
    saved, profile_module.CACHED_ROWS_AT_LEAST = profile_module.CACHED_ROWS_AT_LEAST, 10**9
    try:
        value = item.read(2, None, None)
    finally:
        profile_module.CACHED_ROWS_AT_LEAST = saved
    assert isinstance(value, EncodedData)
    return value.raw


async def _read(port: int, sap: int, what: CosemAttributeDescriptor) -> object:
    session = ClientSession(client_settings(sap), challenge=secrets.token_bytes(16))
    link = HdlcClientLink(sap, HdlcAddress(1, 17))
    async with AsyncConnection(AsyncTcpTransport("127.0.0.1", port), link, session, timeout=60) as connection:
        answer = await connection.request(session.get(what))
    assert isinstance(answer, GetCompleted) and answer.results[0].ok, answer
    return answer.results[0].value


async def test_whole_profiles_to_many_clients_at_once_are_complete_and_equal_the_unsliced_encoding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(slices, "SLICE", 0.0005)  # many slices, many turns
    clock = PinnedTime()
    meters = [SimulatedMeter(now=clock, seed=seed) for seed in (1, 2)]
    expected = [axdr.decode(_unsliced(SimulatedMeter(now=clock, seed=seed))) for seed in (1, 2)]
    servers = [meter_server(meter, "hdlc") for meter in meters]
    ports = []
    for server in servers:
        listener = await server.start_tcp("127.0.0.1", 0)
        ports.append(listener.sockets[0].getsockname()[1])  # type: ignore[attr-defined]
    try:
        big = [_read(ports[n % 2], 32 if n % 3 else 1, BUFFER) for n in range(6)]
        small = [_read(ports[n % 2], 16, CLOCK) for n in range(4)]
        answers = await asyncio.gather(*big, *small)
        for n, rows in enumerate(answers[:6]):
            assert len(rows) == 10_000  # type: ignore[arg-type]
            assert rows == expected[n % 2]
        assert all(isinstance(value, bytes) and len(value) == 12 for value in answers[6:])
    finally:
        for server in servers:
            await server.close()


async def test_other_work_runs_between_the_slices_and_results_and_errors_come_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(slices, "SLICE", 0.0)  # every checkpoint pauses
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    def long_work() -> int:
        total = 0
        for n in range(200):
            total += n
            slices.checkpoint()
        return total

    def failing() -> None:
        slices.checkpoint()
        raise ValueError("the application failed")

    running = asyncio.ensure_future(ticker())
    try:
        assert await slices.run_in_slices(long_work) == sum(range(200))
        assert ticks >= 100  # the loop ran between the slices
        with pytest.raises(ValueError, match="application failed"):
            await slices.run_in_slices(failing)
        results = await asyncio.gather(*(slices.run_in_slices(long_work) for _ in range(5)))
        assert results == [sum(range(200))] * 5
    finally:
        running.cancel()
    long_work()  # outside the slices a checkpoint is nothing


async def test_a_cancelled_call_is_finished_before_the_cancellation_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(slices, "SLICE", 0.0)
    done = []

    def long_work() -> None:
        for _ in range(1000):
            slices.checkpoint()
        done.append(True)

    task = asyncio.ensure_future(slices.run_in_slices(long_work))
    for _ in range(5):
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert done == [True]


def test_the_answer_cache_follows_the_meters_state() -> None:
    clock = PinnedTime()
    meter = SimulatedMeter(now=clock)
    item = cast(ProfileGeneric, meter.object(PROFILE))
    first = item.read(2, None, None)
    assert isinstance(first, EncodedData)
    again = item.read(2, None, None)
    assert isinstance(again, EncodedData) and again.raw is first.raw  # kept
    assert first.raw == _unsliced(meter)
    # A reset of the energy register (a client's ACTION) changes every row: a new answer.
    result = connect(meter, 1).action("1.0.1.8.0.255", 1, axdr.Integer(0))
    assert int(result.result) == 0
    after = item.read(2, None, None)
    assert isinstance(after, EncodedData) and after.raw != first.raw and after.raw == _unsliced(meter)
    # Time moves on by a period: the span moves, a new answer.
    clock.advance(900)
    moved = item.read(2, None, None)
    assert isinstance(moved, EncodedData) and moved.raw != after.raw and moved.raw == _unsliced(meter)
    # Another meter (another seed) never gets this meter's answer.
    other = cast(ProfileGeneric, SimulatedMeter(now=clock, seed=99).object(PROFILE)).read(2, None, None)
    assert isinstance(other, EncodedData) and other.raw != moved.raw


def test_which_requests_are_answered_in_slices() -> None:
    assert may_take_long(bytes.fromhex("C001C1000701006301 00FF0200".replace(" ", "")))  # GET profile
    assert not may_take_long(bytes.fromhex("C001C100080000010000FF0200"))  # GET clock
    assert not may_take_long(bytes.fromhex("C002C100000001"))  # get-request-next
    assert may_take_long(bytes.fromhex("C8") + bytes(20))  # glo-get-request: not known before deciphering
    # A glo-get-request of 7 ciphered bytes (auth+enc: 5 + 7 + 12) is a get-request-next: quick.
    assert not may_take_long(bytes.fromhex("C818") + b"\x30" + bytes(23))
    assert may_take_long(bytes.fromhex("C81E") + b"\x30" + bytes(29))  # 13 bytes: a get-request-normal
    assert not may_take_long(b"\x60\x1d") and not may_take_long(b"")  # AARQ
