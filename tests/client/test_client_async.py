"""The asyncio client against the simulated meter: the seed scenarios and the helpers, as coroutines.

The meter runs on its own thread (SimulatorThread), the client on the test's event loop.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
from typing import Any

import pytest

from dlmskit.apdu.results import ActionResult
from dlmskit.client import AccessDenied, AsyncDlmsClient, MeterRefused, MeterSettings, connect_async
from dlmskit.codec import axdr
from dlmskit.cosem import ControlState, Unit
from dlmskit.errors import EncodeError, ProtocolError
from dlmskit.session.errors import AssociationRejected

EK = "000102030405060708090A0B0C0D0E0F"
AK = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"
MANAGEMENT: dict[str, Any] = {
    "client_address": 1,
    "authentication": "gmac",
    "block_cipher_key": EK,
    "authentication_key": AK,
}
READER: dict[str, Any] = {"client_address": 32, "authentication": "low", "password": "12345678"}
TAMPER_TOKEN = "1234 5678 9012 3456 7890"
NOW = _dt.datetime(2024, 3, 1, 5, 0, 7, tzinfo=_dt.timezone.utc)
PLUS7 = _dt.timezone(_dt.timedelta(hours=7))


@pytest.mark.parametrize("link", ["hdlc", "wrapper"])
async def test_seed_disconnect_over_gmac_works_and_over_lls_is_refused(simulator: Any, link: str) -> None:
    running = simulator(link)
    async with connect_async(port=running.port, link=link, **MANAGEMENT) as meter:
        assert (await meter.remote_disconnect()).control_state == ControlState.DISCONNECTED
        assert not running.meter.relay.output_state
        assert (await meter.remote_reconnect()).connected
    async with connect_async(port=running.port, link=link, **READER) as meter:
        with pytest.raises(AccessDenied) as refused:
            await meter.remote_disconnect()
    assert refused.value.result == ActionResult.READ_WRITE_DENIED
    assert str(refused.value).endswith(
        "Hint: this association (client 32, LLS) has no method access; HLS-GMAC management associations usually do"
    )


async def test_seed_tamper_token(simulator: Any) -> None:
    running = simulator("wrapper", tamper=True)
    async with connect_async(port=running.port, link="wrapper", **MANAGEMENT) as meter:
        assert not (await meter.relay_state()).connected
        with pytest.raises(MeterRefused, match="tamper token"):
            await meter.remote_reconnect()
        with pytest.raises(EncodeError, match="got a visible-string"):
            await meter.token_enter(axdr.VisibleString("12345678901234567890"))
        result = await meter.token_enter(TAMPER_TOKEN)
        assert result.ok and result.name == "token-execution-ok"
        assert (await meter.relay_state()).connected
        again = await meter.token_enter(TAMPER_TOKEN)
        assert not again.ok and "already used" in again.description
        assert await meter.token_status() == again
    assert not running.meter.tamper


async def test_identity_clock_registers_and_profiles(simulator: Any) -> None:
    running = simulator(now=lambda: NOW)
    async with connect_async(port=running.port, **READER) as meter:
        assert await meter.read("0.0.42.0.0.255") == b"MMM0000012345678"
        assert await meter.clock() == _dt.datetime(2024, 3, 1, 12, 0, 7, tzinfo=PLUS7)
        energy = await meter.register("1.0.1.8.0.255")
        assert energy.unit == Unit.WATT_HOUR and str(energy).endswith(" Wh")
        values = await meter.read_many([("1.0.32.7.0.255", 2), ("1.0.32.7.0.255", "scaler_unit")])
        assert values[1] == (-1, 35)
        last = _dt.datetime(2024, 3, 1, 12, 0, tzinfo=PLUS7)
        by_time = await meter.profile("1.0.99.1.0.255", start=last - _dt.timedelta(minutes=30), end=last)
        assert by_time.timestamps == [last - _dt.timedelta(minutes=m) for m in (30, 15, 0)]
        by_entry = await meter.profile("1.0.99.1.0.255", from_entry=9_998)
        assert by_entry.rows == by_time.rows
        seen: list[tuple[int, int | None]] = []
        chunks = [
            len(chunk)
            async for chunk in meter.iter_profile(
                "1.0.99.1.0.255", from_entry=9_001, chunk_size=400, progress=lambda *p: seen.append(p)
            )
        ]
        assert chunks == [400, 400, 200] and seen[-1] == (1_000, 1_000)
        assert len(await meter.objects()) > 20


async def test_frame_counter_first_and_wrong_keys(simulator: Any) -> None:
    running = simulator()
    settings = MeterSettings(port=running.port, read_frame_counter_first=True, **MANAGEMENT)
    async with AsyncDlmsClient(settings) as meter:
        assert await meter.frame_counter() > 0
    wrong = MeterSettings(port=running.port, **dict(MANAGEMENT, block_cipher_key="00" * 16))
    with pytest.raises(AssociationRejected, match="check the block cipher key"):
        await AsyncDlmsClient(wrong).open()


async def test_clients_run_side_by_side(simulator: Any) -> None:
    running = simulator()

    async def read(client_address: int, **options: Any) -> bytes:
        async with connect_async(port=running.port, client_address=client_address, **options) as meter:
            return bytes(await meter.read("0.0.42.0.0.255"))

    names = await asyncio.gather(
        read(16), read(32, authentication="low", password="12345678"), read(**MANAGEMENT)
    )
    assert list(names) == [b"MMM0000012345678"] * 3


async def test_not_connected_is_said() -> None:
    with pytest.raises(ProtocolError, match="not connected"):
        await AsyncDlmsClient(MeterSettings()).relay_state()


@pytest.mark.parametrize("link", ["hdlc", "wrapper"])
async def test_release_request_false_closes_the_link_without_an_rlrq(simulator: Any, link: str) -> None:
    running = simulator(link)
    for _ in range(2):
        tags: list[int] = []
        async with connect_async(
            port=running.port,
            link=link,
            release_request=False,
            on_apdu=lambda d, apdu, tags=tags: tags.append(apdu[0]) if d == "tx" else None,
            **MANAGEMENT,
        ) as meter:
            assert await meter.read("0.0.42.0.0.255") == b"MMM0000012345678"
        assert not meter.is_open
        assert 0x62 not in tags and tags[0] == 0x60
