"""The head-end's store, key store, invocation counters, plans, sans-I/O job and schedules.

Everything that touches the database runs twice: on an SQLite file and on a throw-away PostgreSQL server
(``database_url`` in conftest.py).
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import logging
import multiprocessing
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

import dlmskit.cli.commands  # noqa: F401  (registers the commands)
from dlmskit.cli.main import cli
from dlmskit.errors import ConfigurationError, SecurityError
from dlmskit.headend import (
    DatabaseCounterStore,
    Engine,
    EngineLimits,
    Inventory,
    KeyStore,
    Meter,
    ReadPlan,
    Schedule,
    Store,
    create_key_file,
    load_master_key,
    meter_job,
    next_run,
)
from dlmskit.headend.counters import advance_counters
from dlmskit.headend.job import (
    LastCaptureTime,
    ReadClock,
    ReadProfile,
    ReadRegister,
    RunCommand,
    SaveReadings,
    SetClock,
)
from dlmskit.headend.store import SCHEMA_VERSION, profile_rows, readings
from dlmskit.security.keys import SecretBytes

UTC = _dt.timezone.utc
TITLE = bytes.fromhex("444C4B0000000001")
EK = "000102030405060708090A0B0C0D0E0F"


@pytest.fixture
def store(database_url: str) -> Store:
    found = Store(database_url)
    yield found
    found.close()


def _master() -> SecretBytes:
    return SecretBytes(bytes(range(32)), label="master key")


def test_migrations_run_once_and_record_the_version(database_url: str) -> None:
    url = database_url
    first = Store(url, migrate=False)
    assert first.version() == 0
    assert first.migrate() and first.version() == SCHEMA_VERSION
    assert first.migrate() == []
    first.close()
    if not url.startswith("sqlite"):
        return
    with sa.create_engine(url).connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_readings_and_profile_rows_are_stored_once(store: Store) -> None:
    row = {
        "meter": "m",
        "logical_name": "1.0.1.8.0.255",
        "attribute": 2,
        "capture_time": "2026-01-01T00:00:00Z",
        "value": "12.5",
        "unit": "kWh",
    }
    assert store.save_readings([row]) == 1
    assert store.save_readings([row, {**row, "capture_time": "2026-01-01T00:15:00Z"}]) == 1
    assert store.count(readings) == 2
    rows = [
        {"meter": "m", "profile": "1.0.99.1.0.255", "capture_time": f"2026-01-01T00:{m:02d}:00Z", "row": "{}"}
        for m in (0, 15, 30)
    ]
    assert store.save_profile_rows(profile_rows, rows[:2]) == 2
    assert store.save_profile_rows(profile_rows, rows) == 1
    last = store.last_capture_time(profile_rows, "m", "profile", "1.0.99.1.0.255")
    assert last == _dt.datetime(2026, 1, 1, 0, 30, tzinfo=UTC)


def test_a_lease_is_held_by_one_owner_until_it_expires(store: Store) -> None:
    assert store.acquire_lease("m", "a", 60)
    assert not store.acquire_lease("m", "b", 60)
    assert store.acquire_lease("m", "a", 60)  # renewed by its owner
    store.release_lease("m", "a")
    assert store.acquire_lease("m", "b", -1)  # expired at once
    assert store.acquire_lease("m", "a", 60)


def test_keys_are_sealed_opened_and_their_changes_recorded(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    keystore = KeyStore(store, _master())
    assert keystore.put("m1", "block_cipher_key", EK) == 1
    assert keystore.put("m1", "block_cipher_key", "FF" * 16, action="rotate") == 2
    key = keystore.get("m1", "block_cipher_key")
    assert key is not None and key.reveal() == bytes.fromhex("FF" * 16)
    assert "FF" * 16 not in repr(key) and "FF" * 16 not in repr(keystore)
    with store.engine.connect() as connection:
        sealed = b"".join(bytes(r.sealed) for r in connection.exec_driver_sql("SELECT sealed FROM keys"))
    assert bytes.fromhex("FF" * 16) not in sealed
    assert [(c["name"], c["version"], c["action"]) for c in keystore.changes("m1")] == [
        ("block_cipher_key", 1, "set"),
        ("block_cipher_key", 2, "rotate"),
    ]
    with pytest.raises(SecurityError, match="does not open"):
        KeyStore(store, SecretBytes(bytes(32))).get("m1", "block_cipher_key")
    # A sealed key moved to another meter does not open: the meter's name is authenticated with it.
    with store.engine.begin() as connection:
        connection.exec_driver_sql("UPDATE keys SET meter = 'm2'")
    with pytest.raises(SecurityError):
        keystore.get("m2", "block_cipher_key")
    assert "ff" * 16 not in caplog.text.lower() and EK.lower() not in caplog.text.lower()


def test_the_master_key_comes_from_the_environment_or_a_key_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DLMSKIT_MASTER_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="no master key"):
        load_master_key(None)
    path = create_key_file(tmp_path / "master.key")
    assert path.stat().st_mode & 0o077 == 0
    assert len(load_master_key(path)) == 32
    monkeypatch.setenv("DLMSKIT_MASTER_KEY", "AB" * 32)
    assert load_master_key(path).reveal() == bytes.fromhex("AB" * 32)
    monkeypatch.setenv("DLMSKIT_MASTER_KEY", "AB" * 16)
    with pytest.raises(ConfigurationError, match="64 hex digits"):
        load_master_key(path)


def test_counters_are_reserved_in_blocks_and_never_handed_out_twice(store: Store) -> None:
    first = DatabaseCounterStore(store, "m", block=4)
    assert [first.next(TITLE, "k") for _ in range(5)] == [1, 2, 3, 4, 5]
    assert first.peek(TITLE, "k") == 9
    # A second process (or a restart after a crash) starts after every reserved block.
    second = DatabaseCounterStore(store, "m", block=4)
    assert second.next(TITLE, "k") == 9
    second.advance(TITLE, "k", 100)
    assert second.next(TITLE, "k") == 100
    assert DatabaseCounterStore(store, "other").next(TITLE, "k") == 1  # per meter
    ahead = DatabaseCounterStore(store, "ahead", block=4)
    ahead.prefetch([(TITLE, "k")])  # reserved before the session, in a worker thread
    assert ahead.peek(TITLE, "k") == 5 and ahead.next(TITLE, "k") == 1 and ahead.peek(TITLE, "k") == 5


def test_counters_moved_on_after_a_restore_never_go_back(store: Store, tmp_path: Path) -> None:
    """``dlmskit headend counters --advance N``: after a restore or a failover to an asynchronous standby."""
    for meter in ("a", "b"):
        DatabaseCounterStore(store, meter, block=4).next(TITLE, "k")  # next free 5 in the database
    base = ["headend", "--db", store.url, "--key-file", str(tmp_path / "key")]
    moved = CliRunner().invoke(cli, [*base, "counters", "--advance", "1000", "--meter", "a"])
    assert moved.exit_code == 0, moved.output
    assert "moved 1 counter(s) on by 1000" in moved.output
    assert DatabaseCounterStore(store, "a").peek(TITLE, "k") == 1005
    assert DatabaseCounterStore(store, "b").peek(TITLE, "k") == 5
    assert DatabaseCounterStore(store, "a").next(TITLE, "k") == 1005
    assert advance_counters(store, 0xFFFFFFFF) == 2  # at most one past the last counter there is
    assert DatabaseCounterStore(store, "b").peek(TITLE, "k") == 0x1_0000_0000
    with pytest.raises(SecurityError, match="exhausted"):
        DatabaseCounterStore(store, "b").next(TITLE, "k")
    listed = CliRunner().invoke(cli, [*base, "counters"])
    assert listed.exit_code == 0 and "4294967296" in listed.output
    refused = CliRunner().invoke(cli, [*base, "counters", "--advance", "0"])
    assert refused.exit_code == 2 and "Traceback" not in refused.output


def _take_counters(url: str, count: int, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    store = Store(url, migrate=False)
    counters = DatabaseCounterStore(store, "m", block=3)
    queue.put([counters.next(TITLE, "k") for _ in range(count)])
    store.close()


def test_counters_are_safe_across_processes(database_url: str) -> None:
    url = database_url
    Store(url).close()
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [context.Process(target=_take_counters, args=(url, 50, queue)) for _ in range(3)]
    for worker in workers:
        worker.start()
    taken = [value for _ in workers for value in queue.get(timeout=60)]
    for worker in workers:
        worker.join(timeout=60)
    assert len(taken) == len(set(taken)) == 150


def test_inventory_templates_meters_and_files(store: Store, tmp_path: Path) -> None:
    keystore = KeyStore(store, _master())
    inventory = Inventory(store, keystore)
    file = tmp_path / "fleet.toml"
    file.write_text(
        '[template.gmac]\nclient_address = 1\nauthentication = "gmac"\n\n'
        '[plan.energy]\nregisters = ["1.0.1.8.0.255"]\n\n'
        f'[[meter]]\nname = "A"\ntemplate = "gmac"\ngroups = ["north"]\nport = 4100\nblock_cipher_key = "{EK}"\n'
        f'authentication_key = "{EK}"\n\n[[meter]]\nname = "B"\ntemplate = "gmac"\ngroups = ["south"]\n',
        encoding="utf-8",
    )
    report = inventory.import_file(file)
    assert (report.templates, report.plans, report.meters, report.keys) == (1, 1, 2, 2)
    assert [m.name for m in inventory.meters("north")] == ["A"]
    settings = inventory.settings_of(inventory.meter("A"))
    assert settings["client_address"] == 1 and settings["port"] == 4100
    assert isinstance(settings["block_cipher_key"], SecretBytes)
    exported = inventory.export_toml() + inventory.export_csv()
    assert EK not in exported and "4100" in exported
    csv_file = tmp_path / "more.csv"
    csv_file.write_text(
        "name,template,groups,port,server_physical\nC,gmac,north;east,4101,18\n", encoding="utf-8"
    )
    assert inventory.import_file(csv_file).meters == 1
    assert inventory.meter("C") == Meter(
        "C", "gmac", ("east", "north"), None, {"port": 4101, "server_physical": 18}
    )
    with pytest.raises(ConfigurationError, match="unknown setting"):
        inventory.import_rows([{"name": "D", "colour": "red"}], "x")


def test_the_job_reads_in_order_and_resumes_profiles_from_the_last_stored_time() -> None:
    plan = ReadPlan("p", registers=("1.0.1.8.0.255",), max_drift=30, profiles=("1.0.99.1.0.255",))
    headend_time = _dt.datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    meter_time = headend_time + _dt.timedelta(seconds=90)
    last = _dt.datetime(2026, 1, 1, 11, 0, tzinfo=UTC)
    steps = meter_job(plan, "m", [{"id": 7, "kind": "disconnect", "argument": None}])
    assert steps.send(None) == ReadClock()
    assert steps.send((meter_time, headend_time)) == SetClock()
    assert steps.send(None) == ReadRegister("1.0.1.8.0.255")
    save = steps.send(("12.5", "kWh"))
    assert isinstance(save, SaveReadings)
    assert save.rows[0]["capture_time"] == "2026-01-01T12:00:00Z" and save.rows[0]["unit"] == "kWh"
    assert steps.send(1) == LastCaptureTime("profile", "1.0.99.1.0.255")
    assert steps.send(last) == ReadProfile("profile", "1.0.99.1.0.255", last)
    assert steps.send(4) == RunCommand(7, "disconnect", None)
    with pytest.raises(StopIteration) as done:
        steps.send(("done", "relay open"))
    report = done.value.value
    assert (report.stored, report.drift, report.clock_set) == (5, 90.0, True)


def test_a_first_profile_read_goes_back_the_initial_window() -> None:
    plan = ReadPlan("p", clock=True, event_logs=("0.0.99.98.0.255",), initial_hours=2)
    now = _dt.datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    steps = meter_job(plan, "m")
    steps.send(None)
    assert steps.send((now, now)) == LastCaptureTime("events", "0.0.99.98.0.255")
    assert steps.send(None) == ReadProfile("events", "0.0.99.98.0.255", now - _dt.timedelta(hours=2))


def test_plans_and_schedules_refuse_what_they_do_not_understand() -> None:
    with pytest.raises(ConfigurationError, match="unknown key"):
        ReadPlan.from_mapping("p", {"registers": [], "colour": 1})
    with pytest.raises(ConfigurationError):
        Schedule("p", None, "61 * * * *")
    with pytest.raises(ConfigurationError):
        Schedule("p", None, "@every 5x")


def test_cron_schedules_name_the_next_time() -> None:
    at = _dt.datetime(2026, 1, 1, 10, 7, 30, tzinfo=UTC)  # a Thursday
    assert next_run(Schedule("p", None, "*/15 * * * *"), at) == at.replace(minute=15, second=0)
    assert next_run(Schedule("p", None, "0 2 * * *"), at) == _dt.datetime(2026, 1, 2, 2, 0, tzinfo=UTC)
    assert next_run(Schedule("p", None, "30 6 * * 1"), at) == _dt.datetime(2026, 1, 5, 6, 30, tzinfo=UTC)
    assert next_run(Schedule("p", None, "@every 30s"), at) == at + _dt.timedelta(seconds=30)


async def test_a_meter_leased_by_another_headend_is_reported_busy(store: Store) -> None:
    inventory = Inventory(store, KeyStore(store, _master()))
    inventory.put_meter(Meter("m", settings={"port": 9}))
    assert store.acquire_lease("m", "the other head-end", 60)
    engine = Engine(inventory, EngineLimits(retries=2, backoff=0.001), owner="this head-end")
    (outcome,) = await engine.run(ReadPlan("p", registers=("1.0.1.8.0.255",)), inventory.meters())
    assert (outcome.outcome, outcome.attempts) == ("busy", 3)
    assert store.outcome_counts() == {"busy": 1}
    assert not store.acquire_lease("m", "this head-end", 60)  # still the other's


def test_processes_started_together_migrate_one_after_the_other(database_url: str) -> None:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    starters = [context.Process(target=_open_and_report, args=(database_url, queue)) for _ in range(3)]
    for starter in starters:
        starter.start()
    versions = [queue.get(timeout=60) for _ in starters]
    for starter in starters:
        starter.join(timeout=60)
    assert versions == [SCHEMA_VERSION] * 3
    store = Store(database_url, migrate=False)
    with store.engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM alembic_version")).scalar() == 1
    store.close()


def _open_and_report(url: str, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    store = Store(url)
    queue.put(store.version())
    store.close()


def test_a_command_is_sent_once_even_when_its_job_is_retried(store: Store) -> None:
    first = store.queue_command("m", "disconnect")
    assert store.start_command(first)  # marked before it is sent: its id is its idempotency key
    # The worker died after the meter carried it out: the retried job finds it no longer queued.
    assert not store.start_command(first)
    assert [c["id"] for c in store.queued_commands("m")] == []
    store.finish_command(first, "done", "disconnected")
    assert not store.start_command(first)


async def test_the_engines_session_slots_are_handed_out_in_order_and_survive_cancellation() -> None:
    from dlmskit.headend.engine import _Slots

    slots = _Slots(2)
    order: list[int] = []
    release = asyncio.Event()

    async def job(number: int) -> None:
        async with slots:
            order.append(number)
            await release.wait()

    tasks = [asyncio.ensure_future(job(n)) for n in range(6)]
    await asyncio.sleep(0)
    assert order == [0, 1]
    tasks[3].cancel()  # waiting: skipped when its turn comes, without taking a slot
    await asyncio.sleep(0)
    release.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert order == [0, 1, 2, 4, 5] and tasks[3].cancelled()
    async with slots, slots:  # both slots free again
        pass
