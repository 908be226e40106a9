"""Short-name APDUs: read 05/0C, write 06/0D, unconfirmed-write 16, information-report 18 (dlmskit.apdu.sn).

Layouts from the xDLMS ASN.1 of the Green Book as published in OpenMUC jDLMS (``asn1/cosem/cosem.asn``:
Variable-Access-Specification, ReadRequest ... InformationReportRequest). Vectors from public traces of real
short-name meters and from the gurux-dlms client in SN mode, each named where it is used.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.strategies import (
    axdr_data,
    check_apdu,
    check_garbage,
    read_results,
    variable_access_specifications,
    write_results,
)

from dlmskit.apdu import (
    BlockNumberAccess,
    ConfirmedServiceError,
    DataBlockResult,
    InformationReportRequest,
    ParameterizedAccess,
    ReadDataBlockAccess,
    ReadRequest,
    ReadResponse,
    ReadResult,
    SelectiveAccessDescriptor,
    UnconfirmedWriteRequest,
    VariableAccessSpecification,
    VariableName,
    WriteDataBlockAccess,
    WriteRequest,
    WriteResponse,
    WriteResult,
    decode_apdu,
)
from dlmskit.apdu.results import (
    AccessError,
    ConfirmedServiceErrorChoice,
    ConfirmedServiceErrorService,
    DataAccessResult,
)
from dlmskit.codec import axdr
from dlmskit.codec.cosem_datetime import CosemDateTime
from dlmskit.codec.obis import Obis
from dlmskit.errors import DecodeError, EncodeError

# -- published vectors ------------------------------------------------------------------------------------


def test_read_association_object_list_public_trace() -> None:
    # https://pastebin.com/Vvs6PqXK: gurux_dlms 1.0.64 example client against an SN meter; after the AARE
    # (vaa-name FA00) it reads the object list, attribute 2 of the Association SN: FA00 + 8.
    check_apdu(ReadRequest((VariableName(0xFA08),)), bytes.fromhex("05 01 02 FA08"))


def test_read_two_variables_public_trace() -> None:
    # https://pastebin.com/7HTFDmEv: a short-name client reading 0xFD08 and 0xFF08 in one ReadRequest.
    check_apdu(
        ReadRequest((VariableName(0xFD08), VariableName(0xFF08))), bytes.fromhex("05 02 02 FD08 02 FF08")
    )


def test_read_response_object_list_public_trace() -> None:
    # https://pastebin.com/Vvs6PqXK: the first HDLC segment of the meter's answer, an array of 0x125
    # object list entries {base_name long, class_id long-unsigned, version unsigned, logical_name}.
    first = axdr.Structure(
        [
            axdr.Long(0x0010),
            axdr.LongUnsigned(0x2716),
            axdr.Unsigned(3),
            axdr.OctetString(bytes(Obis(0, 0, 240, 13, 0, 255))),
        ]
    )
    response = ReadResponse((ReadResult(axdr.Array([first] * 0x125)),))
    trace = bytes.fromhex("0C 01 00 01 820125 02 04 10 0010 12 2716 11 03 09 06 0000F00D00FF")
    assert response.encode().startswith(trace)
    decoded = decode_apdu(response.encode())
    assert isinstance(decoded, ReadResponse)
    assert decoded.results[0].ok


# Bytes written by gurux-dlms 1.0.203 GXDLMSClient(useLogicalNameReferencing=False), the HDLC frame
# stripped (checked live below when gurux-dlms is installed).
GURUX_READ_REGISTER_VALUE = "05 01 02 2008"  # register, base name 2000, attribute 2 (value)
GURUX_WRITE_DATA_VALUE = "06 01 02 3008 01 12 0005"  # data, base name 3000, attribute 2 := long-unsigned 5
GURUX_REMOTE_DISCONNECT = "06 01 02 4020 01 0F 00"  # disconnect control 4000, method 1 at +0x20, integer 0
GURUX_PROFILE_BY_ENTRY = "05 01 04 5008 02 02 04 06 00000001 06 00000003 12 0001 12 0000"


def test_gurux_client_vectors() -> None:
    check_apdu(ReadRequest((VariableName(0x2008),)), bytes.fromhex(GURUX_READ_REGISTER_VALUE))
    check_apdu(
        WriteRequest((VariableName(0x3008),), (axdr.LongUnsigned(5),)), bytes.fromhex(GURUX_WRITE_DATA_VALUE)
    )
    check_apdu(
        WriteRequest((VariableName(0x4020),), (axdr.Integer(0),)), bytes.fromhex(GURUX_REMOTE_DISCONNECT)
    )
    entry = SelectiveAccessDescriptor.entry_descriptor(1, 3)
    check_apdu(
        ReadRequest((ParameterizedAccess(0x5008, entry.selector, entry.parameters),)),
        bytes.fromhex(GURUX_PROFILE_BY_ENTRY),
    )


def test_gurux_client_vectors_live() -> None:
    gurux = pytest.importorskip("gurux_dlms")
    objects = pytest.importorskip("gurux_dlms.objects")
    enums = pytest.importorskip("gurux_dlms.enums")
    client = gurux.GXDLMSClient(False)

    def apdu(frames: list[bytes]) -> str:
        assert len(frames) == 1
        return bytes(frames[0])[11:-3].hex().upper()  # 7E A0 len dst src ctrl HCS E6E600 ... FCS 7E

    register = objects.GXDLMSRegister("1.0.1.8.0.255")
    register.shortName = 0x2000
    data = objects.GXDLMSData("0.0.96.1.0.255")
    data.shortName = 0x3000
    data.value = 5
    data.setDataType(2, enums.DataType.UINT16)
    disconnect = objects.GXDLMSDisconnectControl("0.0.96.3.10.255")
    disconnect.shortName = 0x4000
    profile = objects.GXDLMSProfileGeneric("1.0.99.1.0.255")
    profile.shortName = 0x5000
    assert apdu(client.read(register, 2)) == GURUX_READ_REGISTER_VALUE.replace(" ", "")
    assert apdu(client.write(data, 2)) == GURUX_WRITE_DATA_VALUE.replace(" ", "")
    assert apdu(disconnect.remoteDisconnect(client)) == GURUX_REMOTE_DISCONNECT.replace(" ", "")
    assert apdu(client.readRowsByEntry(profile, 1, 3)) == GURUX_PROFILE_BY_ENTRY.replace(" ", "")


# -- worked examples ----------------------------------------------------------------------------------------


def test_every_variable_access_choice() -> None:
    # Variable-Access-Specification choices 2, 4, 5, 6, 7 (jDLMS cosem.asn).
    request = ReadRequest(
        (
            VariableName(0x0108),
            ParameterizedAccess(0x0210, 1, axdr.Unsigned(7)),
            BlockNumberAccess(2),
            ReadDataBlockAccess(False, 1, b"\x02\x00\x01"),
            WriteDataBlockAccess(True, 3),
        )
    )
    check_apdu(
        request, bytes.fromhex("05 05 02 0108 04 0210 01 1107 05 0002 06 00 0001 03 020001 07 01 0003")
    )


def test_read_response_every_choice() -> None:
    response = ReadResponse(
        (
            ReadResult(axdr.DoubleLongUnsigned(1234)),
            ReadResult(error=DataAccessResult.OBJECT_UNDEFINED),
            ReadResult(block=DataBlockResult(False, 1, b"\x01\x82\x01\x25")),
            ReadResult(block_number=4),
            ReadResult(None),
        )
    )
    check_apdu(response, bytes.fromhex("0C 05 00 06000004D2 01 04 02 00 0001 04 01820125 03 0004 00 00"))
    assert [result.ok for result in response.results] == [True, False, True, False, True]


def test_write_response_every_choice() -> None:
    response = WriteResponse(
        (WriteResult(), WriteResult(error=DataAccessResult.READ_WRITE_DENIED), WriteResult(block_number=2))
    )
    check_apdu(response, bytes.fromhex("0D 03 00 01 03 02 0002"))
    assert [result.ok for result in response.results] == [True, False, True]


def test_unknown_data_access_error_kept_as_int() -> None:
    decoded = ReadResponse.decode(bytes.fromhex("0C 01 01 F0"))
    assert decoded.results[0].error == 0xF0
    assert type(decoded.results[0].error) is int
    assert WriteResponse.decode(bytes.fromhex("0D 01 01 F1")).results[0].error == 0xF1


def test_unconfirmed_write() -> None:
    check_apdu(
        UnconfirmedWriteRequest((VariableName(0x3008),), (axdr.Enum(1),)),
        bytes.fromhex("16 01 02 3008 01 1601"),
    )


def test_information_report_with_and_without_time() -> None:
    # current-time is GeneralizedTime OPTIONAL: 00 absent, 01 and an octet string (A-XDR OPTIONAL).
    bare = InformationReportRequest((VariableName(0x2008),), (axdr.DoubleLongUnsigned(7),))
    check_apdu(bare, bytes.fromhex("18 00 01 02 2008 01 06 00000007"))
    assert bare.date_time() is None
    stamp = CosemDateTime.from_bytes(bytes.fromhex("07E30C1001073B28FF8000FF"))
    stamped = InformationReportRequest.at(stamp, (VariableName(0x2008),), (axdr.DoubleLongUnsigned(7),))
    check_apdu(stamped, bytes.fromhex("18 01 0C 07E30C1001073B28FF8000FF 01 02 2008 01 06 00000007"))
    assert stamped.date_time() == stamp
    odd = InformationReportRequest((), (), b"20191216075940Z")
    check_apdu(odd)
    assert odd.date_time() is None


def test_confirmed_service_error_of_read_and_write() -> None:
    # ConfirmedServiceError read [5] / write [6] with ServiceError access [5] (jDLMS cosem.asn).
    denied = ConfirmedServiceError(
        ConfirmedServiceErrorService.READ,
        ConfirmedServiceErrorChoice.ACCESS,
        AccessError.SCOPE_OF_ACCESS_VIOLATED,
    )
    check_apdu(denied, bytes.fromhex("0E 05 05 01"))
    decoded = decode_apdu(bytes.fromhex("0E 06 05 02"))
    assert isinstance(decoded, ConfirmedServiceError)
    assert decoded.service is ConfirmedServiceErrorService.WRITE
    assert decoded.detail is AccessError.OBJECT_ACCESS_VIOLATED


def test_empty_lists() -> None:
    check_apdu(ReadRequest(()), bytes.fromhex("0500"))
    check_apdu(ReadResponse(()), bytes.fromhex("0C00"))
    check_apdu(WriteRequest((), ()), bytes.fromhex("060000"))
    check_apdu(WriteResponse(()), bytes.fromhex("0D00"))


# -- errors ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("05 01 03 0000", "Variable-Access-Specification choice"),
        ("05 01 08", "Variable-Access-Specification choice"),
        ("05 01 02 20", "truncated variable-name"),
        ("05 05 02 2008", "count larger than the data"),
        ("0C 01 04 00", "ReadResponse result choice"),
        ("0D 01 03", "WriteResponse result choice"),
        ("18 02", "current-time marker"),
        ("18 01 0C 0000", "truncated current-time"),
        ("05 01 02 2008 00", "trailing bytes"),
    ],
)
def test_decode_errors(text: str, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        decode_apdu(bytes.fromhex(text))


def test_encode_errors() -> None:
    with pytest.raises(EncodeError, match="variable-name"):
        ReadRequest((VariableName(0x10000),)).encode()
    with pytest.raises(EncodeError, match="variable-name"):
        ReadRequest((VariableName(-1),)).encode()
    with pytest.raises(EncodeError, match="block-number"):
        ReadRequest((BlockNumberAccess(0x10000),)).encode()
    with pytest.raises(EncodeError, match="one of"):
        ReadResult(axdr.Unsigned(1), error=DataAccessResult.OTHER_REASON)
    with pytest.raises(EncodeError, match="one of"):
        ReadResult(error=DataAccessResult.OTHER_REASON, block_number=1)
    with pytest.raises(EncodeError, match="goes in"):
        ReadResult(DataAccessResult.OTHER_REASON)
    with pytest.raises(EncodeError, match="not both"):
        WriteResult(DataAccessResult.OTHER_REASON, 1)


# -- properties ----------------------------------------------------------------------------------------------

_BOUNDED = settings(max_examples=60, deadline=None)
_SPECS = st.lists(variable_access_specifications(), max_size=4).map(tuple)
_VALUES = st.lists(axdr_data(max_leaves=6), max_size=4).map(tuple)


@_BOUNDED
@given(_SPECS)
def test_read_request_round_trip(variables: tuple[VariableAccessSpecification, ...]) -> None:
    check_apdu(ReadRequest(variables))


@_BOUNDED
@given(st.lists(read_results(), max_size=4).map(tuple))
def test_read_response_round_trip(results: tuple[ReadResult, ...]) -> None:
    check_apdu(ReadResponse(results))


@_BOUNDED
@given(_SPECS, _VALUES)
def test_write_request_round_trip(
    variables: tuple[VariableAccessSpecification, ...], values: tuple[axdr.Data, ...]
) -> None:
    check_apdu(WriteRequest(variables, values))
    check_apdu(UnconfirmedWriteRequest(variables, values))


@_BOUNDED
@given(st.lists(write_results(), max_size=4).map(tuple))
def test_write_response_round_trip(results: tuple[WriteResult, ...]) -> None:
    check_apdu(WriteResponse(results))


@_BOUNDED
@given(_SPECS, _VALUES, st.none() | st.binary(max_size=20))
def test_information_report_round_trip(
    variables: tuple[VariableAccessSpecification, ...], values: tuple[axdr.Data, ...], stamp: bytes | None
) -> None:
    check_apdu(InformationReportRequest(variables, values, stamp))


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["05", "0C", "06", "0D", "16", "18"]), st.binary(max_size=40))
def test_garbage_raises_only_decode_error(header: str, tail: bytes) -> None:
    check_garbage(bytes.fromhex(header) + tail)
