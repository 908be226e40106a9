"""``dlmskit conformance`` against the simulator: selection, reports, vendor tests, exit codes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

import dlmskit.cli.commands  # noqa: F401  (registers the commands)
from dlmskit.cli.main import cli
from dlmskit.conformance import REGISTRY
from dlmskit.simulator import SimulatedMeter, SimulatorThread

VENDOR_TESTS = '''
from dlmskit.conformance import Requirement, TestContext, conformance_test

@conformance_test(
    "acme.serial-length",
    requirement=Requirement("ACME meter specification 2.1", "4.2", "the serial number has 9 digits"),
    effect="the head-end cannot match the meter to its record",
)
def serial_length(t: TestContext) -> None:
    """The serial number 0.0.96.1.0.255 has 9 digits."""
    with t.meter.associate() as association:
        reply = association.get(1, "0.0.96.1.0.255", 2)
    if len(reply.value) != 9:
        t.fail("9 digits", f"{len(reply.value)} digits", got_bytes=reply.raw)
'''


@pytest.fixture
def port() -> Iterator[int]:
    running = SimulatorThread(SimulatedMeter(), link="hdlc", port=0)
    yield running.port
    running.stop()


def test_reports_and_exit_code(port: int, tmp_path: Path) -> None:
    html, junit, report = tmp_path / "r.html", tmp_path / "r.xml", tmp_path / "r.json"
    args = ["conformance", "--port", str(port), "--silence", "0.2", "-k", "hdlc.snrm-ua", "-k", "association"]
    args += [
        "-k",
        "hdlc.frmr-too-long",
        "--html",
        str(html),
        "--junit",
        str(junit),
        "--report-json",
        str(report),
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "pass  hdlc.snrm-ua" in result.output and "pass  hdlc.frmr-too-long" in result.output
    assert "pass " in result.output.splitlines()[-1]
    assert json.loads(report.read_text())["summary"]["fail"] == 0
    assert "<testsuite" in junit.read_text() and "hdlc.snrm-ua" in html.read_text()


def test_vendor_tests_and_failure(port: int, tmp_path: Path) -> None:
    plugin = tmp_path / "acme_tests.py"
    plugin.write_text(VENDOR_TESTS, encoding="utf-8")
    try:
        result = CliRunner().invoke(
            cli, ["conformance", "--port", str(port), "--tests", str(plugin), "-k", "acme", "--json"]
        )
    finally:
        REGISTRY.remove("acme.serial-length")
    assert result.exit_code == 1, result.output
    document = json.loads(result.output)
    (finding,) = document["results"][0]["findings"]
    assert finding["expected"] == "9 digits" and finding["got"] == "8 digits"
    assert "GetResponseNormal" in finding["decoded"]


def test_list(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["conformance", "--list", "-k", "security"])
    assert result.exit_code == 0
    assert "security.replay" in result.output and "hdlc.disc" not in result.output
