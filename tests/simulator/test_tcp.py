"""The simulator over TCP with the real client connection, and the ``dlmskit simulate`` command."""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.simulator.simclient import PinnedTime, client_settings

from dlmskit.apdu.common import CosemAttributeDescriptor, CosemMethodDescriptor
from dlmskit.apdu.results import ActionResult
from dlmskit.client.connection import Connection
from dlmskit.codec import axdr
from dlmskit.codec.obis import Obis
from dlmskit.cosem import token_to_octets
from dlmskit.link.hdlc_address import HdlcAddress
from dlmskit.link.hdlc_link import LARGEST_PARAMETERS, HdlcClientLink
from dlmskit.link.wrapper_link import WrapperLink
from dlmskit.session.client import ClientSession
from dlmskit.session.events import ActionCompleted, GetCompleted
from dlmskit.simulator import SimulatedMeter, SimulatorThread, default_model
from dlmskit.transport import TcpTransport

SRC = Path(__file__).resolve().parents[2] / "src"
SERIAL = CosemAttributeDescriptor(1, Obis(0, 0, 96, 1, 0, 255), 2)
PROFILE = CosemAttributeDescriptor(7, Obis(1, 0, 99, 1, 0, 255), 2)
RELAY_STATE = CosemAttributeDescriptor(70, Obis(0, 0, 96, 3, 10, 255), 3)
RECONNECT = CosemMethodDescriptor(70, Obis(0, 0, 96, 3, 10, 255), 2)
ENTER = CosemMethodDescriptor(115, Obis(0, 0, 19, 40, 0, 255), 1)


def _connection(port: int, link: str, sap: int, **settings: Any) -> tuple[Connection, ClientSession]:
    session = ClientSession(client_settings(sap, **settings), challenge=secrets.token_bytes(16))
    data_link = (
        WrapperLink(sap, 1)
        if link == "wrapper"
        else HdlcClientLink(sap, HdlcAddress(1, 17), LARGEST_PARAMETERS)
    )
    return Connection(TcpTransport("127.0.0.1", port), data_link, session, timeout=10), session


@pytest.mark.parametrize("link", ["hdlc", "wrapper"])
def test_management_reads_the_whole_load_profile_over_tcp(link: str, tmp_path: Path) -> None:
    meter = SimulatedMeter(now=PinnedTime(), state_dir=tmp_path)
    with SimulatorThread(meter, link=link) as running:  # type: ignore[arg-type]
        connection, session = _connection(running.port, link, 1, max_receive_pdu_size=1024)
        with connection:
            got = connection.request(session.get(PROFILE))
    assert isinstance(got, GetCompleted) and got.blocks > 100
    profile = meter.object("1.0.99.1.0.255")
    assert len(got.results[0].value) == 10_000
    assert tuple(got.results[0].value[-1]) == profile.row(profile.span()[-1])


def test_the_tamper_story_over_tcp(tmp_path: Path) -> None:
    meter = SimulatedMeter(now=PinnedTime(), state_dir=tmp_path, tamper=True)
    with SimulatorThread(meter) as running:
        connection, session = _connection(running.port, "hdlc", 1)
        with connection:
            refused = connection.request(session.action(RECONNECT, axdr.Integer(0)))
            assert isinstance(refused, ActionCompleted)
            assert refused.results[0].result == ActionResult.TEMPORARY_FAILURE
            connection.request(
                session.action(ENTER, axdr.OctetString(token_to_octets("12345678901234567890")))
            )
            state = connection.request(session.get(RELAY_STATE))
    assert isinstance(state, GetCompleted) and state.results[0].value == 1
    assert not meter.tamper


def _start_cli(*arguments: str, cwd: Path) -> subprocess.Popen[str]:
    environment = dict(os.environ, PYTHONPATH=str(SRC), COLUMNS="250", NO_COLOR="1")
    return subprocess.Popen(
        [sys.executable, "-m", "dlmskit", "simulate", *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env=environment,
    )


def test_cli_serves_an_edited_model_until_interrupted(tmp_path: Path) -> None:
    model = tmp_path / "meter.toml"
    model.write_text(default_model().text.replace('serial_number = "12345678"', 'serial_number = "87654321"'))
    process = _start_cli(
        "--model", str(model), "--port", "0", "--state-dir", str(tmp_path / "state"), cwd=tmp_path
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        port = int(re.search(r"listening on 127\.0\.0\.1:(\d+)", line).group(1))  # type: ignore[union-attr]
        connection, session = _connection(port, "hdlc", 32)
        with connection:
            got = connection.request(session.get(SERIAL))
        assert isinstance(got, GetCompleted) and got.results[0].value == b"87654321"
    finally:
        process.send_signal(signal.SIGINT)
        # Wait, then read through the same text streams: communicate() would lose what readline() left
        # in their buffers (the lines printed right after the first one).
        process.wait(timeout=90)
        assert process.stdout is not None and process.stderr is not None
        out, err = process.stdout.read(), process.stderr.read()
    assert process.returncode == 0, err
    assert "12345678" in out and "simulator stopped" in out  # the LLS password is printed


def test_cli_wrong_model_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    model = tmp_path / "meter.toml"
    model.write_text(default_model().text.replace('mechanism = "low"', 'mechanism = "lo"'))
    process = _start_cli("--model", str(model), cwd=tmp_path)
    _, err = process.communicate(timeout=20)
    assert process.returncode == 2
    assert re.search(r"error: .*meter\.toml line \d+: unknown mechanism 'lo'", err), err


def test_cli_prints_the_model(tmp_path: Path) -> None:
    process = _start_cli("--print-model", cwd=tmp_path)
    out, _ = process.communicate(timeout=20)
    assert process.returncode == 0 and out == default_model().text
