"""Translator XML back to APDU bytes: what ``dlmskit encode --xml`` does.

Every element :mod:`dlmskit.translator.apdus` writes is read back (GET, SET and ACTION requests and
responses in all their variants, the short-name READ, WRITE, unconfirmed-write and information-report
APDUs, event- and data-notification, exception-response,
confirmed-service-error, general-block-transfer, AARQ, AARE, RLRQ, RLRE, InitiateRequest/Response, every
A-XDR data type), and so is the XML of the Gurux translator where it uses the same elements. Ciphered
APDUs (``glo_GetRequest Value=".."``, ``GeneralGloCiphering``) are written back from their ciphered bytes
(anything shown inside them, such as a deciphered APDU, is ignored); ``<HDLC>`` and ``<WRAPPER>`` give the
APDU of their ``<PDU>``. Comments are ignored. The APDUs are built with the :mod:`dlmskit.apdu`
dataclasses, so what is encoded is checked like anything else dlmskit sends.

Mistakes raise :class:`~dlmskit.errors.EncodeError` naming the element and its line.
"""

from __future__ import annotations

from collections.abc import Callable

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
    ABSENT,
    ApduTag,
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
    VariableAccessSpecification,
    VariableName,
    WriteDataBlockAccess,
    WriteRequest,
    WriteResponse,
    WriteResult,
)
from dlmskit.codec import axdr
from dlmskit.codec.cosem_datetime import CosemDateTime
from dlmskit.codec.obis import Obis
from dlmskit.errors import EncodeError
from dlmskit.translator import names
from dlmskit.translator.apdus import RAW_ELEMENTS
from dlmskit.translator.ciphered import ciphered_tag_of
from dlmskit.translator.data import data_value, hex_bytes, hex_int
from dlmskit.translator.tree import Node
from dlmskit.translator.xmlparse import parse_xml

__all__ = ["encode_node", "encode_xml"]

_RAW_TAGS = {name: int(tag) for tag, name in RAW_ELEMENTS.items()}


def encode_xml(text: str) -> list[bytes]:
    """The APDUs of translator XML: one per top-level element (or per child of ``<Messages>``)."""
    roots = parse_xml(text)
    if not roots:
        raise EncodeError("the XML holds no element to encode")
    return [encode_node(root) for root in roots]


def encode_node(node: Node) -> bytes:
    """The bytes of the APDU an element stands for."""
    encoder = _ENCODERS.get(node.name)
    if encoder is not None:
        return encoder(node)
    tag = ciphered_tag_of(node.name)
    if tag is not None:
        return _ciphered(node, tag)
    raw_tag = _RAW_TAGS.get(node.name)
    if raw_tag is not None:
        return bytes((raw_tag,)) + hex_bytes(node)
    raise EncodeError(f"<{node.name}> is not an APDU element the encoder knows{_at(node)}")


# --------------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------------


def _at(node: Node) -> str:
    return f" (line {node.line})" if node.line else ""


def _child(node: Node, name: str) -> Node:
    found = node.find(name)
    if found is None:
        raise EncodeError(f"<{node.name}> needs a <{name}> element{_at(node)}")
    return found


def _only_child(node: Node) -> Node:
    if len(node.children) != 1:
        raise EncodeError(
            f"<{node.name}> must hold exactly one element, it holds {len(node.children)}{_at(node)}"
        )
    return node.children[0]


def _int(node: Node, name: str, size: int) -> int:
    return hex_int(_child(node, name), size)


def _text(node: Node, name: str) -> str:
    child = _child(node, name)
    if child.value is None:
        raise EncodeError(f"<{name}> needs a Value attribute{_at(child)}")
    return child.value


def _signed_byte(value: int) -> int:
    return value - 0x100 if value & 0x80 else value


def _invoke(node: Node) -> InvokeIdAndPriority:
    return InvokeIdAndPriority.from_byte(_int(node, "InvokeIdAndPriority", 1))


def _obis(node: Node) -> Obis:
    raw = hex_bytes(_child(node, "InstanceId"))
    if len(raw) != 6:
        raise EncodeError(f"<InstanceId> needs 6 bytes of hex, got {len(raw)}{_at(node)}")
    return Obis(*raw)


def _attribute(node: Node) -> CosemAttributeDescriptor:
    descriptor = _child(node, "AttributeDescriptor")
    return CosemAttributeDescriptor(
        _int(descriptor, "ClassId", 2), _obis(descriptor), _signed_byte(_int(descriptor, "AttributeId", 1))
    )


def _method(descriptor: Node) -> CosemMethodDescriptor:
    return CosemMethodDescriptor(
        _int(descriptor, "ClassId", 2), _obis(descriptor), _signed_byte(_int(descriptor, "MethodId", 1))
    )


def _access(node: Node) -> SelectiveAccessDescriptor | None:
    selection = node.find("AccessSelection")
    if selection is None:
        return None
    parameters = _only_child(_child(selection, "AccessParameters"))
    return SelectiveAccessDescriptor(_int(selection, "AccessSelector", 1), data_value(parameters))


def _attribute_list(node: Node) -> tuple[CosemAttributeDescriptorWithSelection, ...]:
    items = _child(node, "AttributeDescriptorList").children
    return tuple(CosemAttributeDescriptorWithSelection(_attribute(item), _access(item)) for item in items)


def _method_list(node: Node) -> tuple[CosemMethodDescriptor, ...]:
    return tuple(_method(item) for item in _child(node, "MethodDescriptorList").children)


def _data_of(node: Node, name: str) -> axdr.Data:
    return data_value(_only_child(_child(node, name)))


def _result_value(node: Node) -> int:
    if node.value is None:
        raise EncodeError(f"<{node.name}> needs a Value attribute{_at(node)}")
    return names.DATA_ACCESS_RESULTS.value(node.value)


def _get_data_result(node: Node) -> GetDataResult:
    """``<Data>`` and a value, or ``<DataAccessError>``."""
    if node.name == "Data":
        return GetDataResult(data_value(_only_child(node)))
    if node.name == "DataAccessError":
        return GetDataResult(error=_result_value(node))
    raise EncodeError(f"<{node.name}> is neither <Data> nor <DataAccessError>{_at(node)}")


def _last_block(node: Node) -> bool:
    return _int(node, "LastBlock", 1) != 0


def _data_block_sa(node: Node) -> DataBlockSA:
    block = _child(node, "DataBlock")
    return DataBlockSA(_last_block(block), _int(block, "BlockNumber", 4), hex_bytes(_child(block, "RawData")))


def _variant(node: Node, variants: dict[str, Callable[[Node], bytes]]) -> bytes:
    inner = _only_child(node)
    encode = variants.get(inner.name)
    if encode is None:
        raise EncodeError(
            f"<{inner.name}> is not a {node.name} variant; expected one of {', '.join(variants)}{_at(inner)}"
        )
    return encode(inner)


# --------------------------------------------------------------------------------------------------------
# GET, SET, ACTION
# --------------------------------------------------------------------------------------------------------


def _get_request(node: Node) -> bytes:
    return _variant(
        node,
        {
            "GetRequestNormal": lambda n: GetRequestNormal(_invoke(n), _attribute(n), _access(n)).encode(),
            "GetRequestForNextDataBlock": lambda n: GetRequestNext(
                _invoke(n), _int(n, "BlockNumber", 4)
            ).encode(),
            "GetRequestWithList": lambda n: GetRequestWithList(_invoke(n), _attribute_list(n)).encode(),
        },
    )


def _get_response_with_datablock(node: Node) -> bytes:
    result = _child(node, "Result")
    inner = _only_child(_child(result, "Result"))
    last, number = _last_block(result), _int(result, "BlockNumber", 4)
    if inner.name == "RawData":
        block = DataBlockG(last, number, hex_bytes(inner))
    else:
        block = DataBlockG(last, number, error=_result_value(inner))
    return GetResponseWithDatablock(_invoke(node), block).encode()


def _get_response(node: Node) -> bytes:
    return _variant(
        node,
        {
            "GetResponseNormal": lambda n: GetResponseNormal(
                _invoke(n), _get_data_result(_only_child(_child(n, "Result")))
            ).encode(),
            "GetResponsewithDataBlock": _get_response_with_datablock,
            "GetResponseWithDataBlock": _get_response_with_datablock,
            "GetResponseWithList": lambda n: GetResponseWithList(
                _invoke(n), tuple(_get_data_result(item) for item in _child(n, "Result").children)
            ).encode(),
        },
    )


def _set_request(node: Node) -> bytes:
    return _variant(
        node,
        {
            "SetRequestNormal": lambda n: SetRequestNormal(
                _invoke(n), _attribute(n), _data_of(n, "Value"), _access(n)
            ).encode(),
            "SetRequestFirstDataBlock": lambda n: SetRequestWithFirstDatablock(
                _invoke(n), _attribute(n), _data_block_sa(n), _access(n)
            ).encode(),
            "SetRequestWithDataBlock": lambda n: SetRequestWithDatablock(
                _invoke(n), _data_block_sa(n)
            ).encode(),
            "SetRequestWithList": lambda n: SetRequestWithList(
                _invoke(n), _attribute_list(n), tuple(data_value(v) for v in _child(n, "ValueList").children)
            ).encode(),
            "SetRequestWithListAndFirstDataBlock": lambda n: SetRequestWithListAndFirstDatablock(
                _invoke(n), _attribute_list(n), _data_block_sa(n)
            ).encode(),
        },
    )


def _result_list(node: Node) -> tuple[int, ...]:
    return tuple(_result_value(item) for item in _child(node, "Result").children)


def _set_response(node: Node) -> bytes:
    return _variant(
        node,
        {
            "SetResponseNormal": lambda n: SetResponseNormal(
                _invoke(n), _result_value(_child(n, "Result"))
            ).encode(),
            "SetResponseDataBlock": lambda n: SetResponseDatablock(
                _invoke(n), _int(n, "BlockNumber", 4)
            ).encode(),
            "SetResponseWithLastDataBlock": lambda n: SetResponseLastDatablock(
                _invoke(n), _result_value(_child(n, "Result")), _int(n, "BlockNumber", 4)
            ).encode(),
            "SetResponseLastDataBlockWithList": lambda n: SetResponseLastDatablockWithList(
                _invoke(n), _result_list(n), _int(n, "BlockNumber", 4)
            ).encode(),
            "SetResponseWithList": lambda n: SetResponseWithList(_invoke(n), _result_list(n)).encode(),
        },
    )


def _action_request_normal(node: Node) -> bytes:
    parameters = node.find("MethodInvocationParameters")
    value = ABSENT if parameters is None else data_value(_only_child(parameters))
    return ActionRequestNormal(_invoke(node), _method(_child(node, "MethodDescriptor")), value).encode()


def _action_request(node: Node) -> bytes:
    return _variant(
        node,
        {
            "ActionRequestNormal": _action_request_normal,
            "ActionRequestForNextDataBlock": lambda n: ActionRequestNextPblock(
                _invoke(n), _int(n, "BlockNumber", 4)
            ).encode(),
            "ActionRequestWithList": lambda n: ActionRequestWithList(
                _invoke(n),
                _method_list(n),
                tuple(data_value(p) for p in _child(n, "MethodInvocationParameters").children),
            ).encode(),
            "ActionRequestWithFirstPBlock": lambda n: ActionRequestWithFirstPblock(
                _invoke(n), _method(_child(n, "MethodDescriptor")), _data_block_sa(n)
            ).encode(),
            "ActionRequestWithListAndFirstPBlock": lambda n: ActionRequestWithListAndFirstPblock(
                _invoke(n), _method_list(n), _data_block_sa(n)
            ).encode(),
            "ActionRequestWithPBlock": lambda n: ActionRequestWithPblock(
                _invoke(n), _data_block_sa(n)
            ).encode(),
        },
    )


def _action_response_parts(node: Node) -> ActionResponseWithOptionalData:
    parameters = node.find("ReturnParameters")
    returned = None if parameters is None else _get_data_result(_only_child(parameters))
    return ActionResponseWithOptionalData(_result_value(_child(node, "Result")), returned)


def _action_response_normal(node: Node) -> bytes:
    parts = _action_response_parts(node)
    return ActionResponseNormal(_invoke(node), parts.result, parts.return_parameters).encode()


def _action_response(node: Node) -> bytes:
    return _variant(
        node,
        {
            "ActionResponseNormal": _action_response_normal,
            "ActionResponseWithPBlock": lambda n: ActionResponseWithPblock(
                _invoke(n), _data_block_sa(n)
            ).encode(),
            "ActionResponseWithList": lambda n: ActionResponseWithList(
                _invoke(n), tuple(_action_response_parts(item) for item in _child(n, "Result").children)
            ).encode(),
            "ActionResponseNextBlock": lambda n: ActionResponseNextPblock(
                _invoke(n), _int(n, "BlockNumber", 4)
            ).encode(),
        },
    )


# --------------------------------------------------------------------------------------------------------
# Short-name services
# --------------------------------------------------------------------------------------------------------


def _variable_access(node: Node) -> VariableAccessSpecification:
    if node.name == "VariableName":
        return VariableName(hex_int(node, 2))
    if node.name == "ParameterisedAccess":
        return ParameterizedAccess(
            _int(node, "VariableName", 2), _int(node, "Selector", 1), _data_of(node, "Parameter")
        )
    if node.name == "BlockNumberAccess":
        return BlockNumberAccess(_int(node, "BlockNumber", 2))
    if node.name == "ReadDataBlockAccess":
        raw = node.find("RawData")  # the Gurux translator leaves the raw data out
        return ReadDataBlockAccess(
            _last_block(node), _int(node, "BlockNumber", 2), b"" if raw is None else hex_bytes(raw)
        )
    if node.name == "WriteDataBlockAccess":
        return WriteDataBlockAccess(_last_block(node), _int(node, "BlockNumber", 2))
    raise EncodeError(
        f"<{node.name}> is not a variable access (VariableName, ParameterisedAccess, BlockNumberAccess, "
        f"ReadDataBlockAccess, WriteDataBlockAccess){_at(node)}"
    )


def _variable_accesses(node: Node) -> tuple[VariableAccessSpecification, ...]:
    return tuple(
        _variable_access(item) for item in _child(node, "ListOfVariableAccessSpecification").children
    )


def _list_of_data(node: Node) -> tuple[axdr.Data, ...]:
    return tuple(data_value(item) for item in _child(node, "ListOfData").children)


def _raw_short_name(tag: int, node: Node) -> bytes | None:
    """The older raw form ``<ReadRequest Value="..." />`` (the bytes after the tag)."""
    if node.value is not None and not node.children:
        return bytes((tag,)) + hex_bytes(node)
    return None


def _read_result(node: Node) -> ReadResult:
    if node.name == "Data":
        return ReadResult(data_value(_only_child(node)))
    if node.name == "DataAccessError":
        return ReadResult(error=_result_value(node))
    if node.name == "DataBlockResult":
        block = DataBlockResult(
            _last_block(node), _int(node, "BlockNumber", 2), hex_bytes(_child(node, "RawData"))
        )
        return ReadResult(block=block)
    if node.name == "BlockNumber":
        return ReadResult(block_number=hex_int(node, 2))
    raise EncodeError(
        f"<{node.name}> is not a ReadResponse result (Data, DataAccessError, DataBlockResult, "
        f"BlockNumber){_at(node)}"
    )


def _write_result(node: Node) -> WriteResult:
    if node.name == "Success":
        return WriteResult()
    if node.name == "DataAccessError":
        return WriteResult(error=_result_value(node))
    if node.name == "BlockNumber":
        return WriteResult(block_number=hex_int(node, 2))
    raise EncodeError(
        f"<{node.name}> is not a WriteResponse result (Success, DataAccessError, BlockNumber){_at(node)}"
    )


def _read_request(node: Node) -> bytes:
    raw = _raw_short_name(ApduTag.READ_REQUEST, node)
    if raw is not None:
        return raw
    return ReadRequest(tuple(_variable_access(item) for item in node.children)).encode()


def _read_response(node: Node) -> bytes:
    raw = _raw_short_name(ApduTag.READ_RESPONSE, node)
    if raw is not None:
        return raw
    return ReadResponse(tuple(_read_result(item) for item in node.children)).encode()


def _write_request(node: Node) -> bytes:
    raw = _raw_short_name(ApduTag.WRITE_REQUEST, node)
    if raw is not None:
        return raw
    return WriteRequest(_variable_accesses(node), _list_of_data(node)).encode()


def _write_response(node: Node) -> bytes:
    raw = _raw_short_name(ApduTag.WRITE_RESPONSE, node)
    if raw is not None:
        return raw
    return WriteResponse(tuple(_write_result(item) for item in node.children)).encode()


def _unconfirmed_write_request(node: Node) -> bytes:
    raw = _raw_short_name(ApduTag.UNCONFIRMED_WRITE_REQUEST, node)
    if raw is not None:
        return raw
    return UnconfirmedWriteRequest(_variable_accesses(node), _list_of_data(node)).encode()


def _information_report(node: Node) -> bytes:
    raw = _raw_short_name(ApduTag.INFORMATION_REPORT_REQUEST, node)
    if raw is not None:
        return raw
    stamp = node.find("CurrentTime")
    return InformationReportRequest(
        _variable_accesses(node), _list_of_data(node), None if stamp is None else hex_bytes(stamp)
    ).encode()


# --------------------------------------------------------------------------------------------------------
# Notifications, errors, block transfer
# --------------------------------------------------------------------------------------------------------


def _date_time(node: Node) -> CosemDateTime:
    raw = hex_bytes(node)
    if len(raw) != CosemDateTime.SIZE:
        raise EncodeError(f"<{node.name}> needs 12 bytes of hex, got {len(raw)}{_at(node)}")
    return CosemDateTime.from_bytes(raw)


def _event_notification(node: Node) -> bytes:
    time = node.find("Time")
    return EventNotificationRequest(
        _attribute(node), _data_of(node, "AttributeValue"), None if time is None else _date_time(time)
    ).encode()


def _data_notification(node: Node) -> bytes:
    stamp = node.find("DateTime")
    date_time = None if stamp is None or not stamp.value else _date_time(stamp)
    body = _only_child(_child(node, "NotificationBody"))
    value = data_value(_only_child(body)) if body.name == "DataValue" else data_value(body)
    invoke = LongInvokeIdAndPriority.from_int(_int(node, "LongInvokeIdAndPriority", 4))
    return DataNotification(invoke, date_time, value).encode()


def _exception_response(node: Node) -> bytes:
    counter = node.find("InvocationCounter")
    return ExceptionResponse(
        names.STATE_ERRORS.value(_text(node, "StateError")),
        names.SERVICE_ERRORS.value(_text(node, "ServiceError")),
        None if counter is None else hex_int(counter, 4),
    ).encode()


def _confirmed_service_error(node: Node) -> bytes:
    error = _only_child(_child(node, "ServiceError"))
    choice = names.CONFIRMED_SERVICE_ERROR_CHOICES.value(error.name)
    if error.value is None:
        raise EncodeError(f"<{error.name}> needs a Value attribute{_at(error)}")
    detail = names.service_error_details(choice).value(error.value)
    return ConfirmedServiceError(_int(node, "Service", 1), choice, detail).encode()


def _general_block_transfer(node: Node) -> bytes:
    control = _int(node, "BlockControl", 1)
    return GeneralBlockTransfer(
        bool(control & 0x80),
        bool(control & 0x40),
        control & 0x3F,
        _int(node, "BlockNumber", 2),
        _int(node, "BlockNumberAck", 2),
        hex_bytes(_child(node, "BlockData")),
    ).encode()


def _ciphered(node: Node, tag: int) -> bytes:
    if tag in (ApduTag.GENERAL_GLO_CIPHERING, ApduTag.GENERAL_DED_CIPHERING):
        title = hex_bytes(_child(node, "SystemTitle"))
        body = hex_bytes(_child(node, "CipheredService"))
        return bytes((tag,)) + axdr.encode_length(len(title)) + title + axdr.encode_length(len(body)) + body
    body = hex_bytes(node)
    return bytes((tag,)) + axdr.encode_length(len(body)) + body


def _framed(node: Node) -> bytes:
    pdu = node.find("PDU")
    if pdu is None:
        raise EncodeError(f"<{node.name}> carries no <PDU> (no APDU to encode){_at(node)}")
    return encode_node(_only_child(pdu))


# --------------------------------------------------------------------------------------------------------
# Association
# --------------------------------------------------------------------------------------------------------


def _optional_hex(node: Node, name: str) -> bytes | None:
    child = node.find(name)
    return None if child is None else hex_bytes(child)


def _optional_int(node: Node, name: str) -> int | None:
    child = node.find(name)
    if child is None:
        return None
    try:
        return int(child.value or "")
    except ValueError:
        raise EncodeError(f"<{name}> needs a decimal Value{_at(child)}") from None


def _optional_name(node: Node, name: str, table: names.NameTable) -> int | None:
    child = node.find(name)
    return None if child is None else table.value(child.value or "")


_USER_INFORMATION = frozenset(
    {
        "InitiateRequest",
        "InitiateResponse",
        "ConfirmedServiceError",
        "glo_InitiateRequest",
        "glo_InitiateResponse",
        "ded_InitiateRequest",
        "ded_InitiateResponse",
        "UserInformation",
        "Apdu",
    }
)
"""The elements that stand for the user-information of an ACSE APDU."""


def _user_information(node: Node) -> bytes | None:
    found = next((child for child in node.children if child.name in _USER_INFORMATION), None)
    if found is None:
        return None
    if found.name in ("UserInformation", "Apdu"):
        return hex_bytes(found)
    return encode_node(found)


def _flag(node: Node, name: str) -> bool:
    child = node.find(name)
    return child is not None and (child.value or "1").strip() not in ("0", "00")


def _aarq(node: Node) -> bytes:
    return AARQ(
        application_context_name=names.APPLICATION_CONTEXTS.value(_text(node, "ApplicationContextName")),
        called_ap_title=_optional_hex(node, "CalledAPTitle"),
        called_ae_qualifier=_optional_hex(node, "CalledAEQualifier"),
        called_ap_invocation_id=_optional_int(node, "CalledAPInvocationId"),
        called_ae_invocation_id=_optional_int(node, "CalledAEInvocationId"),
        calling_ap_title=_optional_hex(node, "CallingAPTitle"),
        calling_ae_qualifier=_optional_hex(node, "CallingAEQualifier"),
        calling_ap_invocation_id=_optional_int(node, "CallingApInvocationId"),
        calling_ae_invocation_id=_optional_int(node, "CallingAEInvocationId"),
        sender_acse_requirements=_flag(node, "SenderACSERequirements"),
        mechanism_name=_optional_name(node, "MechanismName", names.MECHANISMS),
        calling_authentication_value=_optional_hex(node, "CallingAuthentication"),
        implementation_information=_optional_hex(node, "ImplementationInformation"),
        user_information=_user_information(node),
    ).encode()


def _aare(node: Node) -> bytes:
    diagnostic = _only_child(_child(node, "ResultSourceDiagnostic"))
    if diagnostic.name == "ACSEServiceProvider":
        source = DiagnosticSource.ACSE_SERVICE_PROVIDER
    elif diagnostic.name == "ACSEServiceUser":
        source = DiagnosticSource.ACSE_SERVICE_USER
    else:
        raise EncodeError(
            f"<{diagnostic.name}> is not ACSEServiceUser or ACSEServiceProvider{_at(diagnostic)}"
        )
    return AARE(
        application_context_name=names.APPLICATION_CONTEXTS.value(_text(node, "ApplicationContextName")),
        result=_int(node, "AssociationResult", 1),
        result_source_diagnostic=AssociateSourceDiagnostic(source, hex_int(diagnostic, 1)),
        responding_ap_title=_optional_hex(node, "RespondingAPTitle"),
        responding_ae_qualifier=_optional_hex(node, "RespondingAEQualifier"),
        responding_ap_invocation_id=_optional_int(node, "RespondingAPInvocationId"),
        responding_ae_invocation_id=_optional_int(node, "RespondingAEInvocationId"),
        responder_acse_requirements=_flag(node, "ResponderACSERequirement"),
        mechanism_name=_optional_name(node, "MechanismName", names.MECHANISMS),
        responding_authentication_value=_optional_hex(node, "RespondingAuthentication"),
        implementation_information=_optional_hex(node, "ImplementationInformation"),
        user_information=_user_information(node),
    ).encode()


def _rlrq(node: Node) -> bytes:
    reason = _optional_name(node, "Reason", names.RELEASE_REQUEST_REASONS)
    return RLRQ(reason=reason, user_information=_user_information(node)).encode()


def _rlre(node: Node) -> bytes:
    reason = _optional_name(node, "Reason", names.RELEASE_RESPONSE_REASONS)
    return RLRE(reason=reason, user_information=_user_information(node)).encode()


def _conformance(node: Node, name: str) -> Conformance:
    value = Conformance(0)
    for bit in _child(node, name).children:
        value |= names.conformance_bit(bit.attributes.get("Name", ""))
    return value


def _optional_signed(node: Node, name: str) -> int | None:
    child = node.find(name)
    return None if child is None else _signed_byte(hex_int(child, 1))


def _initiate_request(node: Node) -> bytes:
    return InitiateRequest(
        dedicated_key=_optional_hex(node, "DedicatedKey"),
        response_allowed=node.find("ResponseAllowed") is None or _int(node, "ResponseAllowed", 1) != 0,
        proposed_quality_of_service=_optional_signed(node, "ProposedQualityOfService"),
        proposed_dlms_version_number=_int(node, "ProposedDlmsVersionNumber", 1),
        proposed_conformance=_conformance(node, "ProposedConformance"),
        client_max_receive_pdu_size=_int(node, "ProposedMaxPduSize", 2),
    ).encode()


def _initiate_response(node: Node) -> bytes:
    vaa = node.find("VaaName")
    return InitiateResponse(
        negotiated_quality_of_service=_optional_signed(node, "NegotiatedQualityOfService"),
        negotiated_dlms_version_number=_int(node, "NegotiatedDlmsVersionNumber", 1),
        negotiated_conformance=_conformance(node, "NegotiatedConformance"),
        server_max_receive_pdu_size=_int(node, "NegotiatedMaxPduSize", 2),
        vaa_name=0x0007 if vaa is None else hex_int(vaa, 2),
    ).encode()


_ENCODERS: dict[str, Callable[[Node], bytes]] = {
    "GetRequest": _get_request,
    "GetResponse": _get_response,
    "SetRequest": _set_request,
    "SetResponse": _set_response,
    "ActionRequest": _action_request,
    "ActionResponse": _action_response,
    "EventNotificationRequest": _event_notification,
    "DataNotification": _data_notification,
    "ExceptionResponse": _exception_response,
    "ConfirmedServiceError": _confirmed_service_error,
    "GeneralBlockTransfer": _general_block_transfer,
    "ReadRequest": _read_request,
    "ReadResponse": _read_response,
    "WriteRequest": _write_request,
    "WriteResponse": _write_response,
    "UnconfirmedWriteRequest": _unconfirmed_write_request,
    "InformationReportRequest": _information_report,
    "AssociationRequest": _aarq,
    "AssociationResponse": _aare,
    "ReleaseRequest": _rlrq,
    "ReleaseResponse": _rlre,
    "InitiateRequest": _initiate_request,
    "InitiateResponse": _initiate_response,
    "HDLC": _framed,
    "WRAPPER": _framed,
    "Apdu": hex_bytes,
}
