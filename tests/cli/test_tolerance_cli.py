"""What an engineer meets first (issue 12): --trace output that `dlmskit decode` reads back, deviations as
warnings and --strict, `objects` that never shortens an OBIS code, translator warnings in every format."""

from __future__ import annotations

import datetime as dt
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

import dlmskit.cli.commands  # noqa: F401  (registers the commands)
from dlmskit.cli.main import cli, stdout
from dlmskit.simulator import SimulatedMeter, SimulatorThread

PINNED = dt.datetime(2024, 3, 1, 12, 7, 30, tzinfo=dt.timezone.utc)
# The Gurux C server's clock answer with 18 stray bytes (shared/interop/gurux-c-server a line 20).
GURUX_CLOCK_FRAME = (
    "7EA031210203744391E6E700C401C100090C07EA0C070102371700000000090F090C07EA0C070102371700000000090FE01C7E"
)


@pytest.fixture(scope="module")
def quirky_port() -> Iterator[int]:
    running = SimulatorThread(SimulatedMeter(now=lambda: PINNED, quirks=["trailing-bytes"]), port=0)
    yield running.port
    running.stop()


def test_decode_reads_what_trace_prints(quirky_port: int, tmp_path: Path) -> None:
    traced = CliRunner().invoke(cli, ["clock", "--port", str(quirky_port), "--trace"])
    assert traced.exit_code == 0, traced.output
    assert "TX →" in traced.output and "RX ←" in traced.output
    assert "warning: deviation trailing-bytes" in traced.output
    trace = tmp_path / "trace.txt"
    trace.write_text("2026-12-07 10:00:01.250 " + traced.output, encoding="utf-8")  # a timestamp in front
    decoded = CliRunner().invoke(cli, ["decode", "--file", str(trace)])
    assert decoded.exit_code == 0, decoded.output
    frames = [line for line in traced.output.splitlines() if line.startswith(("TX →", "RX ←"))]
    assert decoded.output.count("\nline ") + decoded.output.startswith("line ") == len(frames)
    assert "GetResponseNormal" in decoded.output


def test_clock_warns_and_strict_refuses(quirky_port: int) -> None:
    lenient = CliRunner().invoke(cli, ["clock", "--port", str(quirky_port)])
    assert lenient.exit_code == 0, lenient.output
    assert "warning: deviation trailing-bytes at offset" in lenient.output
    assert "DeviationWarning" not in lenient.output  # one clean line, not a Python warning
    strict = CliRunner().invoke(cli, ["clock", "--port", str(quirky_port), "--strict"])
    assert strict.exit_code != 0
    assert "strict mode" in strict.output and "trailing-bytes" in strict.output


def test_decode_shows_the_deviation_in_every_format() -> None:
    text = CliRunner().invoke(cli, ["decode", GURUX_CLOCK_FRAME])
    assert text.exit_code == 0, text.output
    assert "warning: deviation trailing-bytes at offset 18: 18 bytes" in text.output
    xml = CliRunner().invoke(cli, ["decode", "--format", "xml", GURUX_CLOCK_FRAME])
    assert "<!-- warning: deviation trailing-bytes" in xml.output
    as_json = json.loads(CliRunner().invoke(cli, ["decode", "--format", "json", GURUX_CLOCK_FRAME]).output)
    assert as_json["ok"] is True
    assert "trailing-bytes" in json.dumps(as_json["items"][0]["elements"])
    strict = CliRunner().invoke(cli, ["decode", "--strict", GURUX_CLOCK_FRAME])
    assert strict.exit_code == 1
    assert "strict mode: deviation trailing-bytes" in strict.output


def test_decode_shows_the_bad_rlre_as_a_warning() -> None:
    # shared/interop/gurux-c-server c line 42: the protected RLRE whose outer lengths do not add up.
    rlre = (
        "000100010001002A6324800100BE220421281F300000000E50BF2A0113E0618D4937651D560BDD640D2B6940E3CEBC1CEA8D"
    )
    result = CliRunner().invoke(cli, ["decode", rlre])
    assert result.exit_code == 0, result.output
    assert "deviation rlre-lengths" in result.output


@pytest.mark.parametrize("width", [40, 60, 200])
def test_objects_never_shortens_an_obis_code(quirky_port: int, width: int) -> None:
    stdout.width = width
    try:
        result = CliRunner().invoke(cli, ["objects", "--port", str(quirky_port)])
    finally:
        stdout.width = None  # type: ignore[assignment]
    assert result.exit_code == 0, result.output
    for code in ("0.0.1.0.0.255", "0.0.40.0.0.255", "0.0.42.0.0.255"):
        assert code in result.output
    assert "0.0.40.0.0.2…" not in result.output


def test_objects_wide_prints_plain_lines(quirky_port: int) -> None:
    result = CliRunner().invoke(cli, ["objects", "--port", str(quirky_port), "--wide"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any(line.startswith("0.0.1.0.0.255 ") and "Clock (8)" in line for line in lines)
    assert not any("│" in line or "┃" in line for line in lines)


def test_simulate_quirk_then_clock_set_reads_back(tmp_path: Path) -> None:
    """The issue's first complaint: `clock --set now` succeeded on the meter, then failed on the read-back.
    Against `dlmskit simulate --quirk trailing-bytes` (a real process) it now sets, reads back and warns."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    command = [sys.executable, "-m", "dlmskit", "simulate", "--port", str(port), "--quirk", "trailing-bytes"]
    process = subprocess.Popen(
        [*command, "--state-dir", str(tmp_path / "meter")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "dlmskit simulate did not start listening"
                time.sleep(0.1)
        keys = ["--key", "000102030405060708090A0B0C0D0E0F", "--auth-key", "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"]
        result = CliRunner().invoke(
            cli,
            ["clock", "--set", "now", "--port", str(port), "--client", "1", "--auth", "gmac", *keys],
            env={"XDG_STATE_HOME": str(tmp_path / "client"), "COLUMNS": "200"},  # counters away from home
        )
        assert result.exit_code == 0, result.output
        assert "warning: deviation trailing-bytes" in result.output
    finally:
        process.terminate()
        process.wait(timeout=10)
