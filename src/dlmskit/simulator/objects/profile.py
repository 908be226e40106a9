"""Profile generic (class 7): the load profile, computed row by row, and logs that store their rows.

Behaviours (model keys):

- ``columns = ["0.0.1.0.0.255", "1.0.1.8.0.255", "1.0.32.7.0.255:2"]``: the capture objects (attribute 2
  unless ``:n`` says otherwise; the class comes from the object);
- ``capture_period = 900`` and ``entries = 10000``: a periodic profile. Row *k* is captured at *k* x period
  seconds on the measurement timeline and is a pure function of *k*: each column computes its value for
  the period that ends there (energy at the end, the average of an instantaneous value). Nothing is stored;
  the buffer holds the last ``entries`` captures since the meter was installed (or since a reset).
- ``event_log = true`` and ``entries = 100``: a log that captures its columns when the meter logs an event
  (oldest entries drop out first).

The buffer (attribute 2) is read whole or with selective access: by range (selector 1: the clock column
from/to, and the columns to return) or by entry (selector 2: rows from/to, 1-based, to 0 = the last; columns
from/to, 1-based, to 0 = the last). Malformed parameters get type-unmatched; a restricting object or
column that is not in the profile, or an entry range that makes no sense, gets scope-of-access-violated.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections import OrderedDict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from dlmskit.apdu.action import ActionResponseWithOptionalData
from dlmskit.apdu.common import EncodedData, SelectiveAccessDescriptor
from dlmskit.apdu.results import ActionResult, DataAccessResult
from dlmskit.codec import axdr
from dlmskit.codec.cosem_datetime import CosemDateTime
from dlmskit.codec.obis import Obis, ObisError
from dlmskit.cosem.values import CaptureObject
from dlmskit.errors import DecodeError
from dlmskit.session.server import AssociationContext
from dlmskit.simulator.model import ObjectModel
from dlmskit.simulator.objects.base import MeterServices, SimObject, done, refused
from dlmskit.simulator.slices import checkpoint

__all__ = ["Column", "ProfileGeneric"]

_CLOCK_CLASS = 8

CACHED_ROWS_AT_LEAST = 100
"""Answers of at least this many rows are kept (several clients reading the same profile get the same bytes)."""
ANSWER_CACHE_BYTES = 64 << 20
"""Bytes of encoded answers kept for the whole process (all meters of a fleet), the least recently used
dropped first."""
_ANSWERS: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()
_answer_bytes = 0
_TOKENS = itertools.count()


_answers_lock = threading.Lock()


def _recall(key: tuple[Any, ...]) -> bytes | None:
    with _answers_lock:
        raw = _ANSWERS.get(key)
        if raw is not None:
            _ANSWERS.move_to_end(key)
        return raw


def _remember(key: tuple[Any, ...], raw: bytes) -> None:
    global _answer_bytes
    if len(raw) > ANSWER_CACHE_BYTES // 4:
        return
    with _answers_lock:
        old = _ANSWERS.pop(key, None)
        _answer_bytes += len(raw) - (len(old) if old is not None else 0)
        _ANSWERS[key] = raw
        while _answer_bytes > ANSWER_CACHE_BYTES and _ANSWERS:
            _key, dropped = _ANSWERS.popitem(last=False)
            _answer_bytes -= len(dropped)


@dataclass(frozen=True, slots=True)
class Column:
    """One capture object: an attribute of another object of the meter."""

    source: SimObject
    attribute: int

    @property
    def capture_object(self) -> CaptureObject:
        return CaptureObject(self.source.cosem_class.class_id, self.source.logical_name, self.attribute)


class ProfileGeneric(SimObject):
    """A load profile or a log."""

    methods = frozenset({1, 2})
    selectors: ClassVar[Mapping[int, tuple[int, ...]]] = {2: (1, 2)}
    behaviours = frozenset({"columns", "capture_period", "entries", "event_log"})

    def __init__(self, model: ObjectModel, meter: MeterServices) -> None:
        super().__init__(model, meter)
        self.event_log = self.behaviour("event_log", bool, False)
        self.period = self.behaviour("capture_period", int, 0)
        if not self.event_log and self.period <= 0:
            raise model.error(
                "a profile needs capture_period = seconds (or event_log = true)", "capture_period"
            )
        self.entries = self.behaviour("entries", int, 100 if self.event_log else 10_000)
        if not 1 <= self.entries <= 10_000_000:
            raise model.error("entries must be 1..10000000", "entries")
        self.column_names: list[str] = self.behaviour("columns", list, [])
        if not self.column_names or not all(isinstance(name, str) for name in self.column_names):
            raise model.error('columns is a list such as ["0.0.1.0.0.255", "1.0.1.8.0.255"]', "columns")
        self.columns: list[Column] = []
        self.cleared_before = 0
        """Periodic profiles: captures below this number were removed by a reset."""
        self.log: deque[tuple[float, tuple[axdr.Data, ...]]] = deque(maxlen=self.entries)
        """Logs: (capture time, values) of every entry, oldest first."""
        self._token = next(_TOKENS)
        """Tells this profile's answers apart from every other's in the answer cache."""
        self.values[4] = axdr.DoubleLongUnsigned(self.period)
        self.values[5] = axdr.Enum(1)  # fifo
        self.values[8] = axdr.DoubleLongUnsigned(self.entries)

    def resolve(self, find: Any) -> None:
        """Find the column objects (once every object of the meter exists)."""
        for name in self.column_names:
            text, _, index = name.partition(":")
            try:
                logical_name = Obis.parse(text)
            except ObisError as error:
                raise self.model.error(f"column {name!r}: {error}", "columns") from None
            source = find(logical_name)
            attribute = int(index) if index.isdigit() else 2
            if source is None or attribute not in source.attribute_indexes:
                raise self.model.error(
                    f"column {name!r}: no such object or attribute in the model", "columns"
                )
            self.columns.append(Column(source, attribute))
        self.values[3] = axdr.Array(column.capture_object.encode() for column in self.columns)

    # -- rows ----------------------------------------------------------------------------------------------

    def span(self) -> range:
        """The capture numbers in the buffer now, oldest first (log entries: 0 .. count-1)."""
        if self.event_log:
            return range(len(self.log))
        last = math.floor(self.meter.base_time() / self.period)
        first = max(
            math.ceil(self.meter.installed / self.period), last - self.entries + 1, self.cleared_before
        )
        return range(first, last + 1)

    def row(self, number: int) -> tuple[axdr.Data, ...]:
        """Every column of capture ``number`` (a number from :meth:`span`)."""
        if self.event_log:
            return self.log[number][1]
        end = float(number * self.period)
        return tuple(
            column.source.captured(column.attribute, end - self.period, end) for column in self.columns
        )

    def capture_time(self, number: int) -> float:
        if self.event_log:
            return self.log[number][0]
        return float(number * self.period)

    def capture_now(self) -> None:
        """A log captures its columns as they are now."""
        row = tuple(column.source.read(column.attribute, None, None) for column in self.columns)
        self.log.append((self.meter.clock_time().timestamp(), row))

    def _encode(self, numbers: Iterable[int], selected: Sequence[int]) -> EncodedData:
        key = self._answer_key(numbers, selected)
        if key is not None:
            cached = _recall(key)
            if cached is not None:
                return EncodedData(cached)
        every = list(range(len(self.columns)))
        parts = []
        count = 0
        for number in numbers:
            row = self.row(number)
            parts.append(
                axdr.encode(axdr.Structure(row if selected == every else [row[i] for i in selected]))
            )
            count += 1
            checkpoint()  # in slices (the simulator's server), the other meters are served meanwhile
        raw = b"\x01" + axdr.encode_length(count) + b"".join(parts)
        if key is not None:
            _remember(key, raw)
        return EncodedData(raw)

    def _answer_key(self, numbers: Iterable[int], selected: Sequence[int]) -> tuple[Any, ...] | None:
        """The key of an answer worth keeping: rows of a periodic profile (pure functions of their
        number and the meter's state, which changes only with the meter's ``generation``), many of them."""
        generation = getattr(self.meter, "generation", None)
        if self.event_log or generation is None or not isinstance(numbers, range):
            return None
        if len(numbers) < CACHED_ROWS_AT_LEAST:
            return None
        return (self._token, generation, numbers.start, numbers.stop, numbers.step, tuple(selected))

    # -- selective access --------------------------------------------------------------------------------

    def _by_entry(self, parameters: Any) -> EncodedData | DataAccessResult:
        if (
            not isinstance(parameters, tuple)
            or len(parameters) != 4
            or not all(isinstance(p, int) and not isinstance(p, bool) for p in parameters)
        ):
            return DataAccessResult.TYPE_UNMATCHED
        from_entry, to_entry, from_column, to_column = (int(p) for p in parameters)
        span = self.span()
        last = len(span) if to_entry == 0 else min(to_entry, len(span))
        if from_entry < 1 or (to_entry and to_entry < from_entry):
            return DataAccessResult.SCOPE_OF_ACCESS_VIOLATED
        width = len(self.columns)
        first_column = max(from_column, 1)
        last_column = width if to_column == 0 else to_column
        if first_column > last_column or last_column > width:
            return DataAccessResult.SCOPE_OF_ACCESS_VIOLATED
        return self._encode(span[from_entry - 1 : last], range(first_column - 1, last_column))

    def _column_of(self, definition: Any) -> int | None:
        try:
            wanted = CaptureObject.decode(definition)
        except DecodeError:
            return None
        for index, column in enumerate(self.columns):
            if column.capture_object == wanted:
                return index
        return None

    def _moment(self, value: Any) -> float | None:
        if isinstance(value, bytes) and len(value) == CosemDateTime.SIZE:
            value = CosemDateTime.from_bytes(value)
        if not isinstance(value, CosemDateTime):
            return None
        moment = self.meter.instant_of(value)
        return None if moment is None else moment.timestamp()

    def _by_range(self, parameters: Any) -> EncodedData | DataAccessResult:
        if not isinstance(parameters, tuple) or len(parameters) != 4 or not isinstance(parameters[3], list):
            return DataAccessResult.TYPE_UNMATCHED
        restricting, start_value, end_value, selection = parameters
        column = self._column_of(restricting)
        if column is None or self.columns[column].source.cosem_class.class_id != _CLOCK_CLASS:
            return DataAccessResult.SCOPE_OF_ACCESS_VIOLATED
        start, end = self._moment(start_value), self._moment(end_value)
        if start is None or end is None:
            return DataAccessResult.TYPE_UNMATCHED
        selected = [self._column_of(item) for item in selection]
        if any(index is None for index in selected):
            return DataAccessResult.SCOPE_OF_ACCESS_VIOLATED
        columns = [index for index in selected if index is not None] or list(range(len(self.columns)))
        span = self.span()
        if self.event_log:
            numbers: Iterable[int] = [n for n in span if start <= self.capture_time(n) <= end]
        else:
            first = max(span.start, math.ceil(start / self.period))
            last = min(span.stop - 1, math.floor(end / self.period))
            numbers = range(first, last + 1)
        return self._encode(numbers, columns)

    # -- COSEM -----------------------------------------------------------------------------------------------

    def read(
        self, attribute: int, context: AssociationContext | None, access: SelectiveAccessDescriptor | None
    ) -> Any:
        if attribute == 2:
            if access is None:
                return self._encode(self.span(), range(len(self.columns)))
            if access.selector == SelectiveAccessDescriptor.RANGE:
                return self._by_range(access.parameters)
            return self._by_entry(access.parameters)
        if attribute == 7:
            return axdr.DoubleLongUnsigned(len(self.span()))
        return super().read(attribute, context, access)

    def invoke(
        self, method: int, parameters: axdr.Data, context: AssociationContext
    ) -> ActionResponseWithOptionalData:
        if method == 1:
            if self.event_log:
                self.log.clear()
            else:
                self.cleared_before = self.span().stop
            return done()
        if not self.event_log:
            return refused(ActionResult.OBJECT_UNAVAILABLE)  # a periodic profile captures on its period only
        self.capture_now()
        return done()
