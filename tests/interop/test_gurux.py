"""Interoperability: the gurux-dlms client (an implementation we did not write) against dlmskit's simulator.

Every scenario runs over HDLC (SNRM/UA, segmented I-frames, DISC) and over the wrapper, each on a fresh
default-model meter pinned at one instant (``PINNED``), and checks the meter's own state after each action
(``meter.object(...)``, ``meter.relay``, ``meter.token_gateway``). The ``simulator`` fixture checks at the
end of every test that the server saw no broken connection. Where the tests bend to gurux's API (its ways,
not deviations from the standard), a comment says so; docs/interop.md lists them all.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.interop.demo_meter import GURUX_MISSING

pytest.importorskip("gurux_dlms", reason=GURUX_MISSING)

from gurux_dlms import GXDLMSException  # type: ignore[import-untyped]
from gurux_dlms.ConnectionState import ConnectionState  # type: ignore[import-untyped]
from gurux_dlms.enums import (  # type: ignore[import-untyped]
    AssociationResult,
    Authentication,
    Command,
    Conformance,
    DataType,
    ErrorCode,
    ObjectType,
    SourceDiagnostic,
)
from gurux_dlms.objects import (  # type: ignore[import-untyped]
    GXDLMSClock,
    GXDLMSData,
    GXDLMSDisconnectControl,
    GXDLMSProfileGeneric,
    GXDLMSRegister,
    GXDLMSTokenGateway,
)
from tests.interop.demo_meter import AK, EK, LINKS, LLS_PASSWORD, PINNED, SERVER_SYSTEM_TITLE, Link, settled
from tests.interop.gurux_session import GURUX_SYSTEM_TITLE, GuruxSession

from dlmskit.client import DlmsClient, ProfileTable
from dlmskit.codec.cosem_datetime import CosemDateTime
from dlmskit.cosem import ControlState, TokenStatusCode, decode_object_list
from dlmskit.simulator import SimulatorThread

pytestmark = pytest.mark.parametrize("link", LINKS)

Simulator = Callable[..., SimulatorThread]
Gurux = Callable[..., GuruxSession]
Ours = Callable[[SimulatorThread], DlmsClient]

LOGICAL_DEVICE_NAME = "0.0.42.0.0.255"
SERIAL_NUMBER = "0.0.96.1.0.255"
FIRMWARE_VERSION = "1.0.0.2.0.255"
CLOCK = "0.0.1.0.0.255"
ENERGY_IMPORT = "1.0.1.8.0.255"
ENERGY_EXPORT = "1.0.2.8.0.255"
VOLTAGE = "1.0.32.7.0.255"
CURRENT = "1.0.31.7.0.255"
LOAD_PROFILE = "1.0.99.1.0.255"
RELAY = "0.0.96.3.10.255"
TOKEN_GATEWAY = "0.0.19.40.0.255"
TAMPER_TOKEN = b"12345678901234567890"  # "1234 5678 9012 3456 7890" as 20 ASCII digits (docs/simulator.md)
METER_ZONE = dt.timedelta(hours=7)  # the default model's clock: time_zone -420, UTC+07:00
QUARTER = dt.timedelta(minutes=15)


def own_value(running: SimulatorThread, logical_name: str, attribute: int = 2) -> Any:
    """What the simulated meter itself holds for an attribute, read past the protocol."""
    return running.meter.object(logical_name).read(attribute, None, None)


def relay_of(running: SimulatorThread) -> tuple[int, bool]:
    """The meter's relay: control_state and output_state."""
    relay = running.meter.relay
    assert relay is not None
    return relay.control_state, relay.output_state


def meter_clock(running: SimulatorThread) -> dt.datetime:
    """The meter's clock as it shows it (in its own zone)."""
    meter = running.meter
    return CosemDateTime.from_bytes(meter.render_time(meter.clock_time())).to_datetime()


def management(gurux: Gurux, running: SimulatorThread, max_receive_pdu_size: int = 0xFFFF) -> GuruxSession:
    """A gurux session as the management client 1: HLS-GMAC, authenticated and encrypted APDUs; the AARQ
    proposes ``max_receive_pdu_size`` (a small one makes the meter answer long reads in GET blocks)."""
    session = gurux(running, 1, Authentication.HIGH_GMAC, keys=True)
    session.client.maxReceivePDUSize = max_receive_pdu_size
    return session


# -- client 16, no authentication ----------------------------------------------------------------------------


def test_public_client_reads_logical_device_name_and_clock(
    link: Link, simulator: Simulator, gurux: Gurux
) -> None:
    running = simulator(link)
    with gurux(running, 16) as session:
        client = session.client
        expected_state = (
            ConnectionState.HDLC | ConnectionState.DLMS if link == "hdlc" else ConnectionState.DLMS
        )
        assert client.settings.connected == expected_state
        if link == "hdlc":
            # The SNRM carried no parameters (gurux proposes the defaults), so the UA's are the defaults.
            hdlc = client.hdlcSettings
            assert (hdlc.maxInfoTX, hdlc.maxInfoRX, hdlc.windowSizeTX, hdlc.windowSizeRX) == (128, 128, 1, 1)
        # The AARE: the public association's PDU size from the model, and the services it offers.
        assert client.maxReceivePDUSize == 1024
        assert client.negotiatedConformance & Conformance.GET

        name = session.read(GXDLMSData(LOGICAL_DEVICE_NAME), 2)
        assert bytes(name) == b"MMM0000012345678" == own_value(running, LOGICAL_DEVICE_NAME)

        clock = GXDLMSClock(CLOCK)
        time = session.read(clock, 2)
        assert time.value == PINNED == meter_clock(running)
        assert time.value.utcoffset() == METER_ZONE  # gurux reads the deviation (-420) the standard way
        assert session.read(clock, 3) == -420 == own_value(running, CLOCK, 3)
    assert running.server.stats.sessions_by_client == {16: 1}


# -- client 32, LLS ------------------------------------------------------------------------------------------


def test_reader_reads_registers_with_scaler_and_unit(link: Link, simulator: Simulator, gurux: Gurux) -> None:
    running = simulator(link)
    with gurux(running, 32, Authentication.LOW, LLS_PASSWORD) as session:
        # Energy has scaler 0; voltage -1 and current -2 show that gurux really applies the scaler.
        for logical_name in (ENERGY_IMPORT, ENERGY_EXPORT, VOLTAGE, CURRENT):
            register = GXDLMSRegister(logical_name)
            # gurux applies the scaler in updateValue only when it already knows it: attribute 3 first.
            session.read(register, 3)
            value = session.read(register, 2)
            scaler, unit = (int(part) for part in own_value(running, logical_name, 3))
            raw = int(own_value(running, logical_name))
            assert register.scaler == pytest.approx(10.0**scaler), logical_name  # gurux keeps 10^scaler
            assert int(register.unit) == unit, logical_name
            assert value == pytest.approx(raw * 10.0**scaler), logical_name


def test_reader_with_a_wrong_password_is_rejected(link: Link, simulator: Simulator, gurux: Gurux) -> None:
    running = simulator(link)
    with pytest.raises(GXDLMSException) as rejected, gurux(running, 32, Authentication.LOW, "87654321"):
        pass
    assert rejected.value.result == AssociationResult.PERMANENT_REJECTED
    assert rejected.value.diagnostic == SourceDiagnostic.AUTHENTICATION_FAILURE
    # The right password still works afterwards.
    with gurux(running, 32, Authentication.LOW, LLS_PASSWORD) as session:
        assert bytes(session.read(GXDLMSData(SERIAL_NUMBER), 2)) == b"12345678"


def test_reader_may_not_disconnect_the_relay(link: Link, simulator: Simulator, gurux: Gurux) -> None:
    running = simulator(link)
    assert relay_of(running) == (ControlState.CONNECTED, True)
    with gurux(running, 32, Authentication.LOW, LLS_PASSWORD) as session:
        with pytest.raises(GXDLMSException) as refused:
            session.exchange(GXDLMSDisconnectControl(RELAY).remoteDisconnect(session.client))
        assert refused.value.errorCode == ErrorCode.READ_WRITE_DENIED
        assert relay_of(running) == (ControlState.CONNECTED, True)
        # The association is still usable after the refusal.
        assert session.read(GXDLMSDisconnectControl(RELAY), 3) == ControlState.CONNECTED


def test_reader_reads_its_object_list(link: Link, simulator: Simulator, gurux: Gurux) -> None:
    running = simulator(link)
    with gurux(running, 32, Authentication.LOW, LLS_PASSWORD) as session:
        # getObjectsRequest returns one frame, not a list of frames like read() does.
        reply = session.exchange([session.client.getObjectsRequest()])
        objects = session.client.parseObjects(reply.data, False)  # False: keep classes gurux lacks
    theirs = [
        (
            int(item.objectType),
            item.version,
            item.logicalName,
            [int(item.getAccess(index)) for index in range(1, item.getAttributeCount() + 1)],
            [int(item.getMethodAccess(index)) for index in range(1, item.getMethodCount() + 1)],
        )
        for item in objects
    ]
    mine = [
        (
            entry.class_id,
            entry.version,
            str(entry.logical_name),
            [int(access.access_mode) for _, access in sorted(entry.attribute_access.items())],
            [int(access.access_mode) for _, access in sorted(entry.method_access.items())],
        )
        for entry in decode_object_list(running.meter.object_list(32))
    ]
    assert len(theirs) == 24  # the default model's objects the reader (client 32) sees, push setup included
    assert theirs == mine


# -- client 1, HLS-GMAC --------------------------------------------------------------------------------------


def test_management_reads_identity_clock_and_registers(
    link: Link, simulator: Simulator, gurux: Gurux
) -> None:
    running = simulator(link)
    with management(gurux, running) as session:
        # The meter's system title is configured nowhere in gurux: it comes from the AARE.
        assert bytes(session.client.settings.sourceSystemTitle) == SERVER_SYSTEM_TITLE
        for logical_name in (LOGICAL_DEVICE_NAME, SERIAL_NUMBER, FIRMWARE_VERSION):
            assert bytes(session.read(GXDLMSData(logical_name), 2)) == own_value(running, logical_name)
        assert session.read(GXDLMSClock(CLOCK), 2).value == meter_clock(running)
        for logical_name in (ENERGY_IMPORT, ENERGY_EXPORT):
            register = GXDLMSRegister(logical_name)
            session.read(register, 3)
            assert session.read(register, 2) == int(own_value(running, logical_name))


def test_management_counter_goes_on_across_associations(
    link: Link, simulator: Simulator, gurux: Gurux
) -> None:
    running = simulator(link)
    with management(gurux, running) as first:
        first.read(GXDLMSData(LOGICAL_DEVICE_NAME), 2)
    used = first.client.ciphering.invocationCounter
    assert used > 0
    # A new GXDLMSSecureClient starts its invocation counter at 0 again: the meter remembers the last
    # counter it accepted from this system title and refuses the replay (bench/sessions.py therefore
    # carries the counter from one gurux session to the next).
    with pytest.raises(GXDLMSException) as rejected, management(gurux, running):
        pass
    assert rejected.value.result == AssociationResult.PERMANENT_REJECTED
    again = management(gurux, running)
    again.client.ciphering.invocationCounter = used
    with again:
        assert bytes(again.read(GXDLMSData(LOGICAL_DEVICE_NAME), 2)) == b"MMM0000012345678"


def test_management_continues_above_the_frame_counter_read_by_the_public_client(
    link: Link, simulator: Simulator, gurux: Gurux, tmp_path: Path
) -> None:
    running = simulator(link)
    with management(gurux, running) as first:
        first.read(GXDLMSData(LOGICAL_DEVICE_NAME), 2)
    # As the Gurux C client does: read 0.0.43.1.x.255 with the public client, then use that value + 1.
    with gurux(running, 16) as public:
        expected = int(public.read(GXDLMSData("0.0.43.1.1.255"), 2))
    assert expected > 0
    fresh = management(gurux, running)  # a new GXDLMSSecureClient: its counter would start at 0 (a replay)
    fresh.client.ciphering.invocationCounter = expected + 1
    with fresh:
        assert bytes(fresh.read(GXDLMSData(LOGICAL_DEVICE_NAME), 2)) == b"MMM0000012345678"
    # Our client, with gurux's system title and a counter file that knows nothing: the documented remedy.
    with DlmsClient.connect(
        port=running.port,
        link=running.server.link_kind,
        client_address=1,
        authentication="gmac",
        block_cipher_key=EK,
        authentication_key=AK,
        system_title=GURUX_SYSTEM_TITLE,
        invocation_counter_path=tmp_path / "fresh.json",
        read_frame_counter_first=True,
    ) as ours_again:
        assert bytes(ours_again.read(LOGICAL_DEVICE_NAME)) == b"MMM0000012345678"


def _gurux_rows(rows: list[list[Any]]) -> list[tuple[Any, ...]]:
    """gurux rows (GXDateTime, ints) as (aware datetime, its UTC offset, ints)."""
    return [(row[0].value, row[0].value.utcoffset(), *(int(cell) for cell in row[1:])) for row in rows]


def _our_rows(table: ProfileTable) -> list[tuple[Any, ...]]:
    return [(row[0], row[0].utcoffset(), *(int(cell) for cell in row[1:])) for row in table.rows]


def _columns(profile: Any) -> list[tuple[int, str, int, int]]:
    return [
        (int(item.objectType), item.logicalName, capture.attributeIndex, capture.dataIndex)
        for item, capture in profile.captureObjects
    ]


def test_management_reads_load_profile_by_entry_in_blocks(
    link: Link, simulator: Simulator, gurux: Gurux, ours: Ours
) -> None:
    running = simulator(link)
    # 50 rows are about 1.5 kB: a client that receives at most 256-byte APDUs gets them in GET blocks.
    with management(gurux, running, 256) as session:
        profile = GXDLMSProfileGeneric(LOAD_PROFILE)
        session.read(profile, 3)
        assert _columns(profile) == [
            (ObjectType.CLOCK, CLOCK, 2, 0),
            (ObjectType.REGISTER, ENERGY_IMPORT, 2, 0),
            (ObjectType.REGISTER, ENERGY_EXPORT, 2, 0),
            (ObjectType.REGISTER, VOLTAGE, 2, 0),
        ]
        requests_before = running.server.stats.apdus
        rows = session.rows_by_entry(profile, 1, 50)
        blocks_asked = running.server.stats.apdus - requests_before - 1
    assert blocks_asked >= 5  # GET-Request-next, each ciphered

    with ours(running) as client:
        table = client.profile(LOAD_PROFILE, from_entry=1, to_entry=50)
    assert len(rows) == 50
    assert _gurux_rows(rows) == _our_rows(table)
    assert [str(column.logical_name) for column in table.columns] == [c[1] for c in _columns(profile)]
    times = [row[0].value for row in rows]
    assert all(later - earlier == QUARTER for earlier, later in itertools.pairwise(times))


def test_management_reads_load_profile_by_range(
    link: Link, simulator: Simulator, gurux: Gurux, ours: Ours
) -> None:
    running = simulator(link)
    start = dt.datetime(2024, 3, 1, 10, 0, tzinfo=dt.timezone.utc)  # two hours before PINNED's quarter
    end = start + dt.timedelta(hours=2)
    with management(gurux, running, 256) as session:
        profile = GXDLMSProfileGeneric(LOAD_PROFILE)
        session.read(profile, 3)  # gurux restricts on its first capture object: read them first
        requests_before = running.server.stats.apdus
        # gurux sends both ends with their deviation (0 for UTC) and day-of-week 0xFF (not specified).
        rows = session.rows_by_range(profile, start, end)
        blocks_asked = running.server.stats.apdus - requests_before - 1
    assert blocks_asked >= 1  # 9 rows, ciphered, do not fit in 256 bytes
    with ours(running) as client:
        table = client.profile(LOAD_PROFILE, start=start, end=end)
    assert [row[0].value for row in rows] == [start + k * QUARTER for k in range(9)]  # both ends included
    assert _gurux_rows(rows) == _our_rows(table)


def test_management_switches_the_relay(link: Link, simulator: Simulator, gurux: Gurux) -> None:
    running = simulator(link)
    with management(gurux, running) as session:
        control = GXDLMSDisconnectControl(RELAY)
        # gurux's remoteDisconnect / remoteReconnect send integer(0), as the class asks.
        assert session.exchange(control.remoteDisconnect(session.client)).value is None
        assert relay_of(running) == (ControlState.DISCONNECTED, False)
        assert session.read(control, 2) is False
        assert session.read(control, 3) == ControlState.DISCONNECTED

        assert session.exchange(control.remoteReconnect(session.client)).value is None
        assert relay_of(running) == (ControlState.CONNECTED, True)  # control mode 2: straight to connected
        assert session.read(control, 2) is True
        assert session.read(control, 3) == ControlState.CONNECTED


def test_tamper_token_clears_tamper_and_the_relay_reconnects(
    link: Link, simulator: Simulator, gurux: Gurux
) -> None:
    running = simulator(link, tamper=True)
    meter = running.meter
    gateway = meter.token_gateway
    assert gateway is not None
    assert meter.tamper and relay_of(running) == (ControlState.DISCONNECTED, False)
    with management(gurux, running) as session:
        control = GXDLMSDisconnectControl(RELAY)
        with pytest.raises(GXDLMSException) as refused:
            session.exchange(control.remoteReconnect(session.client))
        assert refused.value.errorCode == ErrorCode.TEMPORARY_FAILURE
        assert relay_of(running) == (ControlState.DISCONNECTED, False)

        token = GXDLMSTokenGateway(TOKEN_GATEWAY)
        assert session.method(token, 1, TAMPER_TOKEN, DataType.OCTET_STRING) is None
        assert not meter.tamper
        assert gateway.token_status == TokenStatusCode.TOKEN_EXECUTION_OK
        assert relay_of(running) == (ControlState.CONNECTED, True)  # the tamper token closes the relay

        session.read(token, 6)
        assert token.statusCode == TokenStatusCode.TOKEN_EXECUTION_OK
        assert bytes(session.read(token, 2)) == TAMPER_TOKEN
        assert [bytes(text) for text in session.read(token, 4)] == [b"clear tamper"]

        # Out of the tamper state, the relay follows remote commands again.
        session.exchange(control.remoteDisconnect(session.client))
        assert relay_of(running) == (ControlState.DISCONNECTED, False)
        session.exchange(control.remoteReconnect(session.client))
        assert relay_of(running) == (ControlState.CONNECTED, True)


# -- release ------------------------------------------------------------------------------------------------


def test_release_and_disconnect_complete_cleanly(link: Link, simulator: Simulator, gurux: Gurux) -> None:
    running = simulator(link)
    session = management(gurux, running)
    session.connect()
    session.associate()
    client = session.client
    release = session.exchange(client.releaseRequest())
    assert release.command == Command.RELEASE_RESPONSE
    disconnect = client.disconnectRequest()
    if link == "hdlc":
        assert session.exchange([disconnect]).command == Command.UA
    else:
        assert disconnect is None  # the wrapper has no link to disconnect: the TCP connection ends
    assert client.settings.connected == ConnectionState.NONE
    session.close()
    stats = settled(running)
    assert (stats.connection_errors, stats.active, stats.sessions_by_client) == (0, 0, {1: 1})
