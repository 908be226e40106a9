"""dlmskit.apdu: DLMS/COSEM APDUs as typed dataclasses with ``encode()`` and ``decode()``.

:func:`decode_apdu` decodes any APDU by its tag; each APDU class also decodes itself with
``Class.decode(data)``.
"""

from __future__ import annotations

from dlmskit.apdu.action import (
    ActionRequest,
    ActionRequestNextPblock,
    ActionRequestNormal,
    ActionRequestWithFirstPblock,
    ActionRequestWithList,
    ActionRequestWithListAndFirstPblock,
    ActionRequestWithPblock,
    ActionResponse,
    ActionResponseNextPblock,
    ActionResponseNormal,
    ActionResponseWithList,
    ActionResponseWithOptionalData,
    ActionResponseWithPblock,
)
from dlmskit.apdu.block import GeneralBlockTransfer
from dlmskit.apdu.common import (
    ABSENT,
    Absent,
    ApduTag,
    CaptureObjectDefinition,
    CosemAttributeDescriptor,
    CosemAttributeDescriptorWithSelection,
    CosemMethodDescriptor,
    DataBlockG,
    DataBlockSA,
    EncodedData,
    GetDataResult,
    InvokeIdAndPriority,
    LongInvokeIdAndPriority,
    SelectiveAccessDescriptor,
    XdlmsApdu,
)
from dlmskit.apdu.exception import ConfirmedServiceError, ExceptionResponse
from dlmskit.apdu.get import (
    GetRequest,
    GetRequestNext,
    GetRequestNormal,
    GetRequestWithList,
    GetResponse,
    GetResponseNormal,
    GetResponseWithDatablock,
    GetResponseWithList,
)
from dlmskit.apdu.notification import DataNotification, EventNotificationRequest
from dlmskit.apdu.parse import Apdu, UnparsedApdu, decode_apdu
from dlmskit.apdu.set import (
    SetRequest,
    SetRequestNormal,
    SetRequestWithDatablock,
    SetRequestWithFirstDatablock,
    SetRequestWithList,
    SetRequestWithListAndFirstDatablock,
    SetResponse,
    SetResponseDatablock,
    SetResponseLastDatablock,
    SetResponseLastDatablockWithList,
    SetResponseNormal,
    SetResponseWithList,
)

# ---- acse / initiate / conformance / results re-exports: to be completed by the lead -----------------
# (the names exported by dlmskit.apdu.acse, .initiate, .conformance and .results go here and in __all__)
# ---------------------------------------------------------------------------------------------------------

__all__ = [
    "ABSENT",
    "Absent",
    "ActionRequest",
    "ActionRequestNextPblock",
    "ActionRequestNormal",
    "ActionRequestWithFirstPblock",
    "ActionRequestWithList",
    "ActionRequestWithListAndFirstPblock",
    "ActionRequestWithPblock",
    "ActionResponse",
    "ActionResponseNextPblock",
    "ActionResponseNormal",
    "ActionResponseWithList",
    "ActionResponseWithOptionalData",
    "ActionResponseWithPblock",
    "Apdu",
    "ApduTag",
    "CaptureObjectDefinition",
    "ConfirmedServiceError",
    "CosemAttributeDescriptor",
    "CosemAttributeDescriptorWithSelection",
    "CosemMethodDescriptor",
    "DataBlockG",
    "DataBlockSA",
    "DataNotification",
    "EncodedData",
    "EventNotificationRequest",
    "ExceptionResponse",
    "GeneralBlockTransfer",
    "GetDataResult",
    "GetRequest",
    "GetRequestNext",
    "GetRequestNormal",
    "GetRequestWithList",
    "GetResponse",
    "GetResponseNormal",
    "GetResponseWithDatablock",
    "GetResponseWithList",
    "InvokeIdAndPriority",
    "LongInvokeIdAndPriority",
    "SelectiveAccessDescriptor",
    "SetRequest",
    "SetRequestNormal",
    "SetRequestWithDatablock",
    "SetRequestWithFirstDatablock",
    "SetRequestWithList",
    "SetRequestWithListAndFirstDatablock",
    "SetResponse",
    "SetResponseDatablock",
    "SetResponseLastDatablock",
    "SetResponseLastDatablockWithList",
    "SetResponseNormal",
    "SetResponseWithList",
    "UnparsedApdu",
    "XdlmsApdu",
    "decode_apdu",
    # acse / initiate / conformance / results: to be added by the lead
]
