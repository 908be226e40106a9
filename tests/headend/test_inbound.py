"""Inbound meters: meters that call the head-end (GPRS behind NAT) and are read on the connection they opened.

- two real processes: ``dlmskit simulate --fleet --inbound`` (wrapper; each meter calls, pushes first, then
  serves DLMS on that connection) and ``dlmskit headend serve --inbound``: every good meter identified by its
  push, read on its own connection, its queued command carried out, its address recorded; a meter with
  other keys quarantined and never read;
- identification by the logical device name (a meter that does not push first), over HDLC, with a real
  simulated meter calling a real listener over a socket; an unknown logical device name ends the call.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dlmskit.client import MeterSettings
from dlmskit.headend import Inventory, KeyStore, Meter, ReadPlan, Store, queries
from dlmskit.headend.inbound import InboundListener
from dlmskit.headend.store import meters as meters_table
from dlmskit.security.keys import SecretBytes
from dlmskit.simulator import SimulatedMeter
from dlmskit.simulator.runner import meter_server

MASTER = "5A" * 32


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _headend(database: Path, *args: str, output: int | None = subprocess.DEVNULL) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "dlmskit", "headend", "--db", f"sqlite:///{database}", *args],
        env={**os.environ, "DLMSKIT_MASTER_KEY": MASTER},
        stdout=output,
        stderr=output,
    )


def test_a_fleet_calling_in_is_identified_by_its_pushes_and_read_on_its_own_connections(
    tmp_path: Path,
) -> None:
    database = tmp_path / "headend.sqlite"
    inventory = tmp_path / "fleet.toml"
    port = _free_port()
    fleet = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dlmskit",
            "simulate",
            "--fleet",
            "6",
            "--port",
            "0",
            "--transport",
            "wrapper",
            "--inventory",
            str(inventory),
            *("--faulty", "0.17", "--seed", "3"),
            *("--inbound", f"127.0.0.1:{port}", "--inbound-every", "0.5"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    serve: subprocess.Popen[bytes] | None = None
    try:
        deadline = time.monotonic() + 120
        while not inventory.exists():
            assert fleet.poll() is None and time.monotonic() < deadline, "the fleet did not start"
            time.sleep(0.1)
        text = inventory.read_text(encoding="utf-8")
        names = re.findall(r'^name = "([^"]+)"', text, re.M)
        behaviour = dict(zip(names, re.findall(r"^# behaviour: (\w+)", text, re.M), strict=True))
        good = {m for m, b in behaviour.items() if b == "ok"}
        assert good and len(good) < len(names)
        for args in (("init",), ("import", str(inventory)), ("command", sorted(good)[0], "disconnect")):
            assert _headend(database, *args).wait(timeout=120) == 0
        serve = _headend(
            database,
            *("serve", "--inbound", str(port), "--inbound-host", "127.0.0.1", "--job-timeout", "30"),
            output=subprocess.PIPE,
        )
        deadline = time.monotonic() + 120
        while True:
            with sqlite3.connect(database, timeout=30) as connection:
                read = {
                    m for (m,) in connection.execute("SELECT DISTINCT meter FROM jobs WHERE outcome = 'ok'")
                }
                quarantined = connection.execute("SELECT count(*) FROM quarantine").fetchone()[0]
            if read == good and quarantined:
                break
            assert serve.poll() is None, serve.stderr.read().decode()  # type: ignore[union-attr]
            assert time.monotonic() < deadline, f"read {sorted(read)} of {sorted(good)}"
            time.sleep(0.3)
        serve.send_signal(signal.SIGINT)
        out, err = serve.communicate(timeout=60)
        assert serve.returncode == 0, err.decode()
        assert re.search(r"inbound: \d+ calls, \d+ identified, \d+ unknown", out.decode())
    finally:
        if serve is not None and serve.poll() is None:
            serve.kill()
            serve.wait()
        fleet.terminate()
        fleet.wait(timeout=10)
    with sqlite3.connect(database) as connection:
        outcomes = connection.execute("SELECT meter, outcome, reason FROM jobs").fetchall()
        readings = {m for (m,) in connection.execute("SELECT DISTINCT meter FROM readings")}
        bodies = {
            name: json.loads(body) for name, body in connection.execute("SELECT name, body FROM meters")
        }
        command = connection.execute("SELECT state, outcome FROM commands").fetchone()
        pushed = {m for (m,) in connection.execute("SELECT DISTINCT meter FROM pushes")}
        reasons = {r for (r,) in connection.execute("SELECT DISTINCT reason FROM quarantine")}
        sources = {s for (s,) in connection.execute("SELECT DISTINCT source FROM quarantine")}
    assert {m for m, o, _ in outcomes} == good  # the faulty meter was never read
    assert all(o == "ok" and "inbound from 127.0.0.1:" in r for _, o, r in outcomes)
    assert readings == good and pushed == good
    for name in good:
        assert re.fullmatch(r"127\.0\.0\.1:\d+", bodies[name]["inbound"]["address"])
    assert all("inbound" not in bodies[m] for m in behaviour if m not in good)
    assert command[0] == "done" and "disconnected" in command[1]
    assert reasons == {"the tag does not verify with the meter's keys"}
    assert all(s.startswith("inbound 127.0.0.1:") for s in sources)


async def _call(listener: InboundListener, meter: SimulatedMeter, port: int) -> None:
    """The simulated meter calls the listener and serves DLMS (HDLC) on that connection, pushing nothing."""
    server = meter_server(meter, "hdlc")
    reader, writer = await asyncio.open_connection("127.0.0.1", port)

    async def read() -> bytes:
        return await reader.read(65536)

    async def write(data: bytes) -> None:
        writer.write(data)
        await writer.drain()

    try:
        await server.serve_stream(read, write, "head-end")
    finally:
        writer.close()
        await writer.wait_closed()


def _inventory(tmp_path: Path, logical_device_name: str) -> Inventory:
    store = Store(f"sqlite:///{tmp_path / 'headend.sqlite'}")
    inventory = Inventory(store, KeyStore(store, SecretBytes(bytes.fromhex(MASTER))))
    inventory.put_template(
        "reader",
        {
            "link": "hdlc",
            "client_address": 32,
            "authentication": "low",
            "server_physical": 17,
            "timeout": 10.0,
        },
    )
    inventory.put_meter(Meter("site-a", "reader", logical_device_name=logical_device_name))
    assert inventory.keystore is not None
    inventory.keystore.put("site-a", "password", "12345678", action="import")
    return inventory


@pytest.mark.parametrize("known", [True, False], ids=["known", "unknown"])
def test_a_meter_that_waits_is_identified_by_its_logical_device_name(tmp_path: Path, known: bool) -> None:
    meter = SimulatedMeter(state_dir=tmp_path / "meter-state")
    name = meter.model.meter.logical_device_name if known else "XYZ0000000000001"
    inventory = _inventory(tmp_path, name)
    identify = MeterSettings(link="hdlc", client_address=16, server_physical=17, timeout=10.0)
    plan = ReadPlan("inbound-test", registers=("1.0.1.8.0.255",), clock=False, trace_frames="ciphered")
    listener = InboundListener(inventory, plan, identify=identify, first_push_wait=0.2)

    async def run() -> None:
        server = await listener.start("127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        try:
            await asyncio.wait_for(_call(listener, meter, port), 60)
        finally:
            await listener.close()

    asyncio.run(run())
    store = inventory.store
    with sqlite3.connect(tmp_path / "headend.sqlite") as connection:
        jobs = connection.execute("SELECT meter, outcome, reason FROM jobs").fetchall()
        readings = connection.execute("SELECT meter, logical_name, unit FROM readings").fetchall()
    body = store.named(meters_table, "site-a")[0]["body"]
    assert listener.stats.connections == 1 and listener.stats.failed == 0
    if known:
        assert listener.stats.identified == 1 and listener.stats.outcomes == {"ok": 1}
        assert [(m, o) for m, o, _ in jobs] == [("site-a", "ok")]
        assert readings == [("site-a", "1.0.1.8.0.255", "Wh")]
        assert body["inbound"]["address"].startswith("127.0.0.1:")
        (shown,) = queries.meters_with_last_reading(store)
        assert shown["where"] == f"inbound from {body['inbound']['address']}" and shown["outcome"] == "ok"
        traced = store.frame_traces_of(1)  # the job's frames, on the connection the meter opened
        assert traced and {r["meter"] for r in traced} == {"site-a"} and traced[0]["direction"] == "tx"
        assert b"12345678".hex().upper() not in "".join(r["frame"] for r in traced)  # the LLS password
    else:
        assert listener.stats.unknown == 1 and not jobs and not readings and "inbound" not in body


def _read_ok(database: Path) -> set[str]:
    with sqlite3.connect(database, timeout=30) as connection:
        return {m for (m,) in connection.execute("SELECT DISTINCT meter FROM jobs WHERE outcome = 'ok'")}


def test_an_hdlc_fleet_calling_in_is_identified_by_its_ui_frame_pushes(tmp_path: Path) -> None:
    """``dlmskit simulate --fleet --inbound`` with the HDLC link: each meter calls, pushes first in an HDLC UI
    frame from its own HDLC address, then serves HDLC on that connection; the in-process listener identifies
    the good meters by those pushes and reads them, and quarantines the one with other keys."""
    file = tmp_path / "fleet.toml"
    store = Store(f"sqlite:///{tmp_path / 'headend.sqlite'}")
    inventory = Inventory(store, KeyStore(store, SecretBytes(bytes.fromhex(MASTER))))
    plan = ReadPlan("inbound-test", registers=("1.0.1.8.0.255",), clock=False)
    listener = InboundListener(inventory, plan, first_push_wait=2.0, job_timeout=30)
    good: set[str] = set()

    async def run() -> set[str]:
        server = await listener.start(
            "127.0.0.1", 0
        )  # bound first: no port another process can take meanwhile
        port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        fleet = subprocess.Popen(
            [
                *(sys.executable, "-m", "dlmskit", "simulate", "--fleet", "4", "--port", "0"),
                *("--transport", "hdlc", "--inventory", str(file), "--faulty", "0.25", "--seed", "5"),
                *("--inbound", f"127.0.0.1:{port}", "--inbound-every", "0.5"),
            ],
            stdout=subprocess.DEVNULL,
        )
        read: set[str] = set()
        try:
            deadline = time.monotonic() + 120
            while not file.exists():
                assert fleet.poll() is None and time.monotonic() < deadline, "the fleet did not start"
                await asyncio.sleep(0.1)
            await asyncio.to_thread(inventory.import_file, file)
            text = file.read_text(encoding="utf-8")
            names = re.findall(r'^name = "([^"]+)"', text, re.M)
            behaviour = dict(zip(names, re.findall(r"^# behaviour: (\w+)", text, re.M), strict=True))
            good.update(m for m, b in behaviour.items() if b == "ok")
            while time.monotonic() < deadline:
                read = await asyncio.to_thread(_read_ok, tmp_path / "headend.sqlite")
                if read >= good and listener.stats.unknown:
                    break
                await asyncio.sleep(0.3)
            return read
        finally:
            fleet.terminate()
            fleet.wait(timeout=10)
            await listener.close()

    read = asyncio.run(run())
    assert good and read == good
    with sqlite3.connect(tmp_path / "headend.sqlite") as connection:
        pushed = {m for (m,) in connection.execute("SELECT DISTINCT meter FROM pushes")}
        reasons = {r for (r,) in connection.execute("SELECT DISTINCT reason FROM quarantine")}
    assert pushed == good
    # (calls before the inventory was imported are from unknown senders)
    assert "the tag does not verify with the meter's keys" in reasons
    assert all(r.startswith(("the tag does not verify", "unknown sender system title")) for r in reasons)
    store.close()
