"""Short-name services, sans-I/O: ShortNameClient and ShortNameServer in memory (dlmskit.session.short_name).

The server stands for an SN meter: a ShortNameMap over a small object list, values by (logical name,
attribute), methods called through WriteRequest. The client reads and writes by logical name through the
same map, as a later client layer will.
"""

from __future__ import annotations

import pytest
from tests.tinymeter import AK, CLIENT_TITLE, EK, SERVER_TITLE, secret

from dlmskit.apdu.common import EncodedData
from dlmskit.apdu.conformance import Conformance
from dlmskit.apdu.exception import ExceptionResponse
from dlmskit.apdu.results import ConfirmedServiceErrorService, DataAccessResult
from dlmskit.apdu.sn import (
    BlockNumberAccess,
    DataBlockResult,
    InformationReportRequest,
    ParameterizedAccess,
    ReadRequest,
    ReadResponse,
    ReadResult,
    VariableAccessSpecification,
    VariableName,
    WriteDataBlockAccess,
    WriteRequest,
    WriteResponse,
    WriteResult,
)
from dlmskit.codec import axdr
from dlmskit.codec.obis import Obis
from dlmskit.cosem.short_names import ShortNameEntry, ShortNameMap
from dlmskit.errors import ProtocolError, TagVerificationError
from dlmskit.security.invocation import MemoryInvocationCounterStore
from dlmskit.session.errors import ConfirmedServiceErrorReceived, ExceptionResponseReceived
from dlmskit.session.events import Notification, SendApdu
from dlmskit.session.protection import ApduProtection, SecurityPolicy, SecuritySettings
from dlmskit.session.short_name import ReadCompleted, ShortNameClient, ShortNameServer, WriteCompleted

CLOCK = Obis(0, 0, 1, 0, 0, 255)
ENERGY = Obis(1, 0, 1, 8, 0, 255)
PROFILE = Obis(1, 0, 99, 1, 0, 255)
DISCONNECT = Obis(0, 0, 96, 3, 10, 255)
ASSOCIATION = Obis(0, 0, 40, 0, 0, 255)
NAMES = ShortNameMap(
    [
        ShortNameEntry(0xFA00, 12, 2, ASSOCIATION),
        ShortNameEntry(0x2BC0, 8, 0, CLOCK),
        ShortNameEntry(0x2000, 3, 0, ENERGY),
        ShortNameEntry(0x3000, 7, 1, PROFILE),
        ShortNameEntry(0x4000, 70, 0, DISCONNECT),
    ]
)
ROWS = axdr.Array(
    axdr.Structure([axdr.OctetString(bytes(12)), axdr.DoubleLongUnsigned(i)]) for i in range(300)
)
ALL = Conformance.default_sn_client() | Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ


class SnMeter:
    """Values by (logical name, attribute); the disconnect control's methods; selective access by entry."""

    def __init__(self) -> None:
        self.values: dict[tuple[Obis, int], axdr.Data] = {
            (ENERGY, 2): axdr.DoubleLongUnsigned(123456),
            (ENERGY, 3): axdr.Structure([axdr.Integer(0), axdr.Enum(30)]),
            (CLOCK, 3): axdr.Long(60),
            (PROFILE, 2): ROWS,
            (DISCONNECT, 3): axdr.Enum(1),
        }
        self.calls: list[tuple[Obis, int, axdr.Data]] = []

    def read(self, variable: VariableAccessSpecification) -> ReadResult:
        assert isinstance(variable, (VariableName, ParameterizedAccess))
        target = NAMES.resolve(variable.name)
        if target is None or target.kind != "attribute":
            return ReadResult(error=DataAccessResult.OBJECT_UNDEFINED)
        value = self.values.get((target.entry.logical_name, target.index))
        if value is None:
            return ReadResult(error=DataAccessResult.OBJECT_UNAVAILABLE)
        if isinstance(variable, ParameterizedAccess):  # by entry: rows from..to (1-based)
            assert variable.selector == 2 and isinstance(value, list)
            first, last = variable.parameter[0], variable.parameter[1]
            return ReadResult(axdr.Array(value[first - 1 : last]))
        return ReadResult(value)

    def write(self, variable: VariableAccessSpecification, value: axdr.Data) -> WriteResult:
        assert isinstance(variable, VariableName)
        target = NAMES.resolve(variable.name)
        if target is None:
            return WriteResult(DataAccessResult.OBJECT_UNDEFINED)
        if target.kind == "method":
            self.calls.append((target.entry.logical_name, target.index, value))
            return WriteResult()
        if (target.entry.logical_name, target.index) not in self.values:
            return WriteResult(DataAccessResult.READ_WRITE_DENIED)
        self.values[(target.entry.logical_name, target.index)] = value
        return WriteResult()


def run(client: ShortNameClient, server: ShortNameServer, request: bytes) -> tuple[object, int]:
    """Pump APDUs until the client completes; the event and the number of exchanges."""
    apdu, exchanges = request, 0
    while True:
        answer = server.receive(apdu)
        assert answer is not None
        exchanges += 1
        event = client.receive(answer)
        if isinstance(event, SendApdu):
            apdu = event.apdu
            continue
        return event, exchanges


def pair(
    meter: SnMeter, max_pdu: int = 0xFFFF, conformance: Conformance = ALL
) -> tuple[ShortNameClient, ShortNameServer]:
    client = ShortNameClient(conformance=conformance, max_send=max_pdu)
    server = ShortNameServer(meter.read, meter.write, conformance=conformance, max_send=max_pdu)
    return client, server


def test_read_by_logical_name() -> None:
    meter = SnMeter()
    client, server = pair(meter)
    request = client.read([NAMES.attribute(ENERGY, 2)])
    assert request == bytes.fromhex("05 01 02 2008")
    event, exchanges = run(client, server, request)
    assert event == ReadCompleted((ReadResult(axdr.DoubleLongUnsigned(123456)),))
    assert exchanges == 1 and not client.pending


def test_read_several_with_errors() -> None:
    meter = SnMeter()
    client, server = pair(meter)
    variables = [NAMES.attribute(ENERGY, 3), NAMES.attribute(CLOCK, 2), 0x0100]
    event, _ = run(client, server, client.read(variables))
    assert isinstance(event, ReadCompleted)
    assert event.results[0].value == (0, 30)
    assert event.results[1].error is DataAccessResult.OBJECT_UNAVAILABLE
    assert event.results[2].error is DataAccessResult.OBJECT_UNDEFINED


def test_long_read_comes_in_blocks() -> None:
    meter = SnMeter()
    client, server = pair(meter, max_pdu=128)
    event, exchanges = run(client, server, client.read([NAMES.attribute(PROFILE, 2)]))
    assert isinstance(event, ReadCompleted)
    assert event.results == (ReadResult(ROWS),)
    assert exchanges == event.blocks > 40
    assert not client.pending


def test_long_read_of_several_variables_in_blocks() -> None:
    meter = SnMeter()
    client, server = pair(meter, max_pdu=200)
    variables = [NAMES.attribute(ENERGY, 2), NAMES.attribute(PROFILE, 2), NAMES.attribute(ENERGY, 3)]
    event, exchanges = run(client, server, client.read(variables))
    assert isinstance(event, ReadCompleted)
    assert [result.value for result in event.results] == [123456, ROWS, (0, 30)]
    assert exchanges > 1


def test_selective_access_by_entry() -> None:
    meter = SnMeter()
    client, server = pair(meter)
    access = ParameterizedAccess(
        NAMES.attribute(PROFILE, 2),
        2,
        axdr.Structure(
            [
                axdr.DoubleLongUnsigned(3),
                axdr.DoubleLongUnsigned(5),
                axdr.LongUnsigned(1),
                axdr.LongUnsigned(0),
            ]
        ),
    )
    event, _ = run(client, server, client.read([access]))
    assert isinstance(event, ReadCompleted)
    assert event.results[0].value == ROWS[2:5]


def test_write_and_method_by_write() -> None:
    meter = SnMeter()
    client, server = pair(meter)
    request = client.write([NAMES.attribute(DISCONNECT, 3)], [axdr.Enum(4)])
    event, _ = run(client, server, request)
    assert event == WriteCompleted((WriteResult(),))
    assert meter.values[(DISCONNECT, 3)] == 4
    # remote_disconnect: method 1 of the disconnect control, at base + 0x20 (as the gurux-dlms client does).
    request = client.write([NAMES.method(DISCONNECT, 1)], [axdr.Integer(0)])
    assert request == bytes.fromhex("06 01 02 4020 01 0F 00")
    event, _ = run(client, server, request)
    assert event == WriteCompleted((WriteResult(),))
    assert meter.calls == [(DISCONNECT, 1, 0)]
    event, _ = run(client, server, client.write([NAMES.attribute(CLOCK, 2)], [axdr.Long(0)]))
    assert event == WriteCompleted((WriteResult(DataAccessResult.READ_WRITE_DENIED),))


def test_unconfirmed_write() -> None:
    meter = SnMeter()
    client, server = pair(meter)
    assert server.receive(client.unconfirmed_write([NAMES.attribute(CLOCK, 3)], [axdr.Long(120)])) is None
    assert meter.values[(CLOCK, 3)] == 120
    assert not client.pending


def test_information_report_is_a_notification() -> None:
    meter = SnMeter()
    client, server = pair(meter)
    client.read([NAMES.attribute(ENERGY, 2)])
    report = server.information_report([NAMES.attribute(ENERGY, 2)], [axdr.DoubleLongUnsigned(7)])
    event = client.receive(report)
    assert isinstance(event, Notification) and isinstance(event.apdu, InformationReportRequest)
    assert client.pending  # the read still waits for its answer


def test_services_outside_the_conformance() -> None:
    meter = SnMeter()
    read_only = Conformance.READ
    client, server = pair(meter, conformance=read_only)
    with pytest.raises(ProtocolError, match="write"):
        client.write([0x2008], [axdr.Unsigned(1)])
    with pytest.raises(ProtocolError, match="multiple-references"):
        client.read([0x2008, 0x2010])
    with pytest.raises(ProtocolError, match="parameterized-access"):
        client.read([ParameterizedAccess(0x3008, 2, None)])
    # A client that does not check: the server answers confirmed-service-error.
    unchecked = ShortNameClient()
    with pytest.raises(ConfirmedServiceErrorReceived) as caught:
        run(unchecked, server, unchecked.write([0x2008], [axdr.Unsigned(1)]))
    assert caught.value.error.service is ConfirmedServiceErrorService.WRITE
    with pytest.raises(ConfirmedServiceErrorReceived):
        run(unchecked, server, unchecked.read([0x2008, 0x2010]))


def test_long_answer_without_block_transfer() -> None:
    meter = SnMeter()
    client, server = pair(meter, max_pdu=128, conformance=Conformance.default_sn_client())
    event, _ = run(client, server, client.read([NAMES.attribute(PROFILE, 2)]))
    assert event == ReadCompleted((ReadResult(error=DataAccessResult.OTHER_REASON),))


def test_block_protocol_errors() -> None:
    meter = SnMeter()
    client, server = pair(meter, max_pdu=128)
    first = server.receive(client.read([NAMES.attribute(PROFILE, 2)]))
    assert first is not None
    event = client.receive(first)
    assert isinstance(event, SendApdu)
    # Asking for the wrong block: the server gives up with data-block-number-invalid.
    wrong = server.receive(ReadRequest((BlockNumberAccess(5),)).encode())
    assert wrong is not None
    assert ReadResponse.decode(wrong).results[0].error is DataAccessResult.DATA_BLOCK_NUMBER_INVALID
    assert client.receive(wrong) == ReadCompleted(
        (ReadResult(error=DataAccessResult.DATA_BLOCK_NUMBER_INVALID),), blocks=1
    )
    # A server that skips a block.
    client.read([NAMES.attribute(PROFILE, 2)])
    client.receive(ReadResponse((ReadResult(block=_block(1)),)).encode())
    with pytest.raises(ProtocolError, match="expected block 2"):
        client.receive(ReadResponse((ReadResult(block=_block(3)),)).encode())
    assert not client.pending


def _block(number: int) -> DataBlockResult:
    return DataBlockResult(False, number, b"\x01")


def test_client_refusals() -> None:
    client = ShortNameClient(max_send=20)
    with pytest.raises(ProtocolError, match="more than the meter takes"):
        client.write([0x2008], [axdr.OctetString(bytes(40))])
    with pytest.raises(ProtocolError, match="at least one"):
        client.read([])
    with pytest.raises(ProtocolError, match="one value per variable"):
        client.write([0x2008], [])
    with pytest.raises(ProtocolError, match="session's own"):
        client.read([BlockNumberAccess(1)])
    client.read([0x2008])
    with pytest.raises(ProtocolError, match="still waiting"):
        client.read([0x2008])
    with pytest.raises(ProtocolError, match="3 read results for 1"):
        client.receive(ReadResponse((ReadResult(None),) * 3).encode())
    with pytest.raises(ProtocolError, match="unexpected WriteResponse"):
        client.receive(bytes.fromhex("0D0100"))
    client.read([0x2008])
    with pytest.raises(ExceptionResponseReceived):
        client.receive(ExceptionResponse(1, 2).encode())
    assert not client.pending


def test_server_refuses_other_services() -> None:
    server = ShortNameServer(SnMeter().read, SnMeter().write)
    answer = server.receive(bytes.fromhex("C0010000080000010000FF0200"))
    assert answer is not None and answer[0] == 0xD8
    answer = server.receive(bytes.fromhex("0599"))
    assert answer is not None and answer[0] == 0xD8


def _security(title: bytes) -> SecuritySettings:
    return SecuritySettings(
        policy=SecurityPolicy.AUTHENTICATED_ENCRYPTED,
        system_title=title,
        block_cipher_key=secret(EK),
        authentication_key=secret(AK),
        invocation_counters=MemoryInvocationCounterStore(),
    )


def test_ciphered_read_and_write_in_blocks() -> None:
    meter = SnMeter()
    client_protection = ApduProtection(_security(CLIENT_TITLE))
    client_protection.peer_system_title = SERVER_TITLE
    server_protection = ApduProtection(_security(SERVER_TITLE))
    server_protection.peer_system_title = CLIENT_TITLE
    client = ShortNameClient(protection=client_protection, conformance=ALL, max_send=256)
    server = ShortNameServer(
        meter.read, meter.write, protection=server_protection, conformance=ALL, max_send=256
    )
    request = client.read([NAMES.attribute(PROFILE, 2)])
    assert request[0] == 0x25  # glo-read-request
    event, exchanges = run(client, server, request)
    assert isinstance(event, ReadCompleted) and event.results == (ReadResult(ROWS),)
    assert exchanges > 10
    request = client.write([NAMES.method(DISCONNECT, 2)], [axdr.Integer(0)])
    assert request[0] == 0x26  # glo-write-request
    assert run(client, server, request)[0] == WriteCompleted((WriteResult(),))
    assert meter.calls == [(DISCONNECT, 2, 0)]
    tampered = bytearray(client.read([NAMES.attribute(ENERGY, 2)]))
    tampered[-1] ^= 1
    with pytest.raises(TagVerificationError):
        server.receive(bytes(tampered))


def test_pre_encoded_value_in_blocks() -> None:
    encoded = EncodedData(axdr.encode(ROWS))
    server = ShortNameServer(
        lambda variable: ReadResult(encoded), SnMeter().write, conformance=ALL, max_send=128
    )
    client = ShortNameClient(conformance=ALL, max_send=128)
    event, _ = run(client, server, client.read([0x3008]))
    assert isinstance(event, ReadCompleted) and event.results == (ReadResult(ROWS),)


def test_object_list_read_in_blocks_builds_the_map() -> None:
    # What a client does first on an SN meter: read attribute 2 of the Association SN (FA08), build the map.
    meter = SnMeter()
    meter.values[(ASSOCIATION, 2)] = axdr.Array(entry.encode() for entry in NAMES)
    client, server = pair(meter, max_pdu=64)
    event, exchanges = run(client, server, client.read([0xFA08]))
    assert isinstance(event, ReadCompleted) and exchanges > 1
    names = ShortNameMap.from_object_list(event.results[0].value)
    assert list(names) == list(NAMES)
    assert names.method(DISCONNECT, 1) == 0x4020


# -- long requests: write-data-block-access and read-data-block-access --------------------------------------

BLOCKS = ALL | Conformance.BLOCK_TRANSFER_WITH_SET_OR_WRITE


def test_long_write_goes_out_in_write_data_block_access() -> None:
    meter = SnMeter()
    meter.values[(CLOCK, 2)] = axdr.OctetString(b"")
    client, server = pair(meter, max_pdu=64, conformance=BLOCKS)
    value = axdr.OctetString(bytes(range(200)))
    first = client.write([NAMES.attribute(CLOCK, 2)], [value])
    whole = WriteRequest((VariableName(NAMES.attribute(CLOCK, 2)),), (value,)).encode()
    # WriteRequest, 1 variable, write-data-block-access: last-block false, block 1; one octet-string datum.
    assert first[:7] == bytes.fromhex("06010700000101") and first[7] == 0x09
    assert len(first) <= 64
    other = ShortNameServer(meter.read, meter.write, conformance=BLOCKS, max_send=64)
    assert other.receive(first) == bytes.fromhex("0D01020001")  # WriteResponse: block-number 1 received
    event, exchanges = run(client, server, first)
    assert event == WriteCompleted((WriteResult(),)) and exchanges == -(-(len(whole) - 1) // (64 - 13))
    assert meter.values[(CLOCK, 2)] == value


def test_long_read_request_goes_out_in_read_data_block_access() -> None:
    meter = SnMeter()
    client, server = pair(meter, max_pdu=24, conformance=BLOCKS)
    names = [NAMES.attribute(ENERGY, 2), NAMES.attribute(ENERGY, 3), NAMES.attribute(DISCONNECT, 3)] * 3
    first = client.read(names)
    assert first[:3] == bytes.fromhex("050106") and len(first) <= 24
    event, exchanges = run(client, server, first)
    assert isinstance(event, ReadCompleted) and exchanges > 2
    assert [r.value for r in event.results[:3]] == [123456, meter.values[(ENERGY, 3)], 1]


def test_request_blocks_out_of_order_or_not_agreed() -> None:
    server = ShortNameServer(SnMeter().read, SnMeter().write, conformance=BLOCKS)
    third = WriteRequest((WriteDataBlockAccess(False, 3),), (axdr.OctetString(b"\x01\x02"),)).encode()
    assert (
        server.receive(third)
        == WriteResponse((WriteResult(DataAccessResult.DATA_BLOCK_NUMBER_INVALID),)).encode()
    )
    refusing = ShortNameServer(SnMeter().read, SnMeter().write, conformance=ALL)
    first = WriteRequest((WriteDataBlockAccess(False, 1),), (axdr.OctetString(b"\x01"),)).encode()
    assert refusing.receive(first) == WriteResponse((WriteResult(DataAccessResult.OTHER_REASON),)).encode()
    client = ShortNameClient(conformance=BLOCKS, max_send=40)
    client.write([0x2008], [axdr.OctetString(bytes(100))])
    with pytest.raises(ProtocolError, match="acknowledged request block 2, we sent block 1"):
        client.receive(WriteResponse((WriteResult(block_number=2),)).encode())
    assert not client.pending
