"""Interoperability over short names: the gurux-dlms client in SN mode against ``dlmskit simulate
--referencing sn``.

gurux-dlms (``useLogicalNameReferencing=False``) reads the Association SN object list (FA08) and takes the
base names from it, then reads, writes and calls methods by variable name, over HDLC and the wrapper. The
association is LLS: gurux-dlms 1.0.203 cannot build a ciphered SN request (``GXDLMS.getSNPdu`` fails an
assertion when HLS-GMAC pass 3 is ciphered), so the management association of these tests is a model
client 48 with LLS and every right; our own client covers HLS-GMAC over SN (tests/client/test_short_names.py).
gurux's SN request builders return one frame (a bytearray), not a list: the tests wrap it. Answers are kept
below the PDU size: gurux 1.0.203 fails on SN data-block-results.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from tests.interop.demo_meter import GURUX_MISSING, LINKS, PINNED, Link, settled

pytest.importorskip("gurux_dlms", reason=GURUX_MISSING)

from gurux_dlms import GXDLMSException  # type: ignore[import-untyped]
from gurux_dlms.enums import Authentication, DataType, ErrorCode, ObjectType  # type: ignore[import-untyped]
from tests.interop.gurux_session import GuruxSession

from dlmskit.cosem import ControlState
from dlmskit.simulator import SimulatedMeter, SimulatorThread, default_model, parse_model

pytestmark = pytest.mark.parametrize("link", LINKS)

SN_MANAGER = """
[[association]]
client_sap = 48
name = "sn-manager"
mechanism = "low"
password = "87654321"
conformance = ["get", "set", "action", "selective-access", "multiple-references"]
max_pdu_size = 1024

[association.access]
default = { read = ["*"], write = ["*"], methods = ["*"] }
"""


@pytest.fixture
def sn_meter() -> Iterator[Callable[[Link], SimulatorThread]]:
    """``sn_meter(link)``: the default model plus client 48, speaking short names, at :data:`PINNED`."""
    started: list[SimulatorThread] = []

    def start(link: Link) -> SimulatorThread:
        meter = SimulatedMeter(
            parse_model(default_model().text + SN_MANAGER), now=lambda: PINNED, referencing="sn"
        )
        started.append(SimulatorThread(meter, link=link, port=0))
        return started[-1]

    yield start
    for running in started:
        stats = settled(running)
        running.stop()
        assert stats.connection_errors == 0 and stats.active == 0, stats


def exchange(session: GuruxSession, request: Any) -> Any:
    return session.exchange(request if isinstance(request, list) else [request])


def objects_of(session: GuruxSession) -> Any:
    reply = exchange(session, session.client.getObjectsRequest())
    return session.client.parseObjects(reply.data, True)


def test_gurux_sn_reads_writes_and_calls_methods(
    link: Link, sn_meter: Callable[[Link], SimulatorThread]
) -> None:
    running = sn_meter(link)
    meter = running.meter
    session = GuruxSession(running.port, link, 48, Authentication.LOW, "87654321", logical_name=False)
    with session:
        assert not session.client.useLogicalNameReferencing
        objects = objects_of(session)
        register = objects.findByLN(ObjectType.REGISTER, "1.0.1.8.0.255")
        assert meter.short_names is not None
        assert register.shortName == meter.short_names.entry("1.0.1.8.0.255").base_name
        assert session.read(register, 3)[0] == 1.0  # scaler_unit, read by its variable name base + 0x10
        energy = session.read(register, 2)
        assert energy == meter.object("1.0.1.8.0.255").read(2, None, None)

        relay = objects.findByLN(ObjectType.DISCONNECT_CONTROL, "0.0.96.3.10.255")
        exchange(session, session.client.method(relay, 1, 0, DataType.INT8))  # remote_disconnect: base + 0x20
        assert meter.relay is not None and meter.relay.control_state == ControlState.DISCONNECTED
        exchange(session, session.client.method(relay, 2, 0, DataType.INT8))  # remote_reconnect
        assert meter.relay.control_state == ControlState.CONNECTED

        clock = objects.findByLN(ObjectType.CLOCK, "0.0.1.0.0.255")
        assert session.read(clock, 3) == -420
        clock.timeZone = 60
        exchange(session, session.client.write(clock, 3))
        assert meter.object("0.0.1.0.0.255").read(3, None, None) == 60


def test_gurux_sn_reader_has_the_same_rights_as_over_ln(
    link: Link, sn_meter: Callable[[Link], SimulatorThread]
) -> None:
    running = sn_meter(link)
    session = GuruxSession(running.port, link, 32, Authentication.LOW, "12345678", logical_name=False)
    with session:
        objects = objects_of(session)
        relay = objects.findByLN(ObjectType.DISCONNECT_CONTROL, "0.0.96.3.10.255")
        assert session.read(relay, 2) is True
        with pytest.raises(GXDLMSException) as refused:
            exchange(session, session.client.method(relay, 1, 0, DataType.INT8))
        assert refused.value.errorCode == ErrorCode.READ_WRITE_DENIED
    assert running.meter.relay is not None and running.meter.relay.output_state is True
