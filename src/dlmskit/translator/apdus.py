"""APDUs as translator elements: every xDLMS and ACSE APDU the :mod:`dlmskit.apdu` package decodes.

The elements follow the Gurux translator XML (``GetRequest/GetRequestNormal/InvokeIdAndPriority``,
``AssociationRequest/ApplicationContextName``...), with fixed-width hex values, so that a trace decoded
here compares line by line with one decoded by Gurux tools. Comments say in words what the hex means: the
invoke-id and priority, the interface class, the OBIS code and the object's name, the attribute or method
name (from :mod:`dlmskit.cosem` when it is installed), result codes.

:class:`ApduDecoder` turns the bytes of one APDU into its element. Ciphered APDUs go through the trace's
:class:`~dlmskit.translator.ciphered.CipheringContext`; an APDU that does not decode becomes an ``<Apdu>``
element holding its hex, with the reason as a note.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any

from dlmskit.apdu.acse import AARE, AARQ, RLRE, RLRQ, DiagnosticSource
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
from dlmskit.apdu.parse import UnparsedApdu, decode_apdu_prefix
from dlmskit.apdu.results import (
    AcseServiceProvider,
    AcseServiceUser,
    ActionResult,
    AssociationResult,
    ConfirmedServiceErrorService,
    DataAccessResult,
    ResultCode,
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
    InformationReportRequest,
    ParameterizedAccess,
    ReadDataBlockAccess,
    ReadRequest,
    ReadResponse,
    ReadResult,
    UnconfirmedWriteRequest,
    VariableAccessSpecification,
    VariableName,
    WriteRequest,
    WriteResponse,
    WriteResult,
)
from dlmskit.codec.obis import Obis
from dlmskit.errors import DecodeError
from dlmskit.security.ciphering import is_ciphered_tag
from dlmskit.security.general import GENERAL_CIPHERING, GENERAL_SIGNING
from dlmskit.translator import names
from dlmskit.translator.ciphered import CipheringContext, Role
from dlmskit.translator.data import data_node, obis_comment, quantity
from dlmskit.translator.tree import Node

__all__ = ["RAW_ELEMENTS", "ApduDecoder", "invoke_comment"]

RAW_ELEMENTS = {
    ApduTag.ACCESS_REQUEST: "AccessRequest",
    ApduTag.ACCESS_RESPONSE: "AccessResponse",
    ApduTag.GENERAL_CIPHERING: "GeneralCiphering",
    ApduTag.GENERAL_SIGNING: "GeneralSigning",
}
"""APDUs shown as their hex (the bytes after the tag): access, general-ciphering, general-signing."""


# --------------------------------------------------------------------------------------------------------
# Small elements
# --------------------------------------------------------------------------------------------------------


def _hex(value: int, size: int) -> str:
    return f"{value & ((1 << (8 * size)) - 1):0{2 * size}X}"


def invoke_comment(invoke: InvokeIdAndPriority) -> str:
    """``Priority: High, ServiceClass: Confirmed, Invoke ID: 1``."""
    return (
        f"Priority: {'High' if invoke.high_priority else 'Normal'}, "
        f"ServiceClass: {'Confirmed' if invoke.confirmed else 'Unconfirmed'}, Invoke ID: {invoke.invoke_id}"
    )


def _invoke(invoke: InvokeIdAndPriority) -> Node:
    return Node.leaf("InvokeIdAndPriority", _hex(invoke.to_byte(), 1), invoke_comment(invoke))


def _long_invoke(invoke: LongInvokeIdAndPriority) -> Node:
    words = [
        f"Priority: {'High' if invoke.high_priority else 'Normal'}",
        f"ServiceClass: {'Confirmed' if invoke.confirmed else 'Unconfirmed'}",
        f"Invoke ID: {invoke.invoke_id}",
    ]
    if invoke.self_descriptive:
        words.append("self-descriptive")
    if invoke.break_on_error:
        words.append("break on error")
    return Node.leaf("LongInvokeIdAndPriority", _hex(invoke.to_int(), 4), ", ".join(words))


def _cosem_class(class_id: int) -> Any:
    """The interface class model of ``class_id`` when :mod:`dlmskit.cosem` is installed and knows it."""
    try:
        cosem = importlib.import_module("dlmskit.cosem")
    except ImportError:  # the model is optional: translation works without its names
        return None
    return cosem.get_class(class_id)


def _class_node(class_id: int) -> Node:
    model = _cosem_class(class_id)
    comment = f"{model.name} ({class_id})" if model is not None else str(class_id)
    return Node.leaf("ClassId", _hex(class_id, 2), comment)


def _member_comment(class_id: int, index: int, method: bool) -> str | None:
    model = _cosem_class(class_id)
    if model is None:
        return None
    member = model.method(index) if method else model.attribute(index)
    return None if member is None else str(member.name)


def _instance_node(instance: Obis) -> Node:
    return Node.leaf("InstanceId", bytes(instance).hex().upper(), obis_comment(bytes(instance)))


def _attribute_descriptor(attribute: CosemAttributeDescriptor) -> Node:
    return Node(
        "AttributeDescriptor",
        children=[
            _class_node(attribute.class_id),
            _instance_node(attribute.instance_id),
            Node.leaf(
                "AttributeId",
                _hex(attribute.attribute_id, 1),
                _member_comment(attribute.class_id, attribute.attribute_id, method=False),
            ),
        ],
    )


def _method_descriptor(method: CosemMethodDescriptor) -> Node:
    return Node(
        "MethodDescriptor",
        children=[
            _class_node(method.class_id),
            _instance_node(method.instance_id),
            Node.leaf(
                "MethodId",
                _hex(method.method_id, 1),
                _member_comment(method.class_id, method.method_id, method=True),
            ),
        ],
    )


def _access_selection(access: SelectiveAccessDescriptor) -> Node:
    kind = {1: "by range", 2: "by entry"}.get(access.selector)
    return Node(
        "AccessSelection",
        children=[
            Node.leaf("AccessSelector", _hex(access.selector, 1), kind),
            Node("AccessParameters", children=[data_node(access.parameters)]),
        ],
    )


def _with_access(nodes: list[Node], access: SelectiveAccessDescriptor | None) -> list[Node]:
    return nodes if access is None else [*nodes, _access_selection(access)]


def _attribute_list(attributes: Sequence[CosemAttributeDescriptorWithSelection]) -> Node:
    return Node(
        "AttributeDescriptorList",
        {"Qty": quantity(len(attributes))},
        children=[
            Node(
                "AttributeDescriptorWithSelection",
                children=_with_access([_attribute_descriptor(item.attribute)], item.access),
            )
            for item in attributes
        ],
    )


def _method_list(methods: Sequence[CosemMethodDescriptor]) -> Node:
    return Node(
        "MethodDescriptorList",
        {"Qty": quantity(len(methods))},
        children=[_method_descriptor(m) for m in methods],
    )


def _result_comment(value: int, enum_type: type[ResultCode]) -> str | None:
    member = enum_type.lookup(value)
    return None if member is None else f"{member.standard_name}: {member.description}"


def _data_access_result(name: str, value: int) -> Node:
    return Node.leaf(name, names.DATA_ACCESS_RESULTS.name(value), _result_comment(value, DataAccessResult))


def _action_result(value: int) -> Node:
    return Node.leaf("Result", names.DATA_ACCESS_RESULTS.name(value), _result_comment(value, ActionResult))


def _get_data_result(result: GetDataResult) -> Node:
    """The inside of a Get-Data-Result: ``<Data>`` and the value, or ``<DataAccessError>``."""
    if result.error is not None:
        return _data_access_result("DataAccessError", int(result.error))
    return Node("Data", children=[data_node(result.value)])


def _block_number(number: int) -> Node:
    return Node.leaf("BlockNumber", _hex(number, 4), str(number))


def _last_block(last: bool) -> Node:
    return Node.leaf("LastBlock", "01" if last else "00", "last block" if last else "more blocks follow")


def _data_block_sa(block: DataBlockSA) -> Node:
    return Node(
        "DataBlock",
        children=[
            _last_block(block.last_block),
            _block_number(block.block_number),
            Node.leaf("RawData", block.raw_data.hex().upper(), f"{len(block.raw_data)} bytes"),
        ],
    )


def _data_block_g(block: DataBlockG) -> Node:
    if block.error is not None:
        inner = _data_access_result("DataAccessResult", int(block.error))
    else:
        inner = Node.leaf("RawData", block.raw_data.hex().upper(), f"{len(block.raw_data)} bytes")
    return Node(
        "Result",
        children=[
            _last_block(block.last_block),
            _block_number(block.block_number),
            Node("Result", children=[inner]),
        ],
    )


def _short_block_number(number: int) -> Node:
    """A block number of the short-name services (Unsigned16)."""
    return Node.leaf("BlockNumber", _hex(number, 2), str(number))


def _variable_name(name: int) -> Node:
    return Node.leaf("VariableName", _hex(name, 2))


def _variable_access(access: VariableAccessSpecification) -> Node:
    """One Variable-Access-Specification, named as the Gurux translator names it."""
    if isinstance(access, VariableName):
        return _variable_name(access.name)
    if isinstance(access, ParameterizedAccess):
        kind = {1: "by range", 2: "by entry"}.get(access.selector)
        return Node(
            "ParameterisedAccess",
            children=[
                _variable_name(access.name),
                Node.leaf("Selector", _hex(access.selector, 1), kind),
                Node("Parameter", children=[data_node(access.parameter)]),
            ],
        )
    if isinstance(access, BlockNumberAccess):
        return Node("BlockNumberAccess", children=[_short_block_number(access.block_number)])
    if isinstance(access, ReadDataBlockAccess):
        return Node(
            "ReadDataBlockAccess",
            children=[
                _last_block(access.last_block),
                _short_block_number(access.block_number),
                Node.leaf("RawData", access.raw_data.hex().upper(), f"{len(access.raw_data)} bytes"),
            ],
        )
    return Node(
        "WriteDataBlockAccess",
        children=[_last_block(access.last_block), _short_block_number(access.block_number)],
    )


def _variable_accesses(variables: Sequence[VariableAccessSpecification]) -> Node:
    return Node(
        "ListOfVariableAccessSpecification",
        {"Qty": quantity(len(variables))},
        children=[_variable_access(v) for v in variables],
    )


def _list_of_data(values: Sequence[Any]) -> Node:
    return Node("ListOfData", {"Qty": quantity(len(values))}, children=[data_node(v) for v in values])


def _read_result(result: ReadResult) -> Node:
    if result.error is not None:
        return _data_access_result("DataAccessError", int(result.error))
    if result.block is not None:
        block = result.block
        return Node(
            "DataBlockResult",
            children=[
                _last_block(block.last_block),
                _short_block_number(block.block_number),
                Node.leaf("RawData", block.raw_data.hex().upper(), f"{len(block.raw_data)} bytes"),
            ],
        )
    if result.block_number is not None:
        return _short_block_number(result.block_number)
    return Node("Data", children=[data_node(result.value)])


def _write_result(result: WriteResult) -> Node:
    if result.error is not None:
        return _data_access_result("DataAccessError", int(result.error))
    if result.block_number is not None:
        return _short_block_number(result.block_number)
    return Node("Success")


def _service(outer: str, inner: str, children: list[Node]) -> Node:
    return Node(outer, children=[Node(inner, children=children)])


def _conformance(name: str, conformance: int) -> Node:
    value = Conformance(conformance)
    return Node(
        name,
        comment=f"{int(value):06X}",
        children=[Node("ConformanceBit", {"Name": bit}) for bit in names.conformance_names(value)],
    )


# --------------------------------------------------------------------------------------------------------
# The decoder
# --------------------------------------------------------------------------------------------------------


class ApduDecoder:
    """Turns APDU bytes into elements, deciphering through ``ciphering`` (shared by a whole trace)."""

    def __init__(self, ciphering: CipheringContext) -> None:
        self.ciphering = ciphering
        self.line = 0
        self.strict = False
        """Strict mode: a deviation (docs/tolerance.md) is an error note, not a warning."""
        """The trace line being decoded (for the nonce checks)."""
        self._converters: dict[type[Any], Callable[[Any], Node]] = {
            GetRequestNormal: self._get_request_normal,
            GetRequestNext: self._get_request_next,
            GetRequestWithList: self._get_request_with_list,
            GetResponseNormal: self._get_response_normal,
            GetResponseWithDatablock: self._get_response_with_datablock,
            GetResponseWithList: self._get_response_with_list,
            SetRequestNormal: self._set_request_normal,
            SetRequestWithFirstDatablock: self._set_request_first_datablock,
            SetRequestWithDatablock: self._set_request_with_datablock,
            SetRequestWithList: self._set_request_with_list,
            SetRequestWithListAndFirstDatablock: self._set_request_with_list_first_datablock,
            SetResponseNormal: self._set_response_normal,
            SetResponseDatablock: self._set_response_datablock,
            SetResponseLastDatablock: self._set_response_last_datablock,
            SetResponseLastDatablockWithList: self._set_response_last_datablock_with_list,
            SetResponseWithList: self._set_response_with_list,
            ActionRequestNormal: self._action_request_normal,
            ActionRequestNextPblock: self._action_request_next,
            ActionRequestWithList: self._action_request_with_list,
            ActionRequestWithFirstPblock: self._action_request_first_pblock,
            ActionRequestWithListAndFirstPblock: self._action_request_with_list_first_pblock,
            ActionRequestWithPblock: self._action_request_with_pblock,
            ActionResponseNormal: self._action_response_normal,
            ActionResponseWithPblock: self._action_response_with_pblock,
            ActionResponseWithList: self._action_response_with_list,
            ActionResponseNextPblock: self._action_response_next,
            EventNotificationRequest: self._event_notification,
            DataNotification: self._data_notification,
            ExceptionResponse: self._exception_response,
            ConfirmedServiceError: self._confirmed_service_error,
            GeneralBlockTransfer: self._general_block_transfer,
            AARQ: self._aarq,
            AARE: self._aare,
            RLRQ: self._rlrq,
            RLRE: self._rlre,
            InitiateRequest: self._initiate_request,
            InitiateResponse: self._initiate_response,
            ReadRequest: self._read_request,
            ReadResponse: self._read_response,
            WriteRequest: self._write_request,
            WriteResponse: self._write_response,
            UnconfirmedWriteRequest: self._unconfirmed_write_request,
            InformationReportRequest: self._information_report,
        }

    def node(self, data: bytes, role: Role | None = None) -> Node:
        """The element of one APDU. Never raises for bad bytes: an ``<Apdu>`` with a note instead.

        ``role`` says who sent the APDU when the frame tells (for general ciphering without system title).
        """
        try:
            if data and is_ciphered_tag(data[0]):
                return self.ciphering.ciphered_node(data, self.line, role, self.node)
            if data and data[0] == GENERAL_SIGNING:
                return self.ciphering.signed_node(data, role, self.node)
            if data and data[0] == GENERAL_CIPHERING:
                return self.ciphering.agreed_node(data, role, self.node)
            apdu, end = decode_apdu_prefix(data)
            if isinstance(apdu, UnparsedApdu):
                name = RAW_ELEMENTS[ApduTag(data[0])]
                return Node.leaf(name, data[1:].hex().upper(), "not decoded further: shown as it is")
            node = self._converters[type(apdu)](apdu)
            if end < len(data):
                code = "padding-after-aare" if data[0] == 0x61 else "trailing-bytes"
                text = (
                    f"deviation {code} at offset {end}: {len(data) - end} bytes after the "
                    f"{type(apdu).__name__} (ignored): {data[end:].hex().upper()}"
                )
                if self.strict:
                    node.notes.append(f"strict mode: {text}")
                else:
                    node.deviations.append(text)
            return node
        except DecodeError as exc:
            if data[:1] == b"\x63" and not self.strict:
                # An RLRE whose lengths do not add up (docs/tolerance.md, rlre-lengths): shown as it is.
                return Node(
                    "ReleaseResponse",
                    {"Value": data.hex().upper()},
                    deviations=[f"deviation rlre-lengths: the RLRE does not decode ({exc}); shown as it is"],
                )
            return Node("Apdu", {"Value": data.hex().upper()}, notes=[f"cannot decode this APDU: {exc}"])

    # -- short-name services --------------------------------------------------------------------------

    def _read_request(self, apdu: ReadRequest) -> Node:
        return Node(
            "ReadRequest",
            {"Qty": quantity(len(apdu.variables))},
            children=[_variable_access(v) for v in apdu.variables],
        )

    def _read_response(self, apdu: ReadResponse) -> Node:
        return Node(
            "ReadResponse",
            {"Qty": quantity(len(apdu.results))},
            children=[_read_result(r) for r in apdu.results],
        )

    def _write_request(self, apdu: WriteRequest) -> Node:
        return Node("WriteRequest", children=[_variable_accesses(apdu.variables), _list_of_data(apdu.values)])

    def _write_response(self, apdu: WriteResponse) -> Node:
        return Node(
            "WriteResponse",
            {"Qty": quantity(len(apdu.results))},
            children=[_write_result(r) for r in apdu.results],
        )

    def _unconfirmed_write_request(self, apdu: UnconfirmedWriteRequest) -> Node:
        return Node(
            "UnconfirmedWriteRequest",
            children=[_variable_accesses(apdu.variables), _list_of_data(apdu.values)],
        )

    def _information_report(self, apdu: InformationReportRequest) -> Node:
        children = [_variable_accesses(apdu.variables), _list_of_data(apdu.values)]
        if apdu.current_time is not None:
            stamp = apdu.date_time()
            children.insert(
                0,
                Node.leaf(
                    "CurrentTime", apdu.current_time.hex().upper(), None if stamp is None else str(stamp)
                ),
            )
        return Node("InformationReportRequest", children=children)

    # -- GET ------------------------------------------------------------------------------------------

    def _get_request_normal(self, apdu: GetRequestNormal) -> Node:
        children = [_invoke(apdu.invoke), _attribute_descriptor(apdu.attribute)]
        return _service("GetRequest", "GetRequestNormal", _with_access(children, apdu.access))

    def _get_request_next(self, apdu: GetRequestNext) -> Node:
        return _service(
            "GetRequest",
            "GetRequestForNextDataBlock",
            [_invoke(apdu.invoke), _block_number(apdu.block_number)],
        )

    def _get_request_with_list(self, apdu: GetRequestWithList) -> Node:
        return _service(
            "GetRequest", "GetRequestWithList", [_invoke(apdu.invoke), _attribute_list(apdu.attributes)]
        )

    def _get_response_normal(self, apdu: GetResponseNormal) -> Node:
        result = Node("Result", children=[_get_data_result(apdu.result)])
        return _service("GetResponse", "GetResponseNormal", [_invoke(apdu.invoke), result])

    def _get_response_with_datablock(self, apdu: GetResponseWithDatablock) -> Node:
        return _service(
            "GetResponse", "GetResponsewithDataBlock", [_invoke(apdu.invoke), _data_block_g(apdu.block)]
        )

    def _get_response_with_list(self, apdu: GetResponseWithList) -> Node:
        results = Node(
            "Result",
            {"Qty": quantity(len(apdu.results))},
            children=[_get_data_result(r) for r in apdu.results],
        )
        return _service("GetResponse", "GetResponseWithList", [_invoke(apdu.invoke), results])

    # -- SET ------------------------------------------------------------------------------------------

    def _set_request_normal(self, apdu: SetRequestNormal) -> Node:
        children = _with_access([_invoke(apdu.invoke), _attribute_descriptor(apdu.attribute)], apdu.access)
        children.append(Node("Value", children=[data_node(apdu.value)]))
        return _service("SetRequest", "SetRequestNormal", children)

    def _set_request_first_datablock(self, apdu: SetRequestWithFirstDatablock) -> Node:
        children = _with_access([_invoke(apdu.invoke), _attribute_descriptor(apdu.attribute)], apdu.access)
        children.append(_data_block_sa(apdu.block))
        return _service("SetRequest", "SetRequestFirstDataBlock", children)

    def _set_request_with_datablock(self, apdu: SetRequestWithDatablock) -> Node:
        return _service(
            "SetRequest", "SetRequestWithDataBlock", [_invoke(apdu.invoke), _data_block_sa(apdu.block)]
        )

    def _set_request_with_list(self, apdu: SetRequestWithList) -> Node:
        values = Node(
            "ValueList", {"Qty": quantity(len(apdu.values))}, children=[data_node(v) for v in apdu.values]
        )
        return _service(
            "SetRequest",
            "SetRequestWithList",
            [_invoke(apdu.invoke), _attribute_list(apdu.attributes), values],
        )

    def _set_request_with_list_first_datablock(self, apdu: SetRequestWithListAndFirstDatablock) -> Node:
        return _service(
            "SetRequest",
            "SetRequestWithListAndFirstDataBlock",
            [_invoke(apdu.invoke), _attribute_list(apdu.attributes), _data_block_sa(apdu.block)],
        )

    def _set_response_normal(self, apdu: SetResponseNormal) -> Node:
        return _service(
            "SetResponse",
            "SetResponseNormal",
            [_invoke(apdu.invoke), _data_access_result("Result", int(apdu.result))],
        )

    def _set_response_datablock(self, apdu: SetResponseDatablock) -> Node:
        return _service(
            "SetResponse", "SetResponseDataBlock", [_invoke(apdu.invoke), _block_number(apdu.block_number)]
        )

    def _set_response_last_datablock(self, apdu: SetResponseLastDatablock) -> Node:
        return _service(
            "SetResponse",
            "SetResponseWithLastDataBlock",
            [
                _invoke(apdu.invoke),
                _data_access_result("Result", int(apdu.result)),
                _block_number(apdu.block_number),
            ],
        )

    def _set_response_last_datablock_with_list(self, apdu: SetResponseLastDatablockWithList) -> Node:
        return _service(
            "SetResponse",
            "SetResponseLastDataBlockWithList",
            [_invoke(apdu.invoke), _result_list(apdu.results), _block_number(apdu.block_number)],
        )

    def _set_response_with_list(self, apdu: SetResponseWithList) -> Node:
        return _service(
            "SetResponse", "SetResponseWithList", [_invoke(apdu.invoke), _result_list(apdu.results)]
        )

    # -- ACTION ---------------------------------------------------------------------------------------

    def _action_request_normal(self, apdu: ActionRequestNormal) -> Node:
        children = [_invoke(apdu.invoke), _method_descriptor(apdu.method)]
        if apdu.parameters is not ABSENT:
            children.append(Node("MethodInvocationParameters", children=[data_node(apdu.parameters)]))
        return _service("ActionRequest", "ActionRequestNormal", children)

    def _action_request_next(self, apdu: ActionRequestNextPblock) -> Node:
        return _service(
            "ActionRequest",
            "ActionRequestForNextDataBlock",
            [_invoke(apdu.invoke), _block_number(apdu.block_number)],
        )

    def _action_request_with_list(self, apdu: ActionRequestWithList) -> Node:
        parameters = Node(
            "MethodInvocationParameters",
            {"Qty": quantity(len(apdu.parameters))},
            children=[data_node(p) for p in apdu.parameters],
        )
        return _service(
            "ActionRequest",
            "ActionRequestWithList",
            [_invoke(apdu.invoke), _method_list(apdu.methods), parameters],
        )

    def _action_request_first_pblock(self, apdu: ActionRequestWithFirstPblock) -> Node:
        return _service(
            "ActionRequest",
            "ActionRequestWithFirstPBlock",
            [_invoke(apdu.invoke), _method_descriptor(apdu.method), _data_block_sa(apdu.block)],
        )

    def _action_request_with_list_first_pblock(self, apdu: ActionRequestWithListAndFirstPblock) -> Node:
        return _service(
            "ActionRequest",
            "ActionRequestWithListAndFirstPBlock",
            [_invoke(apdu.invoke), _method_list(apdu.methods), _data_block_sa(apdu.block)],
        )

    def _action_request_with_pblock(self, apdu: ActionRequestWithPblock) -> Node:
        return _service(
            "ActionRequest", "ActionRequestWithPBlock", [_invoke(apdu.invoke), _data_block_sa(apdu.block)]
        )

    def _action_response_normal(self, apdu: ActionResponseNormal) -> Node:
        children = [
            _invoke(apdu.invoke),
            *_action_response_parts(ActionResponseWithOptionalData(apdu.result, apdu.return_parameters)),
        ]
        return _service("ActionResponse", "ActionResponseNormal", children)

    def _action_response_with_pblock(self, apdu: ActionResponseWithPblock) -> Node:
        return _service(
            "ActionResponse", "ActionResponseWithPBlock", [_invoke(apdu.invoke), _data_block_sa(apdu.block)]
        )

    def _action_response_with_list(self, apdu: ActionResponseWithList) -> Node:
        results = Node(
            "Result",
            {"Qty": quantity(len(apdu.responses))},
            children=[
                Node("ActionResponseWithOptionalData", children=_action_response_parts(response))
                for response in apdu.responses
            ],
        )
        return _service("ActionResponse", "ActionResponseWithList", [_invoke(apdu.invoke), results])

    def _action_response_next(self, apdu: ActionResponseNextPblock) -> Node:
        return _service(
            "ActionResponse",
            "ActionResponseNextBlock",
            [_invoke(apdu.invoke), _block_number(apdu.block_number)],
        )

    # -- notifications and errors ---------------------------------------------------------------------

    def _event_notification(self, apdu: EventNotificationRequest) -> Node:
        children = []
        if apdu.time is not None:
            children.append(Node.leaf("Time", apdu.time.to_bytes().hex().upper(), str(apdu.time)))
        children.append(_attribute_descriptor(apdu.attribute))
        children.append(Node("AttributeValue", children=[data_node(apdu.value)]))
        return Node("EventNotificationRequest", children=children)

    def _data_notification(self, apdu: DataNotification) -> Node:
        stamp = apdu.date_time
        return Node(
            "DataNotification",
            children=[
                _long_invoke(apdu.invoke),
                Node.leaf(
                    "DateTime",
                    "" if stamp is None else stamp.to_bytes().hex().upper(),
                    None if stamp is None else str(stamp),
                ),
                Node("NotificationBody", children=[Node("DataValue", children=[data_node(apdu.body)])]),
            ],
        )

    def _exception_response(self, apdu: ExceptionResponse) -> Node:
        children = [
            Node.leaf(
                "StateError",
                names.STATE_ERRORS.name(int(apdu.state_error)),
                _result_comment(int(apdu.state_error), StateError),
            ),
            Node.leaf(
                "ServiceError",
                names.SERVICE_ERRORS.name(int(apdu.service_error)),
                _result_comment(int(apdu.service_error), ServiceError),
            ),
        ]
        if apdu.invocation_counter is not None:
            children.append(
                Node.leaf("InvocationCounter", _hex(apdu.invocation_counter, 4), str(apdu.invocation_counter))
            )
        return Node("ExceptionResponse", children=children)

    def _confirmed_service_error(self, apdu: ConfirmedServiceError) -> Node:
        choice = int(apdu.error)
        detail = int(apdu.detail)
        detail_comment = apdu.detail.description if isinstance(apdu.detail, ResultCode) else None
        return Node(
            "ConfirmedServiceError",
            children=[
                Node.leaf(
                    "Service",
                    _hex(int(apdu.service), 1),
                    _result_comment(int(apdu.service), ConfirmedServiceErrorService),
                ),
                Node(
                    "ServiceError",
                    children=[
                        Node.leaf(
                            names.CONFIRMED_SERVICE_ERROR_CHOICES.name(choice),
                            names.service_error_details(choice).name(detail),
                            detail_comment,
                        )
                    ],
                ),
            ],
        )

    def _general_block_transfer(self, apdu: GeneralBlockTransfer) -> Node:
        control = (0x80 if apdu.last_block else 0) | (0x40 if apdu.streaming else 0) | apdu.window
        words = ["last block" if apdu.last_block else "more blocks follow", f"window {apdu.window}"]
        if apdu.streaming:
            words.append("streaming")
        return Node(
            "GeneralBlockTransfer",
            children=[
                Node.leaf("BlockControl", _hex(control, 1), ", ".join(words)),
                Node.leaf("BlockNumber", _hex(apdu.block_number, 2), str(apdu.block_number)),
                Node.leaf("BlockNumberAck", _hex(apdu.block_number_ack, 2), str(apdu.block_number_ack)),
                Node.leaf("BlockData", apdu.block_data.hex().upper(), f"{len(apdu.block_data)} bytes"),
            ],
        )

    # -- association ----------------------------------------------------------------------------------

    def _aarq(self, apdu: AARQ) -> Node:
        if apdu.calling_ap_title is not None:
            self.ciphering.learn_title(Role.CLIENT, apdu.calling_ap_title)
        node = Node("AssociationRequest", children=[_application_context(apdu.application_context_name)])
        _acse_common(
            node,
            [
                ("CalledAPTitle", apdu.called_ap_title),
                ("CalledAEQualifier", apdu.called_ae_qualifier),
                ("CalledAPInvocationId", apdu.called_ap_invocation_id),
                ("CalledAEInvocationId", apdu.called_ae_invocation_id),
                ("CallingAPTitle", apdu.calling_ap_title),
                ("CallingAEQualifier", apdu.calling_ae_qualifier),
                ("CallingApInvocationId", apdu.calling_ap_invocation_id),
                ("CallingAEInvocationId", apdu.calling_ae_invocation_id),
            ],
        )
        if apdu.sender_acse_requirements:
            node.add(Node.leaf("SenderACSERequirements", "1", "authentication functional unit"))
        _mechanism(node, apdu.mechanism_name)
        if apdu.calling_authentication_value is not None:
            node.add(Node.leaf("CallingAuthentication", apdu.calling_authentication_value.hex().upper()))
        self._acse_tail(node, apdu.implementation_information, apdu.user_information, Role.CLIENT)
        return node

    def _aare(self, apdu: AARE) -> Node:
        if apdu.responding_ap_title is not None:
            self.ciphering.learn_title(Role.SERVER, apdu.responding_ap_title)
        diagnostic = apdu.result_source_diagnostic
        source_enum: type[ResultCode]
        if diagnostic.source == DiagnosticSource.ACSE_SERVICE_PROVIDER:
            source, source_enum = "ACSEServiceProvider", AcseServiceProvider
        else:
            source, source_enum = "ACSEServiceUser", AcseServiceUser
        node = Node(
            "AssociationResponse",
            children=[
                _application_context(apdu.application_context_name),
                Node.leaf(
                    "AssociationResult", _hex(apdu.result, 1), _result_comment(apdu.result, AssociationResult)
                ),
                Node(
                    "ResultSourceDiagnostic",
                    children=[
                        Node.leaf(
                            source, _hex(diagnostic.value, 1), _result_comment(diagnostic.value, source_enum)
                        )
                    ],
                ),
            ],
        )
        _acse_common(
            node,
            [
                ("RespondingAPTitle", apdu.responding_ap_title),
                ("RespondingAEQualifier", apdu.responding_ae_qualifier),
                ("RespondingAPInvocationId", apdu.responding_ap_invocation_id),
                ("RespondingAEInvocationId", apdu.responding_ae_invocation_id),
            ],
        )
        if apdu.responder_acse_requirements:
            node.add(Node.leaf("ResponderACSERequirement", "1", "authentication functional unit"))
        _mechanism(node, apdu.mechanism_name)
        if apdu.responding_authentication_value is not None:
            node.add(
                Node.leaf("RespondingAuthentication", apdu.responding_authentication_value.hex().upper())
            )
        self._acse_tail(node, apdu.implementation_information, apdu.user_information, Role.SERVER)
        return node

    def _rlrq(self, apdu: RLRQ) -> Node:
        node = Node("ReleaseRequest")
        if apdu.reason is not None:
            node.add(Node.leaf("Reason", names.RELEASE_REQUEST_REASONS.name(apdu.reason)))
        self._acse_tail(node, None, apdu.user_information, Role.CLIENT)
        return node

    def _rlre(self, apdu: RLRE) -> Node:
        node = Node("ReleaseResponse")
        if apdu.reason is not None:
            node.add(Node.leaf("Reason", names.RELEASE_RESPONSE_REASONS.name(apdu.reason)))
        self._acse_tail(node, None, apdu.user_information, Role.SERVER)
        return node

    def _acse_tail(
        self, node: Node, implementation: bytes | None, user_information: bytes | None, role: Role
    ) -> None:
        if implementation is not None:
            node.add(Node.leaf("ImplementationInformation", implementation.hex().upper()))
        if user_information is not None:
            inner = self.node(user_information, role)
            if inner.name == "Apdu":
                inner.name = "UserInformation"
            node.add(inner)

    def _initiate_request(self, apdu: InitiateRequest) -> Node:
        node = Node("InitiateRequest")
        if apdu.dedicated_key is not None:
            self.ciphering.learn_dedicated_key(apdu.dedicated_key)
            node.add(Node.leaf("DedicatedKey", apdu.dedicated_key.hex().upper()))
        if not apdu.response_allowed:
            node.add(Node.leaf("ResponseAllowed", "00", "the server must not answer"))
        if apdu.proposed_quality_of_service is not None:
            node.add(Node.leaf("ProposedQualityOfService", _hex(apdu.proposed_quality_of_service, 1)))
        node.add(Node.leaf("ProposedDlmsVersionNumber", _hex(apdu.proposed_dlms_version_number, 1)))
        node.add(_conformance("ProposedConformance", apdu.proposed_conformance))
        node.add(
            Node.leaf(
                "ProposedMaxPduSize",
                _hex(apdu.client_max_receive_pdu_size, 2),
                str(apdu.client_max_receive_pdu_size),
            )
        )
        return node

    def _initiate_response(self, apdu: InitiateResponse) -> Node:
        node = Node("InitiateResponse")
        if apdu.negotiated_quality_of_service is not None:
            node.add(Node.leaf("NegotiatedQualityOfService", _hex(apdu.negotiated_quality_of_service, 1)))
        node.add(Node.leaf("NegotiatedDlmsVersionNumber", _hex(apdu.negotiated_dlms_version_number, 1)))
        node.add(_conformance("NegotiatedConformance", apdu.negotiated_conformance))
        node.add(
            Node.leaf(
                "NegotiatedMaxPduSize",
                _hex(apdu.server_max_receive_pdu_size, 2),
                str(apdu.server_max_receive_pdu_size),
            )
        )
        vaa = {0x0007: "logical name referencing", 0xFA00: "short name referencing"}.get(apdu.vaa_name)
        node.add(Node.leaf("VaaName", _hex(apdu.vaa_name, 2), vaa))
        return node


def _result_list(results: Sequence[DataAccessResult | int]) -> Node:
    return Node(
        "Result",
        {"Qty": quantity(len(results))},
        children=[_data_access_result("DataAccessResult", int(result)) for result in results],
    )


def _action_response_parts(response: ActionResponseWithOptionalData) -> list[Node]:
    parts = [_action_result(int(response.result))]
    if response.return_parameters is not None:
        parts.append(Node("ReturnParameters", children=[_get_data_result(response.return_parameters)]))
    return parts


def _application_context(value: int) -> Node:
    words = {
        1: "logical name referencing, no ciphering",
        2: "short name referencing, no ciphering",
        3: "logical name referencing with ciphering",
        4: "short name referencing with ciphering",
    }
    return Node.leaf("ApplicationContextName", names.APPLICATION_CONTEXTS.name(value), words.get(value))


def _mechanism(node: Node, value: int | None) -> None:
    if value is not None:
        node.add(Node.leaf("MechanismName", names.MECHANISMS.name(value)))


def _acse_common(node: Node, elements: Sequence[tuple[str, bytes | int | None]]) -> None:
    for name, value in elements:
        if isinstance(value, bytes):
            node.add(Node.leaf(name, value.hex().upper()))
        elif value is not None:
            node.add(Node.leaf(name, str(value)))
