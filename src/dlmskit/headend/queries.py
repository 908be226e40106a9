"""Read-only questions to the head-end's database, for dashboards and status pages.

Every function takes a :class:`~dlmskit.headend.store.Store`, runs one short read transaction and returns
plain dictionaries; nothing here writes. The web console's head-end dashboard is built on them.
"""

from __future__ import annotations

import datetime as _dt
import json
import time
from typing import Any

import sqlalchemy as sa

from dlmskit.headend.store import (
    Store,
    commands,
    jobs,
    leases,
    meters,
    pushes,
    quarantine,
    readings,
    templates,
    utc,
)

__all__ = [
    "meters_with_last_reading",
    "outcomes_since",
    "queued_work",
    "recent_failures",
    "recent_pushes",
    "recent_quarantine",
]


def _where(body: dict[str, Any], template: dict[str, Any]) -> str:
    settings = {**template, **body.get("settings", {})}
    inbound = body.get("inbound")
    if isinstance(inbound, dict) and inbound.get("address"):
        return f"inbound from {inbound['address']}"
    if body.get("gateway"):
        return f"gateway {body['gateway']}"
    if settings.get("device"):
        return str(settings["device"])
    host, port = settings.get("host", "127.0.0.1"), settings.get("port", 4059)
    return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"


def meters_with_last_reading(store: Store, limit: int = 200) -> list[dict[str, Any]]:
    """The meters (by name) with where they are, their latest stored reading and their last job's outcome.

    Each row: ``name``, ``where``, ``read_at`` (the moment, or None), ``logical_name``, ``attribute``,
    ``value``, ``unit``, ``outcome``, ``reason``.
    """
    latest_read = (
        sa.select(readings.c.meter, sa.func.max(readings.c.read_at).label("read_at"))
        .group_by(readings.c.meter)
        .subquery()
    )
    latest_job = sa.select(sa.func.max(jobs.c.id).label("id")).group_by(jobs.c.meter).subquery()
    with store.engine.connect() as connection:
        chosen = connection.execute(
            sa.select(meters.c.name, meters.c.template, meters.c.body).order_by(meters.c.name).limit(limit)
        ).all()
        bodies = {str(t.name): json.loads(t.body) for t in connection.execute(sa.select(templates))}
        names = [str(row.name) for row in chosen]
        last: dict[str, dict[str, Any]] = {}
        for hit in connection.execute(
            sa.select(readings)
            .join(
                latest_read,
                sa.and_(readings.c.meter == latest_read.c.meter, readings.c.read_at == latest_read.c.read_at),
            )
            .where(readings.c.meter.in_(names))
            .order_by(readings.c.meter, readings.c.logical_name, readings.c.capture_time.desc())
        ).mappings():
            last.setdefault(str(hit["meter"]), dict(hit))  # one reading of the latest batch per meter
        outcome = {
            str(job.meter): (str(job.outcome), str(job.reason))
            for job in connection.execute(
                sa.select(jobs.c.meter, jobs.c.outcome, jobs.c.reason)
                .join(latest_job, jobs.c.id == latest_job.c.id)
                .where(jobs.c.meter.in_(names))
            )
        }
    found = []
    for meter in chosen:
        name = str(meter.name)
        body = json.loads(meter.body)
        template = bodies.get(str(meter.template), {}) if meter.template else {}
        reading = last.get(name, {})
        result, reason = outcome.get(name, ("", ""))
        found.append(
            {
                "name": name,
                "where": _where(body, template),
                "read_at": reading.get("read_at"),
                "logical_name": reading.get("logical_name"),
                "attribute": reading.get("attribute"),
                "value": reading.get("value"),
                "unit": reading.get("unit"),
                "outcome": result,
                "reason": reason,
            }
        )
    return found


def outcomes_since(store: Store, since: _dt.datetime) -> dict[str, int]:
    """How many jobs finished with each outcome since ``since``, most frequent first."""
    query = (
        sa.select(jobs.c.outcome, sa.func.count().label("n"))
        .where(jobs.c.finished_at >= utc(since))
        .group_by(jobs.c.outcome)
        .order_by(sa.desc("n"), jobs.c.outcome)
    )
    with store.engine.connect() as connection:
        return {str(outcome): int(count) for outcome, count in connection.execute(query)}


def recent_failures(store: Store, limit: int = 50) -> list[dict[str, Any]]:
    """The latest jobs that did not end ``ok`` (newest first) and the commands that failed."""
    query = (
        sa.select(jobs.c.meter, jobs.c.plan, jobs.c.finished_at, jobs.c.outcome, jobs.c.reason)
        .where(jobs.c.outcome != "ok")
        .order_by(jobs.c.id.desc())
        .limit(limit)
    )
    with store.engine.connect() as connection:
        return [dict(row) for row in connection.execute(query).mappings()]


def recent_pushes(store: Store, limit: int = 50) -> list[dict[str, Any]]:
    """The latest stored pushes (newest first): meter, received_at, date_time, counter, kind, body (decoded),
    named (the values by ``logical_name/attribute``, decoded; None when no push object list describes it) and
    the key it was ciphered with (key_kind, key_id: see ``push_counters``)."""
    columns = list(pushes.c)
    version = store.version()
    if version < 6:  # a database the web console opened without migrating: no kind, no names yet
        columns = [c for c in columns if c.name not in ("kind", "named")]
    if version < 7:  # nor the key a push was ciphered with
        columns = [c for c in columns if c.name not in ("key_kind", "key_id")]
    query = (
        sa.select(*columns)
        .order_by(pushes.c.received_at.desc(), pushes.c.invocation_counter.desc())
        .limit(limit)
    )
    with store.engine.connect() as connection:
        rows = [dict(row) for row in connection.execute(query).mappings()]
    for row in rows:
        row["body"] = json.loads(row["body"])
        row["named"] = json.loads(row["named"]) if row.get("named") else None
    return rows


def recent_quarantine(store: Store, limit: int = 50) -> list[dict[str, Any]]:
    """The latest quarantined pushes (newest first): received_at, source, reason (not the APDU)."""
    query = (
        sa.select(quarantine.c.received_at, quarantine.c.source, quarantine.c.reason)
        .order_by(quarantine.c.id.desc())
        .limit(limit)
    )
    with store.engine.connect() as connection:
        return [dict(row) for row in connection.execute(query).mappings()]


def queued_work(store: Store, limit: int = 100) -> list[dict[str, Any]]:
    """What waits or runs: sessions holding a lease (``running``), then queued commands (oldest first).

    Each row: ``meter``, ``job``, ``state``, ``due`` (stored text or None), ``attempts``.
    """
    now = time.time()
    with store.engine.connect() as connection:
        running = connection.execute(
            sa.select(leases).where(leases.c.expires >= now).order_by(leases.c.meter).limit(limit)
        ).all()
        queued = connection.execute(
            sa.select(commands.c.meter, commands.c.kind, commands.c.created_at)
            .where(commands.c.state == "queued")
            .order_by(commands.c.id)
            .limit(limit)
        ).all()
    found: list[dict[str, Any]] = [
        {
            "meter": str(row.meter),
            "job": "session",
            "state": f"running ({row.owner})",
            "due": utc(_dt.datetime.fromtimestamp(row.expires, _dt.timezone.utc)),
            "attempts": 0,
        }
        for row in running
    ]
    found += [
        {
            "meter": str(row.meter),
            "job": f"command {row.kind}",
            "state": "queued",
            "due": row.created_at,
            "attempts": 0,
        }
        for row in queued
    ]
    return found[:limit]
