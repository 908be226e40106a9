"""Disconnect control in every control mode, for every transition a-h, remote ones through the protocol."""

from __future__ import annotations

import pytest
from tests.simulator.simclient import connect

from dlmskit.apdu.results import ActionResult
from dlmskit.codec import axdr
from dlmskit.cosem import ControlState, Trigger, next_control_state
from dlmskit.simulator import SimulatedMeter
from dlmskit.simulator.events import EventCode

RELAY = "0.0.96.3.10.255"
S = ControlState
# Transition letter: trigger, state before, state after (facts sheet section 7).
TRANSITIONS = {
    "a": (Trigger.REMOTE_RECONNECT, S.DISCONNECTED, S.CONNECTED),
    "b": (Trigger.REMOTE_DISCONNECT, S.CONNECTED, S.DISCONNECTED),
    "c": (Trigger.REMOTE_DISCONNECT, S.READY_FOR_RECONNECTION, S.DISCONNECTED),
    "d": (Trigger.REMOTE_RECONNECT, S.DISCONNECTED, S.READY_FOR_RECONNECTION),
    "e": (Trigger.MANUAL_RECONNECT, S.READY_FOR_RECONNECTION, S.CONNECTED),
    "f": (Trigger.MANUAL_DISCONNECT, S.CONNECTED, S.READY_FOR_RECONNECTION),
    "g": (Trigger.LOCAL_DISCONNECT, S.CONNECTED, S.READY_FOR_RECONNECTION),
    "h": (Trigger.LOCAL_RECONNECT, S.READY_FOR_RECONNECTION, S.CONNECTED),
}
ALLOWED = {0: "", 1: "bcfgde", 2: "bcfgae", 3: "bcgde", 4: "bcgae", 5: "bcfgdeh", 6: "bcgdeh"}


@pytest.mark.parametrize("mode", range(7))
def test_every_transition_in_every_mode(meter: SimulatedMeter, mode: int) -> None:
    management = connect(meter, 1)
    relay = meter.relay
    assert relay is not None
    assert management.set(RELAY, 4, axdr.Enum(mode)) == 0
    for letter, (trigger, before, after) in TRANSITIONS.items():
        # a and d (remote reconnect from disconnected) are alternatives: the mode allows at most one.
        moves = [
            t[2] for name, t in TRANSITIONS.items() if name in ALLOWED[mode] and t[:2] == (trigger, before)
        ]
        expected = moves[0] if moves else before
        relay.force(before)
        if trigger in (Trigger.REMOTE_DISCONNECT, Trigger.REMOTE_RECONNECT):
            method = 1 if trigger is Trigger.REMOTE_DISCONNECT else 2
            result = management.action(RELAY, method, axdr.Integer(0)).result
            assert result == (ActionResult.SUCCESS if moves else ActionResult.OBJECT_UNAVAILABLE), (
                mode,
                letter,
            )
        else:
            assert relay.trigger(trigger) is bool(moves), (mode, letter)
        assert relay.control_state == expected, (mode, letter)
        assert management.value(RELAY, 3) == expected
        assert management.value(RELAY, 2) is (expected == S.CONNECTED)
        if letter in ALLOWED[mode]:
            assert expected == after
        assert next_control_state(mode, before, trigger) == (expected if moves else None)


def test_calls_that_leave_the_relay_where_it_is_succeed(meter: SimulatedMeter) -> None:
    management = connect(meter, 1)
    assert management.action(RELAY, 2, axdr.Integer(0)).result == ActionResult.SUCCESS  # already connected
    assert management.action(RELAY, 1, axdr.Integer(0)).result == ActionResult.SUCCESS
    assert management.action(RELAY, 1, axdr.Integer(0)).result == ActionResult.SUCCESS  # already disconnected
    assert management.action(RELAY, 2, axdr.Integer(0)).result == ActionResult.SUCCESS
    assert [code for _, code in meter.events] == [EventCode.REMOTE_DISCONNECTION, EventCode.REMOTE_CONNECTION]


def test_seed_request_bytes_disconnect(meter: SimulatedMeter) -> None:
    # facts sheet section 7: C3 01 C1 0046 0000600300FF... remote_disconnect with integer(0) -> C7 01 C1 00 00
    management = connect(meter, 1)
    result = management.action(RELAY, 1, axdr.Integer(0))
    assert result.result == ActionResult.SUCCESS and result.return_parameters is None
    assert management.value(RELAY, 2) is False


def test_events_are_logged_in_the_event_log(meter: SimulatedMeter) -> None:
    management = connect(meter, 1)
    management.action(RELAY, 1, axdr.Integer(0))
    management.action(RELAY, 2, axdr.Integer(0))
    rows = management.value("0.0.99.98.0.255")
    assert [row[1] for row in rows] == [EventCode.REMOTE_DISCONNECTION, EventCode.REMOTE_CONNECTION]
    assert rows[0][0] == meter.render_time(meter.clock_time())
    assert management.value("0.0.96.11.0.255") == EventCode.REMOTE_CONNECTION
