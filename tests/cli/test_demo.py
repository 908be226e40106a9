"""``dlmskit demo`` as ``make demo`` runs it: a real process, both links, the fleet step's outcomes and figures,
and no key of the fleet (nor any 32-byte hex string, as a master key would be) in its output."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from dlmskit.cli.demo_fleet import FLEET_SEED, FLEET_SIZE
from dlmskit.simulator.fleet import Fleet


def _demo(*options: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "dlmskit", "demo", *options],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


@pytest.mark.parametrize("link", ["hdlc", "wrapper"])
def test_demo_ends_with_a_fleet_read_by_the_head_end(link: str) -> None:
    output = _demo("--transport", link)
    single, _, fleet = output.partition("8. The head-end")
    assert "token-execution-ok" in single and "<ActionRequestNormal>" in single
    assert fleet, output
    assert f"{FLEET_SIZE} simulated meters ({link.upper()}" in fleet
    assert f"{FLEET_SIZE} meters imported" in fleet and "master key made for this run (not shown)" in fleet
    assert "nothing listens on its port" in fleet and "other keys than the meter's" in fleet
    rows = dict(re.findall(r"│ (ok|unreachable|security|timeout|refused|error|busy) +│ +(\d+) │", fleet))
    assert rows == {"ok": str(FLEET_SIZE - 2), "unreachable": "1", "security": "1"}, fleet
    assert "connection refused" in fleet  # the unreachable meter's reason in words
    assert "rejected the association" in fleet and "check the block cipher key" in fleet
    assert re.search(r"Stored readings \(4 of 56\)", fleet)
    assert "Active energy import (+A), total" in fleet and " Wh " in fleet
    assert re.search(r"\d+ sessions in [\d.]+ s: \d+ sessions/second, [\d.]+ ms CPU per session", fleet)
    assert "Done in" in fleet


def test_the_fleet_step_prints_no_key() -> None:
    output = _demo()
    fleet = output.partition("8. The head-end")[2].partition("Done in")[
        0
    ]  # the panel shows the documented demo keys
    assert fleet
    keys = [
        k
        for m in Fleet(FLEET_SIZE, seed=FLEET_SEED).meters
        for k in (m.block_cipher_key, m.authentication_key)
    ]
    flat = re.sub(r"\s", "", output).upper()
    for key in keys:
        assert key.hex().upper() not in flat
        assert bytes(b ^ 0xFF for b in key).hex().upper() not in flat  # the faulty meter's listed keys
    assert not re.search(r"[0-9A-Fa-f]{32}", re.sub(r"\s", "", fleet))
