"""Retention of every kind of stored row: readings, profile rows, events, pushes and quarantined APDUs pruned
each after its own age, in batches, each kind reported; what an incremental read starts from (each meter's
newest profile row and event log entry), each register's latest reading and each meter's latest push kept,
and push counters, keys and invocation counters never touched.

Real databases (an SQLite file and the throw-away PostgreSQL of conftest.py), the CLI through click's runner
(options and a TOML configuration file), and for the incremental read dlmskit's default simulated meter over
TCP.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

import dlmskit.cli.commands  # noqa: F401  (registers the commands)
from dlmskit.cli.main import cli
from dlmskit.errors import ConfigurationError
from dlmskit.headend import Engine, EngineLimits, Inventory, KeyStore, Meter, ReadPlan, Store
from dlmskit.headend.store import (
    counters,
    events,
    profile_rows,
    push_counters,
    pushes,
    quarantine,
    readings,
    utc,
)
from dlmskit.security.keys import SecretBytes
from dlmskit.simulator import SimulatedMeter, SimulatorThread

NOW = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)  # the CLI prunes from the real now
MASTER = SecretBytes(bytes(range(32)), label="master key")
EK = "000102030405060708090A0B0C0D0E0F"  # the simulator's documented demo keys (docs/simulator.md)
AK = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"
PROFILE = "1.0.99.1.0.255"
EVENTS = "0.0.99.98.0.255"


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    found = Store(database_url)
    yield found
    found.close()


def _ago(days: float) -> str:
    return utc(NOW - _dt.timedelta(days=days))


def _fill(store: Store) -> None:
    """Rows of every kind for two meters, some of them old; the newest of some groups old too."""
    register = {"logical_name": "1.0.1.8.0.255", "attribute": 2, "value": "1", "unit": "Wh"}
    store.save_readings(
        [{"meter": "a", **register, "capture_time": _ago(d)} for d in (800, 700, 500, 10, 1)]
        + [{"meter": "b", **register, "capture_time": _ago(d)} for d in (900, 800)]  # b's latest: old
        + [{"meter": "a", **register, "attribute": 3, "capture_time": _ago(d)} for d in (800, 1)]
    )
    store.save_profile_rows(
        profile_rows,
        [{"meter": "a", "profile": PROFILE, "capture_time": _ago(d), "row": "{}"} for d in (400, 300, 200, 5)]
        + [{"meter": "b", "profile": PROFILE, "capture_time": _ago(d), "row": "{}"} for d in (600, 500, 450)],
    )
    store.save_profile_rows(
        events,
        [
            {"meter": "a", "log": EVENTS, "capture_time": _ago(d), "code": c, "row": "{}"}
            for d, c in ((900, 1), (900, 2), (800, 5), (800, 6), (100, 7))
        ]
        + [  # b's newest entries (two codes at one time) are old: both stay
            {"meter": "b", "log": EVENTS, "capture_time": _ago(d), "code": c, "row": "{}"}
            for d, c in ((900, 1), (800, 5), (800, 6))
        ],
    )
    with store.engine.begin() as connection:
        connection.execute(
            sa.insert(pushes),
            [
                {
                    "meter": m,
                    "invocation_counter": n,
                    "key_kind": "global-unicast",
                    "key_id": k,
                    "received_at": _ago(d),
                    "body": "00",
                }
                # b's key changed 370 days ago: its new key's counter started again at 1 (the latest push)
                for m, n, k, d in (
                    ("a", 1, "k1", 400),
                    ("a", 2, "k1", 300),
                    ("a", 3, "k1", 1),
                    ("b", 7, "k1", 400),
                    ("b", 8, "k1", 380),
                    ("b", 1, "k2", 370),
                )
            ],
        )
        connection.execute(
            sa.insert(push_counters),
            [
                {"meter": "a", "key_kind": "global-unicast", "key_id": "k1", "last": 3},
                {"meter": "b", "key_kind": "global-unicast", "key_id": "k1", "last": 8},
            ],
        )
        connection.execute(
            sa.insert(quarantine),
            [
                {"received_at": _ago(d), "source": "udp", "reason": "no such meter", "apdu": "0F"}
                for d in (200, 150, 100, 95, 2)
            ],
        )
        connection.execute(
            sa.insert(counters),
            [{"meter": "a", "system_title": "00" * 8, "key_id": "global", "next_free": 9}],
        )
    KeyStore(store, MASTER).put("a", "block_cipher_key", EK)


def _times(store: Store, table: sa.Table, *columns: str) -> list[tuple[Any, ...]]:
    order = [table.c[c] for c in columns]
    with store.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(sa.select(*order).order_by(*order))]


def test_each_kind_is_pruned_after_its_age_in_batches_what_reads_start_from_kept(store: Store) -> None:
    _fill(store)
    last = {m: store.last_capture_time(profile_rows, m, "profile", PROFILE) for m in ("a", "b")}
    last_log = {m: store.last_capture_time(events, m, "log", EVENTS) for m in ("a", "b")}

    report = store.prune(
        readings_older_than=_dt.timedelta(days=365),
        profiles_older_than=_dt.timedelta(days=90),
        events_older_than=_dt.timedelta(days=365),
        pushes_older_than=_dt.timedelta(days=30),
        quarantine_older_than=_dt.timedelta(days=90),
        batch=2,
        now=NOW,
    )
    assert report.counts() == {
        "jobs": 0,
        "frames": 0,
        "readings": 3
        + 1
        + 1,  # a's 800, 700, 500 days; b's 900 (its 800 is its latest); a's attribute 3 at 800
        "profile_rows": 3 + 2,  # a's all but its 5-day row; b's all but its newest (450 days)
        "events": 4 + 1,  # a's 900 and 800; b's 900 (its two newest at 800 stay)
        "pushes": 2 + 2,  # a's 400 and 300; b's 400 and 380 (its latest, counter 1 of its new key, stays)
        "quarantine": 4,
    }
    assert _times(store, readings, "meter", "attribute", "capture_time") == [
        ("a", 2, _ago(10)),
        ("a", 2, _ago(1)),
        ("a", 3, _ago(1)),
        ("b", 2, _ago(800)),
    ]
    assert _times(store, profile_rows, "meter", "capture_time") == [("a", _ago(5)), ("b", _ago(450))]
    assert _times(store, events, "meter", "capture_time", "code") == [
        ("a", _ago(100), 7),
        ("b", _ago(800), 5),
        ("b", _ago(800), 6),
    ]
    assert _times(store, pushes, "meter", "invocation_counter") == [("a", 3), ("b", 1)]
    assert _times(store, quarantine, "received_at") == [(_ago(2),)]
    # Where the next incremental read starts did not move; counters, push counters and keys are untouched.
    assert {m: store.last_capture_time(profile_rows, m, "profile", PROFILE) for m in ("a", "b")} == last
    assert {m: store.last_capture_time(events, m, "log", EVENTS) for m in ("a", "b")} == last_log
    assert _times(store, push_counters, "meter", "last") == [("a", 3), ("b", 8)]
    assert _times(store, counters, "meter", "next_free") == [("a", 9)]
    assert KeyStore(store, MASTER).get("a", "block_cipher_key").reveal() == bytes.fromhex(EK)  # type: ignore[union-attr]

    # Everything old: the newest of each group still stays; a kind without an age is left alone.
    report = store.prune(profiles_older_than=_dt.timedelta(0), pushes_older_than=_dt.timedelta(0), now=NOW)
    assert (report.profile_rows, report.pushes, report.readings, report.quarantine) == (0, 0, 0, 0)
    assert store.count(profile_rows) == 2 and store.count(pushes) == 2 and store.count(quarantine) == 1
    with pytest.raises(ConfigurationError, match="at least 1 row"):
        store.prune(readings_older_than=_dt.timedelta(days=1), batch=0)


def test_the_cli_prunes_each_kind_from_options_and_from_a_configuration_file(
    store: Store, tmp_path: Path
) -> None:
    _fill(store)
    base = ["headend", "--db", store.url]
    done = CliRunner().invoke(
        cli,
        [*base, "prune", "--readings-older-than", "1y", "--quarantine-older-than", "90d", "--batch", "1"],
    )
    assert done.exit_code == 0, done.output
    assert "5 register readings older than 365 day(s) deleted" in done.output
    assert "4 quarantined APDUs older than 90 day(s) deleted" in done.output
    assert "load profile rows" not in done.output and "job record" not in done.output
    assert store.count(pushes) == 6 and store.count(profile_rows) == 7  # not asked: untouched
    assert _times(store, readings, "meter", "attribute", "capture_time")[-1] == ("b", 2, _ago(800))

    config = tmp_path / "headend.toml"
    config.write_text('[prune]\nprofiles_older_than = "2w"\npushes_older_than = "1y"\nbatch = 2\n', "utf-8")
    from_file = CliRunner().invoke(cli, ["headend", "--config", str(config), "--db", store.url, "prune"])
    assert from_file.exit_code == 0, from_file.output
    assert "5 load profile rows older than 14 day(s) deleted" in from_file.output
    assert "3 pushes older than 365 day(s) deleted" in from_file.output  # a's and b's 400 days, b's 380
    assert _times(store, profile_rows, "meter", "capture_time") == [("a", _ago(5)), ("b", _ago(450))]
    assert _times(store, pushes, "meter", "invocation_counter") == [("a", 2), ("a", 3), ("b", 1)]
    assert _times(store, push_counters, "meter", "last") == [("a", 3), ("b", 8)]

    nothing = CliRunner().invoke(cli, [*base, "prune"])
    assert nothing.exit_code != 0 and "--events-older-than" in nothing.output
    serve = CliRunner().invoke(cli, [*base, "serve", "--help"]).output
    for option in (
        "--retention-readings",
        "--retention-profiles",
        "--retention-events",
        "--retention-pushes",
    ):
        assert option in serve
    served = tmp_path / "serve.toml"
    served.write_text('[serve]\nretention = "90d"\nretention_events = "5y"\nfoo = 1\n', "utf-8")
    unknown = CliRunner().invoke(cli, ["headend", "--config", str(served), "--db", store.url, "status"])
    assert unknown.exit_code != 0 and "foo" in unknown.output  # the [serve] table is checked, foo refused
    served.write_text('[serve]\nretention = "90d"\nretention_events = "5y"\n', "utf-8")
    known = CliRunner().invoke(cli, ["headend", "--config", str(served), "--db", store.url, "status"])
    assert known.exit_code == 0, known.output


# -- the next read after a prune -----------------------------------------------------------------------------

PINNED = _dt.datetime(2024, 3, 1, 12, 7, 30, tzinfo=_dt.timezone.utc)


@pytest.fixture
def running() -> Iterator[SimulatorThread]:
    meter = SimulatorThread(SimulatedMeter(now=lambda: PINNED), link="wrapper", port=0)
    yield meter
    meter.stop()


def test_a_prune_never_makes_the_next_read_fetch_and_store_old_rows_again(
    store: Store, running: SimulatorThread
) -> None:
    inventory = Inventory(store, KeyStore(store, MASTER))
    settings = {"port": running.port, "link": "wrapper", "client_address": 1, "authentication": "gmac"}
    inventory.put_meter(Meter("gmac", settings=settings))
    assert inventory.keystore is not None
    inventory.keystore.put("gmac", "block_cipher_key", EK)
    inventory.keystore.put("gmac", "authentication_key", AK)
    plan = ReadPlan("p", profiles=(PROFILE,), initial_hours=1, commands=False)

    def run() -> int:
        outcomes = asyncio.run(
            Engine(inventory, EngineLimits(retries=0)).run(plan, [inventory.meter("gmac")])
        )
        assert [o.outcome for o in outcomes] == ["ok"], outcomes
        report = outcomes[0].report
        assert report is not None
        return report.stored

    assert run() == 4  # 11:15 to 12:00, every quarter of an hour
    newest = store.last_capture_time(profile_rows, "gmac", "profile", PROFILE)
    assert newest is not None
    report = store.prune(profiles_older_than=_dt.timedelta(0))  # every row is older than now
    assert report.profile_rows == 3 and store.count(profile_rows) == 1
    assert store.last_capture_time(profile_rows, "gmac", "profile", PROFILE) == newest
    assert run() == 0  # read from 12:00 on: nothing new, nothing pruned read and stored again
    assert store.count(profile_rows) == 1
    with store.engine.connect() as connection:
        kept = connection.execute(sa.select(profile_rows.c.capture_time, profile_rows.c.row)).one()
    assert kept.capture_time == utc(newest) and json.loads(kept.row)
