"""The simulator's HDLC link negotiates what the model's IEC HDLC setup object (class 23) says, and
the client reading that object sees the same values (issue 12)."""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from tests.simulator.simclient import PinnedTime, client_settings

from dlmskit.apdu.common import CosemAttributeDescriptor
from dlmskit.client.connection import Connection
from dlmskit.codec.obis import Obis
from dlmskit.errors import ConfigurationError
from dlmskit.link.hdlc_address import HdlcAddress
from dlmskit.link.hdlc_link import DEFAULT_PARAMETERS, LARGEST_PARAMETERS, HdlcClientLink
from dlmskit.link.hdlc_parameters import HdlcParameters
from dlmskit.session.client import ClientSession
from dlmskit.session.events import GetCompleted
from dlmskit.simulator import SimulatedMeter, SimulatorThread, default_model
from dlmskit.simulator.model import parse_model
from dlmskit.simulator.runner import meter_server
from dlmskit.transport import TcpTransport

SRC = Path(__file__).resolve().parents[2] / "src"
HDLC_SETUP = Obis(0, 0, 22, 0, 0, 255)
PROFILE = CosemAttributeDescriptor(7, Obis(1, 0, 99, 1, 0, 255), 2)


def test_default_model_says_what_the_link_negotiates(tmp_path: Path) -> None:
    meter = SimulatedMeter(now=PinnedTime(), state_dir=tmp_path)
    assert meter.hdlc_limits == HdlcParameters(2030, 2030, 7, 7) == LARGEST_PARAMETERS
    assert meter_server(meter).hdlc_limits == meter.hdlc_limits


def test_window_1_and_128_bytes_from_the_setup_object(tmp_path: Path) -> None:
    meter = SimulatedMeter(now=PinnedTime(), state_dir=tmp_path)
    meter.set_hdlc_limits(window=1, max_info_length=128)
    assert meter.hdlc_limits == DEFAULT_PARAMETERS
    with SimulatorThread(meter) as running:
        link = HdlcClientLink(1, HdlcAddress(1, 17), LARGEST_PARAMETERS)  # proposes 2030 / 7
        session = ClientSession(
            client_settings(1, max_receive_pdu_size=1024), challenge=secrets.token_bytes(16)
        )
        with Connection(TcpTransport("127.0.0.1", running.port), link, session, timeout=10) as connection:
            assert link.parameters == DEFAULT_PARAMETERS  # the meter's object decided
            values = []
            for attribute in (3, 4, 5, 6):
                got = connection.request(session.get(CosemAttributeDescriptor(23, HDLC_SETUP, attribute)))
                assert isinstance(got, GetCompleted)
                values.append(got.results[0].value)
            assert values == [1, 1, 128, 128]
            rows = connection.request(session.get(PROFILE))
            assert isinstance(rows, GetCompleted) and len(rows.results[0].value) == 10_000


def test_values_left_out_are_the_iec_defaults_and_no_object_means_the_largest(tmp_path: Path) -> None:
    text = default_model().text
    start = text.index("[object.attributes]\ncomm_speed")
    end = text.index("device_address = 17", start)
    partial = text[:start] + "[object.attributes]\nwindow_size_transmit = 3\n" + text[end:]
    meter = SimulatedMeter(parse_model(partial), now=PinnedTime(), state_dir=tmp_path / "a")
    assert meter.hdlc_limits == HdlcParameters(128, 128, 3, 1)
    block = text[text.index("[[object]]\nclass_id = 23") : text.index("device_address = 17") + 20]
    meter = SimulatedMeter(parse_model(text.replace(block, "")), now=PinnedTime(), state_dir=tmp_path / "b")
    assert meter.hdlc_limits == LARGEST_PARAMETERS
    with pytest.raises(ConfigurationError, match="no IEC HDLC setup object"):
        meter.set_hdlc_limits(window=1)


def test_limits_are_checked(tmp_path: Path) -> None:
    meter = SimulatedMeter(now=PinnedTime(), state_dir=tmp_path)
    with pytest.raises(ConfigurationError, match=r"window must be 1\.\.7"):
        meter.set_hdlc_limits(window=8)
    with pytest.raises(ConfigurationError, match=r"length must be 1\.\.2030"):
        meter.set_hdlc_limits(max_info_length=4000)


def test_cli_switch_for_a_window_1_meter(tmp_path: Path) -> None:
    environment = dict(os.environ, PYTHONPATH=str(SRC), COLUMNS="250", NO_COLOR="1")
    arguments = ["--hdlc-window", "1", "--hdlc-max-info", "128", "--port", "0", "--state-dir", str(tmp_path)]
    process = subprocess.Popen(
        [sys.executable, "-m", "dlmskit", "simulate", *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=environment,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        port = int(re.search(r"listening on 127\.0\.0\.1:(\d+)", line).group(1))  # type: ignore[union-attr]
        link = HdlcClientLink(16, HdlcAddress(1, 17), LARGEST_PARAMETERS)
        session = ClientSession(client_settings(16))
        with Connection(TcpTransport("127.0.0.1", port), link, session, timeout=10):
            assert link.parameters == DEFAULT_PARAMETERS
    finally:
        process.send_signal(signal.SIGINT)
        # Wait, then read through the same text streams: communicate() would lose what readline() left
        # in their buffers (the lines printed right after the first one).
        process.wait(timeout=90)
        assert process.stdout is not None and process.stderr is not None
        out, err = process.stdout.read(), process.stderr.read()
    assert process.returncode == 0, err
    assert "HDLC setup: window 1/1, max information field 128/128 bytes" in out
