"""The head-end's operator features: the master key rotated, an inventory imported in one transaction, old
job records and frame traces pruned, and a template that has its meters' sessions traced.

Real databases (an SQLite file and the throw-away PostgreSQL of conftest.py), the CLI through click's runner,
and for traces dlmskit's default simulated meter over TCP.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

import dlmskit.cli.commands  # noqa: F401  (registers the commands)
from dlmskit.cli.main import cli
from dlmskit.errors import ConfigurationError, SecurityError
from dlmskit.headend import Engine, EngineLimits, Inventory, KeyStore, ReadPlan, Store
from dlmskit.headend.store import frame_traces, jobs, keys, meters, templates, utc
from dlmskit.security.keys import SecretBytes
from dlmskit.simulator import SimulatedMeter, SimulatorThread

OLD = SecretBytes(bytes(range(32)), label="master key")
NEW = SecretBytes(bytes(range(100, 132)), label="master key")
EK = "000102030405060708090A0B0C0D0E0F"  # the simulator's documented demo keys (docs/simulator.md)
AK = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    found = Store(database_url)
    yield found
    found.close()


def _sealed(store: Store) -> list[tuple[Any, ...]]:
    with store.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(sa.select(keys).order_by(keys.c.meter, keys.c.name))]


def _key(index: int) -> bytes:
    return index.to_bytes(16, "big")


# -- master-key rotation -------------------------------------------------------------------------------------


def test_the_master_key_rotates_and_the_old_one_opens_nothing_after(store: Store, tmp_path: Path) -> None:
    old = KeyStore(store, OLD)
    old.put("m1", "block_cipher_key", EK)
    old.put("m1", "authentication_key", AK)
    old.put("m1", "block_cipher_key", EK)  # version 2
    old.put("m2", "password", "12345678")
    old.put("template:t", "push_dedicated_key", EK)
    before = len(old.changes())

    assert old.rotate_master(NEW) == 4
    new = KeyStore(store, NEW)
    assert new.all_for("m1")["block_cipher_key"].reveal() == bytes.fromhex(EK)
    assert new.all_for("m1")["authentication_key"].reveal() == bytes.fromhex(AK)
    assert new.get("m2", "password").reveal() == b"12345678"  # type: ignore[union-attr]
    assert new.get("template:t", "push_dedicated_key").reveal() == bytes.fromhex(EK)  # type: ignore[union-attr]
    assert old.get("m2", "password").reveal() == b"12345678"  # type: ignore[union-attr]  (this one rotated)
    with pytest.raises(SecurityError, match="does not open with this master key"):
        KeyStore(store, OLD).get("m1", "block_cipher_key")
    rotated = old.changes()[before:]
    assert {(c["meter"], c["name"], c["version"], c["action"]) for c in rotated} == {
        ("m1", "block_cipher_key", 2, "rotate-master"),
        ("m1", "authentication_key", 1, "rotate-master"),
        ("m2", "password", 1, "rotate-master"),
        ("template:t", "push_dedicated_key", 1, "rotate-master"),
    }

    # The same through the CLI: old key from the environment, new one from a file, then only the new one works.
    new_file = tmp_path / "new.key"
    new_file.write_text(bytes(range(200, 232)).hex() + "\n", encoding="ascii")
    base = ["headend", "--db", store.url]
    env = {"DLMSKIT_MASTER_KEY": NEW.reveal().hex()}
    done = CliRunner().invoke(cli, [*base, "keys", "rotate-master", "--new-key-file", str(new_file)], env=env)
    assert done.exit_code == 0, done.output
    assert "4 key(s) sealed again" in done.output
    assert EK not in done.output and NEW.reveal().hex() not in done.output
    third = SecretBytes(bytes(range(200, 232)), label="master key")
    assert KeyStore(store, third).get("m1", "authentication_key").reveal() == bytes.fromhex(AK)  # type: ignore[union-attr]
    again = CliRunner().invoke(
        cli, [*base, "keys", "rotate-master", "--new-key-file", str(new_file)], env=env
    )
    assert again.exit_code == 0, again.output  # run again: every key already under the new one, none touched
    assert "0 key(s) sealed again" in again.output
    assert KeyStore(store, third).get("m1", "authentication_key").reveal() == bytes.fromhex(AK)  # type: ignore[union-attr]
    wrong = CliRunner().invoke(
        cli,
        [*base, "keys", "rotate-master"],
        env={**env, "DLMSKIT_NEW_MASTER_KEY": OLD.reveal().hex()},  # neither key opens them
    )
    assert wrong.exit_code != 0 and "nothing changed" in wrong.output
    same = CliRunner().invoke(
        cli,
        [*base, "--key-file", str(new_file), "keys", "rotate-master"],
        env={"DLMSKIT_NEW_MASTER_KEY": third.reveal().hex()},
    )
    assert same.exit_code != 0 and "is the current one" in same.output


def test_a_rotation_changes_nothing_when_a_key_does_not_open_and_a_failed_batch_changes_nothing(
    store: Store,
) -> None:
    old = KeyStore(store, OLD)
    with store.engine.begin() as connection:  # more keys than one statement takes (500)
        old.put_many(connection, [(f"m{i:04d}", "block_cipher_key", _key(i)) for i in range(1, 1201)])
    third = SecretBytes(bytes(range(50, 82)), label="master key")
    KeyStore(store, third).put("stranger", "authentication_key", AK)  # sealed under another master key
    sealed, changes = _sealed(store), len(old.changes())
    with pytest.raises(
        SecurityError, match=r"1 key\(s\) open with neither.*stranger/authentication_key.*nothing changed"
    ):
        old.rotate_master(NEW)
    assert _sealed(store) == sealed and len(old.changes()) == changes

    KeyStore(store, third).delete("stranger", "authentication_key")
    sealed, changes = _sealed(store), len(old.changes())
    updates = 0

    def crash(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        nonlocal updates
        if statement.lstrip().upper().startswith("UPDATE KEYS"):
            updates += 1
            if updates == 2:  # the second batch of 500: half way through
                raise RuntimeError("power cut")

    sa.event.listen(store.engine, "before_cursor_execute", crash)
    try:
        with pytest.raises(RuntimeError, match="power cut"):
            old.rotate_master(NEW)
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", crash)
    assert updates == 2
    # The first batch stays done (500 keys under the new master key, recorded), the second changed nothing.
    assert len(old.changes()) == changes + 500
    after = _sealed(store)
    assert after[500:] == sealed[500:] and all(a != b for a, b in zip(after[:500], sealed[:500], strict=True))
    assert old.get("m1200", "block_cipher_key").reveal() == _key(1200)  # type: ignore[union-attr]
    assert KeyStore(store, NEW).get("m0001", "block_cipher_key").reveal() == _key(1)  # type: ignore[union-attr]
    with pytest.raises(SecurityError):
        KeyStore(store, NEW).get("m0501", "block_cipher_key")


# -- bulk import ---------------------------------------------------------------------------------------------


def test_a_large_inventory_imports_in_one_transaction_and_a_wrong_row_imports_nothing(
    store: Store, tmp_path: Path
) -> None:
    inventory = Inventory(store, KeyStore(store, OLD))
    header = "name,template,groups,port,server_physical,block_cipher_key,authentication_key\n"
    lines = [
        f"M{i:05d},gmac,fleet;north,{40000 + i},{16 + i % 100},{_key(i).hex()},{AK}\n" for i in range(1, 1201)
    ]
    file = tmp_path / "fleet.csv"
    file.write_text(header + "".join(lines), encoding="utf-8")
    report = inventory.import_file(file)
    assert (report.meters, report.keys) == (1200, 2400)
    assert store.count(meters) == 1200 and store.count(keys) == 2400
    found = inventory.meter("M00777")
    assert found.settings == {"port": 40777, "server_physical": 93} and found.groups == ("fleet", "north")
    assert inventory.keystore is not None
    assert inventory.keystore.get("M00777", "block_cipher_key").reveal() == _key(777)  # type: ignore[union-attr]
    assert inventory.import_file(file).meters == 1200  # again: replaced, each key a new version
    assert {c["version"] for c in inventory.keystore.changes("M01200")} == {1, 2}

    wrong = list(lines)
    wrong[5] = "M00006,gmac,fleet,40006,x16,,\n"  # line 7 of the file
    wrong[7] = f"M00008,gmac,fleet,40008,16,{'00' * 15},\n"  # line 9: a key one byte short
    wrong.append("M99999,gmac,fleet,40009,16,,\n")
    bad = tmp_path / "bad.csv"
    bad.write_text(header + "".join(wrong), encoding="utf-8")
    changes = len(inventory.keystore.changes())
    with pytest.raises(ConfigurationError) as raised:
        inventory.import_file(bad)
    message = str(raised.value)
    assert "line 7 (meter M00006): server_physical must be a number" in message
    assert "line 9 (meter M00008): block_cipher_key must be 16 bytes" in message
    assert message.endswith("nothing imported") and "00" * 15 not in message
    assert store.count(meters) == 1200 and len(inventory.keystore.changes()) == changes

    toml = tmp_path / "fleet.toml"
    toml.write_text(
        "[template.new]\nlink = 'wrapper'\n\n[plan.p]\nregisters = ['1.0.1.8.0.255']\n\n"
        "[[meter]]\nname = 'T1'\ntemplate = 'new'\n\n[[meter]]\nname = 'T2'\ncolour = 'red'\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigurationError, match=r"meter 2 \(meter T2\): unknown setting 'colour'"):
        inventory.import_file(toml)
    assert inventory.templates() == {} and inventory.plan_bodies() == {}  # all or nothing: the template too
    assert store.count(templates) == 0


# -- pruning -------------------------------------------------------------------------------------------------


def _job(store: Store, meter: str, finished: _dt.datetime, frames: int = 0) -> None:
    if frames:
        at = finished.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        rows = [
            {"meter": meter, "session": at, "number": n, "direction": "tx", "at": at, "frame": "7E"}
            for n in range(1, frames + 1)
        ]
        store.save_frame_traces(meter, rows)
    store.record_job(
        meter=meter,
        plan="p",
        started_at=utc(finished),
        finished_at=utc(finished),
        outcome="ok",
        reason="",
        attempts=1,
        stored=0,
    )


def test_old_job_records_and_traces_are_pruned_in_batches_each_meters_latest_kept(
    store: Store, tmp_path: Path
) -> None:
    now = _dt.datetime.now(_dt.timezone.utc)
    for day in (200, 150, 120, 100, 10, 1):
        _job(store, "a", now - _dt.timedelta(days=day), frames=2)
    for day in (300, 200):
        _job(store, "b", now - _dt.timedelta(days=day), frames=1)  # b's latest is old: it stays
    _job(store, "c", now - _dt.timedelta(days=5), frames=3)
    with store.engine.connect() as connection:
        latest_b = connection.execute(sa.select(sa.func.max(jobs.c.id)).where(jobs.c.meter == "b")).scalar()

    report = store.prune(_dt.timedelta(days=90), batch=2)
    assert (report.jobs, report.frames) == (5, 0)  # a's four old jobs, b's older one
    with store.engine.connect() as connection:
        left = connection.execute(sa.select(jobs.c.meter, jobs.c.id).order_by(jobs.c.id)).all()
    assert [m for m, _ in left] == ["a", "a", "b", "c"] and (("b", latest_b) in [tuple(r) for r in left])
    assert store.count(frame_traces) == 2 * 2 + 1 + 3  # the frames of the pruned jobs went with them
    assert store.outcome_counts() == {"ok": 4}

    report = store.prune(traces_older_than=_dt.timedelta(days=7), batch=2)
    assert (report.jobs, report.frames) == (0, 2 + 1)  # a's 10-day-old job's frames, b's last job's frame
    assert store.count(frame_traces) == 2 + 3 and store.count(jobs) == 4

    base = ["headend", "--db", store.url]
    done = CliRunner().invoke(cli, [*base, "prune", "--jobs-older-than", "3d", "--traces-older-than", "2d"])
    assert done.exit_code == 0, done.output
    assert "1 job record(s) older than 3 day(s) deleted" in done.output  # c's is its latest; a's 10-day one
    assert "3 traced frame(s) deleted" in done.output
    assert store.count(jobs) == 3 and store.count(frame_traces) == 2
    nothing = CliRunner().invoke(cli, [*base, "prune"])
    assert nothing.exit_code != 0 and "--jobs-older-than" in nothing.output
    wrong = CliRunner().invoke(cli, [*base, "prune", "--jobs-older-than", "ninety days"])
    assert wrong.exit_code != 0 and "is not an age" in wrong.output
    assert "--retention" in CliRunner().invoke(cli, [*base, "serve", "--help"]).output


# -- traces asked by a template ------------------------------------------------------------------------------


@pytest.fixture
def running() -> Iterator[tuple[SimulatorThread, SimulatorThread]]:
    """Two meters (each keeps the invocation counters it has seen: one head-end meter name each)."""
    pair = (
        SimulatorThread(SimulatedMeter(), link="wrapper", port=0),
        SimulatorThread(SimulatedMeter(), link="wrapper", port=0),
    )
    yield pair
    for meter in pair:
        meter.stop()


def test_a_template_that_says_trace_frames_has_its_meters_sessions_traced(
    store: Store, running: tuple[SimulatorThread, SimulatorThread], tmp_path: Path
) -> None:
    inventory = Inventory(store, KeyStore(store, OLD))
    gmac = {"link": "wrapper", "client_address": 1, "authentication": "gmac"}
    file = tmp_path / "fleet.toml"
    file.write_text(
        "[template.traced]\nlink = 'wrapper'\nclient_address = 1\nauthentication = 'gmac'\ntrace_frames = true\n\n"
        "[template.quiet]\nlink = 'wrapper'\nclient_address = 1\nauthentication = 'gmac'\n\n"
        f"[[meter]]\nname = 'T'\ntemplate = 'traced'\nport = {running[0].port}\n"
        f"block_cipher_key = '{EK}'\nauthentication_key = '{AK}'\n\n"
        f"[[meter]]\nname = 'Q'\ntemplate = 'quiet'\nport = {running[1].port}\n"
        f"block_cipher_key = '{EK}'\nauthentication_key = '{AK}'\n",
        encoding="utf-8",
    )
    inventory.import_file(file)
    assert inventory.templates()["traced"] == {**gmac, "trace_frames": "ciphered"}
    assert inventory.meter("T").trace_frames == "ciphered" and inventory.meter("Q").trace_frames is None
    assert 'trace_frames = "ciphered"' in inventory.export_toml()
    with pytest.raises(ConfigurationError, match="trace_frames must be true, false or one of"):
        inventory.put_template("x", {"trace_frames": "plain"})

    plan = ReadPlan("p", registers=("1.0.1.8.0.255",), clock=False, commands=False)  # no trace_frames
    outcomes = asyncio.run(Engine(inventory, EngineLimits(retries=0)).run(plan, inventory.meters()))
    assert [o.outcome for o in outcomes] == ["ok", "ok"], outcomes
    with store.engine.connect() as connection:
        job = dict(connection.execute(sa.select(jobs.c.meter, jobs.c.id)).all())  # type: ignore[arg-type]
    traced = store.frame_traces_of(job["T"])
    assert [r["direction"] for r in traced[:2]] == ["tx", "rx"] and all(r["decoded"] is None for r in traced)
    assert store.frame_traces_of(job["Q"]) == []
    assert store.count(frame_traces) == len(traced)
