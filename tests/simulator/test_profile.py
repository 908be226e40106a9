"""The load profile and the event log: whole buffer, selective access by range and by entry."""

from __future__ import annotations

import datetime as dt

from tests.simulator.simclient import PinnedTime, connect

from dlmskit.apdu.common import SelectiveAccessDescriptor
from dlmskit.apdu.results import DataAccessResult
from dlmskit.codec import axdr
from dlmskit.codec.cosem_datetime import CosemDateTime
from dlmskit.codec.obis import Obis
from dlmskit.simulator import SimulatedMeter

PROFILE = "1.0.99.1.0.255"
CLOCK_COLUMN = (8, Obis(0, 0, 1, 0, 0, 255), 2, 0)
ENERGY_COLUMN = (3, Obis(1, 0, 1, 8, 0, 255), 2, 0)
VOLTAGE_COLUMN = (3, Obis(1, 0, 32, 7, 0, 255), 2, 0)


def _rows(meter: SimulatedMeter) -> list[tuple[object, ...]]:
    profile = meter.object(PROFILE)
    return [profile.row(number) for number in profile.span()]


def _time(moment: dt.datetime) -> axdr.OctetString:
    return axdr.OctetString(CosemDateTime.from_datetime(moment).to_bytes())


def test_whole_buffer_holds_ten_thousand_rows_computed_from_their_number(meter: SimulatedMeter) -> None:
    reader = connect(meter, 32)
    buffer = reader.value(PROFILE)
    assert len(buffer) == 10_000 == reader.value(PROFILE, 7) == reader.value(PROFILE, 8)
    assert buffer == [list(row) for row in _rows(meter)] or buffer == _rows(meter)
    assert reader.value(PROFILE, 4) == 900
    assert [c[1] for c in reader.value(PROFILE, 3)] == [
        bytes(Obis.parse(n)) for n in ("0.0.1.0.0.255", "1.0.1.8.0.255", "1.0.2.8.0.255", "1.0.32.7.0.255")
    ]
    # The last row is the capture at the last quarter hour (the meter runs in UTC+07:00).
    last = CosemDateTime.from_bytes(buffer[-1][0])
    assert (last.hour, last.minute, last.deviation) == (19, 0, -420)
    energies = [row[1] for row in buffer]
    assert energies == sorted(energies)


def test_by_entry_equals_the_rows_computed_directly(meter: SimulatedMeter) -> None:
    reader = connect(meter, 32)
    rows = _rows(meter)
    got = reader.value(PROFILE, access=SelectiveAccessDescriptor.entry_descriptor(3, 7))
    assert [tuple(r) for r in got] == rows[2:7]
    got = reader.value(PROFILE, access=SelectiveAccessDescriptor.entry_descriptor(9_998, 0, 2, 3))
    assert [tuple(r) for r in got] == [row[1:3] for row in rows[9_997:]]
    assert reader.value(PROFILE, access=SelectiveAccessDescriptor.entry_descriptor(20_000, 0)) == []
    bad = SelectiveAccessDescriptor.entry_descriptor(5, 2)
    assert reader.get(PROFILE, access=bad).error == DataAccessResult.SCOPE_OF_ACCESS_VIOLATED
    bad = SelectiveAccessDescriptor.entry_descriptor(1, 2, 1, 9)
    assert reader.get(PROFILE, access=bad).error == DataAccessResult.SCOPE_OF_ACCESS_VIOLATED
    wrong_type = SelectiveAccessDescriptor(2, axdr.Structure([axdr.Unsigned(1)]))
    assert reader.get(PROFILE, access=wrong_type).error == DataAccessResult.TYPE_UNMATCHED
    unknown = SelectiveAccessDescriptor(3, axdr.Structure([]))
    assert reader.get(PROFILE, access=unknown).error == DataAccessResult.SCOPE_OF_ACCESS_VIOLATED


def test_by_range_equals_the_rows_computed_directly(meter: SimulatedMeter, clock: PinnedTime) -> None:
    reader = connect(meter, 32)
    profile = meter.object(PROFILE)
    start, end = clock() - dt.timedelta(hours=2), clock() - dt.timedelta(minutes=59)
    access = SelectiveAccessDescriptor.range_descriptor(CLOCK_COLUMN, _time(start), _time(end))
    got = reader.value(PROFILE, access=access)
    expected = [profile.row(n) for n in profile.span() if start.timestamp() <= n * 900 <= end.timestamp()]
    assert len(expected) == 5 and [tuple(r) for r in got] == expected
    access = SelectiveAccessDescriptor.range_descriptor(
        CLOCK_COLUMN, _time(start), _time(end), [CLOCK_COLUMN, VOLTAGE_COLUMN]
    )
    assert [tuple(r) for r in reader.value(PROFILE, access=access)] == [(row[0], row[3]) for row in expected]
    bad = SelectiveAccessDescriptor.range_descriptor(ENERGY_COLUMN, _time(start), _time(end))
    assert reader.get(PROFILE, access=bad).error == DataAccessResult.SCOPE_OF_ACCESS_VIOLATED
    bad = SelectiveAccessDescriptor.range_descriptor(CLOCK_COLUMN, _time(start), axdr.Unsigned(1))
    assert reader.get(PROFILE, access=bad).error == DataAccessResult.TYPE_UNMATCHED


def test_the_profile_captures_every_period(meter: SimulatedMeter, clock: PinnedTime) -> None:
    profile = meter.object(PROFILE)
    before = profile.span()
    clock.advance(899)
    assert profile.span() == before
    clock.advance(1)
    assert profile.span().stop == before.stop + 1 and len(profile.span()) == 10_000
    assert profile.row(before.stop) == profile.row(before.stop)  # a pure function of its number


def test_reset_clears_the_buffer(meter: SimulatedMeter, clock: PinnedTime) -> None:
    management = connect(meter, 1)
    assert management.action(PROFILE, 1, axdr.Integer(0)).result == 0
    assert management.value(PROFILE, 7) == 0
    clock.advance(1800)
    assert management.value(PROFILE, 7) == 2


def test_a_young_meter_has_a_short_profile(clock: PinnedTime) -> None:
    from dlmskit.simulator import default_model, parse_model

    meter = SimulatedMeter(
        parse_model(default_model().text.replace("history_days = 120", "history_days = 1")), now=clock
    )
    assert meter.object(PROFILE).read(7, None, None) == 97  # every quarter hour of a day, both ends


def test_event_log_by_range(meter: SimulatedMeter, clock: PinnedTime) -> None:
    management = connect(meter, 1)
    management.action("0.0.96.3.10.255", 1, axdr.Integer(0))
    clock.advance(3600)
    management.action("0.0.96.3.10.255", 2, axdr.Integer(0))
    access = SelectiveAccessDescriptor.range_descriptor(
        CLOCK_COLUMN, _time(clock() - dt.timedelta(minutes=5)), _time(clock() + dt.timedelta(minutes=5))
    )
    rows = management.value("0.0.99.98.0.255", access=access)
    assert [row[1] for row in rows] == [63]
