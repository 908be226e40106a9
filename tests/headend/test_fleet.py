"""The head-end against a real fleet simulator process (``dlmskit simulate --fleet``) over TCP, stored in SQLite and in
PostgreSQL (a throw-away server, conftest.py).

- a fleet with unreachable, slow and faulty meters read twice over a schedule: every outcome in words, every
  reading, profile row and event stored exactly once, profiles without a gap;
- a head-end killed with SIGKILL in the middle of a run and started again: nothing lost, nothing stored
  twice, no invocation counter used twice (the meters refuse a counter they have seen);
- the key store never shows a key: not in any command's output or log, not in the database file.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import itertools
import logging
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

import dlmskit.cli.commands  # noqa: F401  (registers the commands)
from dlmskit.cli.main import cli
from dlmskit.headend import (
    Engine,
    EngineLimits,
    Inventory,
    KeyStore,
    ReadPlan,
    Schedule,
    Store,
    run_schedules,
)
from dlmskit.headend.metrics import EngineMetrics
from dlmskit.security.keys import SecretBytes

MASTER = "5A" * 32
PROFILE = "1.0.99.1.0.255"
EVENTS = "0.0.99.98.0.255"
PLAN = ReadPlan(
    "fleet-test",
    registers=("1.0.1.8.0.255", "1.0.2.8.0.255"),
    profiles=(PROFILE,),
    event_logs=(EVENTS,),
    initial_hours=2,
)


class FleetProcess:
    def __init__(self, directory: Path, count: int, *options: str) -> None:
        self.inventory = directory / "fleet.toml"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dlmskit",
                "simulate",
                "--fleet",
                str(count),
                "--port",
                "0",
                "--inventory",
                str(self.inventory),
                *options,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 120
        while not self.inventory.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the fleet did not start: {self.process.stderr.read().decode()!r}")  # type: ignore[union-attr]
            time.sleep(0.1)
        text = self.inventory.read_text(encoding="utf-8")
        names = re.findall(r'^name = "([^"]+)"', text, re.M)
        behaviours = re.findall(r"^# behaviour: (\w+)", text, re.M)
        self.behaviour = dict(zip(names, behaviours, strict=True))

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def master(monkeypatch: pytest.MonkeyPatch) -> SecretBytes:
    monkeypatch.setenv("DLMSKIT_MASTER_KEY", MASTER)
    return SecretBytes(bytes.fromhex(MASTER))


def _rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(sa.text(sql))]
    finally:
        engine.dispose()


def _open(url: str, fleet: FleetProcess, master: SecretBytes, timeout: float) -> Inventory:
    store = Store(url)
    inventory = Inventory(store, KeyStore(store, master))
    inventory.import_file(fleet.inventory)
    template = inventory.templates()["fleet-gmac"]
    inventory.put_template("fleet-gmac", {**template, "timeout": timeout, "connect_timeout": 2.0})
    return inventory


def _profile_times(url: str) -> dict[str, list[_dt.datetime]]:
    found: dict[str, list[_dt.datetime]] = {}
    rows = _rows(
        url,
        f"SELECT meter, capture_time FROM profile_rows WHERE profile = '{PROFILE}' ORDER BY meter, capture_time",
    )
    for meter, when in rows:
        found.setdefault(meter, []).append(_dt.datetime.strptime(when, "%Y-%m-%dT%H:%M:%SZ"))
    return found


def _assert_no_gap(times: list[_dt.datetime]) -> None:
    steps = {(b - a).total_seconds() for a, b in itertools.pairwise(times)}
    assert steps <= {900.0}, f"gaps or uneven rows: {sorted(steps)}"


def _read_twice(tmp_path: Path, url: str, count: int, master: SecretBytes) -> None:
    fleet = FleetProcess(
        tmp_path,
        count,
        *("--unreachable", "0.05", "--slow", "0.05", "--faulty", "0.05"),
        *("--delay", "0.005", "--jitter", "0.01", "--time-speed", "900"),
    )
    try:
        inventory = _open(url, fleet, master, timeout=0.5)
        metrics = EngineMetrics()
        limits = EngineLimits(max_sessions=100, retries=1, backoff=0.05, job_timeout=60)
        engine = Engine(inventory, limits, metrics=metrics)
        first_round: dict[str, _dt.datetime] = {}

        async def run(schedule: Schedule, jitter: float) -> None:
            meters = inventory.meters(schedule.group)
            await engine.run(PLAN, meters, jitter=jitter)
            if not first_round:
                first_round.update({m: t[-1] for m, t in _profile_times(url).items()})

        asyncio.run(run_schedules([Schedule(PLAN.name, "fleet", "@every 1s", jitter=0.2)], run, rounds=2))
    finally:
        fleet.stop()
    expected = {"ok": "ok", "unreachable": "unreachable", "slow": "timeout", "faulty": "security"}
    jobs: dict[str, list[str]] = {}
    for meter, outcome in _rows(url, "SELECT meter, outcome FROM jobs ORDER BY id"):
        jobs.setdefault(meter, []).append(outcome)
    readings = dict(_rows(url, "SELECT meter, count(*) FROM readings GROUP BY meter"))
    (events,) = _rows(
        url, "SELECT count(*), count(DISTINCT meter || log || capture_time || code) FROM events"
    )
    assert set(jobs) == set(fleet.behaviour)
    assert {m: o for m, o in jobs.items()} == {m: [expected[b]] * 2 for m, b in fleet.behaviour.items()}
    good = {m for m, b in fleet.behaviour.items() if b == "ok"}
    assert set(readings) == good and set(readings.values()) == {4}  # two registers, two rounds, once each
    profiles = _profile_times(url)
    assert set(profiles) == good
    for meter, times in profiles.items():
        _assert_no_gap(times)
        assert times[-1] > first_round[meter]  # the second round went on from where the first stopped
    assert events[0] == events[1]
    exposition = metrics.exposition().decode()
    assert f'dlmskit_headend_jobs_total{{outcome="ok"}} {2 * len(good)}.0' in exposition
    assert "dlmskit_headend_sessions 0.0" in exposition and "dlmskit_headend_queue_depth 0.0" in exposition


def test_a_fleet_with_faults_read_twice_over_a_schedule_stores_everything_once(
    tmp_path: Path, database_url: str, master: SecretBytes
) -> None:
    _read_twice(tmp_path, database_url, 40, master)


def test_a_500_meter_fleet_with_faults_read_twice_stores_everything_once(
    tmp_path: Path, database_url: str, master: SecretBytes
) -> None:
    _read_twice(tmp_path, database_url, 500, master)


def _headend(url: str, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "dlmskit", "headend", "--db", url, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "DLMSKIT_MASTER_KEY": MASTER},
    )


def _counters(url: str) -> dict[tuple[str, str], int]:
    rows = _rows(url, "SELECT meter, key_id, next_free FROM invocation_counters")
    return {(meter, key): int(value) for meter, key, value in rows}


def test_a_killed_headend_restarted_loses_nothing_duplicates_nothing_and_reuses_no_counter(
    tmp_path: Path, database_url: str, master: SecretBytes
) -> None:
    fleet = FleetProcess(tmp_path, 24, "--delay", "0.05", "--jitter", "0.05", "--time-speed", "900")
    database = database_url
    try:
        inventory = _open(database, fleet, master, timeout=3.0)
        inventory.put_plan(PLAN.name, PLAN.to_mapping())
        inventory.store.close()
        run = ("run", PLAN.name, "--group", "fleet", "--max-sessions", "4", "--lease-seconds", "3")
        first = _headend(database, *run)
        deadline = time.monotonic() + 120
        while True:  # kill it once some meters are done and others are under way
            ((done,),) = _rows(database, "SELECT count(*) FROM jobs")
            if done >= 6 or first.poll() is not None or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        first.send_signal(signal.SIGKILL)
        first.wait()
        assert first.returncode == -signal.SIGKILL, "the head-end ended before it could be killed"
        before = _counters(database)
        ((held,),) = _rows(database, "SELECT count(*) FROM leases")
        assert held > 0  # the dead head-end's leases are still there: the restart waits for them to expire
        second = _headend(database, *run, "--retries", "6")
        assert second.wait(timeout=240) == 0, second.stderr.read().decode()  # type: ignore[union-attr]
    finally:
        fleet.stop()
    after = _counters(database)
    assert all(after[key] > value for key, value in before.items())
    outcomes = _rows(database, "SELECT meter, outcome FROM jobs WHERE id > (SELECT max(id) FROM jobs) - 24")
    readings = dict(_rows(database, "SELECT meter, count(*) FROM readings GROUP BY meter"))
    # Every meter accepted the restarted head-end's counters: a reused counter is refused by the meter.
    assert sorted(outcomes) == sorted((m, "ok") for m in fleet.behaviour)
    assert set(readings) == set(fleet.behaviour)
    profiles = _profile_times(database)
    assert set(profiles) == set(fleet.behaviour)
    for times in profiles.values():
        _assert_no_gap(times)


def test_the_key_store_never_shows_a_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fleet = FleetProcess(tmp_path, 3, "--faulty", "0.34")
    database = tmp_path / "headend.sqlite"
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("DLMSKIT_MASTER_KEY", raising=False)
    text = fleet.inventory.read_text(encoding="utf-8")
    keys = re.findall(r'_key = "([0-9A-F]{32})"', text)
    assert len(keys) == 6
    output = []
    try:
        base = ["headend", "--db", f"sqlite:///{database}"]  # SQLite only: the file's bytes are searched
        for args in (
            ["init"],
            ["import", str(fleet.inventory)],
            ["meters"],
            ["templates"],
            ["run", "registers", "--retries", "0"],
            ["status"],
            ["export", "inventory", "--format", "toml"],
            ["export", "inventory"],
            ["export", "readings"],
            ["export", "jobs"],
        ):
            result = CliRunner().invoke(cli, base + args)
            assert result.exit_code == 0, (args, result.output)
            output.append(result.output)
    finally:
        fleet.stop()
    shown = "\n".join(output) + caplog.text
    assert "ok" in output[4] and "security" in output[4]
    raw = database.read_bytes() + b"".join(p.read_bytes() for p in tmp_path.glob("headend.sqlite-*"))
    for key in keys:
        assert key.lower() not in shown.lower()
        assert key.encode() not in raw.upper() and bytes.fromhex(key) not in raw
    master_text = (tmp_path / "data" / "dlmskit" / "headend.key").read_text(encoding="ascii").strip()
    assert master_text not in shown and master_text.encode() not in raw
