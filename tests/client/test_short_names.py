"""The high-level client on a short-name (SN) meter: the simulator with ``referencing="sn"``.

The same calls as on an LN meter (logical names, remote_disconnect, token_enter, register, clock, profiles by
entry and by range), mapped through the Association SN object list; over HDLC and the wrapper, with no
authentication, LLS and HLS-GMAC (HLS pass 3 over SN: a Read of method 8 of the Association SN with
parameterized access), blocking and asyncio; ``referencing="auto"`` falls back to SN; the object list is
cached per meter on request.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import json
from pathlib import Path
from typing import Any, Literal, cast

import pytest

from dlmskit.client import AccessDenied, connect, connect_async
from dlmskit.codec.obis import Obis
from dlmskit.cosem import ControlState, Unit
from dlmskit.errors import ConfigurationError
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
TAMPER_TOKEN = "1234 5678 9012 3456 7890"  # docs/simulator.md
UTC = _dt.timezone.utc
NOW = _dt.datetime(2024, 3, 1, 5, 0, 7, tzinfo=UTC)
PLUS7 = _dt.timezone(_dt.timedelta(hours=7))
LOAD_PROFILE = "1.0.99.1.0.255"


@pytest.fixture(params=["hdlc", "wrapper"])
def link(request: pytest.FixtureRequest) -> Literal["hdlc", "wrapper"]:
    return cast(Literal["hdlc", "wrapper"], request.param)


def test_read_write_register_clock_and_objects_over_sn(
    simulator: Any, link: Literal["hdlc", "wrapper"]
) -> None:
    running = simulator(link, now=lambda: NOW, referencing="sn")
    apdus: list[tuple[str, bytes]] = []
    with connect(
        port=running.port, link=link, referencing="sn", on_apdu=lambda d, a: apdus.append((d, a))
    ) as meter:
        assert meter.read("0.0.42.0.0.255") == b"MMM0000012345678"
        assert meter.clock() == _dt.datetime(2024, 3, 1, 12, 0, 7, tzinfo=PLUS7)
        objects = {entry.logical_name: entry for entry in meter.objects()}
        assert objects[Obis.parse("0.0.40.0.0.255")].class_id == 12  # the Association SN
        # The public client does not see the energy register: its association lists no name for it.
        with pytest.raises(ConfigurationError, match=r"1\.0\.1\.8\.0\.255 is not in the object list"):
            meter.register("1.0.1.8.0.255")
    # The AARQ names the SN context (2.16.756.5.8.1.2), the requests are READ (05) / answers READ (0C).
    aarq = next(a for d, a in apdus if d == "tx")
    assert bytes.fromhex("060760857405080102") in aarq
    assert {a[0] for d, a in apdus if d == "tx"} >= {0x60, 0x05}
    assert 0xC0 not in {a[0] for d, a in apdus if d == "tx"}
    with connect(port=running.port, link=link, referencing="sn", **READER) as meter:
        energy = meter.register("1.0.1.8.0.255")
        assert energy.unit == Unit.WATT_HOUR and energy.value > 1234567
        assert meter.relay_state().connected


def test_seed_disconnect_over_hls_gmac_and_sn(simulator: Any, link: Literal["hdlc", "wrapper"]) -> None:
    running = simulator(link, referencing="sn")
    with connect(port=running.port, link=link, referencing="sn", **MANAGEMENT) as meter:
        state = meter.remote_disconnect()
        assert state.control_state == ControlState.DISCONNECTED
        assert running.meter.relay.control_state == ControlState.DISCONNECTED
        assert meter.remote_reconnect().connected
        meter.set_clock(_dt.datetime(2024, 5, 1, 12, 0, tzinfo=PLUS7))
    with (
        connect(port=running.port, link=link, referencing="sn", **READER) as meter,
        pytest.raises(AccessDenied),
    ):
        meter.remote_disconnect()  # the same rights as over LN
    assert running.meter.relay.output_state is True


def test_seed_tamper_token_over_sn(simulator: Any) -> None:
    running = simulator(tamper=True, referencing="sn")
    with connect(port=running.port, referencing="sn", **MANAGEMENT) as meter:
        assert not meter.relay_state().connected
        result = meter.token_enter(TAMPER_TOKEN)
        assert (result.ok, result.name) == (True, "token-execution-ok")
        assert meter.relay_state().connected and not running.meter.tamper


def test_profiles_by_entry_and_range_over_sn(simulator: Any) -> None:
    running = simulator(now=lambda: NOW, referencing="sn")
    sent: list[bytes] = []
    with connect(
        port=running.port,
        referencing="sn",
        max_pdu_size=256,
        on_apdu=lambda d, a: sent.append(a) if d == "tx" else None,
        **READER,
    ) as meter:
        last = _dt.datetime(2024, 3, 1, 12, 0, tzinfo=PLUS7)
        by_time = meter.profile(LOAD_PROFILE, start=last - _dt.timedelta(hours=1), end=last)
        assert len(by_time) == 5 and by_time.timestamps[-1] == last
        entries = meter.profile(LOAD_PROFILE, from_entry=9_996, to_entry=10_000)
        assert entries.rows == by_time.rows
        assert [c.name for c in entries.columns][:2] == ["Clock", "Active energy import (+A), total"]
    # ReadRequest (05), one variable (01), parameterized-access (04): selector 1 (range), then 2 (entry).
    accesses = [a for a in sent if a[:3] == b"\x05\x01\x04"]
    assert [a[5] for a in accesses] == [1, 2]
    # Answers longer than 256 bytes came in data-block-results, each asked for with block-number-access.
    assert any(a[:3] == b"\x05\x01\x05" for a in sent)


def test_auto_falls_back_to_sn_and_ln_only_says_why(simulator: Any) -> None:
    running = simulator(referencing="sn")
    with pytest.raises(AssociationRejected, match="short-name referencing"):
        connect(port=running.port)
    with connect(port=running.port, referencing="auto") as meter:
        assert meter.read("0.0.42.0.0.255") == b"MMM0000012345678"
    ln = simulator()
    with connect(port=ln.port, referencing="auto") as meter:  # an LN meter stays LN
        assert meter.read("0.0.42.0.0.255") == b"MMM0000012345678"


def test_short_name_cache(simulator: Any, tmp_path: Path) -> None:
    running = simulator(referencing="sn")
    cache = tmp_path / "meter-sn.json"
    apdus: list[bytes] = []
    with connect(port=running.port, referencing="sn", short_name_cache=cache) as meter:
        assert meter.read("0.0.42.0.0.255") == b"MMM0000012345678"
    objects = json.loads(cache.read_text())["objects"]
    assert [0xFA00, 12, 3, "0.0.40.0.0.255"] in objects
    with connect(
        port=running.port, referencing="sn", short_name_cache=cache, on_apdu=lambda d, a: apdus.append(a)
    ) as meter:
        assert meter.read("0.0.42.0.0.255") == b"MMM0000012345678"
    reads = [a for a in apdus if a[:1] == b"\x05"]
    assert len(reads) == 1  # the object list came from the cache


def test_asyncio_over_sn(simulator: Any) -> None:
    running = simulator("wrapper", referencing="sn")

    async def main() -> None:
        async with await connect_async(
            port=running.port, link="wrapper", referencing="sn", **MANAGEMENT
        ) as meter:
            assert await meter.read("0.0.42.0.0.255") == b"MMM0000012345678"
            state = await meter.remote_disconnect()
            assert state.control_state == ControlState.DISCONNECTED
            assert (await meter.remote_reconnect()).connected

    asyncio.run(main())


def test_asyncio_over_sn_hdlc_lls_register_and_profile(simulator: Any) -> None:
    running = simulator("hdlc", now=lambda: NOW, referencing="sn")

    async def main() -> None:
        async with await connect_async(
            port=running.port, referencing="sn", max_pdu_size=256, **READER
        ) as meter:
            energy = await meter.register("1.0.1.8.0.255")
            assert energy.unit == Unit.WATT_HOUR
            rows = await meter.profile(LOAD_PROFILE, from_entry=9_996, to_entry=10_000)
            assert len(rows) == 5 and rows.timestamps[-1] == _dt.datetime(2024, 3, 1, 12, 0, tzinfo=PLUS7)

    asyncio.run(main())
