"""The CLI on a short-name meter: a real `dlmskit simulate --referencing sn` process, `--referencing sn|auto`."""

from __future__ import annotations

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
from dlmskit.cli.main import cli

GMAC = ("--client", "1", "--auth", "gmac", "--key", "000102030405060708090A0B0C0D0E0F")
GMAC_AUTH = ("--auth-key", "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF")


@pytest.fixture(scope="module")
def sn_simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    state = tmp_path_factory.mktemp("sn-state")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            *("dlmskit", "simulate", "--port", str(port), "--referencing", "sn", "--state-dir", str(state)),
        ],
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
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def run(port: int, tmp_path: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        cli,
        [*args, "--port", str(port)],
        env={"XDG_STATE_HOME": str(tmp_path / "client"), "COLUMNS": "200"},
    )
    return result.exit_code, result.output


def test_ln_is_refused_in_words_sn_and_auto_work(sn_simulator: int, tmp_path: Path) -> None:
    code, out = run(sn_simulator, tmp_path, "read", "0.0.42.0.0.255")
    assert code != 0 and "short-name referencing (SN)" in out and "Traceback" not in out
    code, out = run(sn_simulator, tmp_path, "read", "0.0.42.0.0.255", "--referencing", "sn")
    assert code == 0 and "MMM0000012345678" in out
    code, out = run(sn_simulator, tmp_path, "read", "0.0.42.0.0.255", "--referencing", "auto")
    assert code == 0 and "MMM0000012345678" in out


def test_relay_over_sn_with_hls_gmac(sn_simulator: int, tmp_path: Path) -> None:
    sn = ("--referencing", "sn", *GMAC, *GMAC_AUTH, "--json")
    code, out = run(sn_simulator, tmp_path, "disconnect", *sn)
    assert code == 0, out
    assert json.loads(out)["connected"] is False
    code, out = run(sn_simulator, tmp_path, "reconnect", *sn)
    assert code == 0 and json.loads(out)["connected"] is True
