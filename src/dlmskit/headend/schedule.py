"""Schedules: when to run a plan over a group, cron-like, with jitter.

A :class:`Schedule` has a plan, a group and a time rule: five cron fields (``"*/15 * * * *"``: minute, hour,
day of month, month, day of week with 0 = Sunday; each ``*``, a number, ``a-b``, ``*/n``, ``a-b/n`` or a
comma list) or ``"@every 30s"`` (``s``, ``m``, ``h``). ``jitter`` seconds of random delay spread the start of
a fleet's jobs so that thousands of meters are not called in the same second. :func:`next_run` is pure;
:func:`run_schedules` is the serving loop.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from dlmskit.errors import ConfigurationError

__all__ = ["Schedule", "next_run", "run_schedules"]

_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))
_NAMES = ("minute", "hour", "day of month", "month", "day of week")


def _field(text: str, index: int) -> frozenset[int]:
    low, high = _RANGES[index]
    values: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        try:
            step = int(step_text) if step_text else 1
            if base == "*":
                first, last = low, high
            elif "-" in base:
                a, b = base.split("-", 1)
                first, last = int(a), int(b)
            else:
                first = last = int(base)
        except ValueError:
            raise ConfigurationError(f"cron {_NAMES[index]} field {text!r} is not understood") from None
        if index == 4 and last == 7:
            last = 6 if first <= 6 else 0
            values.add(0)
        if step < 1 or not (low <= first <= high and low <= last <= high) or first > last:
            raise ConfigurationError(f"cron {_NAMES[index]} field {text!r} is outside {low}..{high}")
        values.update(range(first, last + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class Schedule:
    """Run ``plan`` over ``group`` when ``when`` says, each meter's start delayed by up to ``jitter`` seconds."""

    plan: str
    group: str | None
    when: str
    jitter: float = 0.0

    def __post_init__(self) -> None:
        self.fields()  # check early
        if self.jitter < 0:
            raise ConfigurationError("jitter must be a positive number of seconds")

    def every(self) -> float | None:
        """The period of an ``@every`` rule in seconds (None for a cron rule)."""
        text = self.when.strip()
        if not text.startswith("@every"):
            return None
        amount = text[len("@every") :].strip()
        units = {"s": 1, "m": 60, "h": 3600}
        try:
            seconds = float(amount[:-1]) * units[amount[-1]]
        except (KeyError, ValueError, IndexError):
            raise ConfigurationError(f"schedule {self.when!r}: write @every 30s, 15m or 1h") from None
        if seconds <= 0:
            raise ConfigurationError(f"schedule {self.when!r}: the period must be positive")
        return seconds

    def fields(self) -> tuple[frozenset[int], ...] | None:
        """The cron fields (None for an ``@every`` rule)."""
        if self.every() is not None:
            return None
        parts = self.when.split()
        if len(parts) != 5:
            raise ConfigurationError(f"schedule {self.when!r}: five cron fields or @every <period>")
        return tuple(_field(part, index) for index, part in enumerate(parts))


def next_run(schedule: Schedule, after: _dt.datetime) -> _dt.datetime:
    """The first time strictly after ``after`` that the schedule names (without jitter)."""
    period = schedule.every()
    if period is not None:
        return after + _dt.timedelta(seconds=period)
    fields = schedule.fields()
    assert fields is not None
    minutes, hours, days, months, weekdays = fields
    moment = after.replace(second=0, microsecond=0) + _dt.timedelta(minutes=1)
    for _ in range(366 * 24 * 60):
        cron_weekday = (moment.weekday() + 1) % 7
        if (
            moment.month in months
            and moment.day in days
            and cron_weekday in weekdays
            and moment.hour in hours
            and moment.minute in minutes
        ):
            return moment
        moment += _dt.timedelta(minutes=1)
    raise ConfigurationError(f"schedule {schedule.when!r} never runs")


def jitter_of(schedule: Schedule) -> float:
    """A random delay in [0, jitter)."""
    if schedule.jitter <= 0:
        return 0.0
    return schedule.jitter * secrets.randbelow(1 << 30) / float(1 << 30)


async def run_schedules(
    schedules: Sequence[Schedule],
    run: Callable[[Schedule, float], Awaitable[None]],
    *,
    rounds: int | None = None,
    now: Callable[[], _dt.datetime] = lambda: _dt.datetime.now(_dt.timezone.utc),
) -> None:
    """Call ``run(schedule, jitter)`` at each schedule's times (``jitter``: the spread of the meters' starts);
    ``rounds`` ends after that many runs of every schedule (None: for ever)."""

    async def loop(schedule: Schedule) -> None:
        done = 0
        due = next_run(schedule, now()) if schedule.every() is None else now()
        while rounds is None or done < rounds:
            wait = (due - now()).total_seconds()
            if wait > 0:
                await asyncio.sleep(wait)
            await run(schedule, schedule.jitter)
            done += 1
            due = next_run(schedule, max(due, now()) if schedule.every() is None else due)

    await asyncio.gather(*(loop(s) for s in schedules))
