"""What the head-end stores from a real (simulated) meter and how it comes out again: profile values scaled
with their units beside the raw ones, frame traces tied to their job (ciphered as sent, an LLS password
never kept, plaintext only when asked), their retention, and exports as CSV and Parquet read back.

The meter is dlmskit's default model served over TCP from a thread; the database an SQLite file and a
throw-away PostgreSQL server (``database_url``, conftest.py).
"""

from __future__ import annotations

import asyncio
import csv
import datetime as _dt
import decimal
import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

import dlmskit.cli.commands  # noqa: F401  (registers the commands)
from dlmskit.cli.main import cli
from dlmskit.errors import ConfigurationError
from dlmskit.headend import Engine, EngineLimits, Inventory, KeyStore, Meter, ReadPlan, Store
from dlmskit.headend.export import export_parquet
from dlmskit.headend.store import frame_traces, jobs, profile_rows
from dlmskit.headend.traces import prune
from dlmskit.security.keys import SecretBytes
from dlmskit.simulator import SimulatedMeter, SimulatorThread

PINNED = _dt.datetime(2024, 3, 1, 12, 7, 30, tzinfo=_dt.timezone.utc)
# The default model's documented demo secrets (docs/simulator.md; EK and AK are the Green Book example keys).
EK = "000102030405060708090A0B0C0D0E0F"
AK = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"
PASSWORD = "12345678"
PROFILE = "1.0.99.1.0.255"
VOLTAGE = "1.0.32.7.0.255"  # scaler -1, unit V (35) in the default model's load profile


@pytest.fixture
def running() -> Iterator[SimulatorThread]:
    meter = SimulatorThread(SimulatedMeter(now=lambda: PINNED), link="wrapper", port=0)
    yield meter
    meter.stop()


@pytest.fixture
def inventory(database_url: str, running: SimulatorThread) -> Iterator[Inventory]:
    store = Store(database_url)
    found = Inventory(store, KeyStore(store, SecretBytes(bytes(range(32)), label="master key")))
    where = {"port": running.port, "link": "wrapper"}
    found.put_meter(Meter("gmac", settings={**where, "client_address": 1, "authentication": "gmac"}))
    assert found.keystore is not None
    found.keystore.put("gmac", "block_cipher_key", EK)
    found.keystore.put("gmac", "authentication_key", AK)
    found.put_meter(Meter("lls", settings={**where, "client_address": 32, "authentication": "low"}))
    found.keystore.put("lls", "password", PASSWORD)
    yield found
    store.close()


def _run(inventory: Inventory, plan: ReadPlan, *names: str) -> dict[str, int]:
    chosen = [inventory.meter(name) for name in names]
    outcomes = asyncio.run(Engine(inventory, EngineLimits(retries=0)).run(plan, chosen))
    assert [o.outcome for o in outcomes] == ["ok"] * len(names), outcomes
    with inventory.store.engine.connect() as connection:
        found = connection.execute(sa.select(jobs.c.meter, sa.func.max(jobs.c.id)).group_by(jobs.c.meter))
        return {str(meter): int(job) for meter, job in found}


def test_profile_values_are_stored_scaled_with_their_unit_beside_the_raw_ones(inventory: Inventory) -> None:
    plan = ReadPlan("p", profiles=(PROFILE,), initial_hours=1, commands=False)
    _run(inventory, plan, "gmac")
    with inventory.store.engine.connect() as connection:
        rows = connection.execute(sa.select(profile_rows)).mappings().all()
    assert len(rows) == 4  # 11:15 to 12:00, every quarter of an hour
    for row in rows:
        raw, scaled = json.loads(row["row"]), json.loads(row["scaled"])
        assert set(raw) == set(scaled)
        assert scaled[VOLTAGE] == {"value": str(decimal.Decimal(raw[VOLTAGE]).scaleb(-1)), "unit": "V"}
        assert scaled["1.0.1.8.0.255"] == {"value": str(raw["1.0.1.8.0.255"]), "unit": "Wh"}


def test_frames_are_traced_as_sent_tied_to_their_job_and_never_keep_a_password(
    inventory: Inventory, tmp_path: Path
) -> None:
    plan = ReadPlan("p", registers=("1.0.1.8.0.255",), clock=False, commands=False, trace_frames="ciphered")
    job = _run(inventory, plan, "gmac", "lls")
    store = inventory.store
    for meter in ("gmac", "lls"):
        rows = store.frame_traces_of(job[meter])
        assert [r["direction"] for r in rows[:2]] == ["tx", "rx"] and len(rows) >= 4
        assert [r["number"] for r in rows] == list(range(1, len(rows) + 1))
        assert all(r["meter"] == meter and r["decoded"] is None for r in rows)
    stored = " ".join(r["frame"] for m in ("gmac", "lls") for r in store.frame_traces_of(job[m]))
    assert PASSWORD.encode().hex().upper() not in stored and "2A" * len(PASSWORD) in stored
    assert EK not in stored and AK not in stored
    with store.engine.connect() as connection:
        assert (
            connection.execute(sa.select(sa.func.count()).where(frame_traces.c.job.is_(None))).scalar() == 0
        )

    base = ["headend", "--db", store.url, "--key-file", str(tmp_path / "key")]
    shown = CliRunner().invoke(cli, [*base, "trace", str(job["gmac"])])
    assert shown.exit_code == 0, shown.output
    assert "AssociationRequest" in shown.output and "glo_InitiateRequest" in shown.output
    assert "deciphered" not in shown.output  # ciphered as sent: no plaintext in the database
    master = {"DLMSKIT_MASTER_KEY": bytes(range(32)).hex()}
    on_screen = CliRunner().invoke(cli, [*base, "trace", str(job["gmac"]), "--decrypt"], env=master)
    assert on_screen.exit_code == 0, on_screen.output
    assert "deciphered with the given keys" in on_screen.output and "GetRequest" in on_screen.output
    assert all(r["decoded"] is None for r in store.frame_traces_of(job["gmac"]))  # shown, not stored
    assert "job 999" in CliRunner().invoke(cli, [*base, "trace", "999"]).output


def test_decrypted_traces_only_when_asked_and_pruned_after_their_days(inventory: Inventory) -> None:
    plan = ReadPlan("p", registers=("1.0.1.8.0.255",), clock=False, commands=False, trace_frames="decrypted")
    job = _run(inventory, plan, "gmac")["gmac"]
    store = inventory.store
    rows = store.frame_traces_of(job)
    decoded = "\n".join(r["decoded"] for r in rows)
    assert "deciphered with the given keys" in decoded and "GetRequest" in decoded
    assert EK not in decoded and AK not in decoded
    with pytest.raises(ConfigurationError, match="trace_frames must be one of ciphered, decrypted"):
        ReadPlan("p", trace_frames="plain")

    old = [{**row, "id": None, "job": None, "at": "2020-01-01T00:00:00.000Z"} for row in rows[:2]]
    store.save_frame_traces("gmac", [{k: v for k, v in row.items() if k != "id"} for row in old])
    assert prune(store, 30) == 2
    assert len(store.frame_traces_of(job)) == len(rows) and store.count(frame_traces) == len(rows)


def test_exports_as_csv_and_as_parquet_with_typed_columns(inventory: Inventory, tmp_path: Path) -> None:
    plan = ReadPlan("p", registers=("1.0.1.8.0.255",), profiles=(PROFILE,), initial_hours=1, commands=False)
    _run(inventory, plan, "gmac")
    store = inventory.store
    base = ["headend", "--db", store.url, "--key-file", str(tmp_path / "key")]

    result = CliRunner().invoke(cli, [*base, "export", "profiles"])
    assert result.exit_code == 0, result.output
    table = list(csv.DictReader(io.StringIO(result.output)))
    assert len(table) == 4 and json.loads(table[0]["scaled"])[VOLTAGE]["unit"] == "V"  # raw and scaled

    for what in ("readings", "profiles", "events", "jobs"):
        target = tmp_path / f"{what}.parquet"
        result = CliRunner().invoke(cli, [*base, "export", what, "--format", "parquet", "-o", str(target)])
        assert result.exit_code == 0, result.output
    readings = pq.read_table(tmp_path / "readings.parquet")
    assert str(readings.schema.field("capture_time").type) == "timestamp[ms, tz=UTC]"
    (reading,) = readings.to_pylist()
    assert reading["capture_time"] == PINNED and reading["unit"] == "Wh"
    assert reading["value"] == float(reading["value_text"]) and isinstance(reading["value"], float)
    values = pq.read_table(tmp_path / "profiles.parquet").to_pylist()
    voltages = [v for v in values if v["column"] == VOLTAGE]
    assert len(voltages) == 4 and len(values) == 12  # three captured values a row
    for value in voltages:
        assert value["unit"] == "V" and value["value"] == pytest.approx(int(value["raw"]) / 10)
        assert value["value_text"] == str(decimal.Decimal(value["raw"]).scaleb(-1))
    assert pq.read_table(tmp_path / "events.parquet").num_rows == 0
    (job,) = pq.read_table(tmp_path / "jobs.parquet").to_pylist()
    assert job["outcome"] == "ok" and job["started_at"].tzinfo is not None and job["attempts"] == 1

    result = CliRunner().invoke(cli, [*base, "export", "readings", "--format", "parquet"])
    assert result.exit_code != 0 and "give -o FILE.parquet" in result.output


def test_a_parquet_export_without_pyarrow_names_the_extra(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if it were not installed
    store = Store(database_url)
    with pytest.raises(ConfigurationError, match=r"pip install 'dlmskit\[parquet\]'"):
        export_parquet(store, "readings", tmp_path / "r.parquet")
    store.close()


def test_the_clock_is_set_beyond_the_drift_and_commands_end_with_their_outcome_in_words(
    database_url: str, tmp_path: Path
) -> None:
    token = "1234 5678 9012 3456 7890"  # the default model's tamper token (docs/simulator.md)
    meter = SimulatorThread(SimulatedMeter(now=lambda: PINNED, tamper=True), link="wrapper", port=0)
    store = Store(database_url)
    try:
        inventory = Inventory(store, KeyStore(store, SecretBytes(bytes(range(32)), label="master key")))
        inventory.put_meter(
            Meter(
                "gmac",
                settings={
                    "port": meter.port,
                    "link": "wrapper",
                    "client_address": 1,
                    "authentication": "gmac",
                },
            )
        )
        assert inventory.keystore is not None
        inventory.keystore.put("gmac", "block_cipher_key", EK)
        inventory.keystore.put("gmac", "authentication_key", AK)
        first, again = (
            store.queue_command("gmac", "token", token),
            store.queue_command("gmac", "token", token),
        )
        plan = ReadPlan("p", max_drift=60)
        engine = Engine(inventory, EngineLimits(retries=0))
        (set_now,) = asyncio.run(engine.run(plan, inventory.meters()))
        assert set_now.report is not None and set_now.report.clock_set  # the meter's clock is years behind
        (later,) = asyncio.run(engine.run(plan, inventory.meters()))
        assert later.report is not None and not later.report.clock_set and abs(later.report.drift or 0) < 60
        with store.engine.connect() as connection:
            done = {
                row.id: (row.state, row.outcome)
                for row in connection.execute(sa.text("SELECT id, state, outcome FROM commands"))
            }
        assert done[first] == ("done", "token-execution-ok (3): the token was accepted and carried out")
        assert done[again][0] == "failed" and done[again][1].startswith("validation-result-failure (6)")
        base = ["headend", "--db", database_url, "--key-file", str(tmp_path / "key")]
        refused = CliRunner().invoke(cli, [*base, "command", "gmac", "token"])
        assert refused.exit_code != 0 and "needs the token" in refused.output
    finally:
        store.close()
        meter.stop()


def test_a_workers_fenced_view_ties_the_traces_of_its_sessions_to_its_job(database_url: str) -> None:
    store = Store(database_url)
    view = store.fenced("m", 7)  # what a worker on Redis writes through
    frame = {"meter": "m", "session": "2026-01-01T00:00:00.000001Z", "number": 1, "direction": "tx"}
    view.save_frame_traces("m", [{**frame, "at": "2026-01-01T00:00:00.001Z", "frame": "00", "decoded": None}])
    view.record_job(
        meter="m", plan="p", started_at="2026-01-01T00:00:00Z", finished_at="2026-01-01T00:00:01Z",
        outcome="ok", reason="", attempts=1, stored=0,
    )  # fmt: skip
    with store.engine.connect() as connection:
        job = connection.execute(sa.select(sa.func.max(jobs.c.id))).scalar()
    assert [row["frame"] for row in store.frame_traces_of(int(job))] == ["00"]
    store.close()


def test_sessions_end_without_an_rlrq_unless_the_meter_asks_for_one(inventory: Inventory) -> None:
    # The head-end's default: the wrapper's TCP close releases the association; release_request = true
    # (here the meter's own setting; a template's works alike) sends the RLRQ first.
    plan = ReadPlan("p", registers=("1.0.1.8.0.255",), clock=False, commands=False, trace_frames="ciphered")
    store = inventory.store

    def sent_apdu_tags(job: int) -> list[str]:
        return [r["frame"][16:18] for r in store.frame_traces_of(job) if r["direction"] == "tx"]

    for _ in range(2):  # the meter takes the next association as usual
        assert sent_apdu_tags(_run(inventory, plan, "gmac")["gmac"]) == ["60", "CB", "C8"]
    where = {"port": inventory.meter("gmac").settings["port"], "link": "wrapper"}
    inventory.put_meter(
        Meter(
            "gmac", settings={**where, "client_address": 1, "authentication": "gmac", "release_request": True}
        )
    )
    assert sent_apdu_tags(_run(inventory, plan, "gmac")["gmac"]) == ["60", "CB", "C8", "62"]
