"""COSEM date/time values: raw fields kept, conversions to and from datetime."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dlmskit.codec.cosem_datetime import (
    DEVIATION_NOT_SPECIFIED,
    CosemDate,
    CosemDateTime,
    CosemTime,
)
from dlmskit.errors import DecodeError, EncodeError


def test_facts_sheet_example() -> None:
    # Source: shared/reference/dlms-facts.md section 1 (example date-time 2019-12-16 Mon 07:59:40).
    raw = bytes.fromhex("07E30C10 01 07 3B 28 FF 8000 FF".replace(" ", ""))
    value = CosemDateTime.from_bytes(raw)
    assert (value.year, value.month, value.day, value.day_of_week) == (2019, 12, 16, 1)
    assert (value.hour, value.minute, value.second, value.hundredths) == (7, 59, 40, 0xFF)
    assert value.deviation == DEVIATION_NOT_SPECIFIED
    assert value.clock_status == 0xFF
    assert value.to_datetime() == dt.datetime(2019, 12, 16, 7, 59, 40)
    assert value.to_bytes() == raw


def test_deviation_sign() -> None:
    # Facts sheet section 1: UTC = local + deviation, so UTC+02:00 is sent as -120 (FF88).
    value = CosemDateTime.from_datetime(
        dt.datetime(2024, 6, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    )
    assert value.deviation == -120
    assert value.to_bytes()[9:11] == bytes.fromhex("FF88")
    assert value.to_datetime().utcoffset() == dt.timedelta(hours=2)
    assert CosemDateTime.from_bytes(bytes.fromhex("07E80601060C000000FFC400")).utc_offset == dt.timedelta(
        hours=1
    )


def test_not_specified_fields_are_kept_and_refuse_conversion() -> None:
    wildcard = CosemDateTime(year=0xFFFF, month=0xFF, day=0xFE, hour=0, minute=0, second=0, hundredths=0)
    assert CosemDateTime.from_bytes(wildcard.to_bytes()) == wildcard
    assert not wildcard.is_calendar_time
    with pytest.raises(ValueError, match="not a point in time"):
        wildcard.to_datetime()
    assert str(wildcard).startswith("*-*-254")


def test_zero_date_from_meters_is_kept() -> None:
    zeros = CosemDateTime.from_bytes(bytes(12))
    assert zeros.to_bytes() == bytes(12)
    assert not zeros.is_calendar_time


def test_truncated_inputs() -> None:
    with pytest.raises(DecodeError) as info:
        CosemDateTime.from_bytes(b"\x07\xe3\x0c", 0)
    assert info.value.offset == 0
    with pytest.raises(DecodeError):
        CosemDate.from_bytes(b"\x07\xe3")
    with pytest.raises(DecodeError):
        CosemTime.from_bytes(b"\x01")


def test_out_of_range_fields_are_refused() -> None:
    with pytest.raises(EncodeError):
        CosemDateTime(hour=256)
    with pytest.raises(EncodeError):
        CosemDateTime(deviation=40000)


def test_date_and_time_conversions() -> None:
    assert CosemDate.from_date(dt.date(2024, 2, 29)).to_date() == dt.date(2024, 2, 29)
    assert CosemDate.from_date(dt.date(2024, 2, 29)).day_of_week == 4
    assert CosemTime.from_time(dt.time(23, 59, 58, 990000)).to_time() == dt.time(23, 59, 58, 990000)
    assert str(CosemTime(12, 30, 0xFF, 0xFF)) == "12:30:*"


@given(st.datetimes(min_value=dt.datetime(1970, 1, 1), max_value=dt.datetime(2200, 1, 1)))
def test_datetime_round_trip(value: dt.datetime) -> None:
    value = value.replace(microsecond=value.microsecond // 10000 * 10000)
    cosem = CosemDateTime.from_datetime(value)
    assert CosemDateTime.from_bytes(cosem.to_bytes()) == cosem
    assert cosem.to_datetime() == value


@given(st.binary(min_size=12, max_size=12))
def test_any_twelve_bytes_round_trip(raw: bytes) -> None:
    value = CosemDateTime.from_bytes(raw)
    assert value.to_bytes() == raw
    if value.is_calendar_time:
        with contextlib.suppress(ValueError):  # e.g. 31 February: a clear ValueError, never anything else
            value.to_datetime()


@given(st.lists(st.binary(min_size=12, max_size=12), max_size=20))
def test_datetimes_of_matches_the_value_by_value_path(column: list[bytes]) -> None:
    from dlmskit.codec.cosem_datetime import datetimes_of

    expected: list[object] = []
    for raw in column:
        try:
            expected.append(CosemDateTime.from_bytes(raw).to_datetime())
        except ValueError:
            expected.append(ValueError)
    if ValueError in expected:
        with pytest.raises(ValueError):
            datetimes_of(column)
    else:
        assert datetimes_of(column) == expected


def test_datetimes_of_a_plain_column() -> None:
    from dlmskit.codec.cosem_datetime import datetimes_of

    zone = dt.timezone(dt.timedelta(hours=7))
    stamps = [dt.datetime(2026, 11, 22, h, m, tzinfo=zone) for h in range(24) for m in (0, 15, 30, 45)]
    column = [CosemDateTime.from_datetime(s).to_bytes() for s in stamps]
    assert datetimes_of(column) == stamps
