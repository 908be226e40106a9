"""Token gateway: token formats, status codes, one-time use, credit, and the tamper story of the seed."""

from __future__ import annotations

from pathlib import Path

from tests.simulator.simclient import PinnedTime, connect

from dlmskit.apdu.results import ActionResult
from dlmskit.codec import axdr
from dlmskit.cosem import TokenStatusCode, token_to_octets
from dlmskit.simulator import SimulatedMeter, default_model, parse_model
from dlmskit.simulator.events import EventCode

GATEWAY = "0.0.19.40.0.255"
RELAY = "0.0.96.3.10.255"
TAMPER_TOKEN = "1234 5678 9012 3456 7890"  # documented in docs/simulator.md
CREDIT_TOKEN = "1111 2222 3333 4444 5555"


def _status(client: object) -> int:
    return int(client.value(GATEWAY, 6)[0])  # type: ignore[attr-defined]


def test_ascii_token_runs_once_and_is_rejected_when_reused(meter: SimulatedMeter) -> None:
    management = connect(meter, 1)
    octets = token_to_octets(CREDIT_TOKEN)
    assert management.action(GATEWAY, 1, axdr.OctetString(octets)).result == ActionResult.SUCCESS
    assert _status(management) == TokenStatusCode.TOKEN_EXECUTION_OK
    assert management.value("0.0.19.10.0.255") == 100
    assert management.value(GATEWAY, 2) == octets
    assert management.value(GATEWAY, 3) == meter.render_time(meter.clock_time())
    assert management.value(GATEWAY, 4) == [b"credit 100"]
    assert management.value(GATEWAY, 5) == 0  # remote
    assert management.action(GATEWAY, 1, axdr.OctetString(octets)).result == ActionResult.SUCCESS
    assert _status(management) == TokenStatusCode.VALIDATION_RESULT_FAILURE
    assert management.value("0.0.19.10.0.255") == 100
    assert meter.token_gateway is not None and meter.token_gateway.used == [CREDIT_TOKEN.replace(" ", "")]


def test_visible_string_gets_type_unmatched_like_the_seed_meter(meter: SimulatedMeter) -> None:
    # The seed story: the token sent as an ASCII visible-string gave error 12 (type-unmatched).
    management = connect(meter, 1)
    result = management.action(GATEWAY, 1, axdr.VisibleString(CREDIT_TOKEN.replace(" ", "")))
    assert result.result == ActionResult.TYPE_UNMATCHED
    assert management.value("0.0.19.10.0.255") == 0


def test_bad_format_and_unknown_tokens_are_received_with_a_failure_status(meter: SimulatedMeter) -> None:
    management = connect(meter, 1)
    # The seed story's first try: 10 bytes of BCD where the meter wants 20 ASCII digits.
    for octets in (bytes.fromhex("04572225337837000077"), b"1234567890123456789X", b"9" * 20):
        assert management.action(GATEWAY, 1, axdr.OctetString(octets)).result == ActionResult.SUCCESS
        assert _status(management) == TokenStatusCode.TOKEN_FORMAT_FAILURE
    # The seed story's mistake: the digits as raw bytes 0-9 instead of ASCII digits.
    raw_digits = bytes(int(c) for c in "05718854590197211241")
    management.action(GATEWAY, 1, axdr.OctetString(raw_digits))
    assert _status(management) == TokenStatusCode.TOKEN_FORMAT_FAILURE
    management.action(GATEWAY, 1, axdr.OctetString(b"05718854590197211241"))
    assert _status(management) == TokenStatusCode.AUTHENTICATION_FAILURE
    assert [code for _, code in meter.events] == [EventCode.TOKEN_REJECTED] * 5


def test_bcd_tokens_when_the_model_says_so(clock: PinnedTime) -> None:
    text = default_model().text.replace('token_format = "ascii"', 'token_format = "bcd"')
    meter = SimulatedMeter(parse_model(text), now=clock)
    management = connect(meter, 1)
    management.action(GATEWAY, 1, axdr.OctetString(token_to_octets(CREDIT_TOKEN)))
    assert _status(management) == TokenStatusCode.TOKEN_FORMAT_FAILURE
    management.action(GATEWAY, 1, axdr.OctetString(token_to_octets(CREDIT_TOKEN, "bcd")))
    assert _status(management) == TokenStatusCode.TOKEN_EXECUTION_OK


def test_keypad_entry_is_manual(meter: SimulatedMeter) -> None:
    gateway = meter.token_gateway
    assert gateway is not None
    assert gateway.enter(token_to_octets(CREDIT_TOKEN)) == TokenStatusCode.TOKEN_EXECUTION_OK
    assert connect(meter, 32).value(GATEWAY, 5) == 2


def test_tamper_state_until_the_tamper_token(clock: PinnedTime, tmp_path: Path) -> None:
    meter = SimulatedMeter(now=clock, state_dir=tmp_path, tamper=True)
    management = connect(meter, 1)
    assert management.value(RELAY, 3) == 0 and management.value(RELAY, 2) is False
    assert management.action(RELAY, 2, axdr.Integer(0)).result == ActionResult.TEMPORARY_FAILURE
    assert meter.relay is not None and meter.relay.control_state == 0
    management.action(GATEWAY, 1, axdr.OctetString(token_to_octets(CREDIT_TOKEN)))
    assert meter.tamper
    management.action(GATEWAY, 1, axdr.OctetString(token_to_octets(TAMPER_TOKEN)))
    assert _status(management) == TokenStatusCode.TOKEN_EXECUTION_OK
    assert not meter.tamper
    assert management.value(RELAY, 3) == 1 and management.value(RELAY, 2) is True
    assert [code for _, code in meter.events] == [
        EventCode.TAMPER_DETECTED,
        EventCode.TOKEN_ACCEPTED,
        EventCode.TAMPER_CLEARED,
        EventCode.TOKEN_ACCEPTED,
    ]
    management.action(GATEWAY, 1, axdr.OctetString(token_to_octets(TAMPER_TOKEN)))
    assert _status(management) == TokenStatusCode.VALIDATION_RESULT_FAILURE


def test_tamper_from_the_model_file(clock: PinnedTime) -> None:
    text = default_model().text.replace("tamper = false", "tamper = true")
    meter = SimulatedMeter(parse_model(text), now=clock)
    assert meter.tamper and meter.relay is not None and meter.relay.control_state == 0
