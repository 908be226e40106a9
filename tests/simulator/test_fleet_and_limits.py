"""The fleet simulator (distinct meters from a seed, an inventory), the server's connection cap and the order of
checks on a SET in blocks (access rights before value types)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from tests.simulator.simclient import trickled_until_closed

from dlmskit.apdu.common import CosemAttributeDescriptor, DataBlockSA, InvokeIdAndPriority
from dlmskit.apdu.parse import decode_apdu
from dlmskit.apdu.results import DataAccessResult
from dlmskit.apdu.set import SetRequestWithFirstDatablock, SetResponseLastDatablock
from dlmskit.codec.obis import Obis
from dlmskit.errors import ConfigurationError
from dlmskit.security.hls import Mechanism
from dlmskit.session.client import ClientSession, ClientSettings
from dlmskit.session.server import ServerSession
from dlmskit.simulator import SimulatedMeter
from dlmskit.simulator.fleet import Fleet
from dlmskit.simulator.runner import meter_server
from dlmskit.simulator.source import parse_toml

LDN = CosemAttributeDescriptor(1, Obis(0, 0, 42, 0, 0, 255), 2)


def test_fleet_meters_are_distinct_and_repeatable() -> None:
    fleet = Fleet(50, seed=7, unreachable=0.1, slow=0.1, faulty=0.1)
    again = Fleet(50, seed=7, unreachable=0.1, slow=0.1, faulty=0.1)
    assert fleet.meters == again.meters  # derived from the seed
    for field in ("name", "serial_number", "logical_device_name", "system_title", "hdlc_physical_address"):
        assert len({getattr(m, field) for m in fleet.meters}) == 50, field
    assert len({m.block_cipher_key for m in fleet.meters}) == 50
    assert all(len(m.logical_device_name) == 16 and len(m.system_title) == 8 for m in fleet.meters)
    behaviours = [m.behaviour for m in fleet.meters]
    assert (behaviours.count("unreachable"), behaviours.count("slow"), behaviours.count("faulty")) == (
        5,
        5,
        5,
    )
    model = fleet.meter_model(fleet.meters[3])
    management = model.association(1)
    assert management is not None and management.block_cipher_key == fleet.meters[3].block_cipher_key
    assert model.meter.system_title == management.server_system_title == fleet.meters[3].system_title
    assert Fleet(5, seed=8).meters[0].block_cipher_key != fleet.meters[0].block_cipher_key
    with pytest.raises(ConfigurationError):
        Fleet(5, unreachable=0.7, slow=0.5)


async def test_a_started_fleet_writes_an_inventory_of_where_its_meters_listen(tmp_path: Path) -> None:
    fleet = Fleet(6, seed=3, faulty=0.34, unreachable=0.17)
    await fleet.start("127.0.0.1", 0)
    try:
        text = fleet.write_inventory(tmp_path / "fleet.toml").read_text(encoding="utf-8")
        document = parse_toml(text, "fleet.toml")
        ports = {m["port"] for m in document["meter"]}
        assert len(ports) == 6 and document["template"]["fleet-gmac"]["authentication"] == "gmac"
        for meter, entry in zip(fleet.meters, document["meter"], strict=True):
            reachable = True
            try:
                _reader, writer = await asyncio.open_connection("127.0.0.1", entry["port"])
                writer.close()
            except ConnectionRefusedError:
                reachable = False
            assert reachable == (meter.behaviour != "unreachable")
            keys_match = entry["authentication_key"] == meter.authentication_key.hex().upper()
            assert keys_match == (meter.behaviour != "faulty")
    finally:
        await fleet.close()


async def test_the_server_caps_concurrent_connections_with_a_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="dlmskit.simulator")
    server = meter_server(SimulatedMeter(), "hdlc", max_connections=2)
    listener = await server.start_tcp("127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    try:
        held = [await asyncio.open_connection("127.0.0.1", port) for _ in range(2)]
        await asyncio.sleep(0.05)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert await asyncio.wait_for(reader.read(10), 10) == b""  # closed at once
        writer.close()
        assert server.stats.refused_connections == 1
        assert "2 connections already open" in caplog.text
        for _reader, held_writer in held:
            held_writer.close()
    finally:
        await server.close()


def _set_in_blocks(client_sap: int, settings: ClientSettings, raw: bytes) -> DataAccessResult | int:
    server = ServerSession(SimulatedMeter(), client_sap)
    client = ClientSession(settings)
    client.receive(server.receive(client.associate())[0])
    request = SetRequestWithFirstDatablock(InvokeIdAndPriority(1), LDN, DataBlockSA(True, 1, raw))
    (reply,) = server.receive(request.encode())
    answer = decode_apdu(reply)
    assert isinstance(answer, SetResponseLastDatablock)
    return answer.result


def test_a_set_in_blocks_checks_access_rights_before_the_value() -> None:
    reader = ClientSettings(mechanism=Mechanism.LOW, secret=b"12345678")
    # The reader (32) may not write the logical device name: denied, whatever the (malformed) value.
    assert _set_in_blocks(32, reader, b"\xff\xff\xff") == DataAccessResult.READ_WRITE_DENIED
    assert _set_in_blocks(32, reader, b"\x09\x02AB") == DataAccessResult.READ_WRITE_DENIED


async def test_a_peer_trickling_bytes_is_closed_like_a_silent_one() -> None:
    server = meter_server(SimulatedMeter(), "hdlc", inactivity_timeout=0.5)
    listener = await server.start_tcp("127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        closed = await trickled_until_closed(reader, writer, 200)  # never a whole request
        assert closed and server.stats.closed_for_inactivity == 1
        writer.close()
    finally:
        await server.close()


def test_a_fleet_says_when_the_open_files_limit_cannot_hold_it(caplog: pytest.LogCaptureFixture) -> None:
    """10,000 meters in one process need 10,000 listening sockets and 10,000 connections at once: under a
    limit of 20,000 (this machine's hard limit) connections past it were reset (13 of 10,000 in
    bench.headend with one simulator process). The fleet says so at start, with what to do."""
    fleet = Fleet(10_000)
    with caplog.at_level(logging.WARNING, logger="dlmskit.simulator.fleet"):
        assert not fleet.check_open_files(20_000)
        assert "open files limit (20000) is below what 10000 meters need" in caplog.text
        assert "--max-total-connections" in caplog.text
        caplog.clear()
        assert fleet.check_open_files(20_000 + 64)  # 10,000 + 10,000 + 64 fits
        assert Fleet(10_000, max_total_connections=2_000).check_open_files(20_000)  # capped: fits
        assert Fleet(10_000, unreachable=0.1).check_open_files(20_000)  # 9,000 listen: fits
    assert fleet.check_open_files(None)  # no such limit (not Unix)
    assert not caplog.text
