"""Time and measurements: the clock runs and can be set; energy grows; instantaneous values move."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from tests.simulator.simclient import START, PinnedTime, connect

from dlmskit.apdu.results import ActionResult, DataAccessResult
from dlmskit.codec import axdr
from dlmskit.codec.cosem_datetime import CosemDateTime
from dlmskit.simulator import SimulatedMeter, default_model, parse_model
from dlmskit.simulator.events import EventCode
from dlmskit.simulator.signals import EnergyCurve, Wave

CLOCK = "0.0.1.0.0.255"
ENERGY = "1.0.1.8.0.255"


def _clock(client: object) -> CosemDateTime:
    return CosemDateTime.from_bytes(client.value(CLOCK))  # type: ignore[attr-defined]


def test_clock_runs_in_the_meter_time_zone(meter: SimulatedMeter, clock: PinnedTime) -> None:
    public = connect(meter, 16)
    shown = _clock(public)
    assert shown.to_datetime() == START and (shown.hour, shown.deviation) == (19, -420)
    clock.advance(61)
    assert _clock(public).to_datetime() == START + dt.timedelta(seconds=61)
    assert public.value(CLOCK, 3) == -420


def test_clock_set_shift_and_adjust(meter: SimulatedMeter, clock: PinnedTime) -> None:
    management = connect(meter, 1)
    target = dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    written = axdr.OctetString(CosemDateTime.from_datetime(target).to_bytes())
    assert management.set(CLOCK, 2, written) == DataAccessResult.SUCCESS
    assert _clock(management).to_datetime() == target
    clock.advance(10)
    assert _clock(management).to_datetime() == target + dt.timedelta(seconds=10)
    assert management.action(CLOCK, 6, axdr.Long(-15)).result == ActionResult.SUCCESS
    assert _clock(management).to_datetime() == target - dt.timedelta(seconds=5)
    assert management.action(CLOCK, 6, axdr.Long(901)).result == ActionResult.OTHER_REASON
    assert management.action(CLOCK, 3, axdr.Integer(0)).result == ActionResult.SUCCESS
    assert _clock(management).to_datetime() == dt.datetime(2025, 1, 2, 3, 4, tzinfo=dt.timezone.utc)
    assert management.action(CLOCK, 1, axdr.Integer(0)).result == ActionResult.SUCCESS
    assert _clock(management).to_datetime() == dt.datetime(2025, 1, 2, 3, 0, tzinfo=dt.timezone.utc)
    # A local time without deviation is taken in the meter's zone (UTC+07:00).
    local = CosemDateTime(2025, 6, 1, 0xFF, 12, 0, 0, 0, -0x8000, 0xFF)
    assert management.set(CLOCK, 2, axdr.OctetString(local.to_bytes())) == DataAccessResult.SUCCESS
    assert _clock(management).to_datetime() == dt.datetime(2025, 6, 1, 5, 0, tzinfo=dt.timezone.utc)
    wildcard = CosemDateTime(0xFFFF, 6, 1, 0xFF, 12, 0, 0, 0, -0x8000, 0xFF)
    assert management.set(CLOCK, 2, axdr.OctetString(wildcard.to_bytes())) == DataAccessResult.OTHER_REASON
    assert management.set(CLOCK, 2, axdr.OctetString(b"\x07")) == DataAccessResult.TYPE_UNMATCHED
    assert [code for _, code in meter.events] == [EventCode.CLOCK_ADJUSTED] * 5
    # Setting the clock moves the clock only: the measurement timeline goes on.
    assert meter.base_time() == START.timestamp() + 10


def test_preset_adjusting_time(meter: SimulatedMeter, clock: PinnedTime) -> None:
    management = connect(meter, 1)

    def stamp(moment: dt.datetime) -> axdr.OctetString:
        return axdr.OctetString(CosemDateTime.from_datetime(moment).to_bytes())

    assert management.action(CLOCK, 4, axdr.Integer(0)).result == ActionResult.OTHER_REASON
    preset = START + dt.timedelta(hours=1)
    window = axdr.Structure(
        [stamp(preset), stamp(START - dt.timedelta(minutes=1)), stamp(START + dt.timedelta(minutes=1))]
    )
    assert management.action(CLOCK, 5, window).result == ActionResult.SUCCESS
    assert management.action(CLOCK, 4, axdr.Integer(0)).result == ActionResult.SUCCESS
    assert _clock(management).to_datetime() == preset


def test_daylight_saving_when_enabled(tmp_path: Path) -> None:
    text = (
        default_model()
        .text.replace("time_zone = -420", "time_zone = -60")
        .replace("daylight_savings_enabled = false", "daylight_savings_enabled = true")
    )
    summer = PinnedTime(dt.datetime(2024, 7, 1, 10, 0, tzinfo=dt.timezone.utc))
    shown = CosemDateTime.from_bytes(connect(SimulatedMeter(parse_model(text), now=summer), 16).value(CLOCK))
    assert (shown.hour, shown.deviation, shown.clock_status & 0x80) == (12, -120, 0x80)
    winter = PinnedTime(dt.datetime(2024, 12, 1, 10, 0, tzinfo=dt.timezone.utc))
    shown = CosemDateTime.from_bytes(connect(SimulatedMeter(parse_model(text), now=winter), 16).value(CLOCK))
    assert (shown.hour, shown.deviation, shown.clock_status & 0x80) == (11, -60, 0)
    # The last Sunday of March 2024 is the 31st: daylight saving starts at 02:00 local standard time.
    just_before = PinnedTime(dt.datetime(2024, 3, 31, 0, 59, tzinfo=dt.timezone.utc))
    shown = CosemDateTime.from_bytes(
        connect(SimulatedMeter(parse_model(text), now=just_before), 16).value(CLOCK)
    )
    assert (shown.hour, shown.minute) == (1, 59)
    just_before.advance(60)
    shown = CosemDateTime.from_bytes(
        connect(SimulatedMeter(parse_model(text), now=just_before), 16).value(CLOCK)
    )
    assert (shown.hour, shown.minute) == (3, 0)


def test_energy_grows_monotonically_and_is_predictable(meter: SimulatedMeter, clock: PinnedTime) -> None:
    reader = connect(meter, 32)
    curve = EnergyCurve.for_object(1, ENERGY, 1200.0, meter.installed, 1234567.0)
    readings = []
    for _ in range(50):
        value = reader.value(ENERGY)
        assert value == int(curve.energy_wh(clock().timestamp()))
        readings.append(value)
        clock.advance(997)
    assert readings == sorted(readings) and readings[-1] - readings[0] > 10_000
    assert reader.value(ENERGY, 3) == (0, 30)


def test_instantaneous_values_move_around_their_mean(meter: SimulatedMeter, clock: PinnedTime) -> None:
    reader = connect(meter, 32)
    wave = Wave.for_object(1, "1.0.32.7.0.255", 230.0, 5.0)
    volts = []
    for _ in range(40):
        raw = reader.value("1.0.32.7.0.255")
        assert raw == int(wave.at(clock().timestamp()) * 10)
        volts.append(raw / 10)
        clock.advance(600)
    assert 225 <= min(volts) < max(volts) <= 235 and len(set(volts)) > 20
    assert reader.value("1.0.32.7.0.255", 3) == (-1, 35)
    assert reader.value("1.0.31.7.0.255", 3) == (-2, 33)


def test_same_seed_same_values_other_seed_other_values(clock: PinnedTime) -> None:
    first, second = SimulatedMeter(now=clock), SimulatedMeter(now=clock)
    other = SimulatedMeter(now=clock, seed=2)
    clock.advance(5 * 3600)  # after whole days the daily swing cancels out: look in between
    energy = [m.object(ENERGY).read(2, None, None) for m in (first, second, other)]
    assert energy[0] == energy[1] != energy[2]


def test_register_reset(meter: SimulatedMeter, clock: PinnedTime) -> None:
    management = connect(meter, 1)
    assert management.action(ENERGY, 1, axdr.Integer(0)).result == ActionResult.SUCCESS
    assert management.value(ENERGY) == 0
    clock.advance(3600)
    assert 600 < management.value(ENERGY) < 2000


def test_wall_clock_with_time_speed() -> None:
    text = (
        default_model()
        .text.replace('start = "now"', "start = 2024-01-01T00:00:00Z")
        .replace("time_speed = 1.0", "time_speed = 3600.0")
    )
    meter = SimulatedMeter(parse_model(text))
    assert abs(meter.base_time() - dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc).timestamp()) < 600
