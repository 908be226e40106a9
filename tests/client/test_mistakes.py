"""The mistakes a new user makes (issue 13, tried from README.md and docs/ alone), each refused or answered
in words, against the simulated meter where a meter is involved."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import socket
import warnings
from pathlib import Path
from typing import Any

import pytest

import dlmskit
from dlmskit.client import (
    ArgumentError,
    AssociationRejected,
    ConfigurationError,
    DecodeError,
    ExceptionResponseReceived,
    LinkError,
    MeterSettings,
    MeterTimeout,
    connect,
    connect_async,
    load_meter_profile,
    load_profile,
    token_to_octets,
)
from dlmskit.codec import axdr
from dlmskit.codec.obis import Obis
from dlmskit.cosem import ScalerUnit, Unit
from dlmskit.errors import KeyFormatError, TimeoutError_
from dlmskit.translator import parse_hex_text, to_text, translate

EK = "000102030405060708090A0B0C0D0E0F"  # the simulator's demo keys (docs/simulator.md)
AK = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"
LOAD_PROFILE = "1.0.99.1.0.255"
CLOCK = "0.0.1.0.0.255"


def management(port: int) -> dict[str, Any]:
    return {
        "port": port,
        "client_address": 1,
        "authentication": "gmac",
        "block_cipher_key": EK,
        "authentication_key": AK,
    }


# -- settings ------------------------------------------------------------------------------------------------


def test_a_misspelt_setting_is_named_with_the_right_one() -> None:
    with pytest.raises(ArgumentError, match=r"unknown setting\(s\) prot \(did you mean port\?\)"):
        connect(prot=4777)  # type: ignore[call-arg]


def test_a_setting_of_the_wrong_type_is_refused_in_words_not_a_type_error() -> None:
    with pytest.raises(ArgumentError) as refused:
        MeterSettings(port="4777")  # type: ignore[arg-type]
    assert str(refused.value) == (
        "MeterSettings port must be a whole number (int), not str '4777'; write port=4777 without quotes"
    )
    assert isinstance(refused.value, ValueError) and not isinstance(refused.value, ConfigurationError)
    with pytest.raises(ArgumentError, match=r"password must be text or bytes, not int$"):
        MeterSettings(authentication="low", password=12345678)  # type: ignore[arg-type]  # value never shown


def test_the_accepted_spellings_of_authentication() -> None:
    assert MeterSettings(authentication="LLS", password="x").authentication == "low"  # type: ignore[arg-type]
    gmac = MeterSettings(authentication="HIGH_GMAC", block_cipher_key=EK, authentication_key=AK)  # type: ignore[arg-type]
    assert gmac.authentication == "gmac"
    with pytest.raises(
        ArgumentError, match=r"unknown authentication 'kerberos'; use one of: none, low, .* \(or lls"
    ):
        MeterSettings(authentication="kerberos")  # type: ignore[arg-type]


# -- names ---------------------------------------------------------------------------------------------------


def test_connect_really_connects(simulator: Any) -> None:
    running = simulator()
    meter = connect(port=running.port)
    try:
        assert meter.is_open and "associated" in repr(meter)
        with meter:  # a with block on an opened client does not open it again
            assert meter.clock().tzinfo is not None
    finally:
        meter.close()
    assert not meter.is_open
    with socket.socket() as probe:  # a port nobody listens on: connect() fails at once, in words
        probe.bind(("127.0.0.1", 0))
        unused = probe.getsockname()[1]
    with pytest.raises(LinkError, match=f"127.0.0.1:{unused}"):
        connect(port=unused, connect_timeout=2)


def test_connect_async_is_awaitable_and_an_async_context_manager(simulator: Any) -> None:
    import asyncio

    running = simulator()

    async def main() -> None:
        meter = await connect_async(port=running.port)
        assert meter.is_open
        await meter.close()
        async with connect_async(port=running.port) as again:
            assert (await again.clock()).tzinfo is not None
        assert not again.is_open

    asyncio.run(main())


def test_the_relay_operations_are_named_as_the_standard_names_them(simulator: Any) -> None:
    running = simulator()
    with connect(**management(running.port)) as meter:
        assert not meter.remote_disconnect().connected
        with pytest.warns(
            DeprecationWarning, match=r"disconnect\(\) is deprecated, use remote_disconnect\(\)"
        ):
            meter.disconnect()
        with pytest.warns(DeprecationWarning, match=r"close\(\) hangs up the connection"):
            meter.disconnect()
        with pytest.warns(DeprecationWarning, match=r"use remote_reconnect\(\)"):
            assert meter.reconnect().connected


def test_old_names_kept_one_release(tmp_path: Path) -> None:
    profiles = tmp_path / "meters.toml"
    profiles.write_text("[meter.lab]\nport = 4061\n", encoding="utf-8")
    assert load_meter_profile("lab", profiles).port == 4061
    with pytest.warns(DeprecationWarning, match=r"load_profile\(\) is now load_meter_profile\(\)"):
        assert load_profile("lab", profiles).port == 4061
    assert TimeoutError_ is MeterTimeout and issubclass(MeterTimeout, TimeoutError)


def test_call_arguments_are_argument_errors_not_configuration_errors(simulator: Any) -> None:
    running = simulator()
    with connect(**management(running.port)) as meter:
        with pytest.raises(
            ArgumentError, match=r"shift_time moves the clock by -900\.\.900 seconds, not 2000"
        ):
            meter.shift_clock(2000)
        assert meter.read("0.0.42.0.0.255", expect=bytes) == b"MMM0000012345678"
        with pytest.raises(DecodeError, match=r"expected int, found OctetString"):
            meter.read("0.0.42.0.0.255", expect=int)
        with pytest.raises(ArgumentError, match=r"has no attribute 'timezone'; it has: .*time_zone"):
            meter.read(CLOCK, "timezone")
        with pytest.raises(
            ArgumentError, match=r"from_entry counts entries from 1 \(the oldest\), not -3; .*last=N"
        ):
            meter.profile(LOAD_PROFILE, from_entry=-3)


# -- values ----------------------------------------------------------------------------------------------------


def test_axdr_scalars_print_and_write_as_plain_values() -> None:
    value = axdr.DoubleLongUnsigned(4661840)
    written = io.StringIO()
    csv.writer(written).writerow([value, axdr.Long(-3), axdr.Float64(1.5), axdr.Enum(30)])
    assert written.getvalue().strip() == "4661840,-3,1.5,30"
    assert (
        f"{value}" == "4661840"
        and f"{value:,}" == "4,661,840"
        and repr(value) == "DoubleLongUnsigned(4661840)"
    )


def test_quantities_convert_and_units_print_their_symbols() -> None:
    voltage = ScalerUnit(-1, Unit.VOLT).quantity(2288)
    assert str(voltage) == "228.8 V" and float(voltage) == 228.8 and int(voltage) == 228
    assert f"{voltage:.2f}" == "228.80 V"
    assert str(voltage.unit) == "V" and f"{voltage.unit}" == "V" and int(voltage.unit) == 35


def test_profiles_come_scaled_with_units_and_export_to_csv_and_json(simulator: Any, tmp_path: Path) -> None:
    running = simulator()
    with connect(**management(running.port)) as meter:
        table = meter.profile(LOAD_PROFILE, last=3)
    assert len(table) == 3
    voltage = next(c for c in table.columns if c.unit == Unit.VOLT)
    assert voltage.scaler == -1 and voltage.heading.endswith("[V]")
    index = table.columns.index(voltage)
    raw, scaled = table.rows[0][index], table.scaled_rows[0][index]
    assert isinstance(raw, int) and scaled == pytest.approx(raw / 10)
    assert 180 < table.as_dicts()[0][voltage.name] < 280  # volts, not tenths of a volt
    table.to_csv(tmp_path / "day.csv")
    lines = (tmp_path / "day.csv").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 4 and "[V]" in lines[0] and "DoubleLong" not in "".join(lines)
    document = json.loads(table.to_json())
    assert document["units"][index] == "V" and len(document["rows"]) == 3


# -- time ----------------------------------------------------------------------------------------------------------


def test_naive_datetimes_are_refused_unless_the_zone_is_said(simulator: Any) -> None:
    running = simulator()
    with connect(**management(running.port)) as meter:
        before = meter.clock()
        with pytest.raises(ArgumentError, match=r"set_clock: .* is a naive datetime, .* assume="):
            meter.set_clock(dt.datetime.now())
        assert abs((meter.clock() - before).total_seconds()) < 600  # nothing was sent
        with pytest.raises(ArgumentError, match=r"start: .* is a naive datetime"):
            meter.profile(LOAD_PROFILE, start=dt.datetime(2026, 1, 1), end=dt.datetime(2026, 1, 2))
        utc = dt.timezone.utc
        meter.set_clock(dt.datetime(2026, 1, 1, 12, 0), assume=utc)
        assert meter.clock().astimezone(utc).replace(microsecond=0, second=0) == dt.datetime(
            2026, 1, 1, 12, 0, tzinfo=utc
        )
        reading = meter.clock_reading()
        assert reading.utc_offset is not None and "UTC+" in str(reading)
        since = meter.profile(LOAD_PROFILE, since=dt.datetime(2026, 1, 1, 11, 0, tzinfo=utc))
        assert len(since) >= 4


# -- one public surface ----------------------------------------------------------------------------------------


def test_what_the_docs_name_is_importable_from_where_they_point() -> None:
    assert issubclass(AssociationRejected, dlmskit.DlmsError)
    assert issubclass(ExceptionResponseReceived, dlmskit.DlmsError)
    assert token_to_octets("1234 5678 9012 3456 7890") == b"12345678901234567890"
    from dlmskit import axdr as top_axdr
    from dlmskit import obis as top_obis

    assert top_axdr is axdr and top_obis.Obis is Obis and dlmskit.connect is connect
    assert Obis("1.0.1.8.0.255") == Obis(1, 0, 1, 8, 0, 255) == Obis("1-0:1.8.0*255")
    with pytest.raises(ValueError, match=r"Obis takes the groups A, B, C, D, E .* or one text"):
        Obis(1, 0)  # type: ignore[call-overload]


def test_the_translator_takes_keys_as_the_client_does() -> None:
    trace = parse_hex_text("C0 01 C1 00 08 00 00 01 00 00 FF 02 00")
    spaced = "00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F"
    assert "GetRequestNormal" in to_text(translate(trace, keys=(spaced, AK)))
    assert translate(trace, keys=(bytes.fromhex(EK), bytes.fromhex(AK))).ok
    with pytest.raises(KeyFormatError, match="looks like 16 ASCII characters"):
        translate(trace, keys=("FFFFFFFFFFFFFFFF", AK))


def test_a_wrong_client_address_says_which_addresses_to_try(simulator: Any) -> None:
    running = simulator()
    with pytest.raises(LinkError) as refused:
        connect(port=running.port, client_address=99)
    words = str(refused.value)
    assert "refused the connection (DM)" in words
    assert "check the client address (99; usual ones are 16 public, 1 management, 32 reader)" in words
    assert "145 is logical 1 and physical 17" in words


def test_no_warning_from_the_documented_names(simulator: Any) -> None:
    running = simulator()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with connect(**management(running.port)) as meter:
            meter.remote_disconnect()
            meter.remote_reconnect()
