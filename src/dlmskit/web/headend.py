"""What the head-end dashboard reads: a small read-only query interface, and the state with no head-end.

The dashboard page depends only on :class:`HeadEndQueries`. The head-end store (``dlmskit.headend``, an
SQLAlchemy Core database) provides it when the console is started with a head-end database; without one the
page says so and shows nothing else.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = [
    "FailureRow",
    "HeadEndQueries",
    "JobRow",
    "MeterRow",
    "OutcomeCount",
    "PushRow",
    "StaticHeadEnd",
]


@dataclass(frozen=True, slots=True)
class MeterRow:
    """A meter of the head-end and its last reading."""

    name: str
    where: str
    last_reading_at: _dt.datetime | None
    last_value: str
    last_outcome: str


@dataclass(frozen=True, slots=True)
class OutcomeCount:
    """How many jobs ended with one outcome (``ok``, ``timeout``, ``refused``...) in the period shown."""

    reason: str
    count: int


@dataclass(frozen=True, slots=True)
class FailureRow:
    """A failed job to look at: which meter, when, what, and the error in words."""

    meter: str
    at: _dt.datetime
    job: str
    reason: str
    message: str


@dataclass(frozen=True, slots=True)
class PushRow:
    """A push (data notification) received from a meter."""

    meter: str
    at: _dt.datetime
    summary: str


@dataclass(frozen=True, slots=True)
class JobRow:
    """A job waiting or running in the queue."""

    meter: str
    job: str
    state: str
    due: _dt.datetime | None
    attempts: int


@runtime_checkable
class HeadEndQueries(Protocol):
    """The read-only questions the dashboard asks the head-end store."""

    def describe(self) -> str:
        """Where the data comes from (a database URL without its password)."""

    def meters(self, limit: int = 200) -> Sequence[MeterRow]:
        """The meters with their last reading."""

    def outcomes(self, since: _dt.datetime) -> Sequence[OutcomeCount]:
        """Job outcomes by reason since ``since``."""

    def failures(self, limit: int = 50) -> Sequence[FailureRow]:
        """The most recent failures."""

    def pushes(self, limit: int = 50) -> Sequence[PushRow]:
        """The most recent pushes."""

    def jobs(self, limit: int = 100) -> Sequence[JobRow]:
        """The job queue: waiting and running jobs."""


@dataclass(frozen=True, slots=True)
class StaticHeadEnd:
    """A head-end given as fixed rows (for tests and demonstrations); satisfies :class:`HeadEndQueries`."""

    name: str
    meter_rows: tuple[MeterRow, ...] = ()
    outcome_rows: tuple[OutcomeCount, ...] = ()
    failure_rows: tuple[FailureRow, ...] = ()
    push_rows: tuple[PushRow, ...] = ()
    job_rows: tuple[JobRow, ...] = ()

    def describe(self) -> str:
        return self.name

    def meters(self, limit: int = 200) -> Sequence[MeterRow]:
        return self.meter_rows[:limit]

    def outcomes(self, since: _dt.datetime) -> Sequence[OutcomeCount]:
        return self.outcome_rows

    def failures(self, limit: int = 50) -> Sequence[FailureRow]:
        return self.failure_rows[:limit]

    def pushes(self, limit: int = 50) -> Sequence[PushRow]:
        return self.push_rows[:limit]

    def jobs(self, limit: int = 100) -> Sequence[JobRow]:
        return self.job_rows[:limit]
