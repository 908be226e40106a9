"""Exports of the head-end's stored rows: CSV (the default, nothing to install) and Parquet (the ``parquet``
extra, ``pyarrow``) with typed columns.

Parquet columns are typed: times are UTC timestamps (millisecond unit, stored to the second), counts and codes integers, a value is a float
where it is a number (``value``) and, beside it, the stored text exactly (``value_text``: the decimal text
with its scaler applied), with its ``unit`` as a string. Readings keep one row per reading; profile rows
are written one row per captured value (meter, profile, capture_time, column, raw, value, value_text, unit),
so that a column of a profile is a column of a query; events keep their code and row. Rows are read and
written in batches: an export's memory does not grow with the table.
"""

from __future__ import annotations

import csv
import datetime as _dt
import decimal
import importlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa

from dlmskit.errors import ConfigurationError
from dlmskit.headend.store import Store, events, jobs, profile_rows, pushes, quarantine, readings

__all__ = ["EXPORTS", "export_csv", "export_parquet"]

EXPORTS: Mapping[str, sa.Table] = {
    "readings": readings,
    "profiles": profile_rows,
    "events": events,
    "jobs": jobs,
    "pushes": pushes,
    "quarantine": quarantine,
}
"""What can be exported, by the name the CLI uses."""

_TIMES = frozenset({"capture_time", "read_at", "started_at", "finished_at", "received_at", "date_time"})
_BATCH = 10_000


def _rows(store: Store, table: sa.Table, meter: str | None) -> Iterator[Sequence[Mapping[str, Any]]]:
    query = sa.select(table).order_by(*table.primary_key.columns)
    if meter is not None:
        query = query.where(table.c.meter == meter)
    with store.engine.connect() as connection:
        result = connection.execution_options(stream_results=True, yield_per=_BATCH).execute(query)
        for batch in result.mappings().partitions(_BATCH):
            yield [dict(row) for row in batch]


def export_csv(store: Store, what: str, out: IO[str], meter: str | None = None) -> int:
    """Write the stored rows of ``what`` (a name of :data:`EXPORTS`) as CSV; returns how many rows."""
    table = EXPORTS[what]
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([c.name for c in table.columns])
    count = 0
    for batch in _rows(store, table, meter):
        for row in batch:
            writer.writerow([row[c.name] for c in table.columns])
        count += len(batch)
    return count


def _time(text: Any) -> _dt.datetime | None:
    if not text:
        return None
    try:
        moment = _dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.timezone.utc)
    return moment.astimezone(_dt.timezone.utc)


def _number(text: Any) -> float | None:
    if text is None or isinstance(text, bool):
        return None
    if isinstance(text, (int, float)):
        return float(text)
    try:
        number = decimal.Decimal(str(text))
    except decimal.InvalidOperation:
        return None
    return float(number) if number.is_finite() else None


def _pyarrow() -> Any:
    try:
        pyarrow = importlib.import_module("pyarrow")
        importlib.import_module("pyarrow.parquet")
    except ImportError:
        raise ConfigurationError(
            "the Parquet export needs pyarrow, in the parquet extra: pip install 'dlmskit[parquet]'"
        ) from None
    return pyarrow


def _reading_rows(batch: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "meter": row["meter"],
            "logical_name": row["logical_name"],
            "attribute": row["attribute"],
            "capture_time": _time(row["capture_time"]),
            "value": _number(row["value"]),
            "value_text": row["value"],
            "unit": row["unit"],
            "read_at": _time(row["read_at"]),
        }
        for row in batch
    ]


def _profile_value_rows(batch: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for row in batch:
        raw = json.loads(row["row"])
        scaled = json.loads(row["scaled"]) if row.get("scaled") else {}
        for column, value in raw.items():
            shown = scaled.get(column, {})
            text = shown.get("value")
            found.append(
                {
                    "meter": row["meter"],
                    "profile": row["profile"],
                    "capture_time": _time(row["capture_time"]),
                    "column": column,
                    "raw": json.dumps(value),
                    "value": _number(text),
                    "value_text": None if text is None else str(text) if not isinstance(text, str) else text,
                    "unit": shown.get("unit"),
                }
            )
    return found


def _plain_rows(table: sa.Table) -> Callable[[Sequence[Mapping[str, Any]]], list[dict[str, Any]]]:
    def convert(batch: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        return [
            {c.name: _time(row[c.name]) if c.name in _TIMES else row[c.name] for c in table.columns}
            for row in batch
        ]

    return convert


def _schema(pa: Any, what: str, table: sa.Table) -> Any:
    stamp = pa.timestamp("ms", tz="UTC")  # Parquet has no seconds unit: ms
    if what == "readings":
        fields = [
            ("meter", pa.string()),
            ("logical_name", pa.string()),
            ("attribute", pa.int32()),
            ("capture_time", stamp),
            ("value", pa.float64()),
            ("value_text", pa.string()),
            ("unit", pa.string()),
            ("read_at", stamp),
        ]
    elif what == "profiles":
        fields = [
            ("meter", pa.string()),
            ("profile", pa.string()),
            ("capture_time", stamp),
            ("column", pa.string()),
            ("raw", pa.string()),
            ("value", pa.float64()),
            ("value_text", pa.string()),
            ("unit", pa.string()),
        ]
    else:
        fields = []
        for column in table.columns:
            if column.name in _TIMES:
                kind = stamp
            elif isinstance(column.type, sa.Integer):
                kind = pa.int64()
            elif isinstance(column.type, sa.Float):
                kind = pa.float64()
            else:
                kind = pa.string()
            fields.append((column.name, kind))
    return pa.schema(fields)


def export_parquet(store: Store, what: str, path: str | Path, meter: str | None = None) -> int:
    """Write the stored rows of ``what`` to a Parquet file with typed columns; returns how many rows were
    written (for ``profiles``: one per captured value). Needs ``pyarrow`` (the ``parquet`` extra)."""
    pa = _pyarrow()
    table = EXPORTS[what]
    schema = _schema(pa, what, table)
    convert = {"readings": _reading_rows, "profiles": _profile_value_rows}.get(what) or _plain_rows(table)
    count = 0
    with pa.parquet.ParquetWriter(str(path), schema) as writer:
        for batch in _rows(store, table, meter):
            rows = convert(batch)
            if rows:
                writer.write_table(pa.Table.from_pylist(rows, schema=schema))
                count += len(rows)
    return count
