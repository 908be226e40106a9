"""The simulator as a real-meter double: each quirk (docs/tolerance.md) against dlmskit's own client.

The Gurux C server's recorded deviations (``shared/interop/gurux-c-server/README.md``) and the jDLMS AARE,
reproduced by the simulator: the lenient client reads through them and reports each one; the strict client
refuses each one and its session goes on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from tests.clients import unopened_client

import dlmskit.cli.commands  # noqa: F401  (registers the commands)
from dlmskit.apdu.acse import AARE
from dlmskit.cli.main import cli
from dlmskit.client import DlmsClient
from dlmskit.client.errors import AccessDenied
from dlmskit.deviations import DeviationError
from dlmskit.errors import ConfigurationError, ProtocolError
from dlmskit.session.server import QUIRKS, ServerSession
from dlmskit.simulator import SimulatedMeter, SimulatorThread, default_model
from dlmskit.simulator.model import parse_model

pytestmark = pytest.mark.filterwarnings("ignore::dlmskit.deviations.DeviationWarning")

PINNED = dt.datetime(2024, 3, 1, 12, 7, 30, tzinfo=dt.timezone.utc)
GMAC = {
    "client_address": 1,
    "authentication": "gmac",
    "block_cipher_key": "000102030405060708090A0B0C0D0E0F",  # the default model's demo keys
    "authentication_key": "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF",
}
LOAD_PROFILE = "1.0.99.1.0.255"


@pytest.fixture
def quirky(tmp_path: Path) -> Iterator[Any]:
    started: list[SimulatorThread] = []

    def start(*quirks: str, strict: bool = False, gmac: bool = False) -> DlmsClient:
        meter = SimulatedMeter(now=lambda: PINNED, quirks=quirks)
        started.append(SimulatorThread(meter, link="wrapper", port=0))
        options: dict[str, Any] = dict(GMAC) if gmac else {}
        return unopened_client(
            host="127.0.0.1",
            port=started[-1].port,
            link="wrapper",
            strict=strict,
            invocation_counter_path=tmp_path / "counters.json",
            **options,
        )

    yield start
    for running in started:
        running.stop()


def test_trailing_bytes(quirky: Any) -> None:
    with quirky("trailing-bytes") as meter:
        assert isinstance(meter.clock(), dt.datetime)
        assert [d.code for d in meter.deviations] == ["trailing-bytes"]
        assert meter.deviations[0].text.startswith("18 bytes")


def test_trailing_bytes_strict(quirky: Any) -> None:
    with quirky("trailing-bytes", strict=True) as meter:
        with pytest.raises(DeviationError):
            meter.clock()
        with pytest.raises(DeviationError):
            meter.clock()  # the same error again, not "still waiting for its answer"


def test_aare_padding(quirky: Any) -> None:
    client = quirky("aare-padding")
    client.open()
    try:
        assert [d.code for d in client.deviations] == ["padding-after-aare"]
        client.clock()
        assert client.deviations == []
    finally:
        client.close()


def test_profile_empty_last_block_by_entry_and_range(quirky: Any) -> None:
    with quirky("profile-empty-last-block", gmac=True) as meter:
        by_entry = meter.profile(LOAD_PROFILE, from_entry=1, to_entry=10)
        assert len(by_entry.rows) == 10
        assert [d.code for d in meter.deviations] == ["trailing-bytes"]
        start = by_entry.rows[0][0]
        by_range = meter.profile(LOAD_PROFILE, start=start, end=start + dt.timedelta(hours=1))
        assert by_range.rows
        assert [d.code for d in meter.deviations] == ["trailing-bytes"]


def test_rlre_bad_lengths(quirky: Any) -> None:
    seen: list[str] = []
    client = quirky("rlre-bad-lengths", gmac=True)
    client.on_deviation(lambda deviation: seen.append(deviation.code))
    with client as meter:
        meter.clock()
    assert seen == ["rlre-lengths"]


def test_denied_for_unknown(quirky: Any) -> None:
    with quirky("denied-for-unknown", gmac=True) as meter, pytest.raises(AccessDenied) as refused:
        meter.read("1.2.3.4.5.6", 2, class_id=1)
    assert "read-write-denied" in str(refused.value)
    assert "does not have this object" in str(refused.value)
    assert "HLS instead of public or LLS" not in str(refused.value)  # a fitting hint, item 6 of issue 12


def test_quirks_in_the_model_file_and_on_the_command_line() -> None:
    text = default_model().text.replace("[meter]\n", '[meter]\nquirks = ["trailing-bytes"]\n', 1)
    assert parse_model(text).meter.quirks == frozenset({"trailing-bytes"})
    with pytest.raises(ConfigurationError, match="unknown quirk"):
        parse_model(text.replace('"trailing-bytes"', '"counter-restart"'))
    with pytest.raises(ConfigurationError, match="unknown quirk"):
        ServerSession(SimulatedMeter(now=lambda: PINNED), 16, quirks=frozenset({"counter-restart"}))
    assert "counter-restart" not in QUIRKS  # never simulated: GCM nonce reuse (docs/tolerance.md)
    result = CliRunner().invoke(cli, ["simulate", "--quirk", "no-such-quirk", "--port", "0"])
    assert result.exit_code == 2 and "no-such-quirk" in result.output


def test_unknown_application_context_gets_an_aare() -> None:
    """An AARQ whose application context is not a DLMS UA name: AARE rejected-permanent, diagnostic
    application-context-name-not-supported (2), never an exception-response."""
    session = ServerSession(SimulatedMeter(now=lambda: PINNED), 16)
    aarq = bytes.fromhex("601DA10906076085740508FF01BE10040E01000000065F1F0400007E1FFFFF")
    [answer] = session.receive(aarq)
    aare = AARE.decode(answer)
    assert aare.result == 1
    assert aare.result_source_diagnostic.value == 2


def test_a_method_call_without_action_in_the_conformance_is_refused_before_sending(tmp_path: Path) -> None:
    text = default_model().text.replace('name = "public"\n', 'name = "public"\nconformance = ["get"]\n', 1)
    running = SimulatorThread(SimulatedMeter(parse_model(text), now=lambda: PINNED), link="wrapper", port=0)
    try:
        with DlmsClient.connect(host="127.0.0.1", port=running.port, link="wrapper") as meter:
            with pytest.raises(ProtocolError, match="no 'action'"):
                meter.call("0.0.96.3.10.255", "remote_disconnect", class_id=70)
            assert isinstance(meter.clock(), dt.datetime)
    finally:
        running.stop()


def test_a_write_refused_on_hls_gmac_does_not_advise_hls(quirky: Any) -> None:
    with quirky(gmac=True) as meter, pytest.raises(AccessDenied) as refused:
        meter.write("0.0.42.0.0.255", 2, b"MMM0000000000000", class_id=1)
    text = str(refused.value)
    assert "HLS instead of public or LLS" not in text and "management association (HLS-GMAC)" not in text
    assert "client 1, HLS-GMAC" in text and "read-only" in text


@pytest.mark.parametrize("link", ["hdlc", "wrapper"])
def test_a_gurux_like_meter_end_to_end(tmp_path: Path, link: str) -> None:
    """Every quirk of the Gurux C server at once (README items 1, 2, 3 and 9, and the jDLMS AARE padding):
    clock, register with scaler and unit, profile by entry and by range, relay, unknown object, release."""
    meter_model = SimulatedMeter(now=lambda: PINNED, quirks=sorted(QUIRKS))
    running = SimulatorThread(meter_model, link=link, port=0)
    seen: list[str] = []
    try:
        client = unopened_client(
            host="127.0.0.1",
            port=running.port,
            link=link,
            invocation_counter_path=tmp_path / "counters.json",
            **GMAC,
        )
        client.on_deviation(lambda deviation: seen.append(deviation.code))
        with client as meter:
            assert isinstance(meter.clock(), dt.datetime)
            assert "Wh" in str(meter.register("1.0.1.8.0.255"))
            rows = meter.profile(LOAD_PROFILE, from_entry=1, to_entry=3).rows
            assert len(rows) == 3
            assert meter.profile(LOAD_PROFILE, start=rows[0][0], end=rows[-1][0]).rows
            meter.remote_disconnect()
            meter.remote_reconnect()
            with pytest.raises(AccessDenied, match="does not have this object"):
                meter.read("1.2.3.4.5.6", 2, class_id=1)
    finally:
        running.stop()
    assert seen[0] == "padding-after-aare" and seen[-1] == "rlre-lengths"
    assert {"trailing-bytes"} <= set(seen)


def test_profile_empty_last_block_after_several_blocks(tmp_path: Path) -> None:
    running = SimulatorThread(
        SimulatedMeter(now=lambda: PINNED, quirks=["profile-empty-last-block"]), link="wrapper", port=0
    )
    try:
        with DlmsClient.connect(
            host="127.0.0.1",
            port=running.port,
            link="wrapper",
            max_pdu_size=256,
            invocation_counter_path=tmp_path / "counters.json",
            **GMAC,
        ) as meter:
            assert len(meter.profile(LOAD_PROFILE, from_entry=1, to_entry=60).rows) == 60
            assert [d.code for d in meter.deviations] == ["trailing-bytes"]
    finally:
        running.stop()
