"""The meter commands of the real CLI against a real `dlmskit simulate` process."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

import dlmskit.cli.commands  # noqa: F401  (registers the commands)
from dlmskit.cli.main import cli

EK = "000102030405060708090A0B0C0D0E0F"  # the simulator's documented demo keys (docs/simulator.md)
AK = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"
TAMPER_TOKEN = "1234 5678 9012 3456 7890"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    port = _free_port()
    state = tmp_path_factory.mktemp("state")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dlmskit",
            "simulate",
            "--port",
            str(port),
            "--tamper",
            "--state-dir",
            str(state),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "COLUMNS": "200"},
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    else:
        process.kill()
        pytest.fail("dlmskit simulate did not start listening")
    try:
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def run(port: int, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    runner = CliRunner()
    result = runner.invoke(cli, [*args, "--port", str(port)], env={"COLUMNS": "200", **(env or {})})
    return result.exit_code, result.stdout, result.stderr


GMAC = ("--auth", "gmac", "--key", EK, "--auth-key", AK)


def test_read_with_no_options_reaches_the_simulator(simulator: int) -> None:
    code, out, _ = run(simulator, "read", "0.0.42.0.0.255")
    assert code == 0 and "MMM" in out


def test_read_json_and_attribute_names(simulator: int) -> None:
    code, out, _ = run(
        simulator,
        "read",
        "1-0:1.8.0*255",
        "1.0.1.8.0.255:scaler_unit",
        "--client",
        "32",
        "--auth",
        "low",
        "--password",
        "12345678",
        "--json",
    )
    assert code == 0
    values = json.loads(out)
    assert values[0]["obis"] == "1.0.1.8.0.255" and isinstance(values[0]["value"], int)
    assert values[1]["value"] == [0, 30]


def test_password_from_environment(simulator: int) -> None:
    code, _, _ = run(
        simulator,
        "read",
        "1.0.1.8.0.255",
        "--client",
        "32",
        "--auth",
        "low",
        env={"DLMSKIT_PASSWORD": "12345678"},
    )
    assert code == 0


def test_objects_table(simulator: int) -> None:
    code, out, _ = run(simulator, "objects", *GMAC, "--json")
    assert code == 0
    listed = {entry["obis"]: entry for entry in json.loads(out)}
    assert listed["0.0.96.3.10.255"]["class_id"] == 70
    code, out, _ = run(simulator, "objects", *GMAC)
    assert code == 0 and "Disconnect control" in out


def test_clock_read_set_and_shift(simulator: int) -> None:
    code, out, _ = run(simulator, "clock", *GMAC, "--json")
    assert code == 0 and "clock" in json.loads(out)
    code, out, _ = run(simulator, "clock", *GMAC, "--set", "2026-01-01T12:00:00+07:00", "--json")
    assert code == 0 and json.loads(out)["clock"].startswith("2026-01-01T12:00")
    code, out, _ = run(simulator, "clock", *GMAC, "--shift", "60", "--json")
    assert code == 0 and json.loads(out)["clock"].startswith("2026-01-01T12:01")
    run(simulator, "clock", *GMAC, "--set", "now")
    code, out, _ = run(simulator, "clock", *GMAC, "--json")  # the meter's deviation and DST are shown
    shown = json.loads(out)
    assert code == 0 and shown["utc_offset_minutes"] == 420 and shown["daylight_saving"] is False
    code, out, _ = run(simulator, "clock", *GMAC)
    assert code == 0 and "(UTC+07:00, standard time)" in out


def test_write_and_call_typed_from_the_model(simulator: int) -> None:
    code, _, err = run(simulator, "write", "0.0.96.3.10.255:control_mode", "2", *GMAC)
    assert code == 0, err
    code, out, _ = run(simulator, "call", "0.0.1.0.0.255", "adjust_to_minute", *GMAC)
    assert code == 0 and "done" in out


def test_profile_last_entries_and_csv(simulator: int, tmp_path: Path) -> None:
    target = tmp_path / "profile.csv"
    code, out, err = run(simulator, "profile", "--last", "5", "--csv", str(target), *GMAC)
    assert code == 0, err
    rows = target.read_text().splitlines()
    assert len(rows) == 6 and "Clock" in rows[0]
    now = dt.datetime.now(dt.timezone.utc)
    code, out, _ = run(
        simulator,
        "profile",
        "--from",
        (now - dt.timedelta(hours=3)).isoformat(),
        "--to",
        (now - dt.timedelta(hours=2)).isoformat(),
        *GMAC,
        "--json",
    )
    assert code == 0
    assert len(json.loads(out)["rows"]) >= 4


def test_seed_story_relay_and_token(simulator: int) -> None:
    # LLS has no method access: one clear error line, exit 2, no traceback.
    code, _, err = run(simulator, "disconnect", "--client", "32", "--auth", "low", "--password", "12345678")
    assert code == 2 and "read-write-denied" in err and "HLS-GMAC" in err and "Traceback" not in err
    # Tamper: reconnection refused until the tamper token.
    code, _, err = run(simulator, "reconnect", *GMAC)
    assert code == 2 and "temporary-failure" in err
    code, out, _ = run(simulator, "token", "enter", *TAMPER_TOKEN.split(), *GMAC)
    assert code == 0 and "token-execution-ok" in out
    code, out, _ = run(simulator, "relay", *GMAC, "--json")
    assert code == 0 and json.loads(out)["connected"] is True
    code, out, _ = run(simulator, "disconnect", *GMAC, "--json")
    assert code == 0 and json.loads(out)["connected"] is False
    code, out, _ = run(simulator, "reconnect", *GMAC, "--json")
    assert code == 0 and json.loads(out)["connected"] is True
    # The same token again is rejected, in words, exit 1.
    code, out, _ = run(simulator, "token", "enter", *TAMPER_TOKEN.split(), *GMAC)
    assert code == 1 and "failure" in out
    code, out, _ = run(simulator, "token", "status", *GMAC, "--json")
    assert json.loads(out)["ok"] is False


def test_trace_shows_frames_decrypted_and_redacts_the_password(simulator: int) -> None:
    code, _, err = run(simulator, "read", "0.0.42.0.0.255", "--trace", *GMAC)
    assert code == 0
    assert "TX →" in err and "RX ←" in err and "GetRequestNormal" in err
    code, _, err = run(
        simulator,
        "read",
        "0.0.42.0.0.255",
        "--trace",
        "--client",
        "32",
        "--auth",
        "low",
        "--password",
        "12345678",
    )
    assert code == 0
    assert "3132333435363738" not in err.replace(" ", "") and "**" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("read", "9.9.9"), "OBIS"),
        (
            ("read", "0.0.42.0.0.255", "--auth", "gmac", "--key", "FFFFFFFFFFFFFFFF", "--auth-key", AK),
            "ASCII",
        ),
        (
            ("read", "0.0.42.0.0.255", "--client", "32", "--auth", "low", "--password", "wrong"),
            "authentication-failure",
        ),
        (("write", "0.0.96.3.10.255:control_mode", "not-a-number", *GMAC), "enum"),
        (("token", "enter", "12345", *GMAC), "20"),
    ],
)
def test_user_mistakes_give_one_clear_error(simulator: int, args: tuple[str, ...], message: str) -> None:
    code, _, err = run(simulator, *args)
    assert code == 2, err
    assert message in err and "Traceback" not in err


def test_unreachable_and_timeout_through_a_real_process() -> None:
    port = _free_port()
    result = subprocess.run(
        [sys.executable, "-m", "dlmskit", "read", "0.0.42.0.0.255", "--port", str(port)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "cannot connect" in result.stderr and "Traceback" not in result.stderr
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "dlmskit",
                "read",
                "0.0.42.0.0.255",
                "--port",
                str(port),
                "--timeout",
                "0.3",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert re.search(r"no answer|timed out|did not answer|gave up", result.stderr), result.stderr


def _children() -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        with contextlib.suppress(OSError):
            found |= {int(pid) for pid in (task / "children").read_text().split()}
    return found


def test_demo_runs() -> None:
    before = _children()
    result = CliRunner().invoke(cli, ["demo"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for expected in (
        "read-write-denied",
        "token-execution-ok",
        "relay closed",
        "<ActionRequestNormal>",
        "OctetString",
        "8. The head-end: 30 simulated meters (HDLC",
        "sessions/second",
    ):
        assert expected in result.stdout
    assert _children() <= before, "the demo's fleet simulator process was left running"
