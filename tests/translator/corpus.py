"""APDUs of every kind for the translator tests: built with dlmskit's own APDU classes, plus published
ciphered vectors. ``CORPUS`` maps a name to the APDU bytes."""

from __future__ import annotations

from dlmskit.apdu.acse import AARE, AARQ, RLRE, RLRQ, AssociateSourceDiagnostic, DiagnosticSource
from dlmskit.apdu.action import (
    ActionRequestNextPblock,
    ActionRequestNormal,
    ActionRequestWithFirstPblock,
    ActionRequestWithList,
    ActionRequestWithListAndFirstPblock,
    ActionRequestWithPblock,
    ActionResponseNextPblock,
    ActionResponseNormal,
    ActionResponseWithList,
    ActionResponseWithOptionalData,
    ActionResponseWithPblock,
)
from dlmskit.apdu.block import GeneralBlockTransfer
from dlmskit.apdu.common import (
    CosemAttributeDescriptor,
    CosemAttributeDescriptorWithSelection,
    CosemMethodDescriptor,
    DataBlockG,
    DataBlockSA,
    GetDataResult,
    InvokeIdAndPriority,
    LongInvokeIdAndPriority,
    SelectiveAccessDescriptor,
)
from dlmskit.apdu.conformance import Conformance
from dlmskit.apdu.exception import ConfirmedServiceError, ExceptionResponse
from dlmskit.apdu.get import (
    GetRequestNext,
    GetRequestNormal,
    GetRequestWithList,
    GetResponseNormal,
    GetResponseWithDatablock,
    GetResponseWithList,
)
from dlmskit.apdu.initiate import InitiateRequest, InitiateResponse
from dlmskit.apdu.notification import DataNotification, EventNotificationRequest
from dlmskit.apdu.results import (
    ActionResult,
    ConfirmedServiceErrorChoice,
    ConfirmedServiceErrorService,
    DataAccessResult,
    ServiceError,
    StateError,
)
from dlmskit.apdu.set import (
    SetRequestNormal,
    SetRequestWithDatablock,
    SetRequestWithFirstDatablock,
    SetRequestWithList,
    SetRequestWithListAndFirstDatablock,
    SetResponseDatablock,
    SetResponseLastDatablock,
    SetResponseLastDatablockWithList,
    SetResponseNormal,
    SetResponseWithList,
)
from dlmskit.apdu.sn import (
    BlockNumberAccess,
    DataBlockResult,
    InformationReportRequest,
    ParameterizedAccess,
    ReadDataBlockAccess,
    ReadRequest,
    ReadResponse,
    ReadResult,
    UnconfirmedWriteRequest,
    VariableName,
    WriteDataBlockAccess,
    WriteRequest,
    WriteResponse,
    WriteResult,
)
from dlmskit.codec import axdr
from dlmskit.codec.cosem_datetime import CosemDate, CosemDateTime, CosemTime
from dlmskit.codec.obis import Obis

# Green Book example keys and vectors, as reproduced in shared/reference/dlms-facts.md section 3.
GREEN_BOOK_EK = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
GREEN_BOOK_AK = bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF")
GREEN_BOOK_TITLE = bytes.fromhex("4D4D4D0000BC614E")
GREEN_BOOK_PLAIN_GET = bytes.fromhex("C0010000080000010000FF0200")
GREEN_BOOK_GLO_GET = {
    0x10: bytes.fromhex("C81E1001234567C0010000080000010000FF020006725D910F9221D263877516"),
    0x20: bytes.fromhex("C8122001234567411312FF935A47566827C467BC"),
    0x30: bytes.fromhex("C81E3001234567411312FF935A47566827C467BC7D825C3BE4A77C3FCC056B6B"),
}
GREEN_BOOK_PLAIN_INITIATE = bytes.fromhex("01011000112233445566778899AABBCCDDEEFF0000065F1F0400007E1F04B0")
GREEN_BOOK_GLO_INITIATE = bytes.fromhex(
    "21303001234567801302FF8A7874133D414CED25B42534D28DB0047720606B175BD52211BE6841DB204D39EE6FDB8E356855"
)

_INVOKE = InvokeIdAndPriority(1)
_CLOCK = CosemAttributeDescriptor(8, Obis(0, 0, 1, 0, 0, 255), 2)
_REGISTER = CosemAttributeDescriptor(3, Obis(1, 0, 1, 8, 0, 255), 2)
_PROFILE = CosemAttributeDescriptor(7, Obis(1, 0, 99, 1, 0, 255), 2)
_DISCONNECT = CosemMethodDescriptor(70, Obis(0, 0, 96, 3, 10, 255), 1)
_STAMP = CosemDateTime.from_bytes(bytes.fromhex("07E30C1001073B28FF8000FF"))
_ENTRY = SelectiveAccessDescriptor.entry_descriptor(1, 10)
_RANGE = SelectiveAccessDescriptor.range_descriptor(
    (8, Obis(0, 0, 1, 0, 0, 255), 2, 0),
    axdr.OctetString(_STAMP.to_bytes()),
    axdr.OctetString(_STAMP.to_bytes()),
)
_INITIATE_RESPONSE = bytes.fromhex("0800065F1F040000101D04B00007")

VALUES: dict[str, axdr.Data] = {
    "null": None,
    "boolean_true": True,
    "boolean_false": False,
    "bit_string": axdr.BitString("1010000011"),
    "double_long": axdr.DoubleLong(-5),
    "double_long_unsigned": axdr.DoubleLongUnsigned(70000),
    "octet_string": axdr.OctetString(b"\x01\x02"),
    "octet_string_empty": axdr.OctetString(b""),
    "visible_string": axdr.VisibleString("ABC"),
    "utf8_string": axdr.Utf8String("äö"),
    "bcd": axdr.Bcd(0x12),
    "integer": axdr.Integer(-3),
    "long": axdr.Long(-300),
    "unsigned": axdr.Unsigned(200),
    "long_unsigned": axdr.LongUnsigned(230),
    "long64": axdr.Long64(-1),
    "long64_unsigned": axdr.Long64Unsigned(2**40),
    "enum": axdr.Enum(3),
    "float32": axdr.Float32(1.5),
    "float64": axdr.Float64(-2.25),
    "date_time": _STAMP,
    "date": CosemDate.from_bytes(bytes.fromhex("07E30C1001")),
    "time": CosemTime.from_bytes(bytes.fromhex("0B1E00FF")),
    "dont_care": axdr.DONT_CARE,
    "structure": axdr.Structure([axdr.Integer(-3), axdr.Enum(30)]),
    "array": axdr.Array([axdr.Unsigned(1), axdr.Unsigned(2)]),
    "compact_array": axdr.CompactArray([axdr.Unsigned(1), axdr.Unsigned(2)]),
    "capture_objects": axdr.Array(
        [
            axdr.Structure(
                [
                    axdr.LongUnsigned(8),
                    axdr.OctetString(bytes(Obis(0, 0, 1, 0, 0, 255))),
                    axdr.Integer(2),
                    axdr.LongUnsigned(0),
                ]
            )
        ]
    ),
}

_APDUS = {
    "get_normal": GetRequestNormal(_INVOKE, _CLOCK),
    "get_entry": GetRequestNormal(_INVOKE, _PROFILE, _ENTRY),
    "get_range": GetRequestNormal(_INVOKE, _PROFILE, _RANGE),
    "get_next": GetRequestNext(_INVOKE, 5),
    "get_list": GetRequestWithList(
        _INVOKE,
        (
            CosemAttributeDescriptorWithSelection(_CLOCK),
            CosemAttributeDescriptorWithSelection(_PROFILE, _ENTRY),
        ),
    ),
    **{
        f"get_response_{name}": GetResponseNormal(_INVOKE, GetDataResult(value))
        for name, value in VALUES.items()
    },
    "get_response_error": GetResponseNormal(_INVOKE, GetDataResult(error=DataAccessResult.READ_WRITE_DENIED)),
    "get_response_block": GetResponseWithDatablock(_INVOKE, DataBlockG(False, 1, b"\x01\x02\x03")),
    "get_response_block_error": GetResponseWithDatablock(
        _INVOKE, DataBlockG(True, 2, error=DataAccessResult.DATA_BLOCK_UNAVAILABLE)
    ),
    "get_response_list": GetResponseWithList(
        _INVOKE, (GetDataResult(axdr.Unsigned(1)), GetDataResult(error=DataAccessResult.OBJECT_UNDEFINED))
    ),
    "set_normal": SetRequestNormal(_INVOKE, _REGISTER, axdr.DoubleLongUnsigned(5)),
    "set_with_access": SetRequestNormal(_INVOKE, _PROFILE, axdr.Array(), _ENTRY),
    "set_first_block": SetRequestWithFirstDatablock(
        _INVOKE, _REGISTER, DataBlockSA(False, 1, b"\x09\x05\x01")
    ),
    "set_block": SetRequestWithDatablock(_INVOKE, DataBlockSA(True, 2, b"\x02\x03")),
    "set_list": SetRequestWithList(
        _INVOKE,
        (CosemAttributeDescriptorWithSelection(_CLOCK), CosemAttributeDescriptorWithSelection(_REGISTER)),
        (_STAMP, axdr.DoubleLongUnsigned(1)),
    ),
    "set_list_first_block": SetRequestWithListAndFirstDatablock(
        _INVOKE, (CosemAttributeDescriptorWithSelection(_CLOCK),), DataBlockSA(False, 1, b"\x19")
    ),
    "set_response": SetResponseNormal(_INVOKE, DataAccessResult.SUCCESS),
    "set_response_block": SetResponseDatablock(_INVOKE, 1),
    "set_response_last_block": SetResponseLastDatablock(_INVOKE, DataAccessResult.SUCCESS, 2),
    "set_response_last_block_list": SetResponseLastDatablockWithList(
        _INVOKE, (DataAccessResult.SUCCESS, DataAccessResult.READ_WRITE_DENIED), 2
    ),
    "set_response_list": SetResponseWithList(
        _INVOKE, (DataAccessResult.SUCCESS, DataAccessResult.TYPE_UNMATCHED)
    ),
    "action_normal": ActionRequestNormal(_INVOKE, _DISCONNECT, axdr.Integer(0)),
    "action_without_parameters": ActionRequestNormal(_INVOKE, _DISCONNECT),
    "action_next": ActionRequestNextPblock(_INVOKE, 1),
    "action_list": ActionRequestWithList(
        _INVOKE, (_DISCONNECT, _DISCONNECT), (axdr.Integer(0), axdr.Integer(0))
    ),
    "action_first_block": ActionRequestWithFirstPblock(_INVOKE, _DISCONNECT, DataBlockSA(False, 1, b"\x0f")),
    "action_list_first_block": ActionRequestWithListAndFirstPblock(
        _INVOKE, (_DISCONNECT,), DataBlockSA(False, 1, b"\x0f")
    ),
    "action_block": ActionRequestWithPblock(_INVOKE, DataBlockSA(True, 2, b"\x00")),
    "action_response": ActionResponseNormal(_INVOKE, ActionResult.SUCCESS),
    "action_response_data": ActionResponseNormal(
        _INVOKE, ActionResult.SUCCESS, GetDataResult(axdr.Unsigned(5))
    ),
    "action_response_data_error": ActionResponseNormal(
        _INVOKE, ActionResult.SUCCESS, GetDataResult(error=DataAccessResult.READ_WRITE_DENIED)
    ),
    "action_response_block": ActionResponseWithPblock(_INVOKE, DataBlockSA(False, 1, b"\x11\x01")),
    "action_response_list": ActionResponseWithList(
        _INVOKE,
        (
            ActionResponseWithOptionalData(ActionResult.SUCCESS),
            ActionResponseWithOptionalData(ActionResult.READ_WRITE_DENIED, GetDataResult(axdr.Unsigned(1))),
        ),
    ),
    "action_response_next": ActionResponseNextPblock(_INVOKE, 1),
    "event_notification": EventNotificationRequest(
        CosemAttributeDescriptor(1, Obis(0, 0, 96, 11, 0, 255), 2), axdr.LongUnsigned(16), _STAMP
    ),
    "event_notification_no_time": EventNotificationRequest(
        CosemAttributeDescriptor(1, Obis(0, 0, 96, 11, 0, 255), 2), axdr.LongUnsigned(16)
    ),
    "data_notification": DataNotification(
        LongInvokeIdAndPriority(0x1BF780, high_priority=True),
        _STAMP,
        axdr.Structure([axdr.OctetString(b"\x01"), axdr.DoubleLongUnsigned(1)]),
    ),
    "data_notification_no_time": DataNotification(LongInvokeIdAndPriority(1), None, axdr.Unsigned(1)),
    "exception_response": ExceptionResponse(StateError.SERVICE_NOT_ALLOWED, ServiceError.OTHER_REASON),
    "exception_response_counter": ExceptionResponse(
        StateError.SERVICE_NOT_ALLOWED, ServiceError.INVOCATION_COUNTER_ERROR, 19
    ),
    "confirmed_service_error": ConfirmedServiceError(
        ConfirmedServiceErrorService.INITIATE_ERROR, ConfirmedServiceErrorChoice.INITIATE, 1
    ),
    "general_block_transfer": GeneralBlockTransfer(True, False, 1, 1, 0, b"\xc0\x01"),
    "aarq": AARQ.decode(bytes.fromhex("601DA109060760857405080101BE10040E01000000065F1F0400007E1F04B0")),
    "aarq_hls_gmac": AARQ(
        application_context_name=3,
        calling_ap_title=bytes.fromhex("4D4D4D0000000001"),
        sender_acse_requirements=True,
        mechanism_name=5,
        calling_authentication_value=bytes.fromhex("4B35366956616759"),
        user_information=GREEN_BOOK_GLO_INITIATE,
    ),
    "aarq_lls": AARQ(
        application_context_name=1,
        sender_acse_requirements=True,
        mechanism_name=1,
        calling_authentication_value=b"12345678",
        user_information=bytes.fromhex("01000000065F1F0400007E1F04B0"),
    ),
    "aarq_all_elements": AARQ(
        application_context_name=1,
        called_ap_title=b"\x01\x02",
        called_ae_qualifier=b"\x03",
        called_ap_invocation_id=5,
        called_ae_invocation_id=6,
        calling_ap_title=b"ABCDEFGH",
        calling_ae_qualifier=b"\x07",
        calling_ap_invocation_id=8,
        calling_ae_invocation_id=9,
        implementation_information=b"xy",
        user_information=InitiateRequest(
            dedicated_key=bytes(range(16)),
            response_allowed=False,
            proposed_quality_of_service=5,
            proposed_conformance=Conformance(0x7E1F),
            client_max_receive_pdu_size=0x4B0,
        ).encode(),
    ),
    "aare": AARE(application_context_name=1, result=0, user_information=_INITIATE_RESPONSE),
    "aare_hls_gmac": AARE(
        application_context_name=3,
        result=0,
        result_source_diagnostic=AssociateSourceDiagnostic(DiagnosticSource.ACSE_SERVICE_USER, 14),
        responding_ap_title=GREEN_BOOK_TITLE,
        responder_acse_requirements=True,
        mechanism_name=5,
        responding_authentication_value=bytes.fromhex("503677524A323146"),
        user_information=_INITIATE_RESPONSE,
    ),
    "aare_rejected": AARE(
        application_context_name=1,
        result=1,
        result_source_diagnostic=AssociateSourceDiagnostic(DiagnosticSource.ACSE_SERVICE_USER, 13),
        user_information=bytes.fromhex("0E010601"),
    ),
    "aare_provider": AARE(
        application_context_name=1,
        result=2,
        result_source_diagnostic=AssociateSourceDiagnostic(DiagnosticSource.ACSE_SERVICE_PROVIDER, 2),
        responding_ae_qualifier=b"\x01",
        responding_ap_invocation_id=3,
        responding_ae_invocation_id=4,
        user_information=InitiateResponse(
            negotiated_quality_of_service=1,
            negotiated_conformance=Conformance(0x101D),
            server_max_receive_pdu_size=0x4B0,
            vaa_name=0xFA00,
        ).encode(),
    ),
    "rlrq": RLRQ(reason=0),
    "rlrq_ciphered": RLRQ(reason=0, user_information=GREEN_BOOK_GLO_INITIATE),
    "rlre": RLRE(reason=1, user_information=_INITIATE_RESPONSE),
    "rlre_normal": RLRE(reason=0),
    "initiate_request": InitiateRequest(
        proposed_conformance=Conformance(0x7E1F), client_max_receive_pdu_size=0x4B0
    ),
    "initiate_response": InitiateResponse.decode(_INITIATE_RESPONSE),
}

CORPUS: dict[str, bytes] = {name: apdu.encode() for name, apdu in _APDUS.items()}
CORPUS.update(
    {
        "glo_get_authenticated": GREEN_BOOK_GLO_GET[0x10],
        "glo_get_encrypted": GREEN_BOOK_GLO_GET[0x20],
        "glo_get_authenticated_encrypted": GREEN_BOOK_GLO_GET[0x30],
        "glo_initiate_request": GREEN_BOOK_GLO_INITIATE,
        "general_glo_ciphering": bytes.fromhex("DB08") + GREEN_BOOK_TITLE + GREEN_BOOK_GLO_GET[0x30][1:],
        "general_ded_ciphering_no_title": bytes.fromhex("DC00") + GREEN_BOOK_GLO_GET[0x30][1:],
        "ded_get": bytes((0xD0,)) + GREEN_BOOK_GLO_GET[0x30][1:],
        "glo_action_seed": bytes.fromhex(
            "CB3230000000 02EAF177DC3B13F86A869AC1E095926ED27D8047586F999ED947C7BD6A842F37037ADC26AE6D6DC060B546BC9389"
        ),
        # Short-name services: ReadRequest vectors from public traces (pastebin.com/Vvs6PqXK and 7HTFDmEv),
        # the others built with dlmskit.apdu.sn.
        "read_request_sn": bytes.fromhex("050102FA08"),
        "read_request_sn_two": bytes.fromhex("050202FD0802FF08"),
        "read_request_sn_by_entry": ReadRequest(
            (ParameterizedAccess(0x5008, 2, SelectiveAccessDescriptor.entry_descriptor(1, 3).parameters),)
        ).encode(),
        "read_request_sn_next_block": ReadRequest((BlockNumberAccess(2),)).encode(),
        "read_request_sn_data_block": ReadRequest((ReadDataBlockAccess(False, 1, b"\x02\x00\x01"),)).encode(),
        "read_request_sn_write_block": ReadRequest((WriteDataBlockAccess(True, 3),)).encode(),
        "read_response_sn": ReadResponse((ReadResult(axdr.DoubleLongUnsigned(7)),)).encode(),
        "read_response_sn_error": ReadResponse(
            (ReadResult(error=DataAccessResult.OBJECT_UNDEFINED), ReadResult(axdr.Unsigned(1)))
        ).encode(),
        "read_response_sn_block": ReadResponse(
            (ReadResult(block=DataBlockResult(False, 1, bytes.fromhex("01820125"))),)
        ).encode(),
        "read_response_sn_block_number": ReadResponse((ReadResult(block_number=4),)).encode(),
        "write_request_sn": WriteRequest((VariableName(0x3008),), (axdr.LongUnsigned(5),)).encode(),
        "write_response_sn": WriteResponse(
            (WriteResult(), WriteResult(error=DataAccessResult.READ_WRITE_DENIED))
        ).encode(),
        "write_response_sn_block_number": WriteResponse((WriteResult(block_number=2),)).encode(),
        "unconfirmed_write_sn": UnconfirmedWriteRequest((VariableName(0x3008),), (axdr.Enum(1),)).encode(),
        "information_report_sn": InformationReportRequest(
            (VariableName(0x2008),), (axdr.DoubleLongUnsigned(7),)
        ).encode(),
        "information_report_sn_time": InformationReportRequest(
            (VariableName(0x2008),), (axdr.DoubleLongUnsigned(7),), bytes.fromhex("07E30C1001073B28FF8000FF")
        ).encode(),
        "confirmed_service_error_read": bytes.fromhex("0E050501"),
        "access_request": bytes.fromhex("D9 00000001 00 00 00"),
    }
)
"""Every APDU kind: name -> bytes."""
