"""HDLC addresses and parameters from the user: the Gurux combined server address (``--server-address
145``, ``server_address = 145`` in the meters file and in MeterSettings) and the HDLC/PDU sizes, against
a simulated window-1 / 128-byte meter (issue 12)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.simulator.simclient import PinnedTime

import dlmskit.cli.commands  # noqa: F401  (registers the commands)
from dlmskit.cli.main import cli
from dlmskit.client.profiles import load_meter_profile
from dlmskit.client.settings import MeterSettings, describe_server_address
from dlmskit.errors import ConfigurationError
from dlmskit.link.hdlc_parameters import HdlcParameters
from dlmskit.simulator import SimulatedMeter, SimulatorThread


@pytest.fixture(scope="module")
def small_meter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    meter = SimulatedMeter(now=PinnedTime(), state_dir=tmp_path_factory.mktemp("state"))
    meter.set_hdlc_limits(window=1, max_info_length=128)
    with SimulatorThread(meter) as running:
        yield running.port


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


def test_server_address_145_is_logical_1_physical_17(small_meter: int) -> None:
    code, out, err = run(
        "read", "0.0.42.0.0.255", "--port", str(small_meter), "--server-address", "145", "--trace"
    )
    assert code == 0, err
    assert "MMM" in out
    assert "server address 145 = logical 1, physical 17 (Gurux form: logical << 7 | physical" in err


def test_hdlc_and_pdu_options_reach_the_snrm_and_the_aarq(small_meter: int) -> None:
    options = (
        "--hdlc-window",
        "1",
        "--hdlc-max-info",
        "128",
        "--hdlc-max-info-rx",
        "256",
        "--max-pdu",
        "256",
    )
    code, _, err = run("read", "0.0.42.0.0.255", "--port", str(small_meter), *options, "--trace")
    assert code == 0, err
    # SNRM information field: max info tx 128, rx 256 (2 bytes), window tx 1, rx 1; the meter's UA
    # answers 128 / 1 both ways; the AARQ proposes a 256-byte PDU (conformance, then 01 00).
    assert "81 80 0D 05 01 80 06 02 01 00 07 01 01 08 01 01" in err
    assert "81 80 0C 05 01 80 06 01 80 07 01 01 08 01 01" in err
    assert "5F 1F 04 00 00 7E 1F 01 00" in err


def test_both_address_forms_at_once_are_refused() -> None:
    code, _, err = run("read", "0.0.42.0.0.255", "--server-address", "145", "--server-physical", "18")
    assert code != 0 and "not both" in err


def test_settings_and_meters_file(tmp_path: Path) -> None:
    settings = MeterSettings(server_address=145)
    assert (settings.server_logical, settings.server_physical, settings.server_address) == (1, 17, None)
    assert MeterSettings(server_address=0x4000 | 300).server_physical == 300  # 4-byte form: 14 bits each
    assert MeterSettings(hdlc_window_size=1, hdlc_max_info_length=128).hdlc_parameters == HdlcParameters()
    assert MeterSettings(hdlc_max_info_length_rx=512).hdlc_parameters == HdlcParameters(2030, 512, 7, 7)
    with pytest.raises(ConfigurationError, match="1-byte HDLC address"):
        MeterSettings(server_address=1)
    with pytest.raises(ConfigurationError, match="both parts fit 2-byte addressing"):
        MeterSettings(server_address=(1 << 14) | 17)
    with pytest.raises(ConfigurationError, match="hdlc_window_size_rx"):
        MeterSettings(hdlc_window_size_rx=8)
    meters = tmp_path / "meters.toml"
    meters.write_text(
        "[meter.field]\nserver_address = 145\nhdlc_window_size = 1\nhdlc_max_info_length = 128\n"
        "max_pdu_size = 512\n"
    )
    profile = load_meter_profile("field", meters)
    assert (profile.server_logical, profile.server_physical) == (1, 17)
    assert profile.hdlc_parameters == HdlcParameters() and profile.max_pdu_size == 512
    assert describe_server_address(0x4000 | 300) == (
        "server address 16684 = logical 1, physical 300 (Gurux form: logical << 14 | physical, a 4-byte HDLC address)"
    )
