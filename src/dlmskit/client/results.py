"""What the client's helpers return: relay state, token results, profile tables, image transfer reports."""

from __future__ import annotations

import csv
import datetime as _dt
import decimal
import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any, Final

from dlmskit.codec import axdr
from dlmskit.codec.cosem_datetime import NOT_SPECIFIED, ClockStatus, CosemDateTime
from dlmskit.codec.obis import Obis, describe
from dlmskit.cosem import Unit, get_class, scaled, unit_symbol
from dlmskit.cosem.classes import class_name
from dlmskit.cosem.classes.disconnect import ControlMode, ControlState
from dlmskit.cosem.classes.image_transfer import ImageTransferStatus
from dlmskit.cosem.values import CaptureObject, TokenStatus, TokenStatusCode

__all__ = [
    "ClockReading",
    "ImageTransferReport",
    "ProfileColumn",
    "ProfileTable",
    "RelayState",
    "TokenResult",
]


def _words(member: object) -> str:
    name = getattr(member, "name", None)
    return str(name).lower().replace("_", " ") if name is not None else str(member)


@dataclass(frozen=True, slots=True)
class RelayState:
    """The supply relay of a Disconnect control object (class 70).

    ``output_state`` is the relay as it is (True: closed, the customer has supply); ``control_state``
    what it is controlled to (:class:`~dlmskit.cosem.ControlState`: disconnected, connected,
    ready_for_reconnection); ``control_mode`` which transitions the meter allows (0..6).
    """

    output_state: bool
    control_state: ControlState | int
    control_mode: ControlMode | int

    @property
    def connected(self) -> bool:
        """Whether the relay is closed."""
        return self.output_state

    def __str__(self) -> str:
        relay = "closed (supply on)" if self.output_state else "open (supply off)"
        return f"relay {relay}, control state {_words(self.control_state)}, control mode {int(self.control_mode)}"


@dataclass(frozen=True, slots=True)
class ClockReading:
    """The meter's clock as it states it: ``time`` (aware when the meter states its deviation), the offset
    from UTC, whether daylight saving time is active and the status bits (IEC 62056-6-2 clock_status).

    ``str()``: ``2026-07-01 12:00:00+02:00 (UTC+02:00, daylight saving time)``.
    """

    time: _dt.datetime
    utc_offset: _dt.timedelta | None
    daylight_saving: bool | None
    status: int | None

    @classmethod
    def from_cosem(cls, stamp: CosemDateTime) -> ClockReading:
        """From the clock's time attribute."""
        status = None if stamp.clock_status == NOT_SPECIFIED else stamp.clock_status
        dst = None if status is None else bool(status & ClockStatus.DAYLIGHT_SAVING_ACTIVE)
        time = stamp.to_datetime()
        return cls(time, time.utcoffset(), dst, status)

    @property
    def doubtful(self) -> bool:
        """Whether the meter marks its time invalid or doubtful (status bits 0 and 1)."""
        return self.status is not None and bool(
            self.status & (ClockStatus.INVALID_VALUE | ClockStatus.DOUBTFUL_VALUE)
        )

    def __str__(self) -> str:
        if self.utc_offset is None:
            zone = "no deviation stated: the meter's local time"
        else:
            minutes = int(self.utc_offset.total_seconds() // 60)
            sign = "+" if minutes >= 0 else "-"
            zone = f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
        if self.daylight_saving is not None:
            zone += ", daylight saving time" if self.daylight_saving else ", standard time"
        if self.doubtful:
            zone += ", marked invalid or doubtful by the meter"
        return f"{self.time.isoformat(sep=' ')} ({zone})"


_TOKEN_WORDS: Final[dict[int, str]] = {
    TokenStatusCode.FORMAT_OK: "the token's format was accepted; it is not authenticated yet",
    TokenStatusCode.AUTHENTICATION_OK: "the token was authenticated; it is not validated yet",
    TokenStatusCode.VALIDATION_OK: "the token was validated; it is not carried out yet",
    TokenStatusCode.TOKEN_EXECUTION_OK: "the token was accepted and carried out",
    TokenStatusCode.TOKEN_FORMAT_FAILURE: (
        "the meter could not read the token: wrong length or encoding (20 ASCII digits or 10 BCD bytes?)"
    ),
    TokenStatusCode.AUTHENTICATION_FAILURE: (
        "the token did not authenticate: it was made for another meter or with another key"
    ),
    TokenStatusCode.VALIDATION_RESULT_FAILURE: (
        "the token is not valid for this meter now: already used, too old, or out of sequence"
    ),
    TokenStatusCode.TOKEN_EXECUTION_RESULT_FAILURE: (
        "the token was valid but the meter could not carry it out"
    ),
    TokenStatusCode.TOKEN_RECEIVED: "the meter received the token and is still processing it",
}


@dataclass(frozen=True, slots=True)
class TokenResult:
    """How far the last token got, from the Token gateway's token_status (attribute 6), in words.

    ``status_code`` is the meter's code (0..8), ``name`` its standard name (``token-execution-ok``),
    ``description`` what it means and ``ok`` whether the token was carried out.
    """

    status_code: int
    name: str
    description: str
    ok: bool

    @classmethod
    def from_status(cls, status: TokenStatus) -> TokenResult:
        """From the decoded token_status."""
        member = status.status_code
        code = int(member)
        name = (
            member.name.lower().replace("_", "-") if isinstance(member, TokenStatusCode) else f"status {code}"
        )
        description = _TOKEN_WORDS.get(code, "a manufacturer-specific status code")
        return cls(code, name, description, status.succeeded)

    def __str__(self) -> str:
        return f"{self.name} ({self.status_code}): {self.description}"


@dataclass(frozen=True, slots=True)
class ProfileColumn:
    """One column of a profile: a capture object with the names people read.

    ``description`` is the OBIS name (``Clock``, ``Active energy import (+A)``...) or None, ``attribute``
    the attribute's name in the interface-class model.
    """

    capture_object: CaptureObject
    description: str | None
    class_name: str
    attribute: str
    scaler: int | None = None
    """The captured register's scaler (value = raw x 10^scaler), or None for columns that have none."""
    unit: Unit | int | None = None
    """The captured register's unit (``str(unit)`` is its symbol), or None."""

    @classmethod
    def from_capture_object(
        cls, capture: CaptureObject, scaler: int | None = None, unit: Unit | int | None = None
    ) -> ProfileColumn:
        """Named from the OBIS table and the interface-class model."""
        model = get_class(capture.class_id)
        definition = model.attribute(capture.attribute_index) if model is not None else None
        attribute = definition.name if definition is not None else f"attribute_{capture.attribute_index}"
        return cls(
            capture, describe(capture.logical_name), class_name(capture.class_id), attribute, scaler, unit
        )

    @property
    def symbol(self) -> str:
        """The unit's symbol (``V``, ``Wh``), empty without a unit."""
        return unit_symbol(self.unit) if self.unit is not None else ""

    @property
    def heading(self) -> str:
        """The name with the unit, for tables and CSV headers: ``Voltage L1 [V]``."""
        return f"{self.name} [{self.symbol}]" if self.symbol else self.name

    def scale(self, value: Any) -> Any:
        """A value of this column with the scaler applied: an int for scalers >= 0, else a float (2288 with
        scaler -1 is 228.8); values that are not numbers come back unchanged."""
        if self.scaler is None or isinstance(value, bool) or not isinstance(value, (int, float)):
            return value
        if isinstance(value, float):
            return float(decimal.Decimal(repr(float(value))).scaleb(self.scaler))
        if self.scaler >= 0:
            return int(value) * 10**self.scaler
        return float(scaled(int(value), self.scaler))

    @property
    def logical_name(self) -> Obis:
        """The captured object's logical name."""
        return self.capture_object.logical_name

    @property
    def is_timestamp(self) -> bool:
        """Whether the column is a clock's time (class 8 attribute 2): its values are date-times."""
        return self.capture_object.class_id == 8 and self.capture_object.attribute_index == 2

    @property
    def name(self) -> str:
        """``Clock``, ``Active energy import (+A)``, or ``1.0.1.8.0.255 value`` for an object without a name."""
        base = self.description or f"{self.logical_name} {self.attribute}"
        if self.description and self.capture_object.attribute_index != 2:
            base += f" {self.attribute}"
        if self.capture_object.data_index:
            base += f" [{self.capture_object.data_index}]"
        return base

    def __str__(self) -> str:
        return f"{self.name} ({self.class_name} {self.capture_object})"


@dataclass(frozen=True, slots=True)
class ProfileTable:
    """Rows of a profile (Profile generic buffer), one tuple per entry, one element per column.

    Clock columns hold :class:`datetime.datetime` values (timezone-aware when the meter states its
    deviation); other columns hold the values as the meter sent them (typed A-XDR, usable as ints,
    bytes, ...). An entry whose time the meter left out (null-data, as compressed profiles do) has
    ``None`` there.

    ``rows`` are raw (``2288``); each column knows its register's ``scaler`` and ``unit``, and
    :attr:`scaled_rows`, :meth:`as_dicts`, :meth:`to_csv` and :meth:`to_json` apply the scaler (``228.8``,
    in a column headed ``Voltage L1 [V]``).
    """

    columns: tuple[ProfileColumn, ...]
    rows: list[tuple[Any, ...]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self.rows)

    def column(self, key: int | str) -> list[Any]:
        """The values of one column, by index, by name or by logical name."""
        index = key if isinstance(key, int) else self._index(key)
        return [row[index] for row in self.rows]

    def _index(self, key: str) -> int:
        for index, column in enumerate(self.columns):
            if key in (column.name, str(column.logical_name)):
                return index
        raise KeyError(f"no column {key!r}; the columns are: {', '.join(c.name for c in self.columns)}")

    @property
    def timestamps(self) -> list[_dt.datetime | None]:
        """The first clock column (empty when the profile has none)."""
        for index, column in enumerate(self.columns):
            if column.is_timestamp:
                return [row[index] for row in self.rows]
        return []

    @property
    def scaled_rows(self) -> list[tuple[Any, ...]]:
        """The rows with each register column's scaler applied (228.8, not 2288)."""
        columns = self.columns
        if all(c.scaler is None for c in columns):
            return list(self.rows)
        return [tuple(c.scale(v) for c, v in zip(columns, row, strict=False)) for row in self.rows]

    def _plain_rows(self, scaled: bool) -> list[list[Any]]:
        return [[_plain(v) for v in row] for row in (self.scaled_rows if scaled else self.rows)]

    def as_dicts(self, *, scaled: bool = True) -> list[dict[str, Any]]:
        """One dict per entry, keyed by column name; values scaled (unless ``scaled=False``) and plain
        Python: datetimes stay datetimes, numbers become int or float, octet-strings hex text."""
        names = [c.name for c in self.columns]
        return [
            dict(
                zip(
                    names,
                    [v if isinstance(v, _dt.datetime) else axdr.to_python(v) for v in row],
                    strict=False,
                )
            )
            for row in (self.scaled_rows if scaled else self.rows)
        ]

    def to_csv(self, file: str | os.PathLike[str] | IO[str] | None = None, *, scaled: bool = True) -> str:
        """The table as CSV (a header of column names with units, then one line per entry; times in ISO
        8601, bytes in hex). Written to ``file`` (a path or an open text file) when given; returns the text."""
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([c.heading for c in self.columns])
        writer.writerows([["" if v is None else v for v in row] for row in self._plain_rows(scaled)])
        text = buffer.getvalue()
        _write(file, text)
        return text

    def to_json(self, file: str | os.PathLike[str] | IO[str] | None = None, *, scaled: bool = True) -> str:
        """The table as JSON: ``{"columns": [names], "units": [symbols], "logical_names": [...],
        "rows": [[...]]}`` (times in ISO 8601, bytes in hex). Written to ``file`` when given; returns the text."""
        document = {
            "columns": [c.name for c in self.columns],
            "units": [c.symbol or None for c in self.columns],
            "logical_names": [str(c.logical_name) for c in self.columns],
            "rows": self._plain_rows(scaled),
        }
        text = json.dumps(document, indent=2)
        _write(file, text)
        return text


def _plain(value: Any) -> Any:
    """A cell for CSV and JSON: ISO 8601 for times, hex for bytes, plain numbers and text."""
    if isinstance(value, _dt.datetime):
        return value.isoformat()
    return axdr.to_python(value)


def _write(file: str | os.PathLike[str] | IO[str] | None, text: str) -> None:
    if file is None:
        return
    if isinstance(file, (str, os.PathLike)):
        with open(file, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
    else:
        file.write(text)


@dataclass(frozen=True, slots=True)
class ImageTransferReport:
    """How an image transfer went: blocks sent, blocks sent again after the meter missed them, final status."""

    image_size: int
    block_size: int
    blocks: int
    blocks_resent: int
    status: ImageTransferStatus | int

    def __str__(self) -> str:
        return (
            f"{self.image_size} bytes in {self.blocks} blocks of {self.block_size} "
            f"({self.blocks_resent} sent again): {_words(self.status)}"
        )
