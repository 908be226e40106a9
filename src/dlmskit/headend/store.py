"""The head-end's database: SQLAlchemy 2 Core tables, explicit upserts, migrations with Alembic.

One :class:`Store` wraps one SQLAlchemy engine. SQLite is the embedded default (a file in the user's data
directory, WAL journal, a busy timeout so that several processes can share it); the same statements run on
PostgreSQL (``postgresql+psycopg://...``): every upsert is an ``INSERT ... ON CONFLICT`` written through the
dialect's own ``insert``, and every counter change is one atomic ``UPDATE ... RETURNING``.

Readings are keyed by (meter, logical name, attribute, capture time), profile rows by (meter, profile,
capture time) and events by (meter, log, capture time, code): storing the same row twice stores it once.
The schema is made and changed by the Alembic revisions in :mod:`dlmskit.headend.migrations` (one per
change; the tables below are what the newest revision makes); :meth:`Store.migrate` brings any older
database up to date, a database of the runner before Alembic included.
"""

from __future__ import annotations

import copy
import datetime as _dt
import json
import os
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from dlmskit.errors import ConfigurationError, DlmsError
from dlmskit.headend.migrations import HEAD, current_revision, legacy_version

__all__ = ["RETAINED", "SCHEMA_VERSION", "PruneReport", "StaleLease", "Store", "default_database_url", "utc"]


class StaleLease(DlmsError):
    """A write under a meter's lease refused: a newer lease of the meter (a higher fencing token) has written
    since. The worker that holds the older lease lost it (it was paused or cut off) and must stop."""


metadata = sa.MetaData()

templates = sa.Table(
    "templates",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("body", sa.Text, nullable=False),
)

meters = sa.Table(
    "meters",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("template", sa.String(100), nullable=True),
    sa.Column("groups", sa.Text, nullable=False, server_default=""),
    sa.Column("body", sa.Text, nullable=False),
)

plans = sa.Table(
    "plans",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("body", sa.Text, nullable=False),
)

keys = sa.Table(
    "keys",
    metadata,
    sa.Column("meter", sa.String(100), primary_key=True),
    sa.Column("name", sa.String(60), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("nonce", sa.LargeBinary, nullable=False),
    sa.Column("sealed", sa.LargeBinary, nullable=False),
    sa.Column("changed_at", sa.String(40), nullable=False),
)

key_changes = sa.Table(
    "key_changes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("meter", sa.String(100), nullable=False),
    sa.Column("name", sa.String(60), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("action", sa.String(20), nullable=False),
    sa.Column("at", sa.String(40), nullable=False),
)

counters = sa.Table(
    "invocation_counters",
    metadata,
    sa.Column("meter", sa.String(100), primary_key=True),
    sa.Column("system_title", sa.String(16), primary_key=True),
    sa.Column("key_id", sa.String(60), primary_key=True),
    sa.Column("next_free", sa.BigInteger, nullable=False),
)

leases = sa.Table(
    "leases",
    metadata,
    sa.Column("meter", sa.String(100), primary_key=True),
    sa.Column("owner", sa.String(100), nullable=False),
    sa.Column("expires", sa.Float, nullable=False),
)

readings = sa.Table(
    "readings",
    metadata,
    sa.Column("meter", sa.String(100), primary_key=True),
    sa.Column("logical_name", sa.String(30), primary_key=True),
    sa.Column("attribute", sa.Integer, primary_key=True),
    sa.Column("capture_time", sa.String(40), primary_key=True),
    sa.Column("value", sa.Text, nullable=True),
    sa.Column("unit", sa.String(30), nullable=True),
    sa.Column("read_at", sa.String(40), nullable=False),
)

profile_rows = sa.Table(
    "profile_rows",
    metadata,
    sa.Column("meter", sa.String(100), primary_key=True),
    sa.Column("profile", sa.String(30), primary_key=True),
    sa.Column("capture_time", sa.String(40), primary_key=True),
    sa.Column("row", sa.Text, nullable=False),
    sa.Column("scaled", sa.Text, nullable=True),
)
"""``row``: the raw values by logical name (JSON); ``scaled``: ``{logical name: {"value": decimal text with the
column's scaler applied, "unit": symbol}}`` (revision 0004; NULL for rows stored before it)."""

events = sa.Table(
    "events",
    metadata,
    sa.Column("meter", sa.String(100), primary_key=True),
    sa.Column("log", sa.String(30), primary_key=True),
    sa.Column("capture_time", sa.String(40), primary_key=True),
    sa.Column("code", sa.Integer, primary_key=True),
    sa.Column("row", sa.Text, nullable=False),
)

commands = sa.Table(
    "commands",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("meter", sa.String(100), nullable=False, index=True),
    sa.Column("kind", sa.String(30), nullable=False),
    sa.Column("argument", sa.Text, nullable=True),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("outcome", sa.Text, nullable=True),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("done_at", sa.String(40), nullable=True),
)

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("meter", sa.String(100), nullable=False, index=True),
    sa.Column("plan", sa.String(100), nullable=False),
    sa.Column("started_at", sa.String(40), nullable=False),
    sa.Column("finished_at", sa.String(40), nullable=False),
    sa.Column("outcome", sa.String(20), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("stored", sa.Integer, nullable=False),
)


push_counters = sa.Table(
    "push_counters",
    metadata,
    sa.Column("meter", sa.String(100), primary_key=True),
    sa.Column("key_kind", sa.String(30), primary_key=True),
    sa.Column("key_id", sa.String(64), primary_key=True),
    sa.Column("last", sa.BigInteger, nullable=False),
)
"""The last invocation counter accepted from each meter under each of its keys. ``key_kind`` is the key the
push was ciphered with (``global-unicast``, ``global-broadcast``, ``dedicated``, ``kek``: a key wrapped with
the meter's master key); ``key_id`` a non-secret fingerprint of that key
(:func:`dlmskit.headend.push.key_fingerprint`), so a key change starts a new counter; ``v<N>`` marks a counter
migrated from before revision 0007 (the meter's ``block_cipher_key`` of version N), given its fingerprint by
the push receiver."""

pushes = sa.Table(
    "pushes",
    metadata,
    sa.Column("meter", sa.String(100), primary_key=True),
    sa.Column("invocation_counter", sa.BigInteger, primary_key=True),
    sa.Column("received_at", sa.String(40), nullable=False),
    sa.Column("date_time", sa.String(40), nullable=True),
    sa.Column("body", sa.Text, nullable=False),
)

quarantine = sa.Table(
    "quarantine",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("received_at", sa.String(40), nullable=False),
    sa.Column("source", sa.String(100), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("apdu", sa.Text, nullable=False),
)


fences = sa.Table(
    "fences",
    metadata,
    sa.Column("meter", sa.String(100), primary_key=True),
    sa.Column("token", sa.BigInteger, nullable=False),
)
"""The newest lease fencing token that wrote for each meter (workers on Redis, :mod:`dlmskit.headend.lease`)."""


push_objects = sa.Table(
    "push_objects",
    metadata,
    sa.Column("owner", sa.String(110), primary_key=True),
    sa.Column("setup", sa.String(30), primary_key=True),
    sa.Column("objects", sa.Text, nullable=False),
    sa.Column("updated_at", sa.String(40), nullable=False),
)
"""What a push carries, per meter (``meter:NAME``, read from its push setup object, class 40 attribute 2) or
per template (``template:NAME``, the template's ``push_objects``): a JSON list of {class_id, logical_name,
attribute_index, data_index}."""

_PUSH_COLUMNS = (
    sa.Column("kind", sa.String(30), nullable=True),
    sa.Column("named", sa.Text, nullable=True),
    sa.Column("key_kind", sa.String(30), primary_key=True),
    sa.Column("key_id", sa.String(64), primary_key=True),
)
# pushes.kind: data-notification or event-notification; pushes.named: the values by "logical_name/attribute"
# (JSON), when the meter's push setup or its template says what the body holds. pushes.key_kind/key_id: the
# key the push was ciphered with, as in push_counters (a push is stored once per meter, key and counter).
for _column in _PUSH_COLUMNS:
    pushes.append_column(_column)


frame_traces = sa.Table(
    "frame_traces",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("meter", sa.String(100), nullable=False),
    sa.Column("job", sa.Integer, nullable=True),
    sa.Column("session", sa.String(40), nullable=False),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("direction", sa.String(2), nullable=False),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("frame", sa.Text, nullable=False),
    sa.Column("decoded", sa.Text, nullable=True),
    sa.Index("ix_frame_traces_meter_job", "meter", "job"),
    sa.Index("ix_frame_traces_at", "at"),
)
"""The frames of a job's sessions (:mod:`dlmskit.headend.traces`): hex as sent (ciphered where ciphered, an LLS
password blotted out); ``decoded`` only when the plan asked for decrypted traces. ``job`` is set when the job
is recorded."""

SCHEMA_VERSION = int(HEAD)
"""The newest schema version (the number of the newest Alembic revision)."""

_MIGRATION_LOCK = 0x444C4D53_4D494752
"""The PostgreSQL advisory lock key held while migrating (b"DLMSMIGR" as a 64-bit number)."""


def default_database_url() -> str:
    """``sqlite:///$XDG_DATA_HOME/dlmskit/headend.sqlite`` (``~/.local/share/dlmskit/...`` without it)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return f"sqlite:///{Path(base) / 'dlmskit' / 'headend.sqlite'}"


def utc(moment: _dt.datetime) -> str:
    """A moment as the stored text: ISO 8601 in UTC, to the second (naive moments are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.timezone.utc)
    moment = moment.astimezone(_dt.timezone.utc)
    if moment.year < 1000:  # strftime's %Y does not pad: kept as it was
        return moment.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
    return moment.replace(tzinfo=None).isoformat(timespec="seconds") + "Z"  # a third of strftime's time


_now_text: tuple[int, str] = (0, "")


def utc_now() -> str:
    """``utc(now)``, made once a second (a session records two or three such moments: formatting each
    anew was 2 % of the head-end's CPU)."""
    global _now_text
    second = int(time.time())
    made = _now_text
    if made[0] != second:
        made = _now_text = (second, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second)))
    return made[1]


def parse_utc(text: str) -> _dt.datetime:
    """The inverse of :func:`utc`."""
    return _dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=_dt.timezone.utc)


def _now() -> str:
    return utc(_dt.datetime.now(_dt.timezone.utc))


def trace_moment(moment: _dt.datetime) -> str:
    """A moment as a frame trace's ``at`` is stored: ISO 8601 in UTC to the millisecond."""
    text = moment.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")
    return text[:-3] + "Z"


@dataclass
class PruneReport:
    """What :meth:`Store.prune` deleted, rows by kind."""

    jobs: int = 0
    frames: int = 0
    readings: int = 0
    profile_rows: int = 0
    events: int = 0
    pushes: int = 0
    quarantine: int = 0

    def counts(self) -> dict[str, int]:
        """The rows deleted by kind (every kind, zero included), in the order of :data:`RETAINED`."""
        return {"jobs": self.jobs, "frames": self.frames, **{kind: getattr(self, kind) for kind in RETAINED}}


@dataclass(frozen=True)
class _Retained:
    """How the rows of one kind age out: ``age`` is the column compared with the cut-off; within each
    ``group`` (a meter's register, profile, log...) the row with the highest ``newest`` stays whatever its age."""

    table: sa.Table
    age: str
    group: tuple[str, ...] = ()
    newest: str | None = None


RETAINED: dict[str, _Retained] = {
    "readings": _Retained(readings, "capture_time", ("meter", "logical_name", "attribute"), "capture_time"),
    "profile_rows": _Retained(profile_rows, "capture_time", ("meter", "profile"), "capture_time"),
    "events": _Retained(events, "capture_time", ("meter", "log"), "capture_time"),
    "pushes": _Retained(pushes, "received_at", ("meter",), "received_at"),
    "quarantine": _Retained(quarantine, "received_at"),
}
"""The kinds of stored rows :meth:`Store.prune` ages out besides job records and frame traces, and what of
each it keeps: each register's latest reading, each profile's and each event log's newest capture time (an
incremental read starts from there: :meth:`Store.last_capture_time`), each meter's last received push. Never pruned:
keys, key changes, invocation counters, push counters (replay protection), fences, the inventory, commands."""


class Store:
    """The database of one head-end. ``url`` is an SQLAlchemy URL; the default is :func:`default_database_url`.

    Methods are blocking and short (one transaction each); the asyncio engine calls them in a worker thread.
    """

    def __init__(self, url: str | None = None, *, migrate: bool = True) -> None:
        self.url = url or default_database_url()
        self.fence: tuple[str, int] | None = None
        self._traced: set[str] = set()  # meters with frame traces not yet tied to a job (shared by views)
        parsed = sa.engine.make_url(self.url)
        self.dialect = parsed.get_backend_name()
        if self.dialect not in ("sqlite", "postgresql"):
            raise ConfigurationError(f"the head-end stores into SQLite or PostgreSQL, not {self.dialect!r}")
        options: dict[str, Any] = {}
        if self.dialect == "sqlite":
            database = parsed.database
            if database and database != ":memory:":
                Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            options["connect_args"] = {"timeout": 60.0, "check_same_thread": False}
            options["pool_size"] = 8
            options["max_overflow"] = 24
        self.engine: Engine = sa.create_engine(self.url, **options)
        if self.dialect == "sqlite":
            sa.event.listen(self.engine, "connect", sqlite_pragmas)
        if migrate:
            self.migrate()

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    # -- fencing -------------------------------------------------------------------------------------------

    def fenced(self, meter: str, token: int) -> Store:
        """A view of this store (same engine) whose every write first checks, in the same transaction, that
        no newer lease of ``meter`` than ``token`` has written; otherwise the write raises
        :class:`StaleLease` and changes nothing. Tokens come from :class:`dlmskit.headend.lease.MeterLeases`."""
        view = copy.copy(self)
        view.fence = (meter, int(token))
        return view

    @contextmanager
    def _begin(self) -> Iterator[Connection]:
        with self.engine.begin() as connection:
            if self.fence is not None:
                meter, token = self.fence
                # The row lock of this upsert orders concurrent writers of one meter until commit.
                statement = self.insert(fences).values(meter=meter, token=token)
                statement = statement.on_conflict_do_update(
                    index_elements=[fences.c.meter], set_={"token": token}, where=fences.c.token <= token
                ).returning(fences.c.token)
                if connection.execute(statement).scalar() is None:
                    raise StaleLease(
                        f"the lease of meter {meter} with token {token} is stale: a newer lease has written"
                    )
            yield connection

    # -- schema --------------------------------------------------------------------------------------------

    def version(self) -> int:
        """The schema version of the database: the number of its Alembic revision (0: empty; a database of
        the runner before Alembic: its version, until migrated)."""
        with self.engine.connect() as connection:
            revision = current_revision(connection)
            return int(revision) if revision is not None else (legacy_version(connection) or 0)

    def revision(self) -> str | None:
        """The database's Alembic revision (``"0005"``), None before the first migration."""
        with self.engine.connect() as connection:
            return current_revision(connection)

    def migrate(self, to: str = "head") -> list[str]:
        """Bring the schema to revision ``to`` (``alembic upgrade head`` by default; an older revision
        downgrades); returns what was done, one line a step.

        The check and every step run in one transaction that excludes other migrating processes (a
        scheduler and its workers started together): on PostgreSQL under an advisory transaction lock, on
        SQLite as ``BEGIN IMMEDIATE`` (the write lock first, so two processes never both see version 0)."""
        if to == "head" and self.revision() == HEAD:
            return []  # the usual case, without loading Alembic
        from dlmskit.headend import migrations

        def _apply(connection: Connection) -> list[str]:
            return [
                f"{action} {revision}: {what}"
                for action, revision, what in migrations.migrate(connection, to)
            ]

        if self.dialect == "postgresql":
            with self.engine.begin() as connection:
                connection.execute(sa.select(sa.func.pg_advisory_xact_lock(_MIGRATION_LOCK)))
                return _apply(connection)
        with self.engine.connect() as connection:
            raw: Any = connection.connection.driver_connection
            previous = raw.isolation_level
            raw.isolation_level = None  # the driver's own implicit BEGIN off: ours is IMMEDIATE
            try:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
                try:
                    done = _apply(connection)
                except BaseException:
                    connection.exec_driver_sql("ROLLBACK")
                    raise
                connection.exec_driver_sql("COMMIT")
                return done
            finally:
                raw.isolation_level = previous

    def insert(self, table: sa.Table) -> Any:
        """The dialect's INSERT (with ``on_conflict_do_nothing`` / ``on_conflict_do_update``)."""
        return (postgresql.insert if self.dialect == "postgresql" else sqlite.insert)(table)

    # -- inventory -----------------------------------------------------------------------------------------

    def put_named(self, table: sa.Table, name: str, body: Mapping[str, Any], **extra: Any) -> None:
        """Insert or replace one named template, meter or plan."""
        with self.engine.begin() as connection:
            self.put_named_many(connection, table, [{"name": name, "body": body, **extra}])

    def put_named_many(
        self, connection: Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]
    ) -> None:
        """Insert or replace named templates, meters or plans (each a dict of ``name``, ``body`` and the same
        other columns) in ``connection``'s transaction, 500 a statement. A name given twice keeps the last."""
        latest: dict[str, dict[str, Any]] = {}
        for row in rows:
            latest[str(row["name"])] = {**row, "body": json.dumps(dict(row["body"]), sort_keys=True)}
        values = list(latest.values())
        if not values:
            return
        statement = self.insert(table)
        statement = statement.on_conflict_do_update(
            index_elements=[table.c.name], set_={k: statement.excluded[k] for k in values[0] if k != "name"}
        )
        for start in range(0, len(values), 500):
            connection.execute(statement, values[start : start + 500])

    def named(self, table: sa.Table, name: str | None = None) -> list[dict[str, Any]]:
        """Rows of a named table (templates, meters, plans) as dictionaries with their body decoded."""
        query = sa.select(table).order_by(table.c.name)
        if name is not None:
            query = query.where(table.c.name == name)
        with self.engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        found = []
        for row in rows:
            item = dict(row)
            item["body"] = json.loads(item["body"])
            found.append(item)
        return found

    # -- leases --------------------------------------------------------------------------------------------

    def acquire_lease(self, meter: str, owner: str, seconds: float) -> bool:
        """Take the meter's lease for ``seconds`` unless another owner holds an unexpired one."""
        now = time.time()
        statement = self.insert(leases).values(meter=meter, owner=owner, expires=now + seconds)
        statement = statement.on_conflict_do_update(
            index_elements=[leases.c.meter],
            set_={"owner": owner, "expires": now + seconds},
            where=sa.or_(leases.c.expires < now, leases.c.owner == owner),
        ).returning(leases.c.owner)
        with self.engine.begin() as connection:
            # A row comes back only when the lease was inserted or taken over: then it is ours.
            holder = connection.execute(statement).scalar()
        return holder == owner

    def release_lease(self, meter: str, owner: str) -> None:
        """Give the lease back (only its owner can)."""
        with self.engine.begin() as connection:
            connection.execute(sa.delete(leases).where(leases.c.meter == meter, leases.c.owner == owner))

    # -- batched work (one transaction for many sessions: dlmskit.headend.batch) ----------------------------

    def acquire_leases(
        self, connection: Connection, owner: str, meters: Sequence[str], now: float, seconds: float
    ) -> set[str]:
        """Take the leases of ``meters`` for ``seconds`` from ``now`` in ``connection``'s transaction, each
        unless another owner holds an unexpired one; returns the meters whose lease is now ``owner``'s."""
        statement = self.insert(leases)
        statement = statement.on_conflict_do_update(
            index_elements=[leases.c.meter],
            set_={"owner": statement.excluded.owner, "expires": statement.excluded.expires},
            where=sa.or_(leases.c.expires < now, leases.c.owner == owner),
        ).returning(leases.c.meter)
        got: set[str] = set()
        for start in range(0, len(meters), 500):
            rows = [
                {"meter": m, "owner": owner, "expires": now + seconds} for m in meters[start : start + 500]
            ]
            got.update(str(meter) for (meter,) in connection.execute(statement, rows))
        return got

    def renew_leases(self, connection: Connection, owner: str, meters: Sequence[str], expires: float) -> None:
        """Extend ``owner``'s leases of ``meters`` to ``expires`` (a lease no longer ``owner``'s is left)."""
        connection.execute(
            sa.update(leases)
            .where(leases.c.owner == owner, leases.c.meter.in_(list(meters)))
            .values(expires=expires)
        )

    def release_leases(self, connection: Connection, owner: str, meters: Sequence[str]) -> None:
        """Give ``owner``'s leases of ``meters`` back."""
        connection.execute(sa.delete(leases).where(leases.c.owner == owner, leases.c.meter.in_(list(meters))))

    def reserve_counter_blocks(
        self, connection: Connection, wanted: Sequence[tuple[str, str, str, int]]
    ) -> list[int]:
        """Reserve a block of invocation counters for each (meter, own system title hex, key id, block size)
        in one ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``; returns the end (exclusive) of each block,
        in the order of ``wanted``. A (meter, title, key id) asked for more than once gets one reservation of
        the blocks' total, cut into disjoint blocks (one row is changed once per statement)."""
        statement = self.insert(counters)
        statement = statement.on_conflict_do_update(
            index_elements=[counters.c.meter, counters.c.system_title, counters.c.key_id],
            set_={"next_free": counters.c.next_free + statement.excluded.next_free - 1},
        ).returning(counters.c.meter, counters.c.system_title, counters.c.key_id, counters.c.next_free)
        totals: dict[tuple[str, str, str], int] = {}
        for meter, title, key_id, block in wanted:
            totals[(meter, title, key_id)] = totals.get((meter, title, key_id), 0) + block
        keys = list(totals)
        ends: dict[tuple[str, str, str], int] = {}
        for start in range(0, len(keys), 500):
            rows = [
                {"meter": meter, "system_title": title, "key_id": key_id, "next_free": 1 + totals[key]}
                for key in keys[start : start + 500]
                for meter, title, key_id in [key]
            ]
            for meter, title, key_id, end in connection.execute(statement, rows):
                ends[(str(meter), str(title), str(key_id))] = int(end)
        # Hand the total out from its start, block after block, in the order asked.
        cursor = {key: ends[key] - total for key, total in totals.items()}
        found = []
        for meter, title, key_id, block in wanted:
            cursor[(meter, title, key_id)] += block
            found.append(cursor[(meter, title, key_id)])
        return found

    def insert_new(
        self, connection: Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]
    ) -> set[tuple[Any, ...]]:
        """Insert ``rows`` (a row already stored is left as it is) in ``connection``'s transaction; returns the
        primary keys of the rows that were new."""
        statement = self.insert(table).on_conflict_do_nothing().returning(*table.primary_key.columns)
        new: set[tuple[Any, ...]] = set()
        for start in range(0, len(rows), 500):
            new.update(tuple(row) for row in connection.execute(statement, list(rows[start : start + 500])))
        return new

    def record_jobs(self, connection: Connection, recorded: Sequence[Mapping[str, Any]]) -> None:
        """Record finished jobs (as :meth:`record_job`) in ``connection``'s transaction."""
        plain = [dict(values) for values in recorded if values.get("meter") not in self._traced]
        if plain:
            connection.execute(sa.insert(jobs), plain)
        for values in recorded:
            if values.get("meter") in self._traced:
                result = connection.execute(sa.insert(jobs).values(**values))
                self._tie_traces(connection, str(values["meter"]), result)

    # -- readings ------------------------------------------------------------------------------------------

    def save_readings(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Store register readings (dicts with the readings columns); returns how many were new."""
        return self._insert_new(readings, [{"read_at": _now(), **row} for row in rows])

    def save_profile_rows(self, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> int:
        """Store profile or event rows; a row already stored is left as it is. Returns how many were new."""
        return self._insert_new(table, rows)

    def _insert_new(self, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> int:
        if not rows:
            return 0
        # RETURNING names the rows actually inserted: a driver's rowcount of an executemany is not to be
        # trusted (psycopg reports every row given, conflicts included).
        statement = self.insert(table).on_conflict_do_nothing().returning(*table.primary_key.columns)
        with self._begin() as connection:
            result = connection.execute(statement, list(rows))
            return len(result.all())

    def last_capture_time(self, table: sa.Table, meter: str, column: str, name: str) -> _dt.datetime | None:
        """The latest stored capture time of a profile or log of one meter (None: nothing stored yet)."""
        query = sa.select(sa.func.max(table.c.capture_time)).where(
            table.c.meter == meter, table.c[column] == name
        )
        with self.engine.connect() as connection:
            found = connection.execute(query).scalar()
        return parse_utc(found) if found else None

    # -- commands and jobs ---------------------------------------------------------------------------------

    def queue_command(self, meter: str, kind: str, argument: str | None = None) -> int:
        """Queue a command (``disconnect``, ``reconnect``, ``token``) for the meter's next job."""
        with self.engine.begin() as connection:
            result = connection.execute(
                sa.insert(commands).values(
                    meter=meter, kind=kind, argument=argument, state="queued", created_at=_now()
                )
            )
            key = result.inserted_primary_key
            assert key is not None
            return int(key[0])

    def queued_commands(self, meter: str) -> list[dict[str, Any]]:
        """The meter's commands not yet carried out, oldest first."""
        query = (
            sa.select(commands)
            .where(commands.c.meter == meter, commands.c.state == "queued")
            .order_by(commands.c.id)
        )
        with self.engine.connect() as connection:
            return [dict(row) for row in connection.execute(query).mappings()]

    def start_command(self, command_id: int) -> bool:
        """Mark a queued command as being sent, before it is sent: True once only. The command's id is its
        idempotency key: a retried job (a worker died after the meter carried the command out) finds it no
        longer queued and does not send it again; it stays ``sending`` for an operator to check."""
        with self._begin() as connection:
            result = connection.execute(
                sa.update(commands)
                .where(commands.c.id == command_id, commands.c.state == "queued")
                .values(state="sending")
                .returning(commands.c.id)
            )
            return result.scalar() is not None

    def finish_command(self, command_id: int, state: str, outcome: str) -> None:
        """Record a command's outcome (``done`` or ``failed``) in words."""
        with self._begin() as connection:
            connection.execute(
                sa.update(commands)
                .where(commands.c.id == command_id)
                .values(state=state, outcome=outcome, done_at=_now())
            )

    def record_job(self, **values: Any) -> None:
        """Record one finished job (meter, plan, started_at, finished_at, outcome, reason, attempts, stored)."""
        with self._begin() as connection:
            result = connection.execute(sa.insert(jobs).values(**values))
            if values.get("meter") in self._traced:
                self._tie_traces(connection, str(values["meter"]), result)

    # -- frame traces --------------------------------------------------------------------------------------

    def save_frame_traces(self, meter: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Store the frames of one session of ``meter`` (:mod:`dlmskit.headend.traces`); the next
        :meth:`record_job` of the meter ties them to its job. Not fenced: a trace is a record of what
        happened, a stale lease's included."""
        with self.engine.begin() as connection:
            connection.execute(sa.insert(frame_traces), [dict(row) for row in rows])
        self._traced.add(meter)

    def _tie_traces(self, connection: Connection, meter: str, result: Any) -> None:
        key = result.inserted_primary_key
        connection.execute(
            sa.update(frame_traces)
            .where(frame_traces.c.meter == meter, frame_traces.c.job.is_(None))
            .values(job=int(key[0]))
        )
        self._traced.discard(meter)

    def frame_traces_of(self, job: int) -> list[dict[str, Any]]:
        """The stored frames of a job, session by session, in order."""
        query = (
            sa.select(frame_traces)
            .where(frame_traces.c.job == job)
            .order_by(frame_traces.c.session, frame_traces.c.number)
        )
        with self.engine.connect() as connection:
            return [dict(row) for row in connection.execute(query).mappings()]

    # -- retention -----------------------------------------------------------------------------------------

    def prune(
        self,
        jobs_older_than: _dt.timedelta | None = None,
        traces_older_than: _dt.timedelta | None = None,
        *,
        readings_older_than: _dt.timedelta | None = None,
        profiles_older_than: _dt.timedelta | None = None,
        events_older_than: _dt.timedelta | None = None,
        pushes_older_than: _dt.timedelta | None = None,
        quarantine_older_than: _dt.timedelta | None = None,
        batch: int = 500,
        now: _dt.datetime | None = None,
    ) -> PruneReport:
        """Delete job records that finished more than ``jobs_older_than`` ago (with their frame traces),
        frame traces older than ``traces_older_than``, readings, profile rows and events captured, pushes
        and quarantined APDUs received longer ago than their age, ``batch`` rows a transaction (a long prune
        never holds the database for long, and what it did stays done if it is stopped). A kind without an
        age is left alone.

        Never deleted: each meter's latest job, whatever its age (its outcome is what ``status`` and the
        dashboard show for the meter), and work not finished: the ``jobs`` table holds finished jobs only
        (queued and running ones are on Redis or in memory; queued commands are in ``commands``, untouched);
        what :data:`RETAINED` keeps of the other kinds (the newest row of each profile and event log of each
        meter, from which the next incremental read starts, each register's latest reading, each meter's
        latest push); keys, counters and push counters."""
        if batch < 1:
            raise ConfigurationError(f"a prune batch is at least 1 row, not {batch}")
        moment = now or _dt.datetime.now(_dt.timezone.utc)
        report = PruneReport()
        ages = {
            "readings": readings_older_than,
            "profile_rows": profiles_older_than,
            "events": events_older_than,
            "pushes": pushes_older_than,
            "quarantine": quarantine_older_than,
        }
        for kind, age in ages.items():
            if age is not None:
                setattr(report, kind, self._prune_kind(RETAINED[kind], utc(moment - age), batch))
        if jobs_older_than is not None:
            before = utc(moment - jobs_older_than)
            with self.engine.connect() as connection:
                latest = sa.select(sa.func.max(jobs.c.id)).group_by(jobs.c.meter)
                kept = {int(found) for (found,) in connection.execute(latest)}
            last = 0
            while True:
                with self.engine.begin() as connection:
                    found = connection.execute(
                        sa.select(jobs.c.id, jobs.c.meter)
                        .where(jobs.c.id > last, jobs.c.finished_at < before)
                        .order_by(jobs.c.id)
                        .limit(batch)
                    ).all()
                    if found:
                        last = int(found[-1].id)
                    gone = [(str(row.meter), int(row.id)) for row in found if int(row.id) not in kept]
                    if gone:
                        connection.execute(
                            sa.delete(frame_traces).where(
                                sa.tuple_(frame_traces.c.meter, frame_traces.c.job).in_(gone)
                            )
                        )
                        ids = [job for _, job in gone]
                        report.jobs += int(
                            connection.execute(sa.delete(jobs).where(jobs.c.id.in_(ids))).rowcount
                        )
                if len(found) < batch:
                    break
        if traces_older_than is not None:
            before = trace_moment(moment - traces_older_than)
            while True:
                with self.engine.begin() as connection:
                    ids = [
                        int(found)
                        for (found,) in connection.execute(
                            sa.select(frame_traces.c.id).where(frame_traces.c.at < before).limit(batch)
                        )
                    ]
                    if ids:
                        connection.execute(sa.delete(frame_traces).where(frame_traces.c.id.in_(ids)))
                        report.frames += len(ids)
                if len(ids) < batch:
                    break
        return report

    def _prune_kind(self, kind: _Retained, before: str, batch: int) -> int:
        """Delete the rows of one kind older than ``before`` (stored text), but the newest of each group,
        ``batch`` a transaction, walking the primary key once (its index gives the order)."""
        table = kind.table
        key = list(table.primary_key.columns)
        conditions: list[sa.ColumnElement[bool]] = [table.c[kind.age] < before]
        if kind.newest is not None:
            # Compared in the statement: a row stored since is newer still, never deleted in its place.
            other = table.alias("newest")
            newest = (
                sa.select(sa.func.max(other.c[kind.newest]))
                .where(*(other.c[column] == table.c[column] for column in kind.group))
                .scalar_subquery()
            )
            conditions.append(table.c[kind.newest] < newest)
        single = len(key) == 1
        row_key: Any = key[0] if single else sa.tuple_(*key)
        deleted = 0
        last: tuple[Any, ...] | None = None
        while True:
            with self.engine.begin() as connection:
                query = sa.select(*key).where(*conditions)
                if last is not None:
                    query = query.where(row_key > (last[0] if single else sa.tuple_(*last)))
                found = [tuple(row) for row in connection.execute(query.order_by(*key).limit(batch))]
                if found:
                    last = found[-1]
                    gone = [row[0] for row in found] if single else found
                    deleted += int(connection.execute(sa.delete(table).where(row_key.in_(gone))).rowcount)
            if len(found) < batch:
                return deleted

    def outcome_counts(self) -> dict[str, int]:
        """How many jobs ended with each outcome."""
        query = sa.select(jobs.c.outcome, sa.func.count()).group_by(jobs.c.outcome)
        with self.engine.connect() as connection:
            return {str(outcome): int(count) for outcome, count in connection.execute(query)}

    def count(self, table: sa.Table) -> int:
        """The number of rows of a table."""
        with self.engine.connect() as connection:
            return int(connection.execute(sa.select(sa.func.count()).select_from(table)).scalar() or 0)


def sqlite_pragmas(connection: Any, _record: Any) -> None:
    """WAL, full sync and a busy timeout on each new SQLite connection (the async store's too)."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=60000")
    cursor.close()
