"""What the head-end dashboard reads: a small read-only query interface, and the state with no head-end.

The dashboard page depends only on :class:`HeadEndQueries`. The head-end store (``dlmskit.headend``, an
SQLAlchemy Core database) provides it when the console is started with a head-end database; without one the
page says so and shows nothing else.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from dlmskit.errors import ConfigurationError

__all__ = [
    "FailureRow",
    "HeadEndQueries",
    "JobRow",
    "MeterRow",
    "OutcomeCount",
    "PushRow",
    "StaticHeadEnd",
    "StoreHeadEnd",
    "open_headend",
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


def _moment(text: object) -> _dt.datetime | None:
    if not text:
        return None
    try:
        return _dt.datetime.strptime(str(text), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=_dt.timezone.utc)
    except ValueError:
        return None


def _value(row: Mapping[str, Any]) -> str:
    if row.get("value") is None:
        return ""
    shown = f"{row['logical_name']}: {row['value']}"
    return f"{shown} {row['unit']}" if row.get("unit") else shown


def _summary(body: object, limit: int = 120) -> str:
    text = json.dumps(body, separators=(", ", ": "))
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


class StoreHeadEnd:
    """The dashboard's questions answered from a head-end database (:mod:`dlmskit.headend.queries`).

    Opens the database without migrating it and only reads: the console never changes the head-end's data.
    """

    def __init__(self, url: str) -> None:
        from dlmskit.headend.store import SCHEMA_VERSION, Store

        self._store = Store(url, migrate=False)
        found = self._store.version()
        if found == 0:
            self._store.close()
            raise ConfigurationError(
                f"{self.describe()} is not a head-end database (run dlmskit headend init)"
            )
        if found > SCHEMA_VERSION:
            self._store.close()
            raise ConfigurationError(
                f"{self.describe()} has schema version {found}, newer than this dlmskit ({SCHEMA_VERSION})"
            )

    def close(self) -> None:
        self._store.close()

    def describe(self) -> str:
        import sqlalchemy as sa

        return sa.engine.make_url(self._store.url).render_as_string(hide_password=True)

    def meters(self, limit: int = 200) -> Sequence[MeterRow]:
        from dlmskit.headend import queries

        return [
            MeterRow(
                row["name"],
                row["where"],
                _moment(row["read_at"]),
                _value(row),
                row["outcome"],  # the reason in words is in the failures table
            )
            for row in queries.meters_with_last_reading(self._store, limit)
        ]

    def outcomes(self, since: _dt.datetime) -> Sequence[OutcomeCount]:
        from dlmskit.headend import queries

        return [OutcomeCount(k, v) for k, v in queries.outcomes_since(self._store, since).items()]

    def failures(self, limit: int = 50) -> Sequence[FailureRow]:
        from dlmskit.headend import queries

        return [
            FailureRow(
                row["meter"],
                _moment(row["finished_at"]) or _dt.datetime.min.replace(tzinfo=_dt.timezone.utc),
                row["plan"],
                row["outcome"],
                row["reason"],
            )
            for row in queries.recent_failures(self._store, limit)
        ]

    def pushes(self, limit: int = 50) -> Sequence[PushRow]:
        """Stored pushes and quarantined ones (marked so), newest first."""
        from dlmskit.headend import queries

        rows = [
            PushRow(
                row["meter"],
                _moment(row["received_at"]) or _EPOCH,
                _summary(row["named"]) if row.get("named") else _summary(row["body"]),
            )
            for row in queries.recent_pushes(self._store, limit)
        ]
        rows += [
            PushRow(
                f"? {row['source']}", _moment(row["received_at"]) or _EPOCH, f"quarantined: {row['reason']}"
            )
            for row in queries.recent_quarantine(self._store, limit)
        ]
        rows.sort(key=lambda r: r.at, reverse=True)
        return rows[:limit]

    def jobs(self, limit: int = 100) -> Sequence[JobRow]:
        from dlmskit.headend import queries

        return [
            JobRow(row["meter"], row["job"], row["state"], _moment(row["due"]), int(row["attempts"]))
            for row in queries.queued_work(self._store, limit)
        ]


_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)


def open_headend(url: str | None) -> tuple[HeadEndQueries | None, str]:
    """The dashboard's source for ``--db URL``, or for the head-end's default SQLite file when it exists.

    Returns the queries (None: the dashboard is disabled) and a line saying why, for the console's log.
    """
    from dlmskit.headend.store import default_database_url

    if url is None:
        url = default_database_url()
        path = Path(url.removeprefix("sqlite:///"))
        if not path.exists():
            return None, f"head-end dashboard disabled: no head-end database at {path} (give --db URL)"
        try:
            found = StoreHeadEnd(url)
        except ConfigurationError as error:  # only a --db given by hand stops the console
            return None, f"head-end dashboard disabled: {error}"
        return found, f"head-end dashboard from {found.describe()}"
    elif url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        path = Path(url.removeprefix("sqlite:///")).expanduser()
        if not path.exists():
            raise ConfigurationError(f"no head-end database at {path}")
    queries = StoreHeadEnd(url)
    return queries, f"head-end dashboard from {queries.describe()}"
