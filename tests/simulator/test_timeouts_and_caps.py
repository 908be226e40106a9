"""The server applies the model's timeouts (IEC HDLC setup attributes 7 and 8, TCP-UDP setup attribute 6) and
caps the connections open at once (per meter, the model's nb_of_sim_conn, a fleet's total), with a
rate-limited log line; real sockets, short timeouts, and no timing assertion beyond "the server closed it"."""

from __future__ import annotations

import asyncio
import logging
import resource
from typing import cast

import pytest
from tests.simulator.simclient import connect, trickled_until_closed

from dlmskit.apdu.results import DataAccessResult
from dlmskit.codec import axdr
from dlmskit.link.hdlc_address import HdlcAddress
from dlmskit.link.hdlc_link import HdlcClientLink
from dlmskit.simulator import SimulatedMeter, default_model
from dlmskit.simulator.fleet import Fleet
from dlmskit.simulator.model import parse_model
from dlmskit.simulator.runner import meter_server
from dlmskit.simulator.server import ConnectionLimit, LinkTimeouts, MeterServer, raise_open_file_limit

HDLC_SETUP = "0.0.22.0.0.255"
TCP_UDP_SETUP = """
[[object]]
class_id = 41
logical_name = "0.0.25.0.0.255"
name = "TCP-UDP setup"
attributes = { TCP_UDP_port = 4059, nb_of_sim_conn = %d, inactivity_time_out = %d }
"""


def _model(*, inactivity: int = 120, inter_octet: int = 25, tcp_udp: tuple[int, int] | None = None) -> str:
    text = default_model().text
    text = text.replace("inter_octet_time_out = 25", f"inter_octet_time_out = {inter_octet}")
    text = text.replace("inactivity_time_out = 120", f"inactivity_time_out = {inactivity}")
    if tcp_udp is not None:
        text += TCP_UDP_SETUP % tcp_udp
    return text


async def _closed_by_server(reader: asyncio.StreamReader, *, within: float = 30.0) -> bool:
    """Read until the server closes the connection (True) or ``within`` seconds pass (False)."""
    try:
        while await asyncio.wait_for(reader.read(4096), within):
            pass
    except asyncio.TimeoutError:
        return False
    except ConnectionError:
        return True
    return True


async def _start(server: MeterServer) -> int:
    listener = await server.start_tcp("127.0.0.1", 0)
    return int(cast(asyncio.Server, listener).sockets[0].getsockname()[1])


def test_the_meter_tells_its_timeouts_from_its_objects() -> None:
    meter = SimulatedMeter(parse_model(_model(inactivity=7, inter_octet=40, tcp_udp=(3, 9))))
    assert meter.link_timeouts("hdlc") == LinkTimeouts(7.0, 0.04)
    assert meter.link_timeouts("wrapper") == LinkTimeouts(9.0)
    assert meter.simultaneous_connections == 3
    never = SimulatedMeter(parse_model(_model(inactivity=0, inter_octet=0, tcp_udp=(0, 0))))
    assert never.link_timeouts("hdlc") == LinkTimeouts(None, None)
    assert never.link_timeouts("wrapper") == LinkTimeouts(None)
    assert never.simultaneous_connections is None
    plain = SimulatedMeter()  # the default model has no TCP-UDP setup: the server's default
    assert plain.link_timeouts("wrapper") is None and plain.simultaneous_connections is None
    assert meter_server(plain, "wrapper").timeouts() == LinkTimeouts(120.0)
    assert meter_server(plain, "hdlc", inactivity_timeout=3).timeouts() == LinkTimeouts(3.0, 0.025)


async def test_an_idle_hdlc_connection_is_closed_after_the_models_inactivity_timeout() -> None:
    server = meter_server(SimulatedMeter(parse_model(_model(inactivity=1))), "hdlc")
    port = await _start(server)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert await _closed_by_server(reader)
        assert server.stats.closed_for_inactivity == 1
        writer.close()
    finally:
        await server.close()


async def test_a_set_of_the_inactivity_timeout_takes_effect_on_open_connections() -> None:
    meter = SimulatedMeter()  # 120 s in the model
    server = meter_server(meter, "hdlc")
    port = await _start(server)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await asyncio.sleep(0.2)
        # The management client writes 1 s (a reader may not: the right comes first).
        assert (
            connect(meter, 32).set(HDLC_SETUP, 8, axdr.LongUnsigned(1)) == DataAccessResult.READ_WRITE_DENIED
        )
        assert connect(meter, 1).set(HDLC_SETUP, 8, axdr.LongUnsigned(1)) == DataAccessResult.SUCCESS
        # The connection waits for bytes with the old timeout; a byte (a flag, no frame) makes the server
        # look at the timeouts again.
        writer.write(b"\x7e")
        await writer.drain()
        assert await _closed_by_server(reader)
        assert server.stats.closed_for_inactivity == 1
        writer.close()
    finally:
        await server.close()


async def test_a_peer_trickling_a_frame_is_cut_by_the_inter_octet_timeout_and_closed_for_inactivity() -> None:
    server = meter_server(SimulatedMeter(parse_model(_model(inactivity=2, inter_octet=20))), "hdlc")
    port = await _start(server)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        closed = await trickled_until_closed(reader, writer, 400)
        assert closed and server.stats.closed_for_inactivity == 1
        assert server.stats.partial_frames_dropped >= 1
        writer.close()
    finally:
        await server.close()


async def test_after_the_inter_octet_timeout_a_whole_frame_is_answered() -> None:
    server = meter_server(SimulatedMeter(parse_model(_model(inter_octet=50))), "hdlc")
    port = await _start(server)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        link = HdlcClientLink(16, HdlcAddress(1, 17))
        link.open()
        snrm = link.data_to_send()
        writer.write(snrm[:5])  # half a frame, then silence
        await writer.drain()
        await asyncio.sleep(0.5)
        writer.write(snrm)  # the whole frame: answered (UA), the half one was dropped
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(4096), 30)
        link.receive_data(answer)
        assert link.parameters is not None  # connected
        assert server.stats.partial_frames_dropped == 1
        writer.close()
    finally:
        await server.close()


async def test_an_idle_wrapper_connection_is_closed_after_the_tcp_udp_setup_timeout() -> None:
    server = meter_server(SimulatedMeter(parse_model(_model(tcp_udp=(0, 1)))), "wrapper")
    port = await _start(server)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert await _closed_by_server(reader)
        assert server.stats.closed_for_inactivity == 1
        writer.close()
    finally:
        await server.close()


async def test_refused_connections_are_closed_at_once_and_logged_once_per_period(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="dlmskit.simulator")
    server = meter_server(SimulatedMeter(), "hdlc", max_connections=2)
    port = await _start(server)
    try:
        held = [await asyncio.open_connection("127.0.0.1", port) for _ in range(2)]
        await asyncio.sleep(0.1)
        for _ in range(5):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            assert await _closed_by_server(reader)
            writer.close()
        assert server.stats.refused_connections == 5
        lines = [r for r in caplog.records if "refused" in r.getMessage()]
        assert len(lines) == 1 and "2 connections already open" in lines[0].getMessage()
        for _reader, held_writer in held:
            held_writer.close()
    finally:
        await server.close()


def test_the_refusal_log_line_counts_what_it_left_out(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="dlmskit.simulator")
    limit = ConnectionLimit(1)
    assert limit.acquire() and not limit.acquire()
    for _ in range(4):
        limit.refused("peer", 1, 1)
    limit._logged_at -= ConnectionLimit.LOG_EVERY  # as if 10 s went by
    limit.refused("peer", 1, 1)
    lines = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(lines) == 2 and "3 more refused since the last line" in lines[1]
    assert limit.refused_total == 5
    limit.release()
    assert limit.acquire()


async def test_the_models_nb_of_sim_conn_caps_a_meter() -> None:
    server = meter_server(SimulatedMeter(parse_model(_model(tcp_udp=(1, 120)))), "hdlc")
    port = await _start(server)
    try:
        _held_reader, held = await asyncio.open_connection("127.0.0.1", port)
        await asyncio.sleep(0.1)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert await _closed_by_server(reader)
        assert server.stats.refused_connections == 1
        writer.close()
        held.close()
    finally:
        await server.close()


async def test_a_fleet_caps_its_connections_in_total() -> None:
    fleet = Fleet(3, seed=5, max_total_connections=2)
    await fleet.start("127.0.0.1", 0)
    try:
        ports = [meter.port for meter in fleet.meters]
        held = [await asyncio.open_connection("127.0.0.1", port) for port in ports[:2]]
        await asyncio.sleep(0.1)
        reader, writer = await asyncio.open_connection("127.0.0.1", ports[2])
        assert await _closed_by_server(reader)
        assert sum(server.stats.refused_connections for server in fleet.servers) == 1
        writer.close()
        for _reader, held_writer in held:
            held_writer.close()
    finally:
        await fleet.close()


def test_the_open_files_limit_is_raised_to_the_hard_limit() -> None:
    soft = raise_open_file_limit()
    _now, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert soft == resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    assert hard == resource.RLIM_INFINITY or soft == hard
