"""The head-end dashboard over a real head-end database, filled by a real head-end run against a real fleet.

A ``dlmskit simulate --fleet`` process (a few meters, some unreachable and some faulty, pushing over UDP)
is read once by the head-end engine while its push listener takes the pushes; a command is queued. The
console then shows that database through ``StoreHeadEnd`` (read-only), and ``dlmskit web --db`` serves it.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from dlmskit.errors import ConfigurationError
from dlmskit.headend import Engine, EngineLimits, Inventory, KeyStore, ReadPlan, Store
from dlmskit.headend.push import PushListener, PushReceiver
from dlmskit.security.keys import SecretBytes
from dlmskit.web import WebConfig, create_app
from dlmskit.web.headend import StoreHeadEnd, open_headend

from .test_browser import CHROMEDRIVER, CHROMIUM, By, _shot
from .test_browser import browser as browser  # the headless Chromium fixture, shared

MASTER = "5A" * 32
PLAN = ReadPlan("dashboard-test", registers=("1.0.1.8.0.255",))


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Filled:
    def __init__(self, database: Path, behaviour: dict[str, str]) -> None:
        self.database = database
        self.url = f"sqlite:///{database}"
        self.behaviour = behaviour


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Filled]:
    """A head-end database after one run of the engine and a few seconds of pushes from a 12-meter fleet."""
    base = tmp_path_factory.mktemp("dashboard")
    inventory_file = base / "fleet.toml"
    push_port = _free_udp_port()
    fleet = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dlmskit",
            "simulate",
            "--fleet",
            "12",
            "--port",
            "0",
            "--inventory",
            str(inventory_file),
            *("--unreachable", "0.2", "--faulty", "0.2", "--seed", "7"),
            *("--push", f"127.0.0.1:{push_port}", "--push-every", "0.5"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while not inventory_file.exists():
            if fleet.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the fleet did not start: {fleet.stderr.read().decode()!r}")  # type: ignore[union-attr]
            time.sleep(0.1)
        text = inventory_file.read_text(encoding="utf-8")
        names = re.findall(r'^name = "([^"]+)"', text, re.M)
        behaviour = dict(zip(names, re.findall(r"^# behaviour: (\w+)", text, re.M), strict=True))
        database = base / "headend.sqlite"
        store = Store(f"sqlite:///{database}")
        inventory = Inventory(store, KeyStore(store, SecretBytes(bytes.fromhex(MASTER))))
        inventory.import_file(inventory_file)
        template = inventory.templates()["fleet-gmac"]
        inventory.put_template("fleet-gmac", {**template, "timeout": 0.5, "connect_timeout": 1.0})
        assert inventory.keystore is not None
        listener = PushListener(PushReceiver(store, inventory, inventory.keystore))

        async def run() -> None:
            await listener.start_udp("127.0.0.1", push_port)
            engine = Engine(inventory, EngineLimits(max_sessions=20, retries=0, job_timeout=30))
            await engine.run(PLAN, inventory.meters())
            while listener.stats.stored == 0 or listener.stats.quarantined == 0:
                await asyncio.sleep(0.1)
            await listener.drain()
            await listener.close()

        asyncio.run(asyncio.wait_for(run(), 120))
        store.queue_command(names[0], "disconnect")
        store.close()
    finally:
        fleet.terminate()
        fleet.wait(timeout=10)
    yield Filled(database, behaviour)


def _client(filled: Filled) -> TestClient:
    return TestClient(
        create_app(WebConfig(headend=StoreHeadEnd(filled.url))), base_url="http://localhost:8059"
    )


def test_the_dashboard_shows_every_meter_with_its_last_reading_and_outcome(filled: Filled) -> None:
    with _client(filled) as client:
        response = client.get("/headend")
    assert response.status_code == 200
    page = response.text
    assert f"From {filled.url}" in page
    meters = page.split('id="meters"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(
        r"<tr><td>([^<]+)</td><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td>", meters
    )
    shown = {name: (where, at, value, outcome) for name, where, at, value, outcome in rows}
    assert set(shown) == set(filled.behaviour)
    for name, kind in filled.behaviour.items():
        where, at, value, outcome = shown[name]
        assert re.fullmatch(r"127\.0\.0\.1:\d+", where)
        if kind == "ok":
            assert outcome == "ok" and value.startswith("1.0.1.8.0.255: ") and value.endswith(" Wh")
            assert at.startswith(str(_dt.datetime.now(_dt.timezone.utc).year))
        else:
            assert at == "never" and value == ""
            assert outcome == {"unreachable": "unreachable", "faulty": "security"}[kind]


def test_the_dashboard_counts_outcomes_and_lists_failures_pushes_quarantine_and_the_queue(
    filled: Filled,
) -> None:
    with sqlite3.connect(filled.database) as connection:
        counts = dict(connection.execute("SELECT outcome, count(*) FROM jobs GROUP BY outcome").fetchall())
        failed = connection.execute("SELECT count(*) FROM jobs WHERE outcome != 'ok'").fetchone()[0]
        pushed = connection.execute("SELECT meter FROM pushes").fetchall()
    assert counts.get("ok") and failed  # the fleet's faults made some jobs fail
    queries = StoreHeadEnd(filled.url)
    try:
        since = _dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(days=1)
        assert {o.reason: o.count for o in queries.outcomes(since)} == counts
        assert not queries.outcomes(_dt.datetime.now(_dt.timezone.utc) + _dt.timedelta(hours=1))
        failures = queries.failures()
        assert len(failures) == failed
        assert {f.meter for f in failures} == {m for m, b in filled.behaviour.items() if b != "ok"}
        assert all(f.job == PLAN.name and f.message for f in failures)
        pushes = queries.pushes(limit=500)
        good = [p for p in pushes if not p.summary.startswith("quarantined: ")]
        bad = [p for p in pushes if p.summary.startswith("quarantined: ")]
        assert {p.meter for p in good} == {m for (m,) in pushed}
        assert {m for (m,) in pushed} <= {m for m, b in filled.behaviour.items() if b == "ok"}
        assert bad and all("does not verify" in p.summary or "replayed" in p.summary for p in bad)
        jobs = queries.jobs()
        assert [(j.job, j.state) for j in jobs] == [("command disconnect", "queued")]
    finally:
        queries.close()
    with _client(filled) as client:
        page = client.get("/headend").text
    assert "command disconnect" in page and "quarantined: " in page
    assert f'<th scope="row">ok</th><td>{counts["ok"]}</td>' in page


def test_the_console_never_writes_to_the_head_end_database(filled: Filled) -> None:
    before = filled.database.read_bytes()
    with _client(filled) as client:
        for _ in range(3):
            assert client.get("/headend").status_code == 200
    assert filled.database.read_bytes() == before


def test_open_headend_default_and_missing_databases(
    filled: Filled, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    queries, said = open_headend(None)
    assert queries is None and "head-end dashboard disabled" in said and str(tmp_path) in said
    with pytest.raises(ConfigurationError, match="no head-end database"):
        open_headend(f"sqlite:///{tmp_path / 'absent.sqlite'}")
    empty = tmp_path / "empty.sqlite"
    sqlite3.connect(empty).close()
    with pytest.raises(ConfigurationError, match="not a head-end database"):
        open_headend(f"sqlite:///{empty}")
    (tmp_path / "dlmskit").mkdir()
    sqlite3.connect(tmp_path / "dlmskit" / "headend.sqlite").close()  # a file, but no head-end's
    queries, said = open_headend(None)
    assert queries is None and "disabled" in said and "not a head-end database" in said
    (tmp_path / "dlmskit" / "headend.sqlite").write_bytes(filled.database.read_bytes())
    queries, said = open_headend(None)
    assert isinstance(queries, StoreHeadEnd) and said.startswith("head-end dashboard from sqlite:///")
    assert len(queries.meters()) == len(filled.behaviour)
    queries.close()


def test_dlmskit_web_db_serves_the_dashboard_and_says_when_it_is_disabled(
    filled: Filled, tmp_path: Path
) -> None:
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path / "state")}
    for arguments, expected in (
        (["--db", filled.url], f"head-end dashboard from {filled.url}"),
        ([], "head-end dashboard disabled: no head-end database at"),
    ):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        process = subprocess.Popen(
            [sys.executable, "-m", "dlmskit", "web", "--web-port", str(port), *arguments],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
        )
        try:
            assert process.stderr is not None
            first = process.stderr.readline().decode()
            assert expected in first
        finally:
            process.terminate()
            process.wait(timeout=10)


@pytest.mark.skipif(
    not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)),
    reason="no headless Chromium (apt-get install chromium chromium-driver, or make sysdeps)",
)
def test_the_enabled_dashboard_in_a_browser(filled: Filled, browser: Any, tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path / "state")}
    process = subprocess.Popen(
        [sys.executable, "-m", "dlmskit", "web", "--web-port", str(port), "--db", filled.url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        assert process.stderr is not None
        process.stderr.readline()  # the dashboard's line, before uvicorn listens
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "dlmskit web did not start listening"
                time.sleep(0.1)
        browser.get(f"http://127.0.0.1:{port}/headend")
        table = browser.find_element(By.ID, "meters")
        rows = table.find_elements(By.CSS_SELECTOR, "tbody tr")
        assert len(rows) == len(filled.behaviour)
        assert "1.0.1.8.0.255: " in table.text and "unreachable" in table.text
        path = _shot(browser, "headend-dashboard")
        assert path.exists()
    finally:
        process.terminate()
        process.wait(timeout=10)
