"""ClientSession and ServerSession in a short-name association, in memory (no sockets, no simulator).

The AARQ names the SN context, the AARE's InitiateResponse carries vaa-name FA00; HLS pass 3 is a Read of
method 8 of the Association SN (FA58) with parameterized access, whose ReadResponse carries f(CtoS); the
gurux-dlms way (a Write to FA58, answered success without data) is accepted too; GET, SET and ACTION of
the session go out as READ and WRITE by variable name (the map from the Association SN object list).
"""

from __future__ import annotations

import pytest
from tests.tinymeter import TinyMeter

from dlmskit.apdu.acse import AARE
from dlmskit.apdu.common import CosemAttributeDescriptor, CosemMethodDescriptor, SelectiveAccessDescriptor
from dlmskit.apdu.conformance import Conformance
from dlmskit.apdu.initiate import InitiateResponse
from dlmskit.apdu.results import ActionResult, DataAccessResult
from dlmskit.apdu.sn import ReadResponse, VariableName, WriteRequest, WriteResponse
from dlmskit.codec import axdr
from dlmskit.codec.obis import Obis
from dlmskit.cosem.short_names import ShortNameEntry, ShortNameMap
from dlmskit.security.hls import Mechanism, md5_response
from dlmskit.session.client import ClientSession, ClientSettings
from dlmskit.session.errors import AssociationRejected
from dlmskit.session.events import ActionCompleted, Associated, GetCompleted, SendApdu, SetCompleted
from dlmskit.session.server import AssociationContext, ServerAssociationSettings, ServerSession

SECRET = b"hls-secret-1234"
CTOS = bytes(range(16))
STOC = bytes(range(16, 32))
REGISTER = Obis.parse("1.0.1.8.0.255")
RELAY = Obis.parse("0.0.96.3.10.255")
NAMES = ShortNameMap(
    [
        ShortNameEntry(0xFA00, 12, 3, Obis.parse("0.0.40.0.0.255")),
        ShortNameEntry(0x2000, 3, 0, REGISTER),
        ShortNameEntry(0x3000, 70, 0, RELAY),
    ]
)


class SnMeter(TinyMeter):
    """The tiny meter, with variable names resolved through :data:`NAMES`."""

    def resolve_short_name(
        self, context: AssociationContext, variable_name: int
    ) -> CosemAttributeDescriptor | CosemMethodDescriptor | None:
        target = NAMES.resolve(variable_name)
        if target is None:
            return None
        entry = target.entry
        if target.kind == "method":
            return CosemMethodDescriptor(entry.class_id, entry.logical_name, target.index)
        return CosemAttributeDescriptor(entry.class_id, entry.logical_name, target.index)


def pair(
    mechanism: Mechanism = Mechanism.HIGH_MD5, max_pdu: int = 0x400
) -> tuple[ClientSession, ServerSession, SnMeter]:
    conformance = (
        Conformance.default_sn_client()
        | Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ
        | Conformance.BLOCK_TRANSFER_WITH_SET_OR_WRITE
    )
    settings = ServerAssociationSettings(
        mechanism=mechanism,
        secret=SECRET,
        referencing="sn",
        conformance=conformance,
        max_receive_pdu_size=max_pdu,
    )
    meter = SnMeter(associations={1: settings})
    meter.values[(3, str(REGISTER), 2)] = axdr.DoubleLongUnsigned(123456)
    meter.values[(3, str(REGISTER), 3)] = axdr.Structure([axdr.Integer(0), axdr.Enum(30)])
    server = ServerSession(meter, 1, challenge_factory=lambda: STOC)
    client = ClientSession(
        ClientSettings(mechanism=mechanism, secret=SECRET, referencing="sn"), challenge=CTOS
    )
    return client, server, meter


def exchange(client: ClientSession, server: ServerSession, apdu: bytes) -> object:
    event: object = None
    while True:
        [answer] = server.receive(apdu)
        event = client.receive(answer)
        if not isinstance(event, SendApdu):
            return event
        apdu = event.apdu


def test_hls_pass3_over_sn_is_a_parameterized_read_of_fa58() -> None:
    client, server, _ = pair()
    aarq = client.associate()
    assert bytes.fromhex("060760857405080102") in aarq  # application context 2.16.756.5.8.1.2 (SN)
    [aare] = server.receive(aarq)
    initiate = InitiateResponse.decode(AARE.decode(aare).user_information or b"")
    assert initiate.vaa_name == 0xFA00
    pass3 = client.receive(aare)
    assert isinstance(pass3, SendApdu)
    f_stoc = md5_response(STOC, SECRET)
    # ReadRequest, 1 variable, parameterized-access: FA58, selector 0, octet-string f(StoC)
    assert pass3.apdu == bytes.fromhex("050104FA580009") + bytes((len(f_stoc),)) + f_stoc
    [pass4] = server.receive(pass3.apdu)
    f_ctos = md5_response(CTOS, SECRET)
    assert pass4 == bytes.fromhex("0C01000910") + f_ctos
    assert isinstance(client.receive(pass4), Associated)
    assert client.short_name and client.negotiated is not None
    assert client.negotiated.conformance & Conformance.READ


def test_hls_pass3_as_a_write_the_gurux_way_is_accepted() -> None:
    client, server, _ = pair()
    server.receive(client.associate())
    f_stoc = md5_response(STOC, SECRET)
    [answer] = server.receive(WriteRequest((VariableName(0xFA58),), (axdr.OctetString(f_stoc),)).encode())
    assert WriteResponse.decode(answer).results[0].error is None
    [read] = server.receive(bytes.fromhex("050102") + (0x2008).to_bytes(2, "big"))
    assert ReadResponse.decode(read).results[0].value == 123456


def test_a_wrong_hls_secret_over_sn_is_rejected() -> None:
    client, server, _ = pair()
    [aare] = server.receive(client.associate())
    pass3 = client.receive(aare)
    assert isinstance(pass3, SendApdu)
    spoiled = pass3.apdu[:-1] + bytes((pass3.apdu[-1] ^ 1,))
    [refused] = server.receive(spoiled)
    assert ReadResponse.decode(refused).results[0].error == DataAccessResult.READ_WRITE_DENIED
    with pytest.raises(AssociationRejected, match="refused our HLS answer"):
        client.receive(refused)


def test_get_set_action_go_out_as_read_and_write_by_variable_name() -> None:
    client, server, meter = pair(Mechanism.NONE)
    assert isinstance(exchange(client, server, client.associate()), Associated)
    with pytest.raises(Exception, match="object list of the Association SN was not read yet"):
        client.get(CosemAttributeDescriptor(3, REGISTER, 2))
    client.short_names = NAMES
    value = CosemAttributeDescriptor(3, REGISTER, 2)
    apdu = client.get(value)
    assert apdu == bytes.fromhex("0501022008")
    event = exchange(client, server, apdu)
    assert isinstance(event, GetCompleted) and event.results[0].value == 123456
    apdu = client.get(value, SelectiveAccessDescriptor(1, axdr.Integer(5)))
    assert apdu == bytes.fromhex("0501042008010F05")  # parameterized-access: selector 1, integer 5
    client.abandon()  # (not sent)
    event = exchange(client, server, client.set(value, axdr.DoubleLongUnsigned(7)))
    assert isinstance(event, SetCompleted) and event.results == (DataAccessResult.SUCCESS,)
    assert meter.values[(3, str(REGISTER), 2)] == 7
    apdu = client.action(CosemMethodDescriptor(70, RELAY, 1), axdr.Integer(0))
    assert apdu == bytes.fromhex("060102302001") + bytes.fromhex("0F00")  # 0x3000 + 0x20: remote_disconnect
    event = exchange(client, server, apdu)
    assert isinstance(event, ActionCompleted) and event.results[0].result == ActionResult.SUCCESS
    assert meter.calls[-1] == (70, str(RELAY), 1, 0)
    event = exchange(client, server, client.get(CosemAttributeDescriptor(3, REGISTER, 9)))
    assert isinstance(event, GetCompleted)
    assert event.results[0].error == DataAccessResult.OBJECT_UNDEFINED  # past the register's attributes


def test_a_long_write_goes_out_in_blocks_through_the_session() -> None:
    client, server, meter = pair(Mechanism.NONE, max_pdu=64)
    assert isinstance(exchange(client, server, client.associate()), Associated)
    client.short_names = NAMES
    value = axdr.OctetString(bytes(range(256)) * 2)
    apdu = client.set(CosemAttributeDescriptor(3, REGISTER, 2), value)
    assert apdu[:3] == bytes.fromhex("060107") and len(apdu) <= 64  # write-data-block-access
    event = exchange(client, server, apdu)
    assert isinstance(event, SetCompleted) and event.results == (DataAccessResult.SUCCESS,)
    assert meter.values[(3, str(REGISTER), 2)] == value
