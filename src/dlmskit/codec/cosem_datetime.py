"""COSEM date, time and date-time values (IEC 62056-6-2, the Blue Book's "date-time" octet-string).

A meter's clock value is twelve bytes::

    year(2) month day day-of-week hour minute second hundredths deviation(2, int16) clock-status

Every field may be "not specified" (0xFF, 0xFFFF for the year, 0x8000 for the deviation), and month and day
have special values (0xFD/0xFE: daylight-saving end/begin for the month, second-last/last day for the day).
These classes keep every raw field exactly as received, so nothing is lost on a round trip, and convert to
and from :class:`datetime.datetime` when the fields allow it.

Deviation is the number of minutes from local time to UTC (UTC = local + deviation): a meter on UTC+02:00
sends -120. Some meters get the sign wrong; the raw value stays available as :attr:`CosemDateTime.deviation`.
"""

from __future__ import annotations

import datetime as _dt
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from dlmskit.errors import DecodeError, EncodeError

__all__ = [
    "DEVIATION_NOT_SPECIFIED",
    "NOT_SPECIFIED",
    "YEAR_NOT_SPECIFIED",
    "ClockStatus",
    "CosemDate",
    "CosemDateTime",
    "CosemTime",
    "datetimes_of",
]

NOT_SPECIFIED = 0xFF
YEAR_NOT_SPECIFIED = 0xFFFF
DEVIATION_NOT_SPECIFIED = -0x8000

_DATE = struct.Struct(">HBBB")
_TIME = struct.Struct(">BBBB")
_DATE_TIME = struct.Struct(">HBBBBBBBhB")


class ClockStatus:
    """Bits of the clock-status byte."""

    INVALID_VALUE = 0x01
    DOUBTFUL_VALUE = 0x02
    DIFFERENT_CLOCK_BASE = 0x04
    INVALID_CLOCK_STATUS = 0x08
    DAYLIGHT_SAVING_ACTIVE = 0x80


def _check_byte(name: str, value: int) -> None:
    if not 0 <= value <= 0xFF:
        raise EncodeError(f"{name} {value} does not fit in one byte (0..255)")


@dataclass(frozen=True, slots=True)
class CosemDate:
    """A COSEM date (5 bytes): year, month, day of month, day of week (1 = Monday).

    Fields are kept raw (any byte value is accepted, as meters send zeros and special values);
    :meth:`to_date` judges whether they make a calendar date.
    """

    year: int = YEAR_NOT_SPECIFIED
    month: int = NOT_SPECIFIED
    day: int = NOT_SPECIFIED
    day_of_week: int = NOT_SPECIFIED

    SIZE: ClassVar[int] = 5

    def __post_init__(self) -> None:
        if not 0 <= self.year <= 0xFFFF:
            raise EncodeError(f"year {self.year} out of range 0..65535")
        _check_byte("month", self.month)
        _check_byte("day", self.day)
        _check_byte("day of week", self.day_of_week)

    @classmethod
    def from_bytes(cls, data: bytes, offset: int = 0) -> CosemDate:
        """Decode 5 bytes at ``offset``."""
        if len(data) - offset < 5:
            raise DecodeError(
                "truncated date", offset=offset, expected="5 bytes", found=f"{len(data) - offset}"
            )
        year, month, day, dow = _DATE.unpack_from(data, offset)
        return cls(year, month, day, dow)

    def to_bytes(self) -> bytes:
        return _DATE.pack(self.year, self.month, self.day, self.day_of_week)

    @classmethod
    def from_date(cls, value: _dt.date) -> CosemDate:
        return cls(value.year, value.month, value.day, value.isoweekday())

    def to_date(self) -> _dt.date:
        """The :class:`datetime.date`; raises ``ValueError`` when a field is not specified or special."""
        if self.year == YEAR_NOT_SPECIFIED or not 1 <= self.month <= 12 or not 1 <= self.day <= 31:
            raise ValueError(f"{self} is not a calendar date (fields not specified or special)")
        return _dt.date(self.year, self.month, self.day)

    def __str__(self) -> str:
        y = "*" if self.year == YEAR_NOT_SPECIFIED else f"{self.year:04d}"
        m = "*" if self.month == NOT_SPECIFIED else f"{self.month:02d}"
        d = "*" if self.day == NOT_SPECIFIED else f"{self.day:02d}"
        return f"{y}-{m}-{d}"


@dataclass(frozen=True, slots=True)
class CosemTime:
    """A COSEM time (4 bytes): hour, minute, second, hundredths."""

    hour: int = NOT_SPECIFIED
    minute: int = NOT_SPECIFIED
    second: int = NOT_SPECIFIED
    hundredths: int = NOT_SPECIFIED

    SIZE: ClassVar[int] = 4

    def __post_init__(self) -> None:
        _check_byte("hour", self.hour)
        _check_byte("minute", self.minute)
        _check_byte("second", self.second)
        _check_byte("hundredths", self.hundredths)

    @classmethod
    def from_bytes(cls, data: bytes, offset: int = 0) -> CosemTime:
        """Decode 4 bytes at ``offset``."""
        if len(data) - offset < 4:
            raise DecodeError(
                "truncated time", offset=offset, expected="4 bytes", found=f"{len(data) - offset}"
            )
        return cls(*_TIME.unpack_from(data, offset))

    def to_bytes(self) -> bytes:
        return _TIME.pack(self.hour, self.minute, self.second, self.hundredths)

    @classmethod
    def from_time(cls, value: _dt.time) -> CosemTime:
        return cls(value.hour, value.minute, value.second, value.microsecond // 10000)

    def to_time(self) -> _dt.time:
        """The :class:`datetime.time` (unspecified seconds/hundredths count as 0)."""
        if self.hour == NOT_SPECIFIED or self.minute == NOT_SPECIFIED:
            raise ValueError(f"{self} has no hour or minute")
        second = 0 if self.second == NOT_SPECIFIED else self.second
        hundredths = 0 if self.hundredths == NOT_SPECIFIED else self.hundredths
        return _dt.time(self.hour, self.minute, second, hundredths * 10000)

    def __str__(self) -> str:
        parts = ["*" if v == NOT_SPECIFIED else f"{v:02d}" for v in (self.hour, self.minute, self.second)]
        text = ":".join(parts)
        if self.hundredths != NOT_SPECIFIED:
            text += f".{self.hundredths:02d}"
        return text


@dataclass(frozen=True, slots=True)
class CosemDateTime:
    """A COSEM date-time (12 bytes), every raw field kept.

    ``deviation`` is in minutes, local to UTC (UTC = local + deviation), -32768 when not specified;
    ``clock_status`` is the raw status byte (0xFF when not specified).
    """

    year: int = YEAR_NOT_SPECIFIED
    month: int = NOT_SPECIFIED
    day: int = NOT_SPECIFIED
    day_of_week: int = NOT_SPECIFIED
    hour: int = NOT_SPECIFIED
    minute: int = NOT_SPECIFIED
    second: int = NOT_SPECIFIED
    hundredths: int = NOT_SPECIFIED
    deviation: int = DEVIATION_NOT_SPECIFIED
    clock_status: int = NOT_SPECIFIED

    SIZE: ClassVar[int] = 12

    def __post_init__(self) -> None:
        if not 0 <= self.year <= 0xFFFF:
            raise EncodeError(f"year {self.year} out of range 0..65535")
        for name in ("month", "day", "day_of_week", "hour", "minute", "second", "hundredths", "clock_status"):
            _check_byte(name, getattr(self, name))
        if not -0x8000 <= self.deviation <= 0x7FFF:
            raise EncodeError(f"deviation {self.deviation} out of range -32768..32767 (int16)")

    # -- bytes ------------------------------------------------------------------------------------------

    @classmethod
    def from_bytes(cls, data: bytes, offset: int = 0) -> CosemDateTime:
        """Decode 12 bytes at ``offset`` (the content of an octet-string(12) or of a date-time)."""
        if len(data) - offset < 12:
            raise DecodeError(
                "truncated date-time", offset=offset, expected="12 bytes", found=f"{len(data) - offset}"
            )
        return cls(*_DATE_TIME.unpack_from(data, offset))

    def to_bytes(self) -> bytes:
        return _DATE_TIME.pack(
            self.year,
            self.month,
            self.day,
            self.day_of_week,
            self.hour,
            self.minute,
            self.second,
            self.hundredths,
            self.deviation,
            self.clock_status,
        )

    # -- datetime ---------------------------------------------------------------------------------------

    @property
    def date(self) -> CosemDate:
        return CosemDate(self.year, self.month, self.day, self.day_of_week)

    @property
    def time(self) -> CosemTime:
        return CosemTime(self.hour, self.minute, self.second, self.hundredths)

    @property
    def utc_offset(self) -> _dt.timedelta | None:
        """Offset of local time from UTC (the negated deviation), or None when not specified."""
        if self.deviation == DEVIATION_NOT_SPECIFIED:
            return None
        return _dt.timedelta(minutes=-self.deviation)

    @property
    def is_calendar_time(self) -> bool:
        """True when year, month, day, hour and minute are all plain values (convertible to datetime)."""
        return (
            self.year != YEAR_NOT_SPECIFIED
            and 1 <= self.month <= 12
            and 1 <= self.day <= 31
            and self.hour <= 23
            and self.minute <= 59
        )

    def to_datetime(self) -> _dt.datetime:
        """The :class:`datetime.datetime`, timezone-aware when the deviation is specified.

        Unspecified seconds or hundredths count as 0. Raises ``ValueError`` when the date or the hour/minute
        are not specified (a wildcard is not a point in time).
        """
        if not self.is_calendar_time:
            raise ValueError(f"{self} is not a point in time (fields not specified or special)")
        second = 0 if self.second == NOT_SPECIFIED else self.second
        micro = 0 if self.hundredths == NOT_SPECIFIED else self.hundredths * 10000
        if second > 59 or micro > 990000:
            raise ValueError(f"{self} has an invalid second or hundredths field")
        offset = self.utc_offset
        tz = _dt.timezone(offset) if offset is not None else None
        return _dt.datetime(self.year, self.month, self.day, self.hour, self.minute, second, micro, tzinfo=tz)

    @classmethod
    def from_datetime(
        cls,
        value: _dt.datetime,
        *,
        deviation: int | None = None,
        clock_status: int = 0,
    ) -> CosemDateTime:
        """A date-time from a :class:`datetime.datetime`.

        The deviation is taken from ``value``'s timezone when it has one (UTC+02:00 -> -120), else from
        ``deviation``, else "not specified".
        """
        if deviation is None:
            offset = value.utcoffset()
            if offset is None:
                deviation = DEVIATION_NOT_SPECIFIED
            else:
                deviation = -int(offset.total_seconds() // 60)
        return cls(
            value.year,
            value.month,
            value.day,
            value.isoweekday(),
            value.hour,
            value.minute,
            value.second,
            value.microsecond // 10000,
            deviation,
            clock_status,
        )

    def __str__(self) -> str:
        text = f"{self.date} {self.time}"
        if self.deviation != DEVIATION_NOT_SPECIFIED:
            offset = -self.deviation
            sign = "+" if offset >= 0 else "-"
            text += f" UTC{sign}{abs(offset) // 60:02d}:{abs(offset) % 60:02d}"
        return text


def datetimes_of(octets: Sequence[bytes]) -> list[_dt.datetime]:
    """The ``datetime`` of every 12-byte date-time in ``octets`` (a profile's clock column), fast.

    Gives exactly what ``CosemDateTime.from_bytes(o).to_datetime()`` gives for each value (aware when the
    deviation is set, ``ValueError`` for a value that is not a point in time), but unpacks the whole column
    at once and reuses one timezone per deviation: profile buffers hold thousands of timestamps that nearly
    all share one deviation. Values that are not plain calendar times go through :class:`CosemDateTime`.
    """
    joined = b"".join(octets)
    if len(joined) != 12 * len(octets):
        raise DecodeError(
            "a date-time is 12 bytes", expected="12 bytes per value", found=f"{len(joined)} bytes"
        )
    zones: dict[int, _dt.timezone] = {}
    make = _dt.datetime
    values: list[_dt.datetime] = []
    append = values.append
    for index, (year, month, day, _dow, hour, minute, second, hundredths, deviation, _status) in enumerate(
        _DATE_TIME.iter_unpack(joined)
    ):
        if (
            year != YEAR_NOT_SPECIFIED
            and 1 <= month <= 12
            and 1 <= day <= 28
            and hour <= 23
            and minute <= 59
            and second <= 59
            and hundredths <= 99
            and deviation != DEVIATION_NOT_SPECIFIED
            and -840 <= deviation <= 840
        ):
            zone = zones.get(deviation)
            if zone is None:
                zone = zones[deviation] = _dt.timezone(_dt.timedelta(minutes=-deviation))
            append(make(year, month, day, hour, minute, second, hundredths * 10000, zone))
        else:
            append(CosemDateTime.from_bytes(octets[index]).to_datetime())
    return values
