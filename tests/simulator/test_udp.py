"""The wrapper over UDP (IEC 62056-47): client and simulator, sync, asyncio and the CLI."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

import dlmskit.cli.commands  # noqa: F401  (registers the commands)
from dlmskit.cli.main import cli
from dlmskit.client import connect, connect_async
from dlmskit.errors import ConfigurationError
from dlmskit.simulator.meter import SimulatedMeter
from dlmskit.simulator.runner import meter_server
from dlmskit.simulator.server import MeterServer

KEYS = {
    "block_cipher_key": "000102030405060708090A0B0C0D0E0F",
    "authentication_key": "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF",
}


@pytest.fixture
def udp_meter() -> Iterator[tuple[SimulatedMeter, MeterServer, int]]:
    meter = SimulatedMeter()
    server = meter_server(meter, "wrapper")
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    transport = asyncio.run_coroutine_threadsafe(server.start_udp("127.0.0.1", 0), loop).result(10)
    try:
        yield meter, server, transport.get_extra_info("sockname")[1]
    finally:
        asyncio.run_coroutine_threadsafe(server.close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def test_sync_client_over_udp(udp_meter: tuple[SimulatedMeter, MeterServer, int], tmp_path: object) -> None:
    meter, server, port = udp_meter
    with connect(port=port, link="wrapper", udp=True) as public:
        assert public.read("0.0.42.0.0.255") == b"MMM0000012345678"
    with connect(
        port=port,
        link="wrapper",
        udp=True,
        client_address=1,
        authentication="gmac",
        invocation_counter_path=f"{tmp_path}/c.json",
        **KEYS,
    ) as management:
        assert len(management.profile("1.0.99.1.0.255", from_entry=1, to_entry=200)) == 200  # in blocks
        management.remote_disconnect()
        assert meter.relay.output_state is False
    assert server.stats.connection_errors == 0


async def test_async_client_over_udp() -> None:
    meter = SimulatedMeter()
    server = meter_server(meter, "wrapper")
    transport = await server.start_udp("127.0.0.1", 0)
    try:
        async with connect_async(
            port=transport.get_extra_info("sockname")[1], link="wrapper", udp=True
        ) as meter_client:
            assert await meter_client.read("0.0.42.0.0.255") == b"MMM0000012345678"
    finally:
        await server.close()


async def test_garbage_datagrams_are_dropped() -> None:
    server = meter_server(SimulatedMeter(), "wrapper")
    transport = await server.start_udp("127.0.0.1", 0)
    port = transport.get_extra_info("sockname")[1]
    loop = asyncio.get_running_loop()
    sender, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, remote_addr=("127.0.0.1", port))
    try:
        for junk in (b"", b"\x00\x01", bytes(range(256)), b"\x00\x01\x00\x10\x00\x01\xff\xff"):
            sender.sendto(junk)
        await asyncio.sleep(0.05)
        async with connect_async(port=port, link="wrapper", udp=True) as meter_client:
            assert await meter_client.read("0.0.42.0.0.255") == b"MMM0000012345678"
    finally:
        sender.close()
        await server.close()


def test_udp_needs_the_wrapper() -> None:
    with pytest.raises(ConfigurationError, match="wrapper"):
        connect(udp=True)
    result = CliRunner().invoke(cli, ["read", "0.0.42.0.0.255", "--udp"])
    assert result.exit_code == 2 and "wrapper" in result.stderr


def test_cli_read_over_udp(udp_meter: tuple[SimulatedMeter, MeterServer, int]) -> None:
    _meter, _server, port = udp_meter
    result = CliRunner().invoke(
        cli, ["read", "0.0.42.0.0.255", "--transport", "wrapper", "--udp", "--port", str(port), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert "4D4D4D30303030" in result.stdout  # the logical device name, hex in JSON
