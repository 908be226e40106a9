"""The per-meter job: a sans-I/O generator of steps (:func:`meter_job`) and the thin asyncio runner over a meter
and the store (:func:`run_job`).

:func:`meter_job` decides what to do and in which order; it yields a step (read the clock, read a register,
read a profile from a time, carry out a command, save readings) and receives what the step produced. A test
can drive it with answers of its own, without a socket; :func:`run_job` runs the steps on an associated
meter (:class:`~dlmskit.headend.meter_io.MeterIO`) and the :class:`~dlmskit.headend.store.Store`.

Profiles and logs are stored chunk by chunk, each chunk in one transaction, and read from the last stored
capture time *inclusive*: a crash between two chunks loses nothing (the next job starts from what was
stored) and stores nothing twice (a row already stored is left as it is).
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import decimal
import enum
import json
from collections.abc import Awaitable, Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dlmskit.cosem.units import unit_symbol
from dlmskit.headend.meter_io import CommandFailed, MeterIO, MeterRefused
from dlmskit.headend.plans import ReadPlan
from dlmskit.headend.push_setup import save_push_objects
from dlmskit.headend.store import Store, events, profile_rows, readings, utc, utc_now

__all__ = [
    "JobReport",
    "LastCaptureTime",
    "ReadClock",
    "ReadProfile",
    "ReadPushSetup",
    "ReadRegister",
    "RunCommand",
    "SaveReadings",
    "SetClock",
    "jsonable",
    "meter_job",
    "run_job",
    "scaled_value",
]

CLOCK = "0.0.1.0.0.255"

Save = Callable[[Any, Sequence[Mapping[str, Any]]], Awaitable[int]]
"""Stores rows into a table (readings, profile rows, events); returns how many were new, once committed."""


@dataclass(frozen=True)
class ReadClock:
    """Read the meter's clock; answer: (meter time, head-end time at the answer)."""


@dataclass(frozen=True)
class SetClock:
    """Set the meter's clock to the head-end's time now; answer: None."""


@dataclass(frozen=True)
class ReadRegister:
    """Read a register; answer: (value as decimal text, unit symbol or None)."""

    logical_name: str


@dataclass(frozen=True)
class LastCaptureTime:
    """The latest stored capture time of a profile (``kind="profile"``) or log (``"events"``); answer: datetime|None."""

    kind: str
    logical_name: str


@dataclass(frozen=True)
class ReadProfile:
    """Read a profile or log from ``start`` to now and store it chunk by chunk; answer: rows newly stored."""

    kind: str
    logical_name: str
    start: _dt.datetime


@dataclass(frozen=True)
class RunCommand:
    """Carry out a queued command and record its outcome; answer: (state, outcome in words)."""

    command_id: int
    kind: str
    argument: str | None


@dataclass(frozen=True)
class ReadPushSetup:
    """Read a push setup's push_object_list (class 40, attribute 2) and keep it for the meter; answer: entries."""

    logical_name: str


@dataclass(frozen=True)
class SaveReadings:
    """Store register readings; answer: how many were new."""

    rows: tuple[Mapping[str, Any], ...]


Step = (
    ReadClock
    | SetClock
    | ReadRegister
    | LastCaptureTime
    | ReadProfile
    | RunCommand
    | SaveReadings
    | ReadPushSetup
)


@dataclass
class JobReport:
    """What a job did."""

    stored: int = 0
    drift: float | None = None
    clock_set: bool = False
    commands: list[tuple[int, str, str]] = field(default_factory=list)


def meter_job(
    plan: ReadPlan, meter: str, commands: Sequence[Mapping[str, Any]] = ()
) -> Generator[Step, Any, JobReport]:
    """The steps of one job on ``meter`` (its inventory name) for ``plan``; ``commands`` are its queued ones."""
    report = JobReport()
    stamp: _dt.datetime | None = None
    needs_clock = plan.clock or plan.profiles or plan.event_logs or plan.max_drift is not None
    if needs_clock:
        meter_time, headend_time = yield ReadClock()
        report.drift = (meter_time - headend_time).total_seconds()
        stamp = meter_time
        if plan.max_drift is not None and abs(report.drift) > plan.max_drift:
            yield SetClock()
            report.clock_set = True
            stamp = headend_time
    if plan.registers:
        rows = []
        moment = utc(stamp) if stamp is not None else utc_now()
        for name in plan.registers:
            value, unit = yield ReadRegister(name)
            rows.append(
                {
                    "meter": meter,
                    "logical_name": name,
                    "attribute": 2,
                    "capture_time": moment,
                    "value": value,
                    "unit": unit,
                }
            )
        report.stored += yield SaveReadings(tuple(rows))
    for kind, names in (("profile", plan.profiles), ("events", plan.event_logs)):
        for name in names:
            last = yield LastCaptureTime(kind, name)
            if last is None:
                assert stamp is not None
                last = stamp - _dt.timedelta(hours=plan.initial_hours)
            report.stored += yield ReadProfile(kind, name, last)
    for name in plan.push_setups:
        yield ReadPushSetup(name)
    if plan.commands:
        for command in commands:
            state, outcome = yield RunCommand(
                int(command["id"]), str(command["kind"]), command.get("argument")
            )
            report.commands.append((int(command["id"]), state, outcome))
    return report


def jsonable(value: Any) -> Any:
    """A decoded value as JSON can hold it: times in UTC text, bytes in hex, decimals as text."""
    if isinstance(value, _dt.datetime):
        return utc(value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).hex().upper()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    return str(value)


def _profile_rows(meter: str, kind: str, name: str, table: Any) -> list[dict[str, Any]]:
    columns = table.columns
    time_index = next((i for i, c in enumerate(columns) if c.is_timestamp), None)
    if time_index is None:
        return []
    found = []
    for row in table.rows:
        when = row[time_index]
        if not isinstance(when, _dt.datetime):
            continue  # an entry without a time (compressed profiles) cannot be keyed
        values = {str(columns[i].logical_name): jsonable(v) for i, v in enumerate(row) if i != time_index}
        item: dict[str, Any] = {"meter": meter, "capture_time": utc(when), "row": json.dumps(values)}
        if kind == "events":
            code = next((v for i, v in enumerate(row) if i != time_index and isinstance(v, int)), 0)
            item.update(log=name, code=int(code))
        else:
            item["profile"] = name
            item["scaled"] = json.dumps(
                {
                    str(columns[i].logical_name): scaled_value(v, columns[i].scaler, columns[i].unit)
                    for i, v in enumerate(row)
                    if i != time_index
                }
            )
        found.append(item)
    return found


def scaled_value(raw: Any, scaler: int | None, unit: Any) -> dict[str, Any]:
    """A profile value as stored next to the raw row: ``{"value": "228.8", "unit": "V"}``: a number with the
    captured register's scaler applied (none: 0), as exact decimal text like a register's reading; anything
    else (bytes, text, a structure) as the raw value is stored. ``unit`` is the symbol, None without one."""
    symbol = (unit_symbol(int(unit)) or None) if unit is not None else None
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        number = decimal.Decimal(int(raw)) if isinstance(raw, int) else decimal.Decimal(repr(float(raw)))
        return {"value": format(number.scaleb(scaler or 0), "f"), "unit": symbol}
    return {"value": jsonable(raw), "unit": symbol}


async def run_job(
    io: MeterIO,
    store: Store,
    plan: ReadPlan,
    meter: str,
    commands: Sequence[Mapping[str, Any]] = (),
    *,
    save: Save | None = None,
) -> JobReport:
    """Run :func:`meter_job` on an associated meter, storing as it goes: through ``save`` (the engine's
    :meth:`~dlmskit.headend.batch.BatchWriter.save`: readings, profile rows and events committed with other
    sessions' ones), or without it by the store's own calls in a worker thread."""
    steps = meter_job(plan, meter, commands)
    answer: Any = None
    while True:
        try:
            step = steps.send(answer)
        except StopIteration as done:
            report: JobReport = done.value
            return report
        answer = await _execute(step, io, store, meter, save)


async def _execute(step: Step, io: MeterIO, store: Store, meter: str, save: Save | None) -> Any:
    if isinstance(step, ReadClock):
        meter_time = await io.clock()
        return meter_time, _dt.datetime.now(_dt.timezone.utc)
    if isinstance(step, SetClock):
        await io.set_clock(_dt.datetime.now(_dt.timezone.utc))
        return None
    if isinstance(step, ReadRegister):
        return await io.register(step.logical_name)
    if isinstance(step, SaveReadings):
        if save is not None:
            return await save(readings, step.rows)
        return await asyncio.to_thread(store.save_readings, step.rows)
    if isinstance(step, LastCaptureTime):
        table, column = (profile_rows, "profile") if step.kind == "profile" else (events, "log")
        return await asyncio.to_thread(store.last_capture_time, table, meter, column, step.logical_name)
    if isinstance(step, ReadProfile):
        table = profile_rows if step.kind == "profile" else events
        stored = 0
        async for chunk in io.profile(step.logical_name, step.start):
            rows = _profile_rows(meter, step.kind, step.logical_name, chunk)
            if save is not None:
                stored += await save(table, rows)
            else:
                stored += await asyncio.to_thread(store.save_profile_rows, table, rows)
        return stored
    if isinstance(step, ReadPushSetup):
        entries = await io.push_object_list(step.logical_name)
        await asyncio.to_thread(save_push_objects, store, f"meter:{meter}", step.logical_name, entries)
        return entries
    if isinstance(step, RunCommand):
        if not await asyncio.to_thread(store.start_command, step.command_id):
            return "skipped", "already started by an earlier attempt: not sent again"
        try:
            outcome = await io.command(step.kind, step.argument)
            state = "done"
        except MeterRefused as refused:
            state, outcome = "failed", f"refused: {refused}"
        except CommandFailed as failed:
            state, outcome = "failed", str(failed)
        await asyncio.to_thread(store.finish_command, step.command_id, state, outcome)
        return state, outcome
    raise AssertionError(f"unknown step {step!r}")  # pragma: no cover
